/** Fastify 5 adapter: `actraPlugin` (fastify-plugin, `preHandler`), route `config.actra`, `guard()` and `@Guard`. */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ACTRA_GUARD, compileGuards, createActraHttp, deferGuard, guardOf, hasHeaders, isAdmitted, isPromise, nodeHeader, notInstalledResponse, withAdmitted } from '../src/http/index.js';
import type { ActraHttp, ActraHttpOptions, Admitted, ActraRequestDecision, CompiledGuard, HandleOutcome, NeutralRequest, NeutralResponse, RouteGuardOptions } from '../src/http/index.js';

/** Route config: `config: { actra: 'refund' }` or `{ actra: { action: 'refund', fields, mode } }`. */
export type ActraRouteConfig = string | ({ readonly action: string } & RouteGuardOptions);

declare module 'fastify' {
  interface FastifyRequest {
    /** The Actra decision for this request; set on guarded routes in `preHandler`, else null. */
    actra: ActraRequestDecision | null;
  }
  interface FastifyContextConfig {
    actra?: ActraRouteConfig;
  }
  interface FastifyInstance {
    /** The shared HTTP side of Actra (set by `actraPlugin`). */
    actraHttp: ActraHttp;
  }
}

const ENTRY = Symbol('actra.route');
type Entry = { readonly guard?: CompiledGuard; readonly routeLevel: boolean };
/**
 * The action types admitted for a request (one type, the common case, as itself), so that a
 * route-level guard does not evaluate one again. Kept apart from the request, and only for routes
 * with a route-level guard: a second decorated request property would make Fastify's request
 * constructor store its decorations through a megamorphic keyed store on every request.
 */
const ADMITTED = new WeakMap<FastifyRequest, Admitted>();

function markAdmitted(request: FastifyRequest, type: string): void {
  ADMITTED.set(request, withAdmitted(ADMITTED.get(request), type));
}

function wasAdmitted(request: FastifyRequest, type: string): boolean {
  return isAdmitted(ADMITTED.get(request), type);
}

/** The neutral view of a Fastify request. */
class FastifyNeutral implements NeutralRequest {
  readonly method: string;
  readonly routePattern: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
  readonly rawBody?: string;
  readonly #headers: FastifyRequest['headers'];
  readonly #url: string;

  constructor(request: FastifyRequest, routePattern: string, rawBody: string | undefined) {
    this.method = request.method;
    this.#url = request.url;
    this.routePattern = routePattern;
    this.params = (request.params ?? {}) as Record<string, string>;
    this.query = (request.query ?? {}) as Record<string, unknown>;
    this.body = rawBody === undefined ? request.body : undefined;
    if (rawBody !== undefined) this.rawBody = rawBody;
    this.#headers = request.headers;
  }

  /** Cut from the URL only when read: a guarded route's admission does not need it. */
  get path(): string {
    const url = this.#url;
    const q = url.indexOf('?');
    return q === -1 ? url : url.slice(0, q);
  }

  header(name: string): string | undefined {
    return nodeHeader(this.#headers, name);
  }
}

/** `routePattern`: the matched route's URL (`request.routeOptions` builds a new object on every read). */
function neutral(request: FastifyRequest, rawBody?: string, routePattern = request.routeOptions.url ?? ''): NeutralRequest {
  return new FastifyNeutral(request, routePattern, rawBody);
}

function send(reply: FastifyReply, response: NeutralResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body === undefined ? undefined : JSON.stringify(response.body));
}

/** Applies an admission outcome; true when a response was sent (the handler must not run). */
function apply(request: FastifyRequest, reply: FastifyReply, outcome: HandleOutcome): boolean {
  if (outcome.kind === 'respond') {
    send(reply, outcome.response);
    return true;
  }
  if (hasHeaders(outcome.headers)) reply.headers(outcome.headers);
  request.actra = outcome.result;
  return false;
}

/** Runs admission; true when a response was sent (the handler must not run). */
async function admit(http: ActraHttp, request: FastifyRequest, reply: FastifyReply, guard: CompiledGuard, route: string): Promise<boolean> {
  if (wasAdmitted(request, guard.action.type)) return false;
  const sent = apply(request, reply, await http.admit(neutral(request, undefined, route), guard, route));
  if (!sent) markAdmitted(request, guard.action.type);
  return sent;
}

/**
 * Runs admission in a callback-style hook: synchronously when the decision is synchronous. `mark`:
 * the route has a route-level guard, which must know what was admitted.
 */
