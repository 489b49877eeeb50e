/** The approval protocol (`Approvals`) on the in-memory store and on a SQLite file. */
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { Approvals, approvalDigest, isApprovalIdShape, newApprovalId } from '../../src/approvals/approvals.js';
import { canonicalJson, sha256Hex } from '../../src/core/canonical.js';
import { ActraError } from '../../src/errors.js';
import type { Policy } from '../../src/core/types.js';
import type { ApprovalGate, ApprovalRecord, ApprovalStore, ConsumeResult } from '../../src/approvals/types.js';
import { CLERK, MANAGER, OTHER_CLERK, REQUESTING_MANAGER, loadPolicy, requestFor } from './fixtures/policy.js';
import { PROTOCOL_STORES, type ProtocolStore } from './fixtures/stores.js';
import { rejection } from '../helpers/rejection.js';

const T0 = 1_800_000_000_000;
const SECRET = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy();
});


describe('approval ids and digests', () => {
  it('makes ids of at least 128 random bits that never repeat', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newApprovalId();
      expect(id).toMatch(/^apr_[A-Za-z0-9_-]{32}$/);
      expect(isApprovalIdShape(id)).toBe(true);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
    // 32 base64url characters carry 192 bits.
    expect(32 * 6).toBeGreaterThanOrEqual(128);
  });

  it('rejects id shapes that are not approval ids', () => {
    expect(isApprovalIdShape('apr_short')).toBe(false);
    expect(isApprovalIdShape('../../etc/passwd')).toBe(false);
    expect(isApprovalIdShape('apr_' + 'a'.repeat(31) + '/')).toBe(false);
  });

  it('digests the canonical action, actor id, method and route', () => {
    const request = requestFor(policy, { type: 'refund', amount: 5000, currency: 'EUR' }, CLERK);
    const expected = sha256Hex(canonicalJson({ action: { amount: 5000, currency: 'EUR', type: 'refund' }, actorId: 'user-clerk', method: 'POST', route: '/refunds/:id' }));
    expect(approvalDigest(request)).toBe(expected);
    // Key order does not matter; every field, the actor, the method and the route do.
    expect(approvalDigest({ ...request, action: { currency: 'EUR', amount: 5000, type: 'refund' } })).toBe(expected);
    expect(approvalDigest({ ...request, action: { type: 'refund', amount: 5001, currency: 'EUR' } })).not.toBe(expected);
    expect(approvalDigest({ ...request, actorId: 'someone-else' })).not.toBe(expected);
    expect(approvalDigest({ ...request, method: 'PUT' })).not.toBe(expected);
    expect(approvalDigest({ ...request, route: '/other' })).not.toBe(expected);
  });
});

describe('Approvals types', () => {
  it('is the runtime approval gate and resolves records', () => {
    expectTypeOf<Approvals>().toMatchTypeOf<ApprovalGate>();
    expectTypeOf<Approvals['waitFor']>().returns.resolves.toEqualTypeOf<ApprovalRecord>();
    expectTypeOf<Approvals['decide']>().returns.resolves.toEqualTypeOf<ApprovalRecord>();
    expectTypeOf<Approvals['resume']>().returns.resolves.toEqualTypeOf<ConsumeResult>();
    expectTypeOf<Parameters<Approvals['decide']>[1]['verdict']>().toEqualTypeOf<'approve' | 'deny'>();
  });
});

