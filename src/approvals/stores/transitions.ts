/** Approval life-cycle rules shared by every store: what a decide, consume or expiry does to a record. */
import { ActraError, ActraStoreError } from '../../errors.js';
import type {
  ApprovalRecord,
  ApprovalVerdict,
  ConsumeResult,
  DecideResult,
  NewApproval,
  OutboxEvent,
  OutboxEventInput,
} from '../types.js';

/** What a store must do after looking at the current record: answer now, or write `next`. */
export type Plan<R> = { readonly kind: 'done'; readonly result: R } | { readonly kind: 'write'; readonly next: ApprovalRecord };

/** A verdict as handed to `ApprovalStore.decide`. */
export interface VerdictInput {
  readonly verdict: ApprovalVerdict;
  readonly decidedBy: string;
  readonly note?: string;
}

/** Default page size of `list`, `listOutbox` and `expireDue`. */
export const DEFAULT_LIMIT = 100;

/** Longest `lastError` kept on an outbox event; longer texts are cut. */
export const MAX_ERROR_LENGTH = 1000;

/** True while an approval can still be decided or used: pending or approved, and not past `expiresAt`. */
export function isLive(record: ApprovalRecord, now: number): boolean {
  return (record.status === 'pending' || record.status === 'approved') && record.expiresAt > now;
}

/** The stored form of a new approval: status `pending`, absent optional fields left out. */
export function pendingRecord(approval: NewApproval): ApprovalRecord {
  return compactRecord({ ...approval, status: 'pending' });
}

/** Removes keys whose value is `undefined` or `null`, so records compare and serialise alike in every store. */
export function compactRecord(record: { [K in keyof ApprovalRecord]?: ApprovalRecord[K] | null | undefined }): ApprovalRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out as unknown as ApprovalRecord;
}

/**
 * Decides what `decide` does. A recorded verdict is final: the same verdict again answers
 * `changed: false`; the other one answers `conflict` (`consumed` once the approval was used).
 * A pending approval past `expiresAt`, or one marked expired, answers `expired`.
 */
export function planDecide(current: ApprovalRecord | undefined, input: VerdictInput, now: number): Plan<DecideResult> {
  if (current === undefined) return { kind: 'done', result: { ok: false, refusal: 'not_found' } };
  if (current.status === 'expired') return { kind: 'done', result: { ok: false, refusal: 'expired', record: current } };
  if (current.status === 'approved' || current.status === 'denied' || current.status === 'consumed') {
    if (current.verdict === input.verdict) return { kind: 'done', result: { ok: true, record: current, changed: false } };
    const refusal = current.status === 'consumed' ? 'consumed' : 'conflict';
    return { kind: 'done', result: { ok: false, refusal, record: current } };
  }
  if (current.expiresAt <= now) return { kind: 'done', result: { ok: false, refusal: 'expired', record: current } };
  const next = compactRecord({
    ...current,
    status: input.verdict === 'approve' ? 'approved' : 'denied',
    verdict: input.verdict,
    decidedBy: input.decidedBy,
    decidedAt: now,
    note: input.note,
  });
  return { kind: 'write', next };
}

/** Decides what `consume` does: only an approved, unexpired approval with the same digest is consumed. */
export function planConsume(current: ApprovalRecord | undefined, digest: string, now: number): Plan<ConsumeResult> {
  if (current === undefined) return { kind: 'done', result: { ok: false, refusal: 'not_found' } };
  const refuse = (refusal: 'pending' | 'denied' | 'expired' | 'consumed' | 'mismatch'): Plan<ConsumeResult> => ({
    kind: 'done',
    result: { ok: false, refusal, record: current },
  });
  if (current.status === 'consumed') return refuse('consumed');
  if (current.status === 'denied') return refuse('denied');
  if (current.status === 'expired' || current.expiresAt <= now) return refuse('expired');
  if (current.status === 'pending') return refuse('pending');
  if (current.digest !== digest) return refuse('mismatch');
  return { kind: 'write', next: { ...current, status: 'consumed', consumedAt: now } };
}

/** The expired form of a record that is due to expire at `now`, or `undefined` when it is not. */
export function planExpire(current: ApprovalRecord | undefined, now: number): ApprovalRecord | undefined {
  if (current === undefined) return undefined;
  if ((current.status === 'pending' || current.status === 'approved') && current.expiresAt <= now) {
    return { ...current, status: 'expired' };
  }
  return undefined;
}

/** A new outbox event, pending and due at `now`. */
export function pendingEvent(input: OutboxEventInput, now: number): OutboxEvent {
  return {
    id: input.id,
    type: input.type,
    approvalId: input.approvalId,
    payload: input.payload,
    createdAt: input.createdAt,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
  };
}

/** Cuts an error text to {@link MAX_ERROR_LENGTH} characters. */
export function clipError(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? error.slice(0, MAX_ERROR_LENGTH) : error;
}

/**
 * Checks a page size.
 * @throws ActraError `ACTRA_BAD_REQUEST` when `limit` is not a positive integer.
 */
export function checkLimit(limit: number | undefined, fallback: number = DEFAULT_LIMIT): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ActraError('ACTRA_BAD_REQUEST', 'limit must be a positive integer');
  }
  return limit;
}

/** Wraps a backend failure as `ActraStoreError`; Actra errors pass through unchanged. Messages carry no data. */
export function storeFailure(backend: string, operation: string, cause: unknown): ActraError {
  if (cause instanceof ActraError) return cause;
  return new ActraStoreError(`${backend} approval store failed to ${operation}`, { cause });
}
