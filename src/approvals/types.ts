/** Approval protocol types: records, outbox events and the store interface every backend implements. */

/** Life cycle: pending → approved | denied | expired; approved → consumed | expired. Final states never change. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'consumed';

/** A decision on an approval. */
export type ApprovalVerdict = 'approve' | 'deny';

/** One stored approval. Times are milliseconds since the epoch. */
export interface ApprovalRecord {
  /** Unguessable id (≥128 bits of randomness), e.g. `apr_` + 32 base64url chars. */
  readonly id: string;
  readonly status: ApprovalStatus;
  /** SHA-256 hex of the canonical action + actor id + method + route. */
  readonly digest: string;
  readonly actionType: string;
  readonly ruleId: string;
  readonly reason?: string;
  readonly policyHash: string;
  /** The requesting actor's id. */
  readonly requesterId: string;
  /** `METHOD /route/pattern` for HTTP, or the function name for `admit`. */
  readonly method?: string;
  readonly route?: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt?: number;
  /** Approver's actor id, or `webhook:<source>` for a signed webhook. */
  readonly decidedBy?: string;
  readonly verdict?: ApprovalVerdict;
  readonly note?: string;
  readonly consumedAt?: number;
}

/** What the protocol gives the store to create an approval. */
export type NewApproval = Omit<ApprovalRecord, 'status' | 'decidedAt' | 'decidedBy' | 'verdict' | 'note' | 'consumedAt'>;

/** Outbound webhook event types. */
export type ApprovalEventType = 'approval.requested' | 'approval.decided' | 'approval.expired' | 'approval.consumed';

/** An event to write to the outbox, in the same transaction as the state change it reports. */
export interface OutboxEventInput {
  /** The Standard Webhooks `webhook-id` (`msg_` + random). Stable across retries. */
  readonly id: string;
  readonly type: ApprovalEventType;
  readonly approvalId: string;
  /** JSON-serialisable payload, sent as the webhook body. */
  readonly payload: unknown;
  readonly createdAt: number;
}

/** Delivery state of an outbox event. */
export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/** A stored outbox event. */
export interface OutboxEvent extends OutboxEventInput {
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** When the next delivery attempt is due (also used as a lease while an attempt runs). */
  readonly nextAttemptAt: number;
  readonly lastError?: string;
  readonly deliveredAt?: number;
}

/** Builds the outbox event for a record, called inside the store's transaction. */
export type EventFor = (record: ApprovalRecord) => OutboxEventInput;

/** Why a consume attempt failed. */
export type ConsumeRefusal = 'not_found' | 'pending' | 'denied' | 'expired' | 'consumed' | 'mismatch';

/** Result of `ApprovalStore.consume`. */
export type ConsumeResult =
  | { readonly ok: true; readonly record: ApprovalRecord }
  | { readonly ok: false; readonly refusal: ConsumeRefusal; readonly record?: ApprovalRecord };

/** Result of `ApprovalStore.decide`. */
export type DecideResult =
  | { readonly ok: true; readonly record: ApprovalRecord; /** false when the same decision was already recorded */ readonly changed: boolean }
  | { readonly ok: false; readonly refusal: 'not_found' | 'conflict' | 'expired' | 'consumed'; readonly record?: ApprovalRecord };

/**
 * Storage for approvals, their outbox and inbound webhook ids. Every method is atomic; every
 * state change writes its outbox event in the same transaction. Implementations: memory, SQLite,
 * PostgreSQL, Redis. Failures of the backend throw `ActraStoreError` (`ACTRA_STORE_FAILED`).
 */
export interface ApprovalStore {
  /** Creates tables / scripts. Idempotent. Called once before use. */
  init(): Promise<void>;
  /** Releases connections the store opened itself (not those passed in by the user). */
  close(): Promise<void>;
  /**
   * Creates `approval` unless an unexpired approval with the same digest is pending or approved,
   * in which case that one is returned (`created: false`) and no event is written.
   */
  open(approval: NewApproval, event: EventFor, now: number): Promise<{ record: ApprovalRecord; created: boolean }>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Records a final decision. The same verdict again → `ok, changed: false`; a contradicting one →
   * `conflict`; past `expiresAt` (or expired) → `expired`.
   */
  decide(id: string, verdict: { verdict: ApprovalVerdict; decidedBy: string; note?: string }, event: EventFor, now: number): Promise<DecideResult>;
  /** Atomically: approved, unexpired, not consumed and `digest` equal → consumed. Exactly one caller wins. */
  consume(id: string, digest: string, event: EventFor, now: number): Promise<ConsumeResult>;
  /** Marks every pending or approved approval with `expiresAt <= now` expired, writing one event each. */
  expireDue(event: EventFor, now: number, limit?: number): Promise<ApprovalRecord[]>;
  /** Newest first. */
  list(filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]>;

  /** Leases up to `limit` pending events due at `now`: their `nextAttemptAt` moves to `now + leaseMs`. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]>;
  markDelivered(id: string, now: number): Promise<void>;
  /** Records a failed attempt: `dead` when retries are exhausted, else due again at `nextAttemptAt`. */
  markFailed(id: string, failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean }): Promise<void>;
  listOutbox(filter: { status?: OutboxStatus; limit?: number }): Promise<OutboxEvent[]>;
  /** Puts a dead (or delivered) event back to pending, due now, attempts reset. False when unknown. */
  redeliver(id: string, now: number): Promise<boolean>;

  /** Remembers an inbound `webhook-id` until `expiresAt`. True the first time, false on a replay. */
  rememberWebhookId(id: string, expiresAt: number, now: number): Promise<boolean>;
}

/** What the runtime asks of the approval protocol. Implemented by `Approvals` (src/approvals/approvals.ts). */
export interface ApprovalGate {
  /** Opens (or returns the existing pending/approved) approval for a `require_approval` decision. */
  open(request: ApprovalRequest): Promise<ApprovalRecord>;
  /** Tries to consume `approvalId` for this very request; exactly one concurrent caller succeeds. */
  resume(approvalId: string, request: ApprovalRequest): Promise<ConsumeResult>;
}

/** The request an approval is opened for, or resumed with. */
export interface ApprovalRequest {
  readonly decision: import('../core/types.js').Decision;
  readonly action: import('../core/types.js').ActionInput;
  readonly actorId: string;
  /** HTTP method (HEAD normalised to GET) or `call` outside HTTP. */
  readonly method?: string;
  /** Route pattern (`/refunds/:id`) or function name. */
  readonly route?: string;
  readonly requestId?: string;
}
