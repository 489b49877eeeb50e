/**
 * Exactly once, end to end: two runtime instances sharing one store (SQLite file, PostgreSQL,
 * Redis); 50 concurrent resumes of one approved approval run the handler exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/approvals.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { Policy } from '../../src/core/types.js';
import type { CheckResult } from '../../src/runtime/types.js';
import { requireService } from '../helpers/services.js';
import { CLERK, MANAGER, loadPolicy } from './fixtures/policy.js';
import { postgresShared, redisShared, sqliteShared, type SharedStore } from './fixtures/shared-stores.js';

const pgUrl = await requireService('postgres');
const redisUrl = await requireService('redis');

const BACKENDS: readonly { name: string; url: string | undefined; shared: () => Promise<SharedStore> }[] = [
  { name: 'sqlite', url: 'file', shared: async () => sqliteShared() },
  { name: 'postgres', url: pgUrl, shared: () => postgresShared(pgUrl ?? '') },
  { name: 'redis', url: redisUrl, shared: async () => redisShared(redisUrl ?? '') },
];

const CONCURRENT = 50;
const refund = { type: 'refund', amount: 5000, currency: 'EUR' };
const fraudLoader = { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) };

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy();
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.url)(`exactly once on ${backend.name}`, () => {
    let shared: SharedStore;
    let instances: { approvals: Approvals; runtime: ActraRuntime }[];

    beforeAll(async () => {
      shared = await backend.shared();
      instances = [];
      for (let i = 0; i < 2; i++) {
        const approvals = new Approvals({ store: await shared.open(), policy });
        instances.push({ approvals, runtime: new ActraRuntime(policy, { approvals, loaders: [fraudLoader] }) });
      }
    });
    afterAll(async () => {
      for (const { approvals } of instances ?? []) await approvals.close();
      await shared?.dispose();
    });

    /** The request as the HTTP layer would present it, with a handler that counts its runs. */
    function attempt(runtime: ActraRuntime, approvalId: string | undefined, counter: { runs: number }): Promise<CheckResult> {
      return runtime
        .check({ action: refund, actor: CLERK, method: 'POST', route: '/refunds/:id', ...(approvalId === undefined ? {} : { approvalId }) })
        .then(function handlerIfAllowed(result) {
          if (result.outcome === 'allow') counter.runs++;
          return result;
        });
    }

    it(`runs the handler exactly once for ${CONCURRENT} concurrent resumes spread over two instances`, async () => {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const counter = { runs: 0 };

      const opened = await attempt(a.runtime, undefined, counter);
      expect(opened.outcome).toBe('pending');
      const approvalId = opened.approval?.id ?? '';
      // A client retry on the other instance gets the same approval, not a new one.
      const retried = await attempt(b.runtime, undefined, counter);
      expect(retried.outcome).toBe('pending');
      expect(retried.approval?.id).toBe(approvalId);

      // Still pending: a resume is answered pending again, and nothing runs.
      expect((await attempt(b.runtime, approvalId, counter)).outcome).toBe('pending');

      await b.approvals.decide(approvalId, { verdict: 'approve', approver: MANAGER });

      const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => attempt((i % 2 === 0 ? a : b).runtime, approvalId, counter)));

      expect(counter.runs).toBe(1);
      expect(results.filter((r) => r.outcome === 'allow')).toHaveLength(1);
      const refused = results.filter((r) => r.outcome === 'refused');
      expect(refused).toHaveLength(CONCURRENT - 1);
      for (const result of refused) {
        expect(result.refusal?.code).toBe('ACTRA_APPROVAL_CONSUMED');
        expect(result.refusal?.statusCode).toBe(403);
        expect(result.enforcedEffect).toBe('block');
      }
      // Both instances took part in the race.
      expect(new Set(results.map((r, i) => `${i % 2}:${r.outcome}`)).size).toBeGreaterThanOrEqual(3);

      const record = await a.approvals.get(approvalId, CLERK);
      expect(record.status).toBe('consumed');
      const events = await (await shared.open()).listOutbox({ limit: 100 });
      expect(events.filter((e) => e.approvalId === approvalId && e.type === 'approval.consumed')).toHaveLength(1);

      // Later retries are refused too, on either instance.
      for (const { runtime } of instances) {
        const late = await attempt(runtime, approvalId, counter);
        expect(late.outcome).toBe('refused');
        expect(late.refusal?.code).toBe('ACTRA_APPROVAL_CONSUMED');
      }
      expect(counter.runs).toBe(1);
    });

    it('never lets an approval through for another request, a denied one, or a block', async () => {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const counter = { runs: 0 };
      const opened = await a.runtime.check({ action: { ...refund, amount: 6000 }, actor: CLERK, method: 'POST', route: '/refunds/:id' });
      const approvalId = opened.approval?.id ?? '';
      await a.approvals.decide(approvalId, { verdict: 'approve', approver: MANAGER });

      const other = await b.runtime.check({ action: { ...refund, amount: 6001 }, actor: CLERK, method: 'POST', route: '/refunds/:id', approvalId });
      expect(other.outcome).toBe('refused');
      expect(other.refusal?.code).toBe('ACTRA_APPROVAL_MISMATCH');

      const fraud = new ActraRuntime(policy, { approvals: b.approvals, loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: true }) }] });
      const blocked = await fraud.check({ action: { ...refund, amount: 6000 }, actor: CLERK, method: 'POST', route: '/refunds/:id', approvalId });
      expect(blocked.outcome).toBe('block');
      expect(blocked.decision?.matchedRule).toBe('block_fraud');

      // The approval is still unused after both refusals, and works once for the right request.
      const right = await attempt(b.runtime, undefined, counter);
      expect(right.approval?.id).not.toBe(approvalId); // amount 5000 is another request
      const resumed = await b.runtime.check({ action: { ...refund, amount: 6000 }, actor: CLERK, method: 'POST', route: '/refunds/:id', approvalId });
      expect(resumed.outcome).toBe('allow');

      const denied = await a.runtime.check({ action: { ...refund, amount: 7000 }, actor: CLERK, method: 'POST', route: '/refunds/:id' });
      await b.approvals.decide(denied.approval?.id ?? '', { verdict: 'deny', approver: MANAGER });
      const refusedDenied = await a.runtime.check({ action: { ...refund, amount: 7000 }, actor: CLERK, method: 'POST', route: '/refunds/:id', approvalId: denied.approval?.id ?? '' });
      expect(refusedDenied.outcome).toBe('refused');
      expect(refusedDenied.refusal?.code).toBe('ACTRA_APPROVAL_DENIED');
    });
  });
}
