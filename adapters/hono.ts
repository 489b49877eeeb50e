/** Hono 4 adapter: `actraMiddleware(options)` via `createMiddleware`, `guard()`, `@Guard`, typed `c.get('actra')`. */
import type { Context, MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes, routePath } from 'hono/route';
import { ACTRA_GUARD, compileGuards, createActraHttp, declaredLength, deferGuard, guardOf, hasHeaders, invalidJson, isAdmitted, isJsonType, isPromise, nodeHeader, notInstalledResponse, readRawBody, singleOrList, tooLarge, withAdmitted } from '../src/http/index.js';
import type { ActraHttp, ActraHttpOptions, Admitted, ActraRequestDecision, CompiledGuard, NeutralRequest, NodeHeaders, NeutralResponse, RouteGuardOptions } from '../src/http/index.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The Actra decision for this request; set on guarded routes before the handler runs, else undefined. */
    actra: ActraRequestDecision | undefined;
  }
}

type BodyRead = { body?: unknown; rawBody?: string };
type State = { readonly http: ActraHttp; done: Admitted };
const NO_BODY: BodyRead = Object.freeze({});
const NO_PARAMS: Params = Object.freeze({});
/** Per-request state, kept on the raw `Request` (shared by sub-apps) under a symbol: no WeakMap entry per request. */
const STATE = Symbol('actra.hono');
type Stateful = Request & { [STATE]?: State };
type Params = Readonly<Record<string, string>>;

/**
 * A request header. On @hono/node-server, from Node's own header object (`c.env.incoming`):
 * `c.req.header()` would make the server build a WHATWG `Headers` for the request.
 */
function requestHeader(c: Context, name: string, headers: NodeHeaders | undefined): string | undefined {
  return headers === undefined ? c.req.header(name) : nodeHeader(headers, name);
}

function nodeHeaders(c: Context): NodeHeaders | undefined {
  const env = c.env as { incoming?: { headers?: NodeHeaders } } | undefined;
  return typeof env?.incoming?.headers === 'object' ? env.incoming.headers : undefined;
}

/**
 * The body text, or `undefined` when there is none to read. Split from {@link bodyRead} so that the
 * guard awaits one promise (the text) rather than a second async function around it.
 * @throws ActraError `ACTRA_PAYLOAD_TOO_LARGE` (413) when the declared length is over `limit`.
 */
function bodyText(c: Context, limit: number, headers: NodeHeaders | undefined): Promise<string> | undefined {
  const cache = c.req.bodyCache as unknown as { text?: Promise<string> };
  if (cache.text !== undefined) return cache.text;
  const method = c.req.method;
  if (method === 'GET' || method === 'HEAD') return undefined;
  const length = requestHeader(c, 'content-length', headers);
  if (length !== undefined) {
    if (declaredLength(length) > limit) throw tooLarge(limit);
    return c.req.text();
  }
  // Touching `raw.body` makes @hono/node-server build a full Request: only done when no length is declared.
  const stream = c.req.raw.body;
  return stream === null ? undefined : readRawBody(stream as unknown as AsyncIterable<unknown>, limit);
}

/**
 * True when the body can be read through Hono's own `c.req.text()` (read once, cached for the
 * handler) and parsed as it is: on @hono/node-server (`headers` are Node's), a JSON body of a
 * declared length within `limit` that nothing has read yet. Node's parser reads exactly the
 * declared length.
 */
function plainJson(c: Context, limit: number, headers: NodeHeaders | undefined): boolean {
  if (headers === undefined) return false;
  const length = headers['content-length'];
  const type = headers['content-type'];
  if (typeof length !== 'string' || length === '0' || !(declaredLength(length) <= limit) || typeof type !== 'string' || !isJsonType(type)) return false;
  for (const _ in c.req.bodyCache) return false;
  return true;
}

/**
 * The body from its text: checked against `limit`, cached for the handler (`c.req.text()`,
 * `c.req.json()` then answer from it), parsed when JSON; the text itself when `raw`.
 * @throws ActraError `ACTRA_PAYLOAD_TOO_LARGE` (413) or `ACTRA_BAD_REQUEST` (400, invalid JSON).
 */