describe('Approvals options', () => {
  it('fails at construction with ACTRA_OPTIONS naming the bad option', () => {
    const store = {} as ApprovalStore;
    const error = (() => {
      try {
        new Approvals({ store, policy });
      } catch (caught) {
        return caught as ActraError;
      }
      throw new Error('expected a throw');
    })();
    expect(error.code).toBe('ACTRA_OPTIONS');
    expect(error.message).toContain('"store"');
  });

  it('refuses a webhook secret that is not a Standard Webhooks secret', async () => {
    const { MemoryApprovalStore } = await import('../../src/approvals/stores/memory-store.js');
    expect(() => new Approvals({ store: new MemoryApprovalStore(), policy, webhooks: { endpoints: [{ url: 'http://127.0.0.1:1/x', secret: 'not-a-secret' }] } })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('webhooks.endpoints.0.secret') }),
    );
    expect(() => new Approvals({ store: new MemoryApprovalStore(), policy, inboundSecrets: [SECRET, 'whsec_'] })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('inboundSecrets.1') }),
    );
  });

  it('refuses a webhook endpoint that is not an http(s) URL', async () => {
    const { MemoryApprovalStore } = await import('../../src/approvals/stores/memory-store.js');
    for (const url of ['ftp://hooks.example.com/x', 'not a url']) {
      expect(() => new Approvals({ store: new MemoryApprovalStore(), policy, webhooks: { endpoints: [{ url, secret: SECRET }] } })).toThrowError(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('webhooks.endpoints.0.url') }),
      );
    }
    expect(() => new Approvals({ store: new MemoryApprovalStore(), policy, webhooks: { endpoints: [{ url: 'https://hooks.example.com/x', secret: SECRET }], maxAttempts: 0 } })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('webhooks.maxAttempts') }),
    );
  });

  it('never echoes a secret in the error message', async () => {
    const { MemoryApprovalStore } = await import('../../src/approvals/stores/memory-store.js');
    const bad = 'whsec_%%%definitely-secret%%%';
    try {
      new Approvals({ store: new MemoryApprovalStore(), policy, inboundSecrets: [bad] });
      throw new Error('expected a throw');
    } catch (error) {
      expect((error as ActraError).code).toBe('ACTRA_OPTIONS');
      expect((error as Error).message).not.toContain('definitely-secret');
    }
  });
});

