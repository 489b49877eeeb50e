/** Express 5 adapter: `actraMiddleware(options)`, `guard(action)` and the `@Guard` method decorator. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ACTRA_GUARD, compileGuards, createActraHttp, deferGuard, guardOf, isAdmitted, isPromise, nodeHeader, notInstalledResponse, readRawBody, UNPARSED_BODY, withAdmitted } from '../src/http/index.js';
import type { ActraHttp, ActraHttpOptions, Admitted, ActraRequestDecision, CompiledGuard, HandleOutcome, NeutralRequest, NeutralResponse, RouteGuardOptions } from '../src/http/index.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The Actra decision for this request; set on guarded routes before the handler runs. */
      actra?: ActraRequestDecision;
      /** The raw body text, when captured with `express.json({ verify: captureRawBody })`. */
      rawBody?: string;
    }
  }
}

/**
 * Per-request state, in a WeakMap keyed by the request, and `req.actra` an accessor on the app's
 * request prototype that reads it.
 *
 * Express gives every request's `req` and `res` a hidden class of their own (it swaps their
 * prototype), so V8 can keep no property lookup on them from one request to the next: every
 * property added to `req` builds a new hidden class, and the first read of each property name in a
 * request walks the prototype chain in full. The adapter therefore adds nothing to `req`, reads
 * little besides what Express itself has read by then (`url`, `method`, `headers`, `body`, and
 * those through `Reflect.get`, see `reqField`), finds the app from the request's prototype
 * (`appOf`), and reads `req.path` (a getter two prototypes up) and `req.rawBody` (absent, so a walk
 * to the end of the chain) only when they are needed.
 */
interface State { readonly http: ActraHttp; readonly base: string; done: Admitted; result: ActraRequestDecision | undefined }
const STATES = new WeakMap<object, State>();
/** The request prototypes that carry the `actra` accessor. */
const ACCESSORS = new WeakSet<object>();

/**
 * True when `req.actra` reads the state: defines the accessor on the request's prototype the first
 * time a request of that prototype is seen.
 */
function hasAccessor(req: Request): boolean {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null) return false;
  if (ACCESSORS.has(proto)) return true;
  Object.defineProperty(proto, 'actra', {
    configurable: true,
    get(this: Request): ActraRequestDecision | undefined {
      return STATES.get(this)?.result;
    },
    set(this: Request, value: ActraRequestDecision | undefined) {
      const state = STATES.get(this);
      if (state !== undefined) state.result = value;
      else Object.defineProperty(this, 'actra', { value, writable: true, configurable: true, enumerable: true });
    },
  });
  ACCESSORS.add(proto);
  return true;
}

/**
 * `req[name]`, read with `Reflect.get`. A property read off an object whose hidden class V8 has not
 * seen before (every Express `req`, see `STATES`) misses the read's inline cache and takes V8's
 * runtime lookup; `Reflect.get` looks the property up in a builtin instead, about four times faster
 * for such objects (some 50 against 200 ns per read), with the same result (getters included).
 */
function reqField<K extends keyof Request>(req: Request, name: K): Request[K] {
  return Reflect.get(req, name) as Request[K];
}

/** Makes `result` the request's `req.actra`: through the state where the accessor reads it, else as an own property. */
function setDecision(req: Request, state: State, result: ActraRequestDecision): void {
  if (hasAccessor(req)) state.result = result;
  else req.actra = result;
}

/**
 * `req.baseUrl + req.path`, `baseUrl` read by the caller. For a URL in origin form (`/path?query`,
 * what clients send) the path is cut from `req.url` as Express's own URL parser cuts it; anything
 * else goes through `req.path`.
 */
function fullPath(req: Request, baseUrl: string): string {
  const url = reqField(req, 'url');
  if (url.charCodeAt(0) !== 47) return baseUrl + req.path;
  for (let index = 1; index < url.length; index++) {
    const code = url.charCodeAt(index);
    if (code === 63) return baseUrl + url.slice(0, index);
    if (code === 35 || code <= 32 || code === 0xa0 || code === 0xfeff) return baseUrl + req.path;
  }
  return baseUrl + url;
}

type App = { router?: { stack: Layer[] }; parent?: unknown; mountpath?: unknown };
let lastPrototype: object | null = null;
let lastApp: App | undefined;

/**
 * `req.app`, read once per app: Express sets the prototype of a request to its app's own request
 * object (`app.request`, whose `app` it is), so the prototype tells the app.
 */
function appOf(req: Request): App {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto !== lastPrototype || lastApp === undefined) {
    lastApp = req.app as unknown as App;
    lastPrototype = proto;
  }
  return lastApp;
}

