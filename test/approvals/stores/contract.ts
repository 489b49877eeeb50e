/** The one contract every ApprovalStore implementation passes: memory, SQLite, PostgreSQL and Redis. */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActraError } from '../../../src/errors.js';
import type {
  ApprovalEventType,
  ApprovalRecord,
  ApprovalStore,
  EventFor,
  NewApproval,
  OutboxEvent,
} from '../../../src/approvals/types.js';

/** A fresh store over an empty namespace, a way to open a second instance over the same data, and cleanup. */
export interface StoreFixture {
  readonly store: ApprovalStore;
  /** Another, initialised store instance sharing the same data (same file, database or Redis). */
  twin(): Promise<ApprovalStore>;
  /** Closes every instance and removes the namespace. */
  dispose(): Promise<void>;
}

export const T0 = 1_700_000_000_000;
export const TTL = 60_000;

/** A new approval with a random id and digest unless given. */
export function newApproval(overrides: Partial<NewApproval> = {}): NewApproval {
  return {
    id: `apr_${randomBytes(16).toString('base64url')}`,
    digest: randomBytes(32).toString('hex'),
    actionType: 'refund',
    ruleId: 'refund_needs_approval',
    reason: 'refund.large',
    policyHash: 'a'.repeat(64),
    requesterId: 'user-1',
    method: 'POST',
    route: '/refunds/:id',
    createdAt: T0,
    expiresAt: T0 + TTL,
    ...overrides,
  };
}

/** Builds an outbox event of `type` for a record, recording every record it was called with. */
export function eventFor(type: ApprovalEventType, seen: ApprovalRecord[] = []): EventFor {
  return function buildEvent(record) {
    seen.push(record);
    return {
      id: `msg_${randomBytes(12).toString('base64url')}`,
      type,
      approvalId: record.id,
      payload: { type, data: { id: record.id, status: record.status, nested: { list: [1, 'two', null, true] } } },
      createdAt: record.consumedAt ?? record.decidedAt ?? record.createdAt,
    };
  };
}

const requested = eventFor('approval.requested');
const decided = eventFor('approval.decided');
const consumed = eventFor('approval.consumed');
const expired = eventFor('approval.expired');

function failingEvent(): EventFor {
  return function brokenEvent() {
    throw new Error('event builder failed');
  };
}

async function eventsOf(store: ApprovalStore, approvalId?: string): Promise<OutboxEvent[]> {
  const all = await store.listOutbox({ limit: 10_000 });
  return approvalId === undefined ? all : all.filter((e) => e.approvalId === approvalId);
}

function countByType(events: readonly OutboxEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1;
  return counts;
}