function admitThen(http: ActraHttp, request: FastifyRequest, reply: FastifyReply, guard: CompiledGuard, route: string, pattern: string, mark: boolean, done: (error?: Error) => void): void {
  const outcome = http.admit(neutral(request, undefined, pattern), guard, route);
  if (!isPromise(outcome)) {
    // After a response is sent the hook chain stops: `done` is called only to go on to the handler.
    if (!apply(request, reply, outcome)) {
      if (mark) markAdmitted(request, guard.action.type);
      done();
    }
    return;
  }
  outcome.then(function admitted(resolved) {
    let sent: boolean;
    try {
      sent = apply(request, reply, resolved);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (sent) return;
    if (mark) markAdmitted(request, guard.action.type);
    done();
  });
}

function entryFor(http: ActraHttp, route: Pick<RouteOptions, 'method' | 'url' | 'config'> & Partial<Pick<RouteOptions, 'preHandler' | 'handler'>>): Entry {
  const preHandlers = route.preHandler === undefined ? [] : [route.preHandler].flat();
  const routeLevel = preHandlers.some((h) => ACTRA_GUARD in h) || (route.handler !== undefined && ACTRA_GUARD in route.handler);
  const spec = route.config?.actra;
  const where = `route ${String(route.method)} ${route.url} config.actra`;
  if (spec !== undefined) return { guard: typeof spec === 'string' ? http.compileGuard(spec, {}, where) : (({ action, ...rest }) => http.compileGuard(action, rest, where))(spec), routeLevel };
  const method = [route.method].flat()[0] ?? 'GET';
  const found = http.table.lookup(method, route.url);
  return found === undefined ? { routeLevel } : { guard: found.value, routeLevel };
}

async function actraFastify(app: FastifyInstance, options: ActraHttpOptions): Promise<void> {
  const http = createActraHttp(options, { caseSensitive: true }, 'actraPlugin');
  const unguarded: string[] = [];
  const late = new WeakMap<object, Entry>();
  app.decorate('actraHttp', http);
  app.decorateRequest('actra', null);

  app.addHook('onRoute', function actraOnRoute(route) {
    if ((route.config as Record<symbol, unknown> | undefined)?.[ENTRY] === 'approvals') return;
    compileGuards(http, [...(route.preHandler === undefined ? [] : [route.preHandler].flat()), route.handler]);
    const entry = entryFor(http, route);
    if (entry.guard === undefined && !entry.routeLevel && route.method !== 'HEAD') unguarded.push(`${String(route.method)} ${route.url}`);
    route.config = { ...route.config, [ENTRY]: entry } as NonNullable<typeof route.config>;
  });
  app.addHook('onReady', async function actraOnReady() {
    http.logStartup(unguarded);
  });

  app.addHook('preHandler', function actraPreHandler(request, reply, done) {
    const options = request.routeOptions;
    const url = options.url ?? '';
    const config = options.config as unknown as Record<symbol, unknown>;
    let entry = config[ENTRY] as Entry | 'approvals' | undefined;
    if (entry === 'approvals') return done();
    if (entry === undefined) {
      try {
        entry = late.get(config) ?? entryFor(http, { method: options.method ?? request.method, url, config: options.config });
      } catch (error) {
        // A route registered before the plugin, with a bad config.actra: refused like a bad guard.
        send(reply, http.failureResponse(error, neutral(request, undefined, url)));
        return;
      }
      late.set(config, entry);
    }
    if (entry.guard !== undefined) return admitThen(http, request, reply, entry.guard, url, url, entry.routeLevel, done);
    if (entry.routeLevel) return done();
    const path = neutral(request, undefined, url).path;
    const matched = http.table.match(request.method, path);
    if (matched !== undefined) return admitThen(http, request, reply, matched.route.value, matched.route.pattern, url, false, done);
    if (http.options.unmatched === 'deny') {
      send(reply, http.unmatchedResponse(neutral(request, undefined, url)));
      return;
    }
    return done();
  });

  await app.register(async function actraApprovalRoutes(scope) {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: http.options.bodyLimit }, function rawText(_req, body, done) {
      done(null, body);
    });
    const handler = async function actraApprovals(request: FastifyRequest, reply: FastifyReply) {
      const rawBody = typeof request.body === 'string' ? request.body : undefined;
      const response = await http.approvals(neutral(request, rawBody));
      return response === undefined ? send(reply, http.unmatchedResponse(neutral(request))) : send(reply, response);
    };
    const config = { [ENTRY]: 'approvals' } as unknown as Record<string, never>;
    scope.get(`${http.options.approvalsPrefix}/approvals/:id`, { config }, handler);
    scope.post(`${http.options.approvalsPrefix}/approvals/:id/decision`, { config }, handler);
  });
}

/**
 * The Fastify plugin (fastify-plugin, not encapsulated): `await app.register(actraPlugin, options)`
 * before your routes. Evaluates in `preHandler`, after body parsing and schema validation.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) at registration for a bad option, action or field.
 * @example
 * ```ts
 * await app.register(actraPlugin, { policy, jwt: { algorithms: ['HS256'], secret, issuer, audience } });
 * app.post('/refunds/:id', { config: { actra: 'refund' } }, async (request) => ({ decision: request.actra?.decisionId }));
 * ```
 */
export const actraPlugin = fp(actraFastify, { fastify: '5.x', name: 'actra' });

/** A route-level guard for `preHandler: guard('refund')`. Needs `actraPlugin`; without it the route answers 500. */
export function guard(action: string, options?: RouteGuardOptions) {
  const deferred = deferGuard(action, options);
  const handler = async function actraGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return (await check(request, reply)) ? reply : undefined;
  };
  async function check(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const http = (request.server as Partial<FastifyInstance>).actraHttp;
    if (http === undefined) {
      send(reply, notInstalledResponse('actraPlugin'));
      return true;
    }
    let compiled: CompiledGuard;
    try {
      compiled = deferred.compile(http);
    } catch (error) {
      send(reply, http.failureResponse(error, neutral(request)));
      return true;
    }
    return admit(http, request, reply, compiled, request.routeOptions.url ?? '');
  }
  return Object.assign(handler, { [ACTRA_GUARD]: deferred, check });
}

/**
 * TC39 method decorator for class-based controllers: the method `(request, reply)` runs only when allowed.
 * @example `class Refunds { @Guard('refund') async create(request: FastifyRequest) { return request.actra } }`
 */
export function Guard(action: string, options?: RouteGuardOptions) {
  const check = guard(action, options);
  return function decorate<This, Fn extends (this: This, request: FastifyRequest, reply: FastifyReply) => unknown>(method: Fn, _context: ClassMethodDecoratorContext<This, Fn>): Fn {
    const guarded = async function guardedMethod(this: This, request: FastifyRequest, reply: FastifyReply) {
      return (await check.check(request, reply)) ? reply : method.call(this, request, reply);
    };
    return Object.assign(guarded, { [ACTRA_GUARD]: guardOf(check) }) as unknown as Fn;
  };
}
