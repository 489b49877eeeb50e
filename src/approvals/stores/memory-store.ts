/** In-memory approval store: one process, no durability; for tests and single-instance development. */
import { ActraStoreError } from '../../errors.js';
import type {
  ApprovalRecord,
  ApprovalStatus,
  ApprovalStore,
  ConsumeResult,
  DecideResult,
  EventFor,
  NewApproval,
  OutboxEvent,
  OutboxEventInput,
  OutboxStatus,
} from '../types.js';
import {
  checkLimit,
  clipError,
  isLive,
  pendingEvent,
  pendingRecord,
  planConsume,
  planDecide,
  planExpire,
  type VerdictInput,
} from './transitions.js';

/**
 * Keeps approvals, outbox events and webhook ids in this process's memory. Each method runs
 * synchronously from start to finish, which makes it atomic within the process. Data is lost on
 * restart and is not shared between instances: use the SQLite, PostgreSQL or Redis store for that.
 *
 * @example
 * ```ts
 * const store = new MemoryApprovalStore();
 * await store.init();
 * ```
 */
export class MemoryApprovalStore implements ApprovalStore {
  readonly #approvals = new Map<string, ApprovalRecord>();
  /** The newest approval opened for each digest: the only one that can be live. */
  readonly #byDigest = new Map<string, string>();
  readonly #outbox = new Map<string, OutboxEvent>();
  readonly #webhookIds = new Map<string, number>();

  /** Nothing to prepare; present for the interface. */
  async init(): Promise<void> {}

  /** Nothing to release; data stays readable until the object is dropped. */
  async close(): Promise<void> {}

  /** Creates the approval unless a live one with the same digest exists (then returns it, `created: false`). */
  async open(approval: NewApproval, event: EventFor, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    const latestId = this.#byDigest.get(approval.digest);
    const existing = latestId === undefined ? undefined : this.#approvals.get(latestId);
    if (existing !== undefined && isLive(existing, now)) return { record: existing, created: false };
    if (this.#approvals.has(approval.id)) throw new ActraStoreError('memory approval store failed to open: duplicate approval id');
    const record = freeze(pendingRecord(approval));
    const outboxEvent = this.#prepareEvent(event(record), now);
    this.#approvals.set(record.id, record);
    this.#byDigest.set(record.digest, record.id);
    this.#outbox.set(outboxEvent.id, outboxEvent);
    return { record, created: true };
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.get(id);
  }

  async decide(id: string, verdict: VerdictInput, event: EventFor, now: number): Promise<DecideResult> {
    const plan = planDecide(this.#approvals.get(id), verdict, now);
    if (plan.kind === 'done') return plan.result;
    const record = this.#write(plan.next, event, now);
    return { ok: true, record, changed: true };
  }

  async consume(id: string, digest: string, event: EventFor, now: number): Promise<ConsumeResult> {
    const plan = planConsume(this.#approvals.get(id), digest, now);
    if (plan.kind === 'done') return plan.result;
    return { ok: true, record: this.#write(plan.next, event, now) };
  }

  async expireDue(event: EventFor, now: number, limit?: number): Promise<ApprovalRecord[]> {
    const max = checkLimit(limit);
    const due = [...this.#approvals.values()]
      .filter((record) => planExpire(record, now) !== undefined)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, max);
    const expired = due.map((record) => this.#write({ ...record, status: 'expired' }, event, now));
    for (const [id, expiresAt] of this.#webhookIds) if (expiresAt <= now) this.#webhookIds.delete(id);
    return expired;
  }

  async list(filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const max = checkLimit(filter.limit);
    return [...this.#approvals.values()]
      .filter((record) => filter.status === undefined || record.status === filter.status)
      .sort(newestFirst)
      .slice(0, max);
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]> {
    const max = checkLimit(limit);
    const due = [...this.#outbox.values()]
      .filter((e) => e.status === 'pending' && e.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt || compareIds(a.id, b.id))
      .slice(0, max);
    return due.map((e) => this.#putEvent({ ...e, nextAttemptAt: now + leaseMs }));
  }

  async markDelivered(id: string, now: number): Promise<void> {
    const current = this.#outbox.get(id);
    if (current === undefined) return;
    const { lastError: _dropped, ...rest } = current;
    this.#putEvent({ ...rest, status: 'delivered', deliveredAt: now });
  }

  async markFailed(id: string, failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean }): Promise<void> {
    const current = this.#outbox.get(id);
    if (current === undefined || current.status !== 'pending') return;
    this.#putEvent({
      ...current,
      status: failure.dead ? 'dead' : 'pending',
      attempts: failure.attempts,
      nextAttemptAt: failure.nextAttemptAt,
      lastError: clipError(failure.error),
    });
  }

  async listOutbox(filter: { status?: OutboxStatus; limit?: number }): Promise<OutboxEvent[]> {
    const max = checkLimit(filter.limit);
    return [...this.#outbox.values()]
      .filter((e) => filter.status === undefined || e.status === filter.status)
      .sort(newestFirst)
      .slice(0, max);
  }

  async redeliver(id: string, now: number): Promise<boolean> {
    const current = this.#outbox.get(id);
    if (current === undefined) return false;
    const { lastError: _error, deliveredAt: _delivered, ...rest } = current;
    this.#putEvent({ ...rest, status: 'pending', attempts: 0, nextAttemptAt: now });
    return true;
  }

  async rememberWebhookId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const known = this.#webhookIds.get(id);
    if (known !== undefined && known > now) return false;
    this.#webhookIds.set(id, expiresAt);
    return true;
  }

  #prepareEvent(input: OutboxEventInput, now: number): OutboxEvent {
    if (this.#outbox.has(input.id)) throw new ActraStoreError('memory approval store failed to write an event: duplicate event id');
    return freeze(pendingEvent(input, now));
  }

  #write(next: ApprovalRecord, event: EventFor, now: number): ApprovalRecord {
    const record = freeze(next);
    const outboxEvent = this.#prepareEvent(event(record), now);
    this.#approvals.set(record.id, record);
    this.#outbox.set(outboxEvent.id, outboxEvent);
    return record;
  }

  #putEvent(next: OutboxEvent): OutboxEvent {
    const frozen = freeze(next);
    this.#outbox.set(frozen.id, frozen);
    return frozen;
  }
}

function freeze<T extends object>(value: T): T {
  return Object.freeze(value);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newestFirst(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return b.createdAt - a.createdAt || compareIds(b.id, a.id);
}
