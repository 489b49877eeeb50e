/** Public types of the runtime: actors, loaders, modes, decision events, check requests and results. */
import type { ActionInput, Decision, Effect } from '../core/types.js';
import type { ApprovalStatus } from '../approvals/types.js';
import type { ActraError } from '../errors.js';

/** `enforce` blocks; `monitor` records only; `warn` records and tells the caller, never blocks. */
export type Mode = 'enforce' | 'monitor' | 'warn';

/** The actor: an `id` (used for approvals and audit, never a label), an optional `type`, and its fields. */
export interface Actor {
  readonly id: string;
  /** Matched by actor-scoped rules (`scope: { actor: <type> }`). */
  readonly type?: string;
  readonly [field: string]: unknown;
}

/** Resolves the actor from the caller's context (an HTTP request, a job). Throw `ActraAuthError` for 401. */
export type ActorResolver<Ctx = unknown> = (ctx: Ctx) => Actor | Promise<Actor>;

/** Actra-style whole-snapshot resolver; prefer field loaders, which load only what rules read. */
export type SnapshotResolver<Ctx = unknown> = (ctx: Ctx) => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>;

/** What a snapshot loader receives. */
export interface LoaderContext<Ctx = unknown> {
  readonly action: ActionInput;
  readonly actor: Actor;
  readonly ctx: Ctx;
  /** Aborted when the loader's timeout elapses. */
  readonly signal: AbortSignal;
}

/** Loads one or several snapshot fields. Called at most once per request, only when a reachable rule reads one of `fields`. */
export interface SnapshotLoader<Ctx = unknown> {
  /** Shown in errors and events (`ACTRA_LOADER_FAILED: loader "fraud" failed`). */
  readonly name: string;
  readonly fields: readonly string[];
  /** Returns an object holding (some of) `fields`; a field left out is missing. */
  load(context: LoaderContext<Ctx>): Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>;
  /** Milliseconds; default from the runtime (`loaderTimeoutMs`, 2000). */
  readonly timeoutMs?: number;
}

/** One decision, as observers see it. Carries no claim and no snapshot value. */
export interface DecisionEvent {
  readonly decisionId: string;
  /** ISO 8601. */
  readonly time: string;
  readonly mode: Mode;
  readonly action: { readonly type: string; readonly fields: Readonly<Record<string, unknown>> };
  readonly actorId?: string;
  /** What the policy said; absent when it could not decide (see `error`). */
  readonly effect?: Effect;
  /** What actually happened: `allow` in monitor/warn, else the effect; `block` on failure in enforce. */
  readonly enforcedEffect: Effect;
  readonly rule?: string;
  readonly reason?: string;
  readonly risk?: string;
  readonly policyHash: string;
  readonly durationMs: number;
  readonly route?: string;
  readonly method?: string;
  readonly requestId?: string;
  readonly approvalId?: string;
  /** Set when the decision failed (loader, input, store): the error code only. */
  readonly error?: { readonly code: string; readonly source?: string };
}

/**
 * What only trusted sinks (the decision log) read: the full evaluation input, for replay.
 * Loggers and metrics must ignore it: it holds claims and snapshot values.
 */
export interface DecisionDetail {
  /** Absent when the decision failed before the policy could be evaluated. */
  readonly input?: import('../core/types.js').EvaluationInput;
}

/** Receives every decision event. Errors and rejections are caught and never change a decision. */
export type DecisionObserver = (event: DecisionEvent, detail: DecisionDetail) => void | Promise<void>;

/** One admission check: the full pipeline of actor, snapshot, policy, mode and approvals. */
export interface CheckRequest<Ctx = unknown> {
  readonly action: ActionInput;
  /** Passed to the actor resolver and to loaders. */
  readonly ctx?: Ctx;
  /** An actor resolved already (skips the actor resolver). */
  readonly actor?: Actor;
  readonly mode?: Mode;
  readonly method?: string;
  readonly route?: string;
  readonly requestId?: string;
  /** Resume with this approval (HTTP `Actra-Approval` header). */
  readonly approvalId?: string;
}

/** How a check ended. */
export type CheckOutcome =
  /** Run the handler. */
  | 'allow'
  /** Do not run: blocked (403). */
  | 'block'
  /** Do not run: an approval is pending (202). */
  | 'pending'
  /** Do not run: the presented approval was refused (403 with `refusal`). */
  | 'refused';

/** Result of `runtime.check`. */
export interface CheckResult {
  readonly outcome: CheckOutcome;
  readonly decisionId: string;
  readonly mode: Mode;
  /** Absent only when the decision failed in monitor/warn mode (see `error`). */
  readonly decision?: Decision;
  readonly enforcedEffect: Effect;
  readonly actor: Actor;
  readonly requestId: string;
  /** The approval opened (pending) or consumed (allow on resume). */
  readonly approval?: { readonly id: string; readonly status: ApprovalStatus; readonly expiresAt: number; readonly created?: boolean };
  /** On `refused`: why (code ACTRA_APPROVAL_DENIED / EXPIRED / CONSUMED / MISMATCH / NOT_FOUND). */
  readonly refusal?: ActraError;
  /** In monitor/warn: the failure that enforce mode would have turned into an error response. */
  readonly error?: ActraError;
  /** In warn mode: what enforce would have done (`block` or `require_approval`); absent when it would allow. */
  readonly wouldHave?: Effect;
}
