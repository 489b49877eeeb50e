/** Hono 4 adapter: `actraMiddleware(options)` via `createMiddleware`, `guard()`, `@Guard`, typed `c.get('actra')`. */
import type { Context, MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes, routePath } from 'hono/route';
import { ACTRA_GUARD, compileGuards, createActraHttp, deferGuard, guardOf, invalidJson, isJsonType, isThenable, notInstalledResponse, readRawBody, singleOrList, tooLarge } from '../src/http/index.js';
import type { ActraHttp, ActraHttpOptions, ActraRequestDecision, CompiledGuard, NeutralRequest, NeutralResponse, RouteGuardOptions } from '../src/http/index.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The Actra decision for this request; set on guarded routes before the handler runs, else undefined. */
    actra: ActraRequestDecision | undefined;
  }
}

type State = { readonly http: ActraHttp; done: Set<string> | undefined };
const NO_BODY: { body?: unknown } = Object.freeze({});
/** Per-request state, kept on the raw `Request` (shared by sub-apps) under a symbol: no WeakMap entry per request. */
const STATE = Symbol('actra.hono');
type Stateful = Request & { [STATE]?: State };
type Params = Readonly<Record<string, string>>;

/**
 * A request header. On @hono/node-server, from Node's own header object (`c.env.incoming`):
 * `c.req.header()` would make the server build a WHATWG `Headers` for the request.
 */
