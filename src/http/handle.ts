/** The framework-neutral request pipeline: route → action → actor → runtime.check → response. */
import { ActraAuthError, ActraError, ActraOptionsError } from '../errors.js';
import type { ActionInput } from '../core/types.js';
import type { Actor, CheckRequest, CheckResult, Mode } from '../runtime/types.js';
import type { DecideParts } from '../runtime/runtime.js';
import { isPromise } from '../runtime/snapshot.js';
import { pooledIdGenerator } from '../runtime/ids.js';
import { compileAction, type ActionBuilder } from './action.js';
import { guardOptionsSchema, parseHttpOptions, type HttpLogger, type HttpOptions, type HttpRuntimeLike, type ResolvedHttpOptions, type RouteGuardOptions } from './options.js';
import { parseOptions } from '../options.js';
import { ACTRA_HEADERS, allowedHeaders, blockedResponse, decisionHeaders, errorResponse, pendingResponse, problemResponse, refusedResponse, unauthorizedResponse } from './responses.js';
import { normaliseMethod, routeParamNames, RouteTable, type MatchOptions } from './route-table.js';
import type { NeutralRequest, NeutralResponse } from './types.js';

/** A route's admission, compiled once: the action builder, the mode and the runtime's decision for the action type. */
export interface CompiledGuard {
  readonly action: ActionBuilder;
  readonly mode: Mode | undefined;
  /** The runtime's `decide`, prepared for the action type (when the runtime offers it). */
  readonly decide: DecideParts<NeutralRequest> | undefined;
  /** The declared pattern, when known at compile time (route table). */
  readonly pattern?: string;
}

/** What the adapter does next: run the handler (setting `headers`), or send `response`. */
export type HandleOutcome =
  | { readonly kind: 'next'; readonly result: CheckResult; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'respond'; readonly response: NeutralResponse };

/** Resolves the actor of an HTTP request (from its bearer token), synchronously when it can. Throws `ActraAuthError` for 401. */
export type RequestActorResolver = (req: NeutralRequest) => Actor | Promise<Actor>;

/** Serves the approval routes under `prefix`; `undefined` when the request is not one of them. */
export type ApprovalRoutesHandler = (req: NeutralRequest, prefix: string) => Promise<NeutralResponse | undefined>;

/** What an adapter passes besides the user's options. */
export interface ActraHttpParts {
  readonly runtime: HttpRuntimeLike;
  readonly actor?: RequestActorResolver;
  readonly approvalRoutes?: ApprovalRoutesHandler;
  readonly match: MatchOptions;
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

const consoleLogger: HttpLogger = {
  info: function info() {},
  warn: function warn(obj, msg) {
    console.warn(JSON.stringify({ level: 'warn', msg, ...obj }));
  },
};

/**
 * The HTTP side of Actra, shared by the three adapters: route table, guards, the decision pipeline
 * and the approval routes. Everything is compiled in the constructor.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) for a bad option, an unknown action or field.
 */
export class ActraHttp {
  readonly options: ResolvedHttpOptions;
  readonly runtime: HttpRuntimeLike;
  readonly table: RouteTable<CompiledGuard>;
  readonly logger: HttpLogger;
  readonly #actor: RequestActorResolver | undefined;
  readonly #approvalRoutes: ApprovalRoutesHandler | undefined;
  readonly #approvalsPath: string;
  readonly #ids = pooledIdGenerator();
  /** True when the runtime can answer synchronously (`decide`); `check` otherwise. */
  readonly #decides: boolean;
  /** Messages of the configuration errors logged already: each is logged once, not once per request. */
  readonly #misconfigured = new Set<string>();