/** A router layer's mount path as a pattern prefix (`''` for the root). */
function mountPath(rawPath: unknown): string {
  return typeof rawPath === 'string' && rawPath !== '/' ? rawPath : '';
}

type Layer = { route?: { path: unknown; methods: Record<string, boolean>; stack: { handle: unknown }[]; _handlesMethod(m: string): boolean }; rawPath?: unknown; handle: { stack?: Layer[] }; match(p: string): false | { path: string; pattern: unknown; params: Record<string, string> } };
type Found = { pattern: string; route: NonNullable<Layer['route']>; params: Record<string, string> };
/** Where a request's route params are read from, when they are: a route match, a found route, or `req` itself (in a route). */
type ParamSource = { readonly params: Readonly<Record<string, string>> };
const NO_ROUTE: ParamSource = Object.freeze({ params: Object.freeze({}) });

/** True when one of the route's handlers is a `guard()` (looked at only when a request matches no declared route). */
function hasGuard(route: NonNullable<Layer['route']>): boolean {
  return route.stack.some(function isGuard(l) {
    return typeof l.handle === 'function' && ACTRA_GUARD in l.handle;
  });
}

/** Use as `express.json({ verify: captureRawBody })` so signed approval webhooks can be verified. */
export function captureRawBody(req: object, _res: unknown, buf: Buffer): void {
  (req as { rawBody?: string }).rawBody = buf.toString('utf8');
}

/** The neutral view of an Express request. */
class ExpressRequest implements NeutralRequest {
  readonly method: string;
  readonly routePattern?: string;
  readonly #req: Request;
  readonly #headers: Request['headers'];

  readonly #params: ParamSource;

  constructor(req: Request, method: string, readonly path: string, params: ParamSource, routePattern: string | undefined) {
    this.method = method;
    this.#params = params;
    if (routePattern !== undefined) this.routePattern = routePattern;
    this.#req = req;
    this.#headers = reqField(req, 'headers');
  }

  /** Read when an action field may come from them: a route table match cuts them from the path only then. */
  get params(): Readonly<Record<string, string>> {
    return this.#params.params;
  }