function bodyRead(c: Context, text: string, limit: number, raw: boolean, headers: NodeHeaders | undefined): BodyRead {
  // UTF-8 takes at most three bytes per UTF-16 unit: short texts need no count.
  if (text.length * 3 > limit && Buffer.byteLength(text) > limit) throw tooLarge(limit);
  const cache = c.req.bodyCache as unknown as { text?: Promise<string>; json?: Promise<unknown> };
  cache.text ??= Promise.resolve(text);
  if (raw) return { rawBody: text };
  if (text.length === 0) return NO_BODY;
  // Not JSON: handed on as text, which actions refuse (415) rather than read no fields from it.
  if (!isJsonType(requestHeader(c, 'content-type', headers))) return { body: text };
  const body = parseJsonText(text);
  cache.json ??= Promise.resolve(body);
  return { body };
}

/** The JSON body from its text; text that is not JSON is the client's malformed JSON (400). */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidJson();
  }
}

async function readBody(c: Context, limit: number, raw: boolean): Promise<BodyRead> {
  const headers = nodeHeaders(c);
  const text = bodyText(c, limit, headers);
  return text === undefined ? NO_BODY : bodyRead(c, await text, limit, raw, headers);
}

/**
 * The neutral view of a Hono request; params and query are read only when asked for. `params` is
 * either an object or the index of the Hono route (with its path) whose decoded params to read.
 */