/** Registers the contract suite for one store implementation. */
export function approvalStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`${name} approval store contract`, () => {
    let fixture: StoreFixture;
    let store: ApprovalStore;

    beforeEach(async () => {
      fixture = await makeFixture();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    async function openApproved(overrides: Partial<NewApproval> = {}): Promise<ApprovalRecord> {
      const { record } = await store.open(newApproval(overrides), requested, T0);
      const result = await store.decide(record.id, { verdict: 'approve', decidedBy: 'approver-1' }, decided, T0 + 1);
      if (!result.ok) throw new Error(`setup failed: ${result.refusal}`);
      return result.record;
    }

    describe('open', () => {
      it('creates a pending approval and writes one approval.requested event', async () => {
        const input = newApproval();
        const { record, created } = await store.open(input, requested, T0);
        expect(created).toBe(true);
        expect(record).toStrictEqual({ ...input, status: 'pending' });
        expect(await store.get(input.id)).toStrictEqual({ ...input, status: 'pending' });
        const events = await eventsOf(store);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          type: 'approval.requested',
          approvalId: input.id,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: T0,
          createdAt: T0,
          payload: { type: 'approval.requested', data: { id: input.id, status: 'pending', nested: { list: [1, 'two', null, true] } } },
        });
        expect(events[0]?.lastError).toBeUndefined();
        expect(events[0]?.deliveredAt).toBeUndefined();
      });

      it('stores an approval without optional fields without inventing them', async () => {
        const { reason: _r, method: _m, route: _ro, ...bare } = newApproval();
        const { record } = await store.open(bare, requested, T0);
        expect(record).toStrictEqual({ ...bare, status: 'pending' });
        const stored = await store.get(bare.id);
        expect(stored).toStrictEqual({ ...bare, status: 'pending' });
        expect(stored && 'reason' in stored).toBe(false);
      });

      it('returns the same pending approval for the same digest without a second event', async () => {
        const first = newApproval();
        await store.open(first, requested, T0);
        const again = await store.open(newApproval({ digest: first.digest, createdAt: T0 + 10 }), requested, T0 + 10);
        expect(again.created).toBe(false);
        expect(again.record.id).toBe(first.id);
        expect(await eventsOf(store)).toHaveLength(1);
        expect(await store.list({})).toHaveLength(1);
      });

      it('returns the same approval while it is approved and unexpired', async () => {
        const approved = await openApproved();
        const again = await store.open(newApproval({ digest: approved.digest }), requested, T0 + 5);
        expect(again).toStrictEqual({ record: approved, created: false });
      });

      it('opens a new approval for the same digest once the previous one expired', async () => {
        const first = newApproval();
        await store.open(first, requested, T0);
        const later = newApproval({ digest: first.digest, createdAt: T0 + TTL, expiresAt: T0 + 2 * TTL });
        const again = await store.open(later, requested, T0 + TTL);
        expect(again.created).toBe(true);
        expect(again.record.id).toBe(later.id);
        expect(countByType(await eventsOf(store))).toStrictEqual({ 'approval.requested': 2 });
      });

      it('opens a new approval for the same digest after a denial or a use', async () => {
        const denied = newApproval();
        await store.open(denied, requested, T0);
        await store.decide(denied.id, { verdict: 'deny', decidedBy: 'approver-1' }, decided, T0 + 1);
        const afterDenial = await store.open(newApproval({ digest: denied.digest }), requested, T0 + 2);
        expect(afterDenial.created).toBe(true);

        const used = await openApproved();
        await store.consume(used.id, used.digest, consumed, T0 + 2);
        const afterUse = await store.open(newApproval({ digest: used.digest }), requested, T0 + 3);
        expect(afterUse.created).toBe(true);
        expect(afterUse.record.id).not.toBe(used.id);
      });

      it('keeps approvals with different digests apart', async () => {
        const a = await store.open(newApproval(), requested, T0);
        const b = await store.open(newApproval(), requested, T0);
        expect(a.record.id).not.toBe(b.record.id);
        expect(b.created).toBe(true);
      });

      it('returns one approval to concurrent opens of the same request from two instances', async () => {
        const other = await fixture.twin();
        const digest = randomBytes(32).toString('hex');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).open(newApproval({ digest }), requested, T0)),
        );
        expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(await eventsOf(store)).toHaveLength(1);
      });

      it('fails with ACTRA_STORE_FAILED on a duplicate id and writes nothing', async () => {
        const first = newApproval();
        await store.open(first, requested, T0);
        const error = await store.open(newApproval({ id: first.id }), requested, T0).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ActraError);
        expect(error).toMatchObject({ code: 'ACTRA_STORE_FAILED', statusCode: 503 });
        expect((error as Error).message).toMatch(/approval store failed to open/);
        expect((error as Error).message).not.toContain(first.id);
        expect(await eventsOf(store)).toHaveLength(1);
        expect(await store.get(first.id)).toStrictEqual({ ...first, status: 'pending' });
      });

      it('writes nothing when the event builder throws', async () => {
        const input = newApproval();
        await expect(store.open(input, failingEvent(), T0)).rejects.toThrow();
        expect(await store.get(input.id)).toBeUndefined();
        expect(await eventsOf(store)).toHaveLength(0);
      });
    });

    describe('get', () => {
      it('answers undefined for an unknown id', async () => {
        expect(await store.get('apr_unknown')).toBeUndefined();
      });
    });

    describe('decide', () => {
      it('approves a pending approval and writes one approval.decided event built from the new record', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        const seen: ApprovalRecord[] = [];
        const result = await store.decide(input.id, { verdict: 'approve', decidedBy: 'approver-1', note: 'ok by me' }, eventFor('approval.decided', seen), T0 + 100);
        const expected = { ...input, status: 'approved', verdict: 'approve', decidedBy: 'approver-1', decidedAt: T0 + 100, note: 'ok by me' };
        expect(result).toStrictEqual({ ok: true, record: expected, changed: true });
        expect(seen).toStrictEqual([expected]);
        expect(await store.get(input.id)).toStrictEqual(expected);
        expect(countByType(await eventsOf(store, input.id))).toStrictEqual({ 'approval.requested': 1, 'approval.decided': 1 });
      });

      it('answers changed: false to the same verdict again and writes no event', async () => {
        const approved = await openApproved();
        const again = await store.decide(approved.id, { verdict: 'approve', decidedBy: 'approver-2' }, decided, T0 + 50);
        expect(again).toStrictEqual({ ok: true, record: approved, changed: false });
        expect(countByType(await eventsOf(store, approved.id))).toStrictEqual({ 'approval.requested': 1, 'approval.decided': 1 });
      });

      it('refuses a contradicting verdict with conflict and keeps the first', async () => {
        const approved = await openApproved();
        const denial = await store.decide(approved.id, { verdict: 'deny', decidedBy: 'approver-2' }, decided, T0 + 50);
        expect(denial).toStrictEqual({ ok: false, refusal: 'conflict', record: approved });
        expect((await store.get(approved.id))?.status).toBe('approved');

        const input = newApproval();
        await store.open(input, requested, T0);
        await store.decide(input.id, { verdict: 'deny', decidedBy: 'approver-1' }, decided, T0 + 1);
        const approval = await store.decide(input.id, { verdict: 'approve', decidedBy: 'approver-1' }, decided, T0 + 2);
        expect(approval).toMatchObject({ ok: false, refusal: 'conflict', record: { status: 'denied', verdict: 'deny' } });
        expect(countByType(await eventsOf(store, input.id))).toStrictEqual({ 'approval.requested': 1, 'approval.decided': 1 });
      });

      it('refuses a decision at or after expiresAt with expired and writes no event', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        const result = await store.decide(input.id, { verdict: 'approve', decidedBy: 'approver-1' }, decided, input.expiresAt);
        expect(result).toStrictEqual({ ok: false, refusal: 'expired', record: { ...input, status: 'pending' } });
        expect(countByType(await eventsOf(store, input.id))).toStrictEqual({ 'approval.requested': 1 });
      });

      it('refuses a decision on an approval marked expired', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        await store.expireDue(expired, input.expiresAt);
        const result = await store.decide(input.id, { verdict: 'deny', decidedBy: 'approver-1' }, decided, T0 + 1);
        expect(result).toMatchObject({ ok: false, refusal: 'expired', record: { status: 'expired' } });
      });

      it('answers not_found for an unknown id', async () => {
        expect(await store.decide('apr_unknown', { verdict: 'approve', decidedBy: 'a' }, decided, T0)).toStrictEqual({ ok: false, refusal: 'not_found' });
        expect(await eventsOf(store)).toHaveLength(0);
      });

      it('answers a used approval: the same verdict unchanged, a denial consumed', async () => {
        const approved = await openApproved();
        const used = await store.consume(approved.id, approved.digest, consumed, T0 + 2);
        expect(used.ok).toBe(true);
        const again = await store.decide(approved.id, { verdict: 'approve', decidedBy: 'approver-1' }, decided, T0 + 3);
        expect(again).toMatchObject({ ok: true, changed: false, record: { status: 'consumed' } });
        const denial = await store.decide(approved.id, { verdict: 'deny', decidedBy: 'approver-1' }, decided, T0 + 3);
        expect(denial).toMatchObject({ ok: false, refusal: 'consumed', record: { status: 'consumed' } });
      });

      it('changes nothing when the event builder throws', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        await expect(store.decide(input.id, { verdict: 'approve', decidedBy: 'a' }, failingEvent(), T0 + 1)).rejects.toThrow();
        expect((await store.get(input.id))?.status).toBe('pending');
        expect(await eventsOf(store, input.id)).toHaveLength(1);
      });

      it('records exactly one of two concurrent contradicting decisions from two instances', async () => {
        const other = await fixture.twin();
        const input = newApproval();
        await store.open(input, requested, T0);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? store : other).decide(input.id, { verdict: i % 2 === 0 ? 'approve' : 'deny', decidedBy: `approver-${i}` }, decided, T0 + 1),
          ),
        );
        expect(results.filter((r) => r.ok && r.changed)).toHaveLength(1);
        const final = await store.get(input.id);
        for (const r of results) {
          if (r.ok) expect(r.record.verdict).toBe(final?.verdict);
          else expect(r.refusal).toBe('conflict');
        }
        expect(countByType(await eventsOf(store, input.id))).toStrictEqual({ 'approval.requested': 1, 'approval.decided': 1 });
      });
    });

    describe('consume', () => {
      it('consumes an approved approval with the same digest and writes one approval.consumed event', async () => {
        const approved = await openApproved();
        const seen: ApprovalRecord[] = [];
        const result = await store.consume(approved.id, approved.digest, eventFor('approval.consumed', seen), T0 + 10);
        const expected = { ...approved, status: 'consumed', consumedAt: T0 + 10 };
        expect(result).toStrictEqual({ ok: true, record: expected });
        expect(seen).toStrictEqual([expected]);
        expect(await store.get(approved.id)).toStrictEqual(expected);
        expect(countByType(await eventsOf(store, approved.id))).toStrictEqual({
          'approval.requested': 1,
          'approval.decided': 1,
          'approval.consumed': 1,
        });
      });

      it('refuses a pending approval with pending', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        expect(await store.consume(input.id, input.digest, consumed, T0 + 1)).toStrictEqual({ ok: false, refusal: 'pending', record: { ...input, status: 'pending' } });
      });

      it('refuses a denied approval with denied', async () => {
        const input = newApproval();
        await store.open(input, requested, T0);
        await store.decide(input.id, { verdict: 'deny', decidedBy: 'a' }, decided, T0 + 1);
        expect(await store.consume(input.id, input.digest, consumed, T0 + 2)).toMatchObject({ ok: false, refusal: 'denied', record: { status: 'denied' } });
      });

      it('refuses another request with mismatch and leaves the approval usable', async () => {
        const approved = await openApproved();
        expect(await store.consume(approved.id, 'f'.repeat(64), consumed, T0 + 2)).toStrictEqual({ ok: false, refusal: 'mismatch', record: approved });
        expect((await store.get(approved.id))?.status).toBe('approved');
        expect((await store.consume(approved.id, approved.digest, consumed, T0 + 3)).ok).toBe(true);
      });

      it('refuses an approval at or after expiresAt with expired', async () => {
        const approved = await openApproved();
        expect(await store.consume(approved.id, approved.digest, consumed, approved.expiresAt)).toStrictEqual({ ok: false, refusal: 'expired', record: approved });
        expect(countByType(await eventsOf(store, approved.id))).toStrictEqual({ 'approval.requested': 1, 'approval.decided': 1 });
      });

      it('refuses a second use with consumed', async () => {
        const approved = await openApproved();
        await store.consume(approved.id, approved.digest, consumed, T0 + 2);
        expect(await store.consume(approved.id, approved.digest, consumed, T0 + 3)).toMatchObject({ ok: false, refusal: 'consumed', record: { status: 'consumed', consumedAt: T0 + 2 } });
      });

      it('answers not_found for an unknown id', async () => {
        expect(await store.consume('apr_unknown', 'f'.repeat(64), consumed, T0)).toStrictEqual({ ok: false, refusal: 'not_found' });
      });

      it('changes nothing when the event builder throws', async () => {
        const approved = await openApproved();
        await expect(store.consume(approved.id, approved.digest, failingEvent(), T0 + 2)).rejects.toThrow();
        expect(await store.get(approved.id)).toStrictEqual(approved);
        expect((await store.consume(approved.id, approved.digest, consumed, T0 + 3)).ok).toBe(true);
      });

      it('lets exactly one of 50 concurrent consumes spread over two instances win', async () => {
        const other = await fixture.twin();
        const approved = await openApproved();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).consume(approved.id, approved.digest, consumed, T0 + 10)),
        );
        const wins = results.filter((r) => r.ok);
        const refusals = results.filter((r) => !r.ok).map((r) => (r.ok ? 'ok' : r.refusal));
        expect(wins).toHaveLength(1);
        expect(refusals).toStrictEqual(Array.from({ length: 49 }, () => 'consumed'));
        expect(countByType(await eventsOf(store, approved.id))).toStrictEqual({
          'approval.requested': 1,
          'approval.decided': 1,
          'approval.consumed': 1,
        });
      });
    });

    describe('expireDue', () => {
      it('expires due pending and approved approvals with one approval.expired event each', async () => {
        const pending = newApproval({ expiresAt: T0 + 10 });
        await store.open(pending, requested, T0);
        const approved = await openApproved({ expiresAt: T0 + 20 });
        const later = newApproval({ expiresAt: T0 + 1000 });
        await store.open(later, requested, T0);
        const denied = newApproval({ expiresAt: T0 + 10 });
        await store.open(denied, requested, T0);
        await store.decide(denied.id, { verdict: 'deny', decidedBy: 'a' }, decided, T0 + 1);
        const used = await openApproved({ expiresAt: T0 + 10 });
        await store.consume(used.id, used.digest, consumed, T0 + 2);

        const seen: ApprovalRecord[] = [];
        const result = await store.expireDue(eventFor('approval.expired', seen), T0 + 20);
        expect(result.map((r) => r.id)).toStrictEqual([pending.id, approved.id]);
        expect(result).toStrictEqual(seen);
        expect(result[0]).toStrictEqual({ ...pending, status: 'expired' });
        expect(result[1]).toStrictEqual({ ...approved, status: 'expired' });
        expect((await store.get(later.id))?.status).toBe('pending');
        expect((await store.get(denied.id))?.status).toBe('denied');
        expect((await store.get(used.id))?.status).toBe('consumed');
        expect(countByType(await eventsOf(store))).toStrictEqual({
          'approval.requested': 5,
          'approval.decided': 3,
          'approval.consumed': 1,
          'approval.expired': 2,
        });
        expect(await store.expireDue(expired, T0 + 20)).toStrictEqual([]);
        expect(countByType(await eventsOf(store))['approval.expired']).toBe(2);
      });

      it('expires at most limit approvals, earliest expiry first', async () => {
        const ids: string[] = [];
        for (const offset of [30, 10, 20]) {
          const input = newApproval({ expiresAt: T0 + offset });
          ids.push(input.id);
          await store.open(input, requested, T0);
        }
        const first = await store.expireDue(expired, T0 + 100, 2);
        expect(first.map((r) => r.id)).toStrictEqual([ids[1], ids[2]]);
        const rest = await store.expireDue(expired, T0 + 100, 2);
        expect(rest.map((r) => r.id)).toStrictEqual([ids[0]]);
      });

      it('expires each approval once when two instances run it concurrently', async () => {
        const other = await fixture.twin();
        for (let i = 0; i < 10; i++) await store.open(newApproval({ expiresAt: T0 + i + 1 }), requested, T0);
        const [a, b] = await Promise.all([store.expireDue(expired, T0 + 100), other.expireDue(expired, T0 + 100)]);
        const ids = [...a, ...b].map((r) => r.id);
        expect(new Set(ids).size).toBe(10);
        expect(ids).toHaveLength(10);
        expect(countByType(await eventsOf(store))['approval.expired']).toBe(10);
      });
    });

    describe('list', () => {
      it('lists newest first, filtered by status and cut at limit', async () => {
        const a = newApproval({ createdAt: T0 + 1 });
        const b = newApproval({ createdAt: T0 + 2 });
        const c = newApproval({ createdAt: T0 + 3 });
        for (const x of [b, a, c]) await store.open(x, requested, x.createdAt);
        await store.decide(b.id, { verdict: 'approve', decidedBy: 'x' }, decided, T0 + 4);
        expect((await store.list({})).map((r) => r.id)).toStrictEqual([c.id, b.id, a.id]);
        expect((await store.list({ status: 'pending' })).map((r) => r.id)).toStrictEqual([c.id, a.id]);
        expect((await store.list({ status: 'approved' })).map((r) => r.id)).toStrictEqual([b.id]);
        expect(await store.list({ status: 'denied' })).toStrictEqual([]);
        expect((await store.list({ limit: 2 })).map((r) => r.id)).toStrictEqual([c.id, b.id]);
      });

      it('fails with ACTRA_BAD_REQUEST on a limit that is not a positive integer', async () => {
        for (const limit of [0, -1, 1.5]) {
          const error = await store.list({ limit }).catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'ACTRA_BAD_REQUEST', message: 'limit must be a positive integer' });
        }
      });
    });

    describe('outbox', () => {
      it('writes exactly one event per transition', async () => {
        const approved = await openApproved();
        await store.consume(approved.id, approved.digest, consumed, T0 + 2);
        const deniedOne = newApproval();
        await store.open(deniedOne, requested, T0);
        await store.decide(deniedOne.id, { verdict: 'deny', decidedBy: 'a' }, decided, T0 + 1);
        const lapsed = newApproval({ expiresAt: T0 + 5 });
        await store.open(lapsed, requested, T0);
        await store.expireDue(expired, T0 + 5);
        expect(countByType(await eventsOf(store))).toStrictEqual({
          'approval.requested': 3,
          'approval.decided': 2,
          'approval.consumed': 1,
          'approval.expired': 1,
        });
        for (const e of await eventsOf(store)) expect(e.status).toBe('pending');
      });

      it('leases due events: claimed events are not claimed again until the lease ends', async () => {
        await store.open(newApproval(), requested, T0);
        await store.open(newApproval(), requested, T0 + 1);
        expect(await store.claimDue(T0 - 1, 10, 1000)).toStrictEqual([]);
        const claimed = await store.claimDue(T0 + 1, 10, 1000);
        expect(claimed).toHaveLength(2);
        for (const e of claimed) expect(e).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0 + 1001 });
        expect(await store.claimDue(T0 + 1000, 10, 1000)).toStrictEqual([]);
        const again = await store.claimDue(T0 + 1001, 10, 1000);
        expect(again.map((e) => e.id).sort()).toStrictEqual(claimed.map((e) => e.id).sort());
      });

      it('claims the earliest due events first, at most limit', async () => {
        const opened: string[] = [];
        for (let i = 0; i < 5; i++) {
          const input = newApproval({ createdAt: T0 + i });
          opened.push(input.id);
          await store.open(input, requested, T0 + 4 - i);
        }
        const claimed = await store.claimDue(T0 + 10, 3, 1000);
        expect(claimed.map((e) => e.approvalId)).toStrictEqual([opened[4], opened[3], opened[2]]);
      });

      it('never hands the same event to two concurrent claims from two instances', async () => {
        const other = await fixture.twin();
        for (let i = 0; i < 30; i++) await store.open(newApproval(), requested, T0);
        const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).claimDue(T0, 4, 60_000)));
        const ids = batches.flat().map((e) => e.id);
        expect(ids).toHaveLength(30);
        expect(new Set(ids).size).toBe(30);
      });

      it('marks an event delivered: it is no longer claimed', async () => {
        await store.open(newApproval(), requested, T0);
        const [event] = await store.claimDue(T0, 10, 1000);
        if (!event) throw new Error('no event claimed');
        await store.markDelivered(event.id, T0 + 5);
        const [stored] = await store.listOutbox({ status: 'delivered' });
        expect(stored).toMatchObject({ id: event.id, status: 'delivered', deliveredAt: T0 + 5, attempts: 0 });
        expect(await store.listOutbox({ status: 'pending' })).toStrictEqual([]);
        expect(await store.claimDue(T0 + 10_000_000, 10, 1000)).toStrictEqual([]);
      });

      it('records a failed attempt: due again at nextAttemptAt with the error', async () => {
        await store.open(newApproval(), requested, T0);
        const [event] = await store.claimDue(T0, 10, 1000);
        if (!event) throw new Error('no event claimed');
        await store.markFailed(event.id, { attempts: 1, nextAttemptAt: T0 + 5000, error: 'HTTP 500', dead: false });
        const [stored] = await store.listOutbox({});
        expect(stored).toMatchObject({ id: event.id, status: 'pending', attempts: 1, nextAttemptAt: T0 + 5000, lastError: 'HTTP 500' });
        expect(await store.claimDue(T0 + 4999, 10, 1000)).toStrictEqual([]);
        const [retry] = await store.claimDue(T0 + 5000, 10, 1000);
        expect(retry).toMatchObject({ id: event.id, attempts: 1, lastError: 'HTTP 500', nextAttemptAt: T0 + 6000 });
      });

      it('dead-letters an event whose retries are exhausted, and redelivers it on request', async () => {
        await store.open(newApproval(), requested, T0);
        const [event] = await store.claimDue(T0, 10, 1000);
        if (!event) throw new Error('no event claimed');
        await store.markFailed(event.id, { attempts: 8, nextAttemptAt: T0 + 9000, error: 'x'.repeat(5000), dead: true });
        const [dead] = await store.listOutbox({ status: 'dead' });
        expect(dead).toMatchObject({ id: event.id, status: 'dead', attempts: 8 });
        expect(dead?.lastError).toHaveLength(1000);
        expect(await store.claimDue(T0 + 10_000_000, 10, 1000)).toStrictEqual([]);

        expect(await store.redeliver(event.id, T0 + 20_000)).toBe(true);
        const [back] = await store.listOutbox({});
        expect(back).toMatchObject({ id: event.id, status: 'pending', attempts: 0, nextAttemptAt: T0 + 20_000 });
        expect(back?.lastError).toBeUndefined();
        const [claimed] = await store.claimDue(T0 + 20_000, 10, 1000);
        expect(claimed?.id).toBe(event.id);
        expect(claimed?.payload).toStrictEqual(event.payload);
      });

      it('redelivers a delivered event and answers false for an unknown one', async () => {
        await store.open(newApproval(), requested, T0);
        const [event] = await store.claimDue(T0, 10, 1000);
        if (!event) throw new Error('no event claimed');
        await store.markDelivered(event.id, T0 + 1);
        expect(await store.redeliver(event.id, T0 + 2)).toBe(true);
        const [back] = await store.listOutbox({});
        expect(back).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 2, attempts: 0 });
        expect(back?.deliveredAt).toBeUndefined();
        expect(await store.redeliver('msg_unknown', T0)).toBe(false);
      });

      it('ignores a failure reported for an event already delivered', async () => {
        await store.open(newApproval(), requested, T0);
        const [event] = await store.claimDue(T0, 10, 1000);
        if (!event) throw new Error('no event claimed');
        await store.markDelivered(event.id, T0 + 1);
        await store.markFailed(event.id, { attempts: 1, nextAttemptAt: T0 + 10, error: 'late', dead: false });
        const [stored] = await store.listOutbox({});
        expect(stored).toMatchObject({ status: 'delivered', attempts: 0 });
        expect(stored?.lastError).toBeUndefined();
      });

      it('lists the outbox newest first, filtered and cut at limit', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const { record } = await store.open(newApproval({ createdAt: T0 + i }), requested, T0 + i);
          ids.push(record.id);
        }
        expect((await store.listOutbox({})).map((e) => e.approvalId)).toStrictEqual([ids[2], ids[1], ids[0]]);
        expect((await store.listOutbox({ limit: 1 })).map((e) => e.approvalId)).toStrictEqual([ids[2]]);
        expect(await store.listOutbox({ status: 'dead' })).toStrictEqual([]);
      });
    });

    describe('rememberWebhookId', () => {
      it('answers true the first time, false on a replay, true again after expiry', async () => {
        expect(await store.rememberWebhookId('msg_1', T0 + 1000, T0)).toBe(true);
        expect(await store.rememberWebhookId('msg_1', T0 + 1000, T0 + 1)).toBe(false);
        expect(await store.rememberWebhookId('msg_1', T0 + 2000, T0 + 999)).toBe(false);
        expect(await store.rememberWebhookId('msg_2', T0 + 1000, T0 + 1)).toBe(true);
        expect(await store.rememberWebhookId('msg_1', T0 + 3000, T0 + 1000)).toBe(true);
        expect(await store.rememberWebhookId('msg_1', T0 + 3000, T0 + 2999)).toBe(false);
      });

      it('accepts one of many concurrent deliveries of the same id across two instances', async () => {
        const other = await fixture.twin();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).rememberWebhookId('msg_same', T0 + 60_000, T0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
