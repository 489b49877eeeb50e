/** Builds the shared HTTP side from the user's options: the runtime, the JWT actor, the approval routes. */
import type { Policy } from '../core/types.js';
import { ActraOptionsError } from '../errors.js';
import { approvalRoutes } from '../approvals/routes.js';
import type { Approvals } from '../approvals/approvals.js';
import { jwtActor, type JwtActorOptions, type JwtActorResolver } from '../runtime/jwt-actor.js';
import { ActraRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import { ActraHttp, type ApprovalRoutesHandler, type RequestActorResolver } from './handle.js';
import { pooledIdGenerator } from './ids.js';
import type { HttpOptions } from './options.js';
import type { MatchOptions } from './route-table.js';
import type { NeutralRequest, NeutralResponse } from './types.js';

/** Either a runtime built already, or a policy plus the runtime's options. */
export type RuntimeSource = { readonly runtime: ActraRuntime<NeutralRequest> } | ({ readonly policy: Policy } & RuntimeOptions<NeutralRequest>);

/**
 * Options of `actraMiddleware` (Express, Hono) and `actraPlugin` (Fastify).
 * `runtime` (an `ActraRuntime`) or `policy` (+ runtime options such as `loaders`, `observers`).
 */
export type ActraHttpOptions = HttpOptions &
  RuntimeSource & {
    /** Verifies `Authorization: Bearer` JWTs (jose) into the actor: options for `jwtActor`, or a resolver made by it. */
    readonly jwt?: JwtActorOptions | JwtActorResolver;
    /** The approval protocol: its routes are served under `approvalsPrefix`; with `policy`, also the runtime's gate. */
    readonly approvals?: Approvals;
  };

const HTTP_KEYS = new Set(['routes', 'unmatched', 'approvalsPrefix', 'logger', 'requestIdHeader', 'realm', 'pendingRetryAfter', 'unavailableRetryAfter', 'bodyLimit', 'decisionHeaders']);
const RUNTIME_KEYS = new Set(['mode', 'loaders', 'loaderTimeoutMs', 'actorResolver', 'snapshotResolver', 'observers', 'redact', 'now', 'idGenerator', 'onObserverError']);

/**
 * Validates the options and builds the shared HTTP side. Adapters call it once, at start-up.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) naming the option.
 */
export function createActraHttp(options: ActraHttpOptions, match: MatchOptions, owner: string): ActraHttp {
  if (typeof options !== 'object' || options === null) throw new ActraOptionsError(`${owner}: options must be an object`);
  const record = options as unknown as Record<string, unknown>;
  const hasRuntime = record['runtime'] !== undefined;
  const hasPolicy = record['policy'] !== undefined;
  if (hasRuntime === hasPolicy) throw new ActraOptionsError(`${owner}: give exactly one of option "runtime" or "policy"`);
  const http: Record<string, unknown> = {};
  const runtimeOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || key === 'runtime' || key === 'policy' || key === 'jwt' || key === 'approvals') continue;
    if (HTTP_KEYS.has(key)) http[key] = value;
    else if (RUNTIME_KEYS.has(key) && !hasRuntime) runtimeOptions[key] = value;
    else if (key === 'mode') http[key] = value;
    else throw new ActraOptionsError(`${owner}: unknown option "${key}"${RUNTIME_KEYS.has(key) ? ' (set it on the runtime)' : ''}`);
  }
  const approvals = record['approvals'] as Approvals | undefined;
  let runtime: ActraRuntime<NeutralRequest>;
  if (hasRuntime) {
    runtime = record['runtime'] as ActraRuntime<NeutralRequest>;
    if (typeof (runtime as Partial<ActraRuntime>).check !== 'function' || typeof runtime.policy !== 'object') {
      throw new ActraOptionsError(`${owner}: option "runtime" must be an ActraRuntime`);
    }
  } else {
    runtime = new ActraRuntime<NeutralRequest>(record['policy'] as Policy, {
      idGenerator: pooledIdGenerator(),
      ...(runtimeOptions as RuntimeOptions<NeutralRequest>),
      ...(approvals === undefined ? {} : { approvals }),
    });
  }

  const jwt = buildJwt(record['jwt'], runtime.policy);
  const actor: RequestActorResolver | undefined =
    jwt === undefined
      ? undefined
      : typeof jwt.resolveRequest === 'function'
        ? function jwtRequestActor(req) {
            return jwt.resolveRequest(req);
          }
        : function jwtRequestActor(req) {
            // Admission tells its own asynchronous steps by `instanceof Promise`: a resolver of
            // another make may answer with any thenable.
            return Promise.resolve(jwt.fromRequest(req));
          };

  let routes: ApprovalRoutesHandler | undefined;
  if (approvals !== undefined) {
    const byPrefix = new Map<string, (req: NeutralRequest) => Promise<NeutralResponse | undefined>>();
    const requestIdHeader = typeof http['requestIdHeader'] === 'string' ? http['requestIdHeader'] : 'x-request-id';
    const realm = typeof http['realm'] === 'string' ? http['realm'] : 'actra';
    const unavailableRetryAfter = typeof http['unavailableRetryAfter'] === 'number' ? http['unavailableRetryAfter'] : undefined;
    const shared = {
      requestIdHeader,
      realm,
      ...(unavailableRetryAfter === undefined ? {} : { unavailableRetryAfter }),
      ...(jwt === undefined || approvals.approverResolver !== undefined
        ? {}
        : {
            resolveApprover: async function jwtApprover(r: NeutralRequest) {
              return r.header('authorization') === undefined ? undefined : jwt.fromRequest(r);
            },
          }),
    };
    // Built once now so that a bad option fails at start-up; a mount path only changes the prefix.
    const configuredPrefix = typeof http['approvalsPrefix'] === 'string' ? http['approvalsPrefix'] : '/actra';
    byPrefix.set(configuredPrefix, approvalRoutes(approvals, { prefix: configuredPrefix, ...shared }));
    routes = function mountedApprovalRoutes(req, prefix) {
      let handler = byPrefix.get(prefix);
      if (handler === undefined) {
        handler = approvalRoutes(approvals, { prefix, ...shared });
        byPrefix.set(prefix, handler);
      }
      return handler(req);
    };
  }

  return new ActraHttp(http as HttpOptions, {
    runtime,
    match,
    ...(actor === undefined ? {} : { actor }),
    ...(routes === undefined ? {} : { approvalRoutes: routes }),
  });
}

function buildJwt(value: unknown, policy: Policy): JwtActorResolver | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function' && typeof (value as Partial<JwtActorResolver>).fromRequest === 'function') return value as JwtActorResolver;
  if (typeof value !== 'object' || value === null) throw new ActraOptionsError('actra: option "jwt" must be jwtActor options or a jwtActor resolver');
  const options = value as JwtActorOptions;
  return jwtActor(options.policy === undefined && options.actorFields === undefined ? { ...options, policy } : options);
}
