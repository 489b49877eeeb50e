/** The framework-neutral HTTP layer: what the Express, Fastify and Hono adapters are built on. */
export { ACTRA_GUARD, ActraHttp, notInstalledResponse, type ActraHttpParts, type ApprovalRoutesHandler, type CompiledGuard, type HandleOutcome, type RequestActorResolver } from './handle.js';
export { createActraHttp, type ActraHttpOptions, type RuntimeSource } from './create.js';
export { compileAction, SOURCE_PRECEDENCE, type ActionBuilder as HttpActionBuilder, type ActionSpec, type FieldSource } from './action.js';
export { parseHttpOptions, type HttpLogger, type HttpOptions, type HttpRuntimeLike, type ResolvedHttpOptions, type RouteGuardOptions, type RouteSpec } from './options.js';
export {
  ACTRA_HEADERS,
  PROBLEM_TYPE_BASE,
  blockedResponse,
  decisionHeaders,
  errorResponse,
  hasHeaders,
  pendingResponse,
  problemResponse,
  refusedResponse,
  unauthorizedResponse,
  warningHeader,
  type PendingApprovalBody,
  type ProblemBody,
} from './responses.js';
export { normaliseMethod, normalisePattern, parseRouteKey, RouteTable, splitPath, type CompiledRoute, type MatchOptions, type RouteMatch } from './route-table.js';
export type { NeutralRequest, NeutralResponse } from './types.js';
export type { CheckResult as ActraRequestDecision } from '../runtime/types.js';
export { actionBody, declaredLength, invalidJson, isJsonType, notAnObject, notJson, readRawBody, tooLarge, UNPARSED_BODY } from './body.js';
export { isAdmitted, withAdmitted, type Admitted } from './admitted.js';
export { compileGuards, deferGuard, guardOf, type DeferredGuard } from './guard.js';
export { singleOrList } from './query.js';
export { nodeHeader, type NodeHeaders } from './headers.js';
export { pooledIdGenerator } from './ids.js';
export { isPromise } from '../runtime/snapshot.js';