class HonoRequest implements NeutralRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly rawBody?: string;
  readonly #c: Context;
  #params: Params | number;
  readonly #routePath: string;
  /** On @hono/node-server (`c.env.incoming`), Node's own header object: no `Headers` lookups. */
  readonly #nodeHeaders: NodeHeaders | undefined;
  #query: Record<string, unknown> | undefined;

  constructor(c: Context, read: BodyRead, params: Params | number = NO_PARAMS, routePath = '', headers = nodeHeaders(c)) {
    this.#c = c;
    this.#params = params;
    this.#routePath = routePath;
    this.method = c.req.method;
    this.path = c.req.path;
    this.body = read.body;
    if (read.rawBody !== undefined) this.rawBody = read.rawBody;
    this.#nodeHeaders = headers;
  }

  /** Decoded only when read (most actions take their fields from the body). */
  get params(): Params {
    const params = this.#params;
    return typeof params === 'number' ? (this.#params = paramsOf(this.#c, params)) : params;
  }

  /** A Hono param's name is written in its route's path (`:id`, `:id{[0-9]+}`, `:id?`): no decoding needed to rule one out. */
  mayHaveParam(name: string): boolean {
    const params = this.#params;
    return typeof params === 'number' ? paramNames(this.#routePath).has(name) : Object.hasOwn(params, name);
  }

  get query(): Record<string, unknown> {
    return (this.#query ??= singleOrList(this.#c.req.queries()));
  }

  header(name: string): string | undefined {
    return requestHeader(this.#c, name, this.#nodeHeaders);
  }
}

/** Param names by route path, worked out once per path (a process has finitely many). */
const PARAM_NAMES = new Map<string, ReadonlySet<string>>();
const PARAM = /:([^/{?]+)/g;

/** The names of the params in a Hono route path (`/refunds/:id{[0-9]+}/:part?` → `id`, `part`). */
function paramNames(routePath: string): ReadonlySet<string> {
  let names = PARAM_NAMES.get(routePath);
  if (names === undefined) {
    names = new Set(Array.from(routePath.matchAll(PARAM), (match) => match[1] as string));
    if (PARAM_NAMES.size < 10_000) PARAM_NAMES.set(routePath, names);
  }
  return names;
}

/** The decoded params of matched route `index`, read through Hono's own match result. */
function paramsOf(c: Context, index: number): Record<string, string> {
  const current = c.req.routeIndex;
  if (current === index) return c.req.param() as Record<string, string>;
  c.req.routeIndex = index;
  try {
    return c.req.param() as Record<string, string>;
  } finally {
    c.req.routeIndex = current;
  }
}

function respond(c: Context, response: NeutralResponse): Response {
  return new Response(response.body === undefined ? null : JSON.stringify(response.body), { status: response.status, headers: response.headers });
}

/**
 * Sets the decision headers. On @hono/node-server they go straight onto Node's response, which keeps
 * the server's plain-object fast path (`c.header()` makes Hono build a WHATWG `Headers` for the
 * response); they are then in the response but not in `c.res.headers`. Elsewhere, `c.header()`.
 */
function setHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  if (!hasHeaders(headers)) return;
  const outgoing = (c.env as { outgoing?: { setHeader?: unknown; headersSent?: boolean } } | undefined)?.outgoing;
  if (outgoing !== undefined && typeof outgoing.setHeader === 'function' && outgoing.headersSent === false) {
    for (const name in headers) (outgoing as { setHeader(name: string, value: string): void }).setHeader(name, headers[name] as string);
    return;
  }
  for (const name in headers) c.header(name, headers[name]);
}

/** Admission for one guarded route; `params` is the index of the Hono route whose params apply, or an object. */
async function admit(http: ActraHttp, c: Context, next: () => Promise<void>, guard: CompiledGuard, route: string, params: Params | number): Promise<Response | undefined> {
  const state = (c.req.raw as Stateful)[STATE];
  if (state !== undefined && isAdmitted(state.done, guard.action.type)) return void (await next());
  const headers = nodeHeaders(c);
  let read = NO_BODY;
  if (guard.action.needsBody) {
    const limit = http.options.bodyLimit;
    try {
      if (plainJson(c, limit, headers)) {
        // The text, cached for the handler's own `c.req.text()` / `c.req.json()`, parsed in the same step: one promise.
        read = { body: await c.req.text().then(parseJsonText) };
      } else {
        const text = bodyText(c, limit, headers);
        if (text !== undefined) read = bodyRead(c, await text, limit, false, headers);
      }
    } catch (error) {
      return respond(c, http.failureResponse(error, new HonoRequest(c, NO_BODY, params, route, headers)));
    }
  }
  const admitted = http.admit(new HonoRequest(c, read, params, route, headers), guard, route);
  const outcome = isPromise(admitted) ? await admitted : admitted;
  if (outcome.kind === 'respond') return respond(c, outcome.response);
  if (state !== undefined) state.done = withAdmitted(state.done, guard.action.type);
  setHeaders(c, outcome.headers);
  c.set('actra', outcome.result);
  await next();
  return undefined;
}

function passedOn(): undefined {
  return undefined;
}

/**
 * The Hono middleware: `app.use(actraMiddleware(options))` serves the approval routes, guards the
 * routes of `options.routes` (matched through Hono's own router, sub-apps included), enables `guard()`.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) at creation for a bad option, action or field.
 * @example
 * ```ts
 * app.use(actraMiddleware({ policy, jwt: { algorithms: ['HS256'], secret, issuer, audience }, routes: { 'POST /refunds/:id': 'refund' } }));
 * app.post('/refunds/:id', (c) => c.json({ decision: c.get('actra')?.decisionId }));
 * ```
 */
export function actraMiddleware(options: ActraHttpOptions): MiddlewareHandler & { report(app: { routes: readonly RouterRoute[] }): string[] } {
  const http = createActraHttp(options, { caseSensitive: true }, 'actraMiddleware');
  /** Logs (and returns) the routes of `app` that no guard covers; call it once the routes are declared. */
  function report(app: { routes: readonly RouterRoute[] }): string[] {
    compileGuards(http, app.routes.map((r) => r.handler));
    const guarded = new Set(app.routes.filter((r) => ACTRA_GUARD in r.handler).map((r) => `${r.method} ${r.path}`));
    const unguarded = new Set<string>();
    for (const r of app.routes) {
      if (r.method === 'ALL' || r.path.endsWith('*') || guarded.has(`${r.method} ${r.path}`)) continue;
      if (http.table.lookup(r.method, r.path) === undefined && http.table.match(r.method, r.path) === undefined) unguarded.add(`${r.method} ${r.path}`);
    }
    http.logStartup([...unguarded]);
    return [...unguarded];
  }
  /** Not `async`: a guarded request's promise is admission's own, with no second async frame around it. */
  const middleware = createMiddleware(function actraMiddleware(c, next): Promise<Response | undefined> {
    (c.req.raw as Stateful)[STATE] = { http, done: undefined };
    return http.isApprovalPath(c.req.path) ? approvalRoute(c, next) : guardRoute(c, next);
  });
  /** Admission for the request's route when the route table or a `guard()` covers it; else on to the app. */
  function guardRoute(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
    try {
      let guarded = false;
      const routes = matchedRoutes(c);
      for (let index = 0; index < routes.length; index++) {
        const route = routes[index] as (typeof routes)[number];
        if (ACTRA_GUARD in route.handler) guarded = true;
        const exact = http.table.lookup(c.req.method, route.path);
        if (exact !== undefined) return admit(http, c, next, exact.value, route.path, index);
      }
      const matched = http.table.match(c.req.method, c.req.path);
      if (matched !== undefined) return admit(http, c, next, matched.route.value, matched.route.pattern, matched.params);
      if (http.options.unmatched === 'deny' && !guarded) return Promise.resolve(respond(c, http.unmatchedResponse(new HonoRequest(c, NO_BODY))));
    } catch (error) {
      return Promise.resolve(respond(c, http.failureResponse(error, new HonoRequest(c, NO_BODY))));
    }
    return next().then(passedOn);
  }
  /** An approval route under the approvals prefix; a path there that Actra does not serve is guarded as any other. */
  async function approvalRoute(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
    try {
      const read = c.req.method === 'POST' ? await readBody(c, http.options.bodyLimit, true) : NO_BODY;
      const response = await http.approvals(new HonoRequest(c, read));
      if (response !== undefined) return respond(c, response);
    } catch (error) {
      return respond(c, http.failureResponse(error, new HonoRequest(c, NO_BODY)));
    }
    return guardRoute(c, next);
  }
  return Object.assign(middleware, { report });
}

/** A route-level guard: `app.post('/refunds/:id', guard('refund'), handler)`. Needs `actraMiddleware`; without it, 500. */
export function guard(action: string, options?: RouteGuardOptions): MiddlewareHandler {
  const deferred = deferGuard(action, options);
  const handler = createMiddleware(async function actraGuard(c, next) {
    const state = (c.req.raw as Stateful)[STATE];
    if (state === undefined) return respond(c, notInstalledResponse('actraMiddleware'));
    let compiled: CompiledGuard;
    try {
      compiled = deferred.compile(state.http);
    } catch (error) {
      return respond(c, state.http.failureResponse(error, new HonoRequest(c, NO_BODY)));
    }
    return admit(state.http, c, next, compiled, routePath(c), c.req.routeIndex);
  });
  return Object.assign(handler, { [ACTRA_GUARD]: deferred });
}

/**
 * TC39 method decorator for class-based controllers: the method `(c)` runs only when allowed.
 * @example `class Refunds { @Guard('refund') create(c: Context) { return c.json({ decision: c.get('actra')?.decisionId }) } }`
 */
export function Guard(action: string, options?: RouteGuardOptions) {
  const check = guard(action, options);
  return function decorate<This, Fn extends (this: This, c: Context) => unknown>(method: Fn, _context: ClassMethodDecoratorContext<This, Fn>): Fn {
    const guarded = async function guardedMethod(this: This, c: Context) {
      let result: unknown;
      const stopped = await check(c, async () => {
        result = await method.call(this, c);
      });
      return stopped ?? result;
    };
    return Object.assign(guarded, { [ACTRA_GUARD]: guardOf(check) }) as unknown as Fn;
  };
}
