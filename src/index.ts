/** Actra: runtime admission control for Node services — the public entry point. */

// Errors
export {
  ActraError,
  ActraCompileError,
  ActraInputError,
  ActraOptionsError,
  ActraAssertionError,
  ActraAuthError,
  ActraResolverError,
  ActraStoreError,
  ActraApprovalError,
  isActraError,
  type ActraErrorCode,
  type CompileIssue,
  type CompileIssueCode,
} from './errors.js';

// Policy engine
export { Actra, compileSources, checkDirectory, type CompileResult, type Source } from './core/actra.js';
export { canonicalJson, sha256Hex } from './core/canonical.js';
export type * from './core/types.js';

// Runtime
export {
  ActraRuntime,
  type RuntimeOptions,
  type CallOptions,
  type WrapOptions,
  type ActionBuilder,
  type CallContext,
  type IdGenerator,
} from './runtime/runtime.js';
export { ActraBlockedError, ActraApprovalRequiredError } from './runtime/errors.js';
export {
  jwtActor,
  bearerToken,
  type JwtActorOptions,
  type JwtActorResolver,
  type JwtAlgorithm,
  type JwtCacheStats,
  type PublicJwk,
} from './runtime/jwt-actor.js';
export type * from './runtime/types.js';

// Observability
export { logObserver, type LogObserverOptions, type StructuredLogger, type LogLevel, type ActorIdLogging } from './observability/log-observer.js';
export { otelMetrics, METRIC_DECISIONS, METRIC_DURATION, type OtelMetricsOptions } from './observability/metrics.js';
export {
  jsonlDecisionLog,
  sqliteDecisionLog,
  REDACTED,
  DECISION_LOG_VERSION,
  type DecisionLog,
  type DecisionLogRecord,
  type JsonlDecisionLogOptions,
  type SqliteDecisionLogOptions,
} from './observability/decision-log.js';
export { openDecisionLog, type DecisionLogFormat, type DecisionLogEntry } from './observability/decision-log-reader.js';
export { replayDecisions, type ReplayReport, type ReplayOptions, type ReplayChange } from './observability/decision-log-replay.js';

// Approvals
export { Approvals, approvalDigest, newApprovalId, isApprovalIdShape, DEFAULT_APPROVAL_TTL_SECONDS } from './approvals/approvals.js';
export type { ApprovalsOptions, Approver, WebhookApprover, DecisionInput, WaitForOptions } from './approvals/approvals.js';
export { approvalRoutes, approvalStatusView, type ApprovalRoutesOptions, type ApprovalStatusView } from './approvals/routes.js';
export { backoffDelay } from './approvals/webhooks.js';
export type {
  ApprovalWebhookPayload,
  ApprovalWebhookView,
  DispatchReport,
  WebhookEndpoint,
  HeaderSource,
  VerifiedInbound,
  WebhookLogger,
} from './approvals/webhooks.js';
export type * from './approvals/types.js';
export { MemoryApprovalStore } from './approvals/stores/memory-store.js';
export { SqliteApprovalStore, type SqliteApprovalStoreOptions } from './approvals/stores/sqlite-store.js';
export { PostgresApprovalStore, postgresDdl, type PostgresApprovalStoreOptions } from './approvals/stores/postgres-store.js';
export { RedisApprovalStore, type RedisApprovalStoreOptions } from './approvals/stores/redis-store.js';

// Policy test cases (the vitest helper is `actra/testing`)
export {
  loadCases,
  runCases,
  runCase,
  parseCases,
  type PolicyTestCase,
  type CaseExpectation,
  type CaseResult,
  type CaseRunReport,
  type LoadedCases,
} from './testing/cases.js';

// Framework-neutral HTTP shapes (the adapters are `actra/express`, `actra/fastify`, `actra/hono`)
export type { NeutralRequest, NeutralResponse } from './http/types.js';