for (const backend of PROTOCOL_STORES) {
  describe(`Approvals on the ${backend.name} store`, () => {
    let fixture: ProtocolStore;
    let clock: number;
    let approvals: Approvals;
    const refund = { type: 'refund', amount: 5000, currency: 'EUR' };

    beforeEach(async () => {
      fixture = await backend.create();
      clock = T0;
      approvals = new Approvals({ store: fixture.store, policy, now: () => clock, pollIntervalMs: 5 });
    });
    afterEach(async () => {
      await approvals.close();
      await fixture.dispose();
    });

    describe('open', () => {
      it('opens a pending approval with the rule, reason, policy hash, requester and the rule ttl', async () => {
        const request = requestFor(policy, refund, CLERK);
        const record = await approvals.open(request);
        expect(isApprovalIdShape(record.id)).toBe(true);
        expect(record).toMatchObject({
          status: 'pending',
          actionType: 'refund',
          ruleId: 'refund_needs_approval',
          reason: 'refund.large',
          policyHash: policy.policyHash(),
          requesterId: 'user-clerk',
          method: 'POST',
          route: '/refunds/:id',
          createdAt: T0,
          expiresAt: T0 + 15 * 60_000,
          digest: approvalDigest(request),
        });
        expect(await fixture.store.get(record.id)).toEqual(record);
      });

      it('uses one hour when the rule sets no ttl', async () => {
        const record = await approvals.open(requestFor(policy, { type: 'export', rows: 500 }, CLERK, '/exports', 'POST'));
        expect(record.expiresAt - record.createdAt).toBe(3_600_000);
      });

      it('returns the same approval when the same actor repeats the same request', async () => {
        const first = await approvals.openRequest(requestFor(policy, refund, CLERK));
        clock += 1000;
        const again = await approvals.openRequest(requestFor(policy, { currency: 'EUR', amount: 5000, type: 'refund' }, CLERK));
        expect(first.created).toBe(true);
        expect(again.created).toBe(false);
        expect(again.record.id).toBe(first.record.id);
        expect(await approvals.list({ status: 'pending' })).toHaveLength(1);
      });

      it('opens distinct approvals for other actors, other amounts and other routes', async () => {
        const a = await approvals.open(requestFor(policy, refund, CLERK));
        const b = await approvals.open(requestFor(policy, refund, OTHER_CLERK));
        const c = await approvals.open(requestFor(policy, { ...refund, amount: 6000 }, CLERK));
        const d = await approvals.open(requestFor(policy, refund, CLERK, '/other-refunds/:id'));
        expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4);
      });

      it('refuses to open for a decision that is not require_approval', async () => {
        const decision = policy.evaluate({ action: { type: 'refund', amount: 5, currency: 'EUR' }, actor: CLERK, snapshot: { fraud_flag: false } });
        const error = await rejection(approvals.open({ decision, action: { type: 'refund', amount: 5, currency: 'EUR' }, actorId: 'user-clerk' }));
        expect(error.code).toBe('ACTRA_ENGINE');
        expect(error.message).toContain('require_approval');
      });
    });

    describe('decide', () => {
      it('lets an approver approve, recording who and when', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        clock += 5000;
        const record = await approvals.decide(id, { verdict: 'approve', approver: MANAGER, note: 'fine' });
        expect(record).toMatchObject({ status: 'approved', verdict: 'approve', decidedBy: 'user-manager', decidedAt: T0 + 5000, note: 'fine' });
      });

      it('never lets the requester decide their own request, even when they could approve others', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, REQUESTING_MANAGER));
        for (const verdict of ['approve', 'deny'] as const) {
          const error = await rejection(approvals.decide(id, { verdict, approver: REQUESTING_MANAGER }));
          expect(error.code).toBe('ACTRA_APPROVAL_FORBIDDEN');
          expect(error.statusCode).toBe(403);
          expect(error.message).toBe('the requester cannot decide their own approval');
        }
        expect((await fixture.store.get(id))?.status).toBe('pending');
        // Another manager may.
        expect((await approvals.decide(id, { verdict: 'approve', approver: MANAGER })).status).toBe('approved');
      });

      it('refuses a signed webhook decision made on behalf of the requester', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const error = await rejection(approvals.decide(id, { verdict: 'approve', approver: { webhook: 'chatops', onBehalfOf: 'user-clerk' } }));
        expect(error.code).toBe('ACTRA_APPROVAL_FORBIDDEN');
        const record = await approvals.decide(id, { verdict: 'approve', approver: { webhook: 'chatops', onBehalfOf: 'alice' } });
        expect(record.decidedBy).toBe('webhook:chatops:alice');
      });

      it('enforces the rule approval condition: a non-approver gets the same not-found as an unknown id', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const notApprover = await rejection(approvals.decide(id, { verdict: 'approve', approver: OTHER_CLERK }));
        const unknown = await rejection(approvals.decide(newApprovalId(), { verdict: 'approve', approver: OTHER_CLERK }));
        expect(notApprover.code).toBe('ACTRA_APPROVAL_NOT_FOUND');
        expect(unknown.code).toBe('ACTRA_APPROVAL_NOT_FOUND');
        expect(notApprover.message).toBe(unknown.message);
        expect((await fixture.store.get(id))?.status).toBe('pending');
      });

      it('lets any other actor approve when the rule names no approvers', async () => {
        const { id } = await approvals.open(requestFor(policy, { type: 'export', rows: 500 }, CLERK, '/exports'));
        expect((await approvals.decide(id, { verdict: 'approve', approver: OTHER_CLERK })).status).toBe('approved');
      });

      it('is idempotent for the same verdict and answers 409 ACTRA_APPROVAL_CONFLICT for the other', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const first = await approvals.decide(id, { verdict: 'deny', approver: MANAGER });
        clock += 1000;
        const again = await approvals.decide(id, { verdict: 'deny', approver: MANAGER });
        expect(again).toEqual(first);
        const conflict = await rejection(approvals.decide(id, { verdict: 'approve', approver: MANAGER }));
        expect(conflict.code).toBe('ACTRA_APPROVAL_CONFLICT');
        expect(conflict.statusCode).toBe(409);
        expect(conflict.message).toBe('the approval was already denied; a decision is final');
      });

      it('treats approving a used approval again as idempotent and denying it as a conflict', async () => {
        const request = requestFor(policy, refund, CLERK);
        const { id } = await approvals.open(request);
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        expect((await approvals.resume(id, request)).ok).toBe(true);
        expect((await approvals.decide(id, { verdict: 'approve', approver: MANAGER })).status).toBe('consumed');
        const conflict = await rejection(approvals.decide(id, { verdict: 'deny', approver: MANAGER }));
        expect(conflict.code).toBe('ACTRA_APPROVAL_CONFLICT');
      });

      it('says ACTRA_APPROVAL_EXPIRED when the approval expired before the decision', async () => {
        const { id, expiresAt } = await approvals.open(requestFor(policy, refund, CLERK));
        clock = expiresAt;
        const error = await rejection(approvals.decide(id, { verdict: 'approve', approver: MANAGER }));
        expect(error.code).toBe('ACTRA_APPROVAL_EXPIRED');
        expect(error.message).toBe('the approval expired before it was decided');
      });

      it('refuses a malformed verdict or note with ACTRA_BAD_REQUEST', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const verdict = await rejection(approvals.decide(id, { verdict: 'maybe' as 'approve', approver: MANAGER }));
        expect(verdict.code).toBe('ACTRA_BAD_REQUEST');
        const note = await rejection(approvals.decide(id, { verdict: 'approve', approver: MANAGER, note: 'x'.repeat(2001) }));
        expect(note.code).toBe('ACTRA_BAD_REQUEST');
        expect(note.message).toContain('note');
      });
    });

    describe('resume', () => {
      it('consumes an approved approval for the very same request, once', async () => {
        const request = requestFor(policy, refund, CLERK);
        const { id } = await approvals.open(request);
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        clock += 10;
        const first = await approvals.resume(id, requestFor(policy, refund, CLERK));
        expect(first.ok).toBe(true);
        expect(first.ok && first.record).toMatchObject({ status: 'consumed', consumedAt: T0 + 10 });
        const second = await approvals.resume(id, request);
        expect(second).toMatchObject({ ok: false, refusal: 'consumed' });
      });

      it('refuses, each with its own reason: pending, denied, expired, another request, unknown', async () => {
        const request = requestFor(policy, refund, CLERK);
        const pending = await approvals.open(request);
        expect(await approvals.resume(pending.id, request)).toMatchObject({ ok: false, refusal: 'pending' });

        await approvals.decide(pending.id, { verdict: 'approve', approver: MANAGER });
        expect(await approvals.resume(pending.id, requestFor(policy, { ...refund, amount: 9999 }, CLERK))).toMatchObject({ ok: false, refusal: 'mismatch' });
        expect(await approvals.resume(pending.id, requestFor(policy, refund, CLERK, '/refunds/:id', 'PUT'))).toMatchObject({ ok: false, refusal: 'mismatch' });
        // Another actor presenting this id learns nothing about it: the unknown-id answer, no record.
        expect(await approvals.resume(pending.id, requestFor(policy, refund, OTHER_CLERK))).toEqual({ ok: false, refusal: 'not_found' });

        const denied = await approvals.open(requestFor(policy, { ...refund, amount: 7000 }, CLERK));
        await approvals.decide(denied.id, { verdict: 'deny', approver: MANAGER });
        expect(await approvals.resume(denied.id, requestFor(policy, { ...refund, amount: 7000 }, CLERK))).toMatchObject({ ok: false, refusal: 'denied' });

        const late = await approvals.open(requestFor(policy, { ...refund, amount: 8000 }, CLERK));
        await approvals.decide(late.id, { verdict: 'approve', approver: MANAGER });
        clock = late.expiresAt;
        expect(await approvals.resume(late.id, requestFor(policy, { ...refund, amount: 8000 }, CLERK))).toMatchObject({ ok: false, refusal: 'expired' });

        expect(await approvals.resume(newApprovalId(), request)).toEqual({ ok: false, refusal: 'not_found' });
        expect(await approvals.resume('not-an-id', request)).toEqual({ ok: false, refusal: 'not_found' });
      });

      it('refuses an approval granted under another rule', async () => {
        const exportRequest = requestFor(policy, { type: 'export', rows: 500 }, CLERK, '/exports');
        const { id } = await approvals.open(exportRequest);
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        expect(await approvals.resume(id, requestFor(policy, refund, CLERK))).toMatchObject({ ok: false, refusal: 'mismatch' });
        expect((await approvals.resume(id, exportRequest)).ok).toBe(true);
      });

      it('lets exactly one of many concurrent resumes through', async () => {
        const request = requestFor(policy, refund, CLERK);
        const { id } = await approvals.open(request);
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        const twin = new Approvals({ store: await fixture.twin(), policy, now: () => clock });
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? approvals : twin).resume(id, request)));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.refusal === 'consumed')).toHaveLength(29);
      });
    });

    describe('get and list', () => {
      it('shows the approval to its requester and to approvers; everyone else gets the unknown-id answer', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        expect((await approvals.get(id, CLERK)).id).toBe(id);
        expect((await approvals.get(id, MANAGER)).id).toBe(id);
        const stranger = await rejection(approvals.get(id, OTHER_CLERK));
        const unknown = await rejection(approvals.get(newApprovalId(), MANAGER));
        const malformed = await rejection(approvals.get('apr_nope', MANAGER));
        for (const error of [stranger, unknown, malformed]) {
          expect(error.code).toBe('ACTRA_APPROVAL_NOT_FOUND');
          expect(error.statusCode).toBe(404);
          expect(error.message).toBe('no approval with this id is visible to the caller');
        }
      });

      it('lists approvals by status, newest first', async () => {
        const a = await approvals.open(requestFor(policy, refund, CLERK));
        clock += 1;
        const b = await approvals.open(requestFor(policy, { ...refund, amount: 2000 }, CLERK));
        clock += 1;
        const c = await approvals.open(requestFor(policy, { ...refund, amount: 3000 }, CLERK));
        await approvals.decide(b.id, { verdict: 'deny', approver: MANAGER });
        expect((await approvals.list({ status: 'pending' })).map((r) => r.id)).toEqual([c.id, a.id]);
        expect((await approvals.list({ status: 'denied' })).map((r) => r.id)).toEqual([b.id]);
        expect((await approvals.list()).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
      });
    });

    describe('waitFor', () => {
      it('resolves at once when a decision is made in this process', async () => {
        const slow = new Approvals({ store: fixture.store, policy, now: () => clock, pollIntervalMs: 3_600_000 });
        const { id } = await slow.open(requestFor(policy, refund, CLERK));
        const waiting = slow.waitFor(id);
        await slow.decide(id, { verdict: 'approve', approver: MANAGER });
        expect(await waiting).toMatchObject({ id, status: 'approved' });
        await slow.close();
      });

      it('resolves when another instance sharing the store decides (by polling)', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const waiting = approvals.waitFor(id);
        const other = new Approvals({ store: await fixture.twin(), policy, now: () => clock });
        await other.decide(id, { verdict: 'deny', approver: MANAGER });
        expect(await waiting).toMatchObject({ id, status: 'denied' });
      });

      it('resolves at once with an approval that is already decided', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        expect((await approvals.waitFor(id)).status).toBe('approved');
      });

      it('resolves with the expired approval once its time has passed', async () => {
        const { id, expiresAt } = await approvals.open(requestFor(policy, refund, CLERK));
        const waiting = approvals.waitFor(id);
        clock = expiresAt + 1;
        expect(await waiting).toMatchObject({ id, status: 'expired' });
      });

      it('rejects with ACTRA_TIMEOUT when nobody decides in time', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const error = await rejection(approvals.waitFor(id, { timeout: 20 }));
        expect(error.code).toBe('ACTRA_TIMEOUT');
        expect(error.message).toBe('approval was not decided within 20 ms');
      });

      it('rejects with an AbortError when its signal aborts', async () => {
        const { id } = await approvals.open(requestFor(policy, refund, CLERK));
        const controller = new AbortController();
        const waiting = approvals.waitFor(id, { signal: controller.signal });
        controller.abort();
        await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
        await expect(approvals.waitFor(id, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
      });

      it('rejects with ACTRA_APPROVAL_NOT_FOUND for an unknown id', async () => {
        expect((await rejection(approvals.waitFor(newApprovalId()))).code).toBe('ACTRA_APPROVAL_NOT_FOUND');
        expect((await rejection(approvals.waitFor('nope'))).code).toBe('ACTRA_APPROVAL_NOT_FOUND');
      });
    });

    describe('expiry', () => {
      it('expires pending and approved approvals past their time, one approval.expired event each', async () => {
        const pending = await approvals.open(requestFor(policy, refund, CLERK));
        const approved = await approvals.open(requestFor(policy, { ...refund, amount: 2000 }, CLERK));
        await approvals.decide(approved.id, { verdict: 'approve', approver: MANAGER });
        const denied = await approvals.open(requestFor(policy, { ...refund, amount: 3000 }, CLERK));
        await approvals.decide(denied.id, { verdict: 'deny', approver: MANAGER });
        expect(await approvals.expireDue()).toEqual([]);
        clock = pending.expiresAt;
        const expired = await approvals.expireDue();
        expect(expired.map((r) => r.id).sort()).toEqual([pending.id, approved.id].sort());
        expect((await fixture.store.get(denied.id))?.status).toBe('denied');
        const events = await fixture.store.listOutbox({ limit: 100 });
        expect(events.filter((e) => e.type === 'approval.expired').map((e) => e.approvalId).sort()).toEqual([pending.id, approved.id].sort());
      });

      it('runs the sweeper in the background after start() and stops on close()', async () => {
        const { id, expiresAt } = await approvals.open(requestFor(policy, refund, CLERK));
        const sweeping = new Approvals({ store: fixture.store, policy, now: () => clock, sweepIntervalMs: 10 });
        clock = expiresAt;
        sweeping.start();
        // Only the sweeper can expire it here: nothing else touches the store meanwhile.
        while ((await fixture.store.get(id))?.status !== 'expired') await new Promise((resolve) => setTimeout(resolve, 5));
        await sweeping.close();
        expect((await fixture.store.listOutbox({ limit: 10 })).filter((e) => e.type === 'approval.expired').map((e) => e.approvalId)).toEqual([id]);
        expect(() => sweeping.start()).toThrowError(expect.objectContaining({ code: 'ACTRA_OPTIONS' }));
      });
    });

    describe('outbox events', () => {
      it('writes one event per state change, in the same store', async () => {
        const request = requestFor(policy, refund, CLERK);
        const { id } = await approvals.open(request);
        await approvals.open(request);
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        await approvals.decide(id, { verdict: 'approve', approver: MANAGER });
        await approvals.resume(id, request);
        await approvals.resume(id, request);
        const events = (await fixture.store.listOutbox({ limit: 100 })).filter((e) => e.approvalId === id);
        expect(events.map((e) => e.type).sort()).toEqual(['approval.consumed', 'approval.decided', 'approval.requested']);
        for (const event of events) expect(event.id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
      });
    });
  });
}