  constructor(options: HttpOptions, parts: ActraHttpParts) {
    this.options = parseHttpOptions(options, 'actra');
    this.runtime = parts.runtime;
    this.#decides = typeof parts.runtime.decide === 'function';
    this.logger = this.options.logger ?? consoleLogger;
    this.#actor = parts.actor;
    this.#approvalRoutes = parts.approvalRoutes;
    this.#approvalsPath = this.options.approvalsPrefix + '/approvals';
    const entries = Object.entries(this.options.routes ?? {}).map(([key, spec]) => [key, this.#compileSpec(spec, `routes["${key}"]`, routeParamNames(key))] as const);
    this.table = new RouteTable(entries, parts.match);
    this.table.routes.forEach(function attachPattern(route) {
      (route.value as { pattern?: string }).pattern = route.pattern;
    });
  }

  #compileSpec(spec: LooseRouteSpec, where: string, routeParams: ReadonlySet<string>): CompiledGuard {
    const { action, ...rest } = typeof spec === 'string' ? { action: spec } : spec;
    return this.compileGuard(action, stripUndefined(rest), where, routeParams);
  }

  /**
   * Compiles a guard for `action`. Call once per route, at start-up.
   * @param routeParams the route's parameter names, when known (a route table key): action fields
   *   that are none of them are not looked for in the params.
   * @throws ActraOptionsError (`ACTRA_OPTIONS`) when the action or a mapped field is not declared.
   */
  compileGuard(action: string, options: RouteGuardOptions = {}, where = `guard("${action}")`, routeParams?: ReadonlySet<string>): CompiledGuard {
    const opts = parseOptions(guardOptionsSchema, options, where);
    if (typeof action !== 'string' || action.length === 0) throw new ActraOptionsError(`${where}: action must be a non-empty string`);
    const builder = compileAction({ action, ...(opts.fields ? { fields: opts.fields } : {}), ...(opts.mapper ? { mapper: opts.mapper } : {}) }, this.runtime.policy.schema, where, routeParams);
    const mode = opts.mode ?? this.options.mode;
    const decide = typeof this.runtime.decider === 'function' ? this.runtime.decider(action, httpCheck) : undefined;
    // Every guard has the same three properties (a missing mode or decider as `undefined`): one shape for V8 to read them from.
    return { action: builder, mode, decide };
  }

  /** Logs the route table and the unmatched policy, and warns about `unguarded` routes. */
  logStartup(unguarded: readonly string[]): void {
    const routes = this.table.routes.map(function describe(r) {
      return `${r.method} ${r.pattern}`;
    });
    this.logger.info({ routes, unmatched: this.options.unmatched }, 'actra: route table compiled');
    if (unguarded.length > 0) {
      const msg = this.options.unmatched === 'deny' ? 'actra: routes without a guard are refused (unmatched: deny)' : 'actra: routes without a guard run unchecked (unmatched: allow)';
      this.logger.warn({ unguarded: [...unguarded] }, msg);
    }
  }

  /** The request id: the incoming header when well-formed, else a fresh `req_` id. */
  requestId(req: NeutralRequest): string {
    const incoming = req.header(this.options.requestIdHeader);
    return incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : this.#ids('request');
  }

  /** True when `path` is under `<base><approvalsPrefix>/approvals`. */
  isApprovalPath(path: string, base = ''): boolean {
    const full = base + this.#approvalsPath;
    return path.startsWith(full) && (path.length === full.length || path.charCodeAt(full.length) === 47);
  }

  /** Serves an approval route, or `undefined` when `req` is not one. Failures become problem responses. */
  async approvals(req: NeutralRequest, base = ''): Promise<NeutralResponse | undefined> {
    if (this.#approvalRoutes === undefined || !this.isApprovalPath(req.path, base)) return undefined;
    try {
      return await this.#approvalRoutes(req, base + this.options.approvalsPrefix);
    } catch (error) {
      return this.#failure(error, this.requestId(req), req);
    }
  }

  /** The 404 problem sent for a request matching no declared route under `unmatched: 'deny'`. */
  unmatchedResponse(req: NeutralRequest): NeutralResponse {
    const requestId = this.requestId(req);
    return problemResponse(404, 'ACTRA_UNMATCHED_ROUTE', requestId, { headers: { [this.options.requestIdHeader]: requestId } });
  }

  /**
   * Runs admission for one request: builds the action, resolves the actor, calls `runtime.check`.
   * Never throws: every failure becomes a problem response (400, 401, 503).
   * @param route the route pattern (with mount prefix) recorded in events and approval digests.
   * @param base the mount prefix of the approval routes (for the 202 status URL).
   */
  handle(req: NeutralRequest, guard: CompiledGuard, route: string, base = ''): Promise<HandleOutcome> {
    return Promise.resolve(this.admit(req, guard, route, base));
  }

  /**
   * `handle`, answering synchronously when every step is synchronous (a cached token, synchronous
   * loaders, no approval store involved) and with a promise otherwise. Never throws, never rejects.
   */
  admit(req: NeutralRequest, guard: CompiledGuard, route: string, base = ''): HandleOutcome | Promise<HandleOutcome> {
    const requestId = this.requestId(req);
    let action: ActionInput;
    let actor: Actor | Promise<Actor> | undefined;
    try {
      action = guard.action.build(req);
      actor = this.#actor === undefined ? undefined : this.#actor(req);
    } catch (error) {
      return { kind: 'respond', response: this.#failure(error, requestId, req) };
    }
    if (!isPromise(actor)) return this.#decide(req, guard, route, base, requestId, action, actor);
    const http = this;
    return actor.then(
      function actorResolved(resolved) {
        return http.#decide(req, guard, route, base, requestId, action, resolved);
      },
      function actorFailed(error: unknown): HandleOutcome {
        return { kind: 'respond', response: http.#failure(error, requestId, req) };
      },
    );
  }

  #decide(req: NeutralRequest, guard: CompiledGuard, route: string, base: string, requestId: string, action: ActionInput, actor: Actor | undefined): HandleOutcome | Promise<HandleOutcome> {
    const method = normaliseMethod(req.method);
    const decide = guard.decide;
    let checked: CheckResult | Promise<CheckResult>;
    try {
      if (decide !== undefined) {
        // The runtime's own, prepared for the action type: it makes a check object only if it needs one.
        checked = decide(action, req, actor, guard.mode, method, route, requestId);
      } else {
        const request = httpCheck(action, req, actor, guard.mode, method, route, requestId);
        // A runtime without `decide` is awaited as a native promise, whatever thenable it returns.
        checked = this.#decides ? (this.runtime as Required<HttpRuntimeLike>).decide(request) : Promise.resolve(this.runtime.check(request));
      }
    } catch (error) {
      return { kind: 'respond', response: this.#failure(error, requestId, req) };
    }
    if (!isPromise(checked)) return this.#outcome(checked, req, base, requestId);
    const http = this;
    return checked.then(
      function checkedResult(result) {
        return http.#outcome(result, req, base, requestId);
      },
      function checkFailed(error: unknown): HandleOutcome {
        return { kind: 'respond', response: http.#failure(error, requestId, req) };
      },
    );
  }

  #outcome(result: CheckResult, req: NeutralRequest, base: string, requestId: string): HandleOutcome {
    const requestIdHeader = this.options.requestIdHeader;
    try {
      switch (result.outcome) {
        case 'allow':
          return { kind: 'next', result, headers: this.options.decisionHeaders ? decisionHeaders(result, requestIdHeader) : allowedHeaders(result) };
        case 'block':
          return { kind: 'respond', response: blockedResponse(result, requestIdHeader) };
        case 'pending': {
          const statusUrl = `${base}${this.#approvalsPath}/${encodeURIComponent(result.approval?.id ?? '')}`;
          return { kind: 'respond', response: pendingResponse(result, statusUrl, this.options.pendingRetryAfter, requestIdHeader) };
        }
        case 'refused':
          return { kind: 'respond', response: refusedResponse(result, requestIdHeader) };
        default:
          return { kind: 'respond', response: errorResponse(undefined, requestId, this.options.unavailableRetryAfter, requestIdHeader) };
      }
    } catch (error) {
      return { kind: 'respond', response: this.#failure(error, requestId, req) };
    }
  }

  /** The problem response for a failure outside `handle` (a malformed path, a body over the limit). */
  failureResponse(error: unknown, req: NeutralRequest): NeutralResponse {
    return this.#failure(error, this.requestId(req), req);
  }

  /**
   * Logs a configuration error found while serving (a guard that does not compile), once per
   * distinct message; the requests it affects are answered 500 `ACTRA_OPTIONS` with a generic detail.
   */
  misconfigured(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.#misconfigured.has(message) || this.#misconfigured.size >= 100) return;
    this.#misconfigured.add(message);
    this.logger.warn({ code: 'ACTRA_OPTIONS', error: message }, 'actra: misconfigured; affected requests are refused with 500');
  }

  #failure(error: unknown, requestId: string, req: NeutralRequest): NeutralResponse {
    if (error instanceof ActraError && error.code === 'ACTRA_OPTIONS') this.misconfigured(error);
    if (error instanceof ActraAuthError || (error instanceof ActraError && error.code === 'ACTRA_UNAUTHENTICATED')) {
      const tokenSent = req.header('authorization') !== undefined;
      return unauthorizedResponse(error, tokenSent, this.options.realm, requestId, this.options.requestIdHeader);
    }
    return errorResponse(error, requestId, this.options.unavailableRetryAfter, this.options.requestIdHeader);
  }
}

/**
 * The check of one HTTP request. Every field is set in the constructor, so that every request's
 * check has one shape; `approvalId` is read from the `Actra-Approval` header only when the runtime
 * asks for it (a decision that needs an approval), not on every request.
 */
class HttpCheck {
  readonly action: ActionInput;
  readonly ctx: NeutralRequest;
  readonly actor: Actor | undefined;
  readonly mode: Mode | undefined;
  readonly method: string | undefined;
  readonly route: string | undefined;
  readonly requestId: string | undefined;

  constructor(action: ActionInput, ctx: NeutralRequest, actor: Actor | undefined, mode: Mode | undefined, method: string | undefined, route: string | undefined, requestId: string | undefined) {
    this.action = action;
    this.ctx = ctx;
    this.actor = actor;
    this.mode = mode;
    this.method = method;
    this.route = route;
    this.requestId = requestId;
  }

  get approvalId(): string | undefined {
    const id = this.ctx.header(ACTRA_HEADERS.approval);
    return id === undefined || id.length === 0 ? undefined : id;
  }
}

/** The check of one HTTP request (`undefined` for a field not given: the runtime reads an absent field and an undefined one alike). */
function httpCheck(action: ActionInput, ctx: NeutralRequest, actor: Actor | undefined, mode: Mode | undefined, method: string | undefined, route: string | undefined, requestId: string | undefined): CheckRequest<NeutralRequest> {
  return new HttpCheck(action, ctx, actor, mode, method, route, requestId) as CheckRequest<NeutralRequest>;
}

type LooseRouteSpec = string | ({ action: string } & { [K in keyof RouteGuardOptions]?: RouteGuardOptions[K] | undefined });

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(function defined(entry) {
    return entry[1] !== undefined;
  })) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** Marks route-level guard functions so adapters can tell guarded routes from unguarded ones. */
export const ACTRA_GUARD: unique symbol = Symbol.for('actra.guard');

/** 500 problem for a guard used without the app-level middleware or plugin installed. */
export function notInstalledResponse(what: string): NeutralResponse {
  return problemResponse(500, 'ACTRA_OPTIONS', 'none', { detail: `${what} is not installed on this app; the route is refused` });
}