function requestHeader(c: Context, name: string, headers = nodeHeaders(c)): string | undefined {
  if (headers === undefined) return c.req.header(name);
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function nodeHeaders(c: Context): Record<string, string | string[] | undefined> | undefined {
  const env = c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined;
  return typeof env?.incoming?.headers === 'object' ? env.incoming.headers : undefined;
}

async function readBody(c: Context, limit: number, raw: boolean): Promise<{ body?: unknown; rawBody?: string }> {
  const cache = c.req.bodyCache as unknown as { text?: Promise<string>; json?: Promise<unknown> };
  const method = c.req.method;
  if (cache.text === undefined && (method === 'GET' || method === 'HEAD')) return {};
  const length = requestHeader(c, 'content-length');
  if (Number(length ?? 0) > limit) throw tooLarge(limit);
  // Touching `raw.body` makes @hono/node-server build a full Request: only do it when no length is declared.
  const stream = cache.text === undefined && length === undefined ? c.req.raw.body : null;
  if (cache.text === undefined && length === undefined && stream === null) return {};
  const text = await (cache.text ?? (stream !== null ? readRawBody(stream as unknown as AsyncIterable<unknown>, limit) : c.req.text()));
  // UTF-8 takes at most three bytes per UTF-16 unit: short texts need no count.
  if (text.length * 3 > limit && Buffer.byteLength(text) > limit) throw tooLarge(limit);
  cache.text = Promise.resolve(text);
  if (raw) return { rawBody: text };
  if (text.length === 0) return {};
  // Not JSON: handed on as text, which actions refuse (415) rather than read no fields from it.
  if (!isJsonType(requestHeader(c, 'content-type'))) return { body: text };
  try {
    const body = JSON.parse(text) as unknown;
    cache.json ??= Promise.resolve(body);
    return { body };
  } catch {
    throw invalidJson();
  }
}

/** The neutral view of a Hono request; the query is parsed only when read. */
class HonoRequest implements NeutralRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly rawBody?: string;
  readonly #c: Context;
  #params: Params | (() => Params);
  /** On @hono/node-server (`c.env.incoming`), Node's own header object: no `Headers` lookups. */
  readonly #nodeHeaders: Record<string, string | string[] | undefined> | undefined;
  #query: Record<string, unknown> | undefined;

  constructor(c: Context, params: Params | (() => Params), read: { body?: unknown; rawBody?: string }) {
    this.#c = c;
    this.#params = params;
    this.method = c.req.method;
    this.path = c.req.path;
    this.body = read.body;
    if (read.rawBody !== undefined) this.rawBody = read.rawBody;
    this.#nodeHeaders = nodeHeaders(c);
  }

  /** Decoded only when read (most actions take their fields from the body). */
  get params(): Params {
    const params = this.#params;
    return typeof params === 'function' ? (this.#params = params()) : params;
  }

  get query(): Record<string, unknown> {
    return (this.#query ??= singleOrList(this.#c.req.queries()));
  }

  header(name: string): string | undefined {
    return requestHeader(this.#c, name, this.#nodeHeaders);
  }
}

function neutral(c: Context, params: Params | (() => Params), read: { body?: unknown; rawBody?: string }): NeutralRequest {
  return new HonoRequest(c, params, read);
}

/** The decoded params of matched route `index`, read through Hono's own match result. */
function paramsOf(c: Context, index: number): Record<string, string> {
  const current = c.req.routeIndex;
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
  const outgoing = (c.env as { outgoing?: { setHeader?: unknown; headersSent?: boolean } } | undefined)?.outgoing;
  if (outgoing !== undefined && typeof outgoing.setHeader === 'function' && outgoing.headersSent === false) {
    for (const name in headers) (outgoing as { setHeader(name: string, value: string): void }).setHeader(name, headers[name] as string);
    return;
  }
  for (const name in headers) c.header(name, headers[name]);
}

async function admit(http: ActraHttp, c: Context, next: () => Promise<void>, guard: CompiledGuard, route: string, params: Params | (() => Params)): Promise<Response | undefined> {
  const state = (c.req.raw as Stateful)[STATE];
  if (state?.done?.has(guard.action.type) === true) return void (await next());
  let read = NO_BODY;
  try {
    if (guard.action.needsBody) read = await readBody(c, http.options.bodyLimit, false);
  } catch (error) {
    return respond(c, http.failureResponse(error, neutral(c, params, {})));
  }
  const admitted = http.admit(neutral(c, params, read), guard, route);
  const outcome = isThenable(admitted) ? await admitted : admitted;
  if (outcome.kind === 'respond') return respond(c, outcome.response);
  if (state !== undefined) (state.done ??= new Set()).add(guard.action.type);
  setHeaders(c, outcome.headers);
  c.set('actra', outcome.result);
  await next();
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
  const middleware = createMiddleware(async function actraMiddleware(c, next) {
    (c.req.raw as Stateful)[STATE] = { http, done: undefined };
    const path = c.req.path;
    try {
      if (http.isApprovalPath(path)) {
        const read = c.req.method === 'POST' ? await readBody(c, http.options.bodyLimit, true) : {};
        const response = await http.approvals(neutral(c, {}, read));
        if (response !== undefined) return respond(c, response);
      }
      let guarded = false;
      const routes = matchedRoutes(c);
      for (let index = 0; index < routes.length; index++) {
        const route = routes[index] as (typeof routes)[number];
        if (ACTRA_GUARD in route.handler) guarded = true;
        const exact = http.table.lookup(c.req.method, route.path);
        if (exact !== undefined) {
          const matchedIndex = index;
          return await admit(http, c, next, exact.value, route.path, function matchedParams() {
            return paramsOf(c, matchedIndex);
          });
        }
      }
      const matched = http.table.match(c.req.method, path);
      if (matched !== undefined) return await admit(http, c, next, matched.route.value, matched.route.pattern, matched.params);
      if (http.options.unmatched === 'deny' && !guarded) return respond(c, http.unmatchedResponse(neutral(c, {}, {})));
    } catch (error) {
      return respond(c, http.failureResponse(error, neutral(c, {}, {})));
    }
    await next();
    return undefined;
  });
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
      return respond(c, state.http.failureResponse(error, neutral(c, {}, {})));
    }
    return admit(state.http, c, next, compiled, routePath(c), function guardParams() {
      return c.req.param() as Record<string, string>;
    });
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