  /** Read when needed only (see `STATES`). */
  get rawBody(): string | undefined {
    return reqField(this.#req, 'rawBody');
  }

  /** Express 5 leaves `req.body` undefined when no parser read the body: then `UNPARSED_BODY`, which actions refuse. */
  get body(): unknown {
    const body = reqField(this.#req, 'body') as unknown;
    if (body !== undefined || this.rawBody !== undefined) return body;
    const headers = this.#headers;
    const length = headers['content-length'];
    return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0') ? UNPARSED_BODY : undefined;
  }

  /** Read only when needed: Express 5 parses the query string on every read of `req.query`. */
  get query(): Readonly<Record<string, unknown>> {
    return this.#req.query as Record<string, unknown>;
  }

  header(name: string): string | undefined {
    return nodeHeader(this.#headers, name);
  }
}

/** `method`: `req.method`, when the caller has read it already (each property read off `req` is costly, see `STATES`). */
function neutral(req: Request, path: string, params: ParamSource, routePattern?: string, method = reqField(req, 'method')): NeutralRequest {
  return new ExpressRequest(req, method, path, params, routePattern);
}

function send(res: Response, response: NeutralResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
}

/** Finds the route Express itself would dispatch to, with its full pattern, walking the router stacks. */
function findRoute(stack: readonly Layer[], method: string, path: string, prefix: string, params: Record<string, string>): Found | undefined {
  for (const layer of stack) {
    if (layer.route === undefined && !Array.isArray(layer.handle.stack)) continue;
    const m = layer.match(path);
    if (m === false || typeof m.pattern !== 'string') continue;
    if (layer.route !== undefined) {
      if (!layer.route._handlesMethod(method)) continue;
      return { pattern: prefix + m.pattern, route: layer.route, params: withParams(params, m.params) };
    }
    const found = findRoute(layer.handle.stack as Layer[], method, path.slice(m.path.length) || '/', prefix + m.pattern, withParams(params, m.params));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A method as Express's routes keep theirs (lower case): the common ones without a new string per request. */
function routerMethod(method: string): string {
  switch (method) {
    case 'GET':
      return 'get';
    case 'POST':
      return 'post';
    case 'PUT':
      return 'put';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
  return method.toLowerCase();
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The mount's params with a layer's added; the layer's own object when the mount has none (no copy). */
function withParams(outer: Record<string, string>, own: Record<string, string>): Record<string, string> {
  if (outer === NO_PARAMS) return own;
  return Object.assign({}, outer, own);
}

/** Every route no guard covers (`METHOD /full/pattern`), for the start-up notice; compiles the guards on the way (a bad one is logged). */
function unguardedRoutes(http: ActraHttp, stack: readonly Layer[], prefix: string, out: string[]): string[] {
  for (const layer of stack) {
    if (layer.route !== undefined && typeof layer.route.path === 'string') {
      compileGuards(http, layer.route.stack.map((l) => l.handle), (error) => http.misconfigured(error));
      const pattern = prefix + layer.route.path;
      const guarded = hasGuard(layer.route);
      for (const method of Object.keys(layer.route.methods)) {
        const m = method.toUpperCase();
        if (!guarded && http.table.lookup(m, pattern) === undefined && http.table.match(m, pattern) === undefined) out.push(`${m} ${pattern}`);
      }
    } else if (Array.isArray(layer.handle.stack) && typeof layer.rawPath === 'string') {
      unguardedRoutes(http, layer.handle.stack, prefix + mountPath(layer.rawPath), out);
    }
  }
  return out;
}

/** Runs admission; synchronous when the decision is. Failures become problem responses. */
function admit(http: ActraHttp, req: Request, res: Response, next: NextFunction, guard: CompiledGuard, route: string, params: ParamSource, state: State, path: string, method: string): void | Promise<void> {
  if (isAdmitted(state.done, guard.action.type)) return next();
  const admitted = http.admit(neutral(req, path, params, route, method), guard, route, state.base);
  const type = guard.action.type;
  if (!isPromise(admitted)) return proceed(http, req, res, next, admitted, state, type, path);
  return admitted.then(function admittedLater(outcome) {
    proceed(http, req, res, next, outcome, state, type, path);
  });
}

function proceed(http: ActraHttp, req: Request, res: Response, next: NextFunction, outcome: HandleOutcome, state: State, actionType: string, path: string): void {
  if (outcome.kind === 'respond') return send(res, outcome.response);
  try {
    const headers = outcome.headers;
    for (const name in headers) res.setHeader(name, headers[name] as string);
  } catch (error) {
    return send(res, http.failureResponse(error, neutral(req, path, NO_ROUTE)));
  }
  state.done = withAdmitted(state.done, actionType);
  setDecision(req, state, outcome.result);
  next();
}

/**
 * The Express middleware: serves the approval routes, guards the routes of `options.routes`, and
 * makes `guard()` / `@Guard` work. Mount it after `express.json()`.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) at creation for a bad option, action or field.
 * @example
 * ```ts
 * app.use(express.json({ verify: captureRawBody }));
 * app.use(actraMiddleware({ policy, jwt: { algorithms: ['HS256'], secret, issuer, audience }, routes: { 'POST /refunds/:id': 'refund' } }));
 * app.post('/refunds/:id', (req, res) => res.json({ ok: true, decision: req.actra?.decisionId }));
 * ```
 */
export function actraMiddleware(options: ActraHttpOptions): RequestHandler & { guard: typeof guard } {
  const http = createActraHttp(options, { caseSensitive: false }, 'actraMiddleware');
  let logged = false;
  const middleware = function actraMiddleware(req: Request, res: Response, next: NextFunction): void | Promise<void> {
    const base = reqField(req, 'baseUrl');
    const state: State = { http, base, done: undefined, result: undefined };
    STATES.set(req, state);
    const path = fullPath(req, base);
    if (!logged) {
      logged = true;
      const router = appOf(req).router;
      http.logStartup(router === undefined ? [] : unguardedRoutes(http, router.stack, '', []));
    }
    if (http.isApprovalPath(path, base)) return approvalsFirst(http, req, res, next, path, state);
    return route(http, req, res, next, path, state);
  };
  return Object.assign(middleware, { guard: guard });
}

/** Serves an approval route, or goes on to the guarded routes when the path is not one. */
async function approvalsFirst(http: ActraHttp, req: Request, res: Response, next: NextFunction, path: string, state: State): Promise<void> {
  if (req.rawBody === undefined && !req.readableEnded && req.method === 'POST') {
    try {
      req.rawBody = await readRawBody(req, http.options.bodyLimit);
    } catch (error) {
      return send(res, http.failureResponse(error, neutral(req, path, NO_ROUTE)));
    }
  }
  const response = await http.approvals(neutral(req, path, NO_ROUTE), state.base);
  if (response !== undefined) return send(res, response);
  return route(http, req, res, next, path, state);
}

/**
 * Guards the route Express dispatches to (or the route table's match); synchronous when the decision
 * is. A path that matches a table route no other table route can match is that route's, whichever
 * Express route serves it: the router is walked only when that does not settle it.
 */
function route(http: ActraHttp, req: Request, res: Response, next: NextFunction, path: string, state: State): void | Promise<void> {
  const method = reqField(req, 'method');
  try {
    const matched = http.table.match(method, path);
    if (matched !== undefined && matched.route.alone) return admit(http, req, res, next, matched.route.value, matched.route.pattern, matched, state, path, method);
    const router = appOf(req).router;
    const found = router === undefined ? undefined : findRoute(router.stack, routerMethod(method), path, '', NO_PARAMS);
    const exact = found === undefined ? undefined : http.table.lookup(method, found.pattern);
    if (exact !== undefined && found !== undefined) return admit(http, req, res, next, exact.value, found.pattern, found, state, path, method);
    if (matched !== undefined) return admit(http, req, res, next, matched.route.value, matched.route.pattern, matched, state, path, method);
    if (http.options.unmatched === 'deny' && (found === undefined || !hasGuard(found.route))) return send(res, http.unmatchedResponse(neutral(req, path, NO_ROUTE, undefined, method)));
  } catch (error) {
    return send(res, http.failureResponse(error, neutral(req, path, NO_ROUTE, undefined, method)));
  }
  next();
}

/**
 * A route-level guard: `app.post('/refunds/:id', guard('refund'), handler)`. Needs `actraMiddleware`
 * on the app; without it the route answers 500 and the handler never runs.
 */
export function guard(action: string, options?: RouteGuardOptions): RequestHandler {
  const deferred = deferGuard(action, options);
  const handler = async function actraGuard(req: Request, res: Response, next: NextFunction): Promise<void> {
    const state = STATES.get(req);
    if (state === undefined) return send(res, notInstalledResponse('actraMiddleware'));
    const path = fullPath(req, reqField(req, 'baseUrl'));
    let compiled: CompiledGuard;
    try {
      compiled = deferred.compile(state.http);
    } catch (error) {
      return send(res, state.http.failureResponse(error, neutral(req, path, NO_ROUTE)));
    }
    await admit(state.http, req, res, next, compiled, routePattern(req), req as ParamSource, state, path, reqField(req, 'method'));
  };
  return Object.assign(handler, { [ACTRA_GUARD]: deferred });
}

const PATTERNS = new WeakMap<object, string>();

/**
 * The full pattern of the route a guard runs in (`/users/:userId/refunds/:id`), never the request's
 * own path: `req.baseUrl` holds the matched prefix (`/users/42`), which must not reach events or logs.
 */
function routePattern(req: Request): string {
  const route = reqField(req, 'route') as object | undefined;
  if (route === undefined) return '(unknown route)';
  let pattern = PATTERNS.get(route);
  if (pattern === undefined) {
    const app = appOf(req);
    const inApp = app.router === undefined ? undefined : patternIn(app.router.stack, route, '');
    pattern = inApp === undefined ? '(unknown route)' : mountPrefix(app) + inApp;
    PATTERNS.set(route, pattern);
  }
  return pattern;
}

function patternIn(stack: readonly Layer[], route: object, prefix: string): string | undefined {
  for (const layer of stack) {
    if (layer.route === route) return prefix + String(layer.route.path);
    if (layer.route === undefined && Array.isArray(layer.handle.stack)) {
      const found = patternIn(layer.handle.stack, route, prefix + mountPath(layer.rawPath));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The mount paths of a sub-app and its parents (`app.use('/api/:v', subApp)`), as patterns. */
function mountPrefix(app: { parent?: unknown; mountpath?: unknown }): string {
  let prefix = '';
  for (let a = app; a.parent !== undefined; a = a.parent as typeof app) {
    prefix = mountPath(a.mountpath) + prefix;
  }
  return prefix;
}

/**
 * TC39 method decorator for class-based controllers: the method `(req, res, next?)` runs only when allowed.
 * @example `class Refunds { @Guard('refund') create(req: Request, res: Response) { res.json(req.actra) } }`
 */
export function Guard(action: string, options?: RouteGuardOptions) {
  const check = guard(action, options);
  return function decorate<This, Fn extends (this: This, req: Request, res: Response, next?: NextFunction) => unknown>(method: Fn, _context: ClassMethodDecoratorContext<This, Fn>): Fn {
    const guarded = function guardedMethod(this: This, req: Request, res: Response, next?: NextFunction) {
      return check(req, res, (error?: unknown) => (error === undefined ? method.call(this, req, res, next) : next?.(error)));
    };
    return Object.assign(guarded, { [ACTRA_GUARD]: guardOf(check) }) as unknown as Fn;
  };
}
