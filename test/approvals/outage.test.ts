/**
 * Outage: PostgreSQL or Redis unreachable (a real TCP proxy cut in front of it) → the runtime fails
 * closed with ACTRA_STORE_FAILED (503), nothing is allowed, and it recovers when the service returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/approvals.js';
import { approvalRoutes } from '../../src/approvals/routes.js';
import { PostgresApprovalStore } from '../../src/approvals/stores/postgres-store.js';
import { RedisApprovalStore } from '../../src/approvals/stores/redis-store.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { ApprovalStore } from '../../src/approvals/types.js';
import type { Policy } from '../../src/core/types.js';
import type { NeutralRequest } from '../../src/http/types.js';
import { cleanRedisPrefix, createPgSchema, redisTestPrefix, requireService, startTcpProxy, waitUntil, type PgSchema, type TcpProxy } from '../helpers/services.js';
import { CLERK, MANAGER, loadPolicy } from './fixtures/policy.js';
import { rejection } from '../helpers/rejection.js';

const pgUrl = await requireService('postgres');
const redisUrl = await requireService('redis');

const refund = { type: 'refund', amount: 5000, currency: 'EUR' };
const fraudLoader = { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) };

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy();
});


function through(url: string, port: number): { host: string; port: number; url: string } {
  const parsed = new URL(url);
  const target = { host: parsed.hostname, port: Number(parsed.port || (parsed.protocol.startsWith('redis') ? 6379 : 5432)) };
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return { ...target, url: parsed.toString() };
}

interface Backend {
  name: string;
  url: string | undefined;
  setup(): Promise<{ store: ApprovalStore; proxy: TcpProxy; cleanup(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'postgres',
    url: pgUrl,
    async setup() {
      const { host, port } = through(pgUrl ?? '', 0);
      const proxy = await startTcpProxy(host, port);
      const schema: PgSchema = await createPgSchema(pgUrl ?? '');
      const store = new PostgresApprovalStore({ connectionString: through(pgUrl ?? '', proxy.port).url, schema: schema.name, connectionTimeoutMs: 1000 });
      await store.init();
      return {
        store,
        proxy,
        async cleanup() {
          await store.close();
          await proxy.close();
          await schema.drop();
        },
      };
    },
  },
  {
    name: 'redis',
    url: redisUrl,
    async setup() {
      const { host, port } = through(redisUrl ?? '', 0);
      const proxy = await startTcpProxy(host, port);
      const prefix = redisTestPrefix();
      const store = new RedisApprovalStore({ url: through(redisUrl ?? '', proxy.port).url, prefix, commandTimeoutMs: 1000 });
      await store.init();
      return {
        store,
        proxy,
        async cleanup() {
          await store.close();
          await proxy.close();
          await cleanRedisPrefix(prefix, redisUrl ?? '');
        },
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe.skipIf(!backend.url)(`outage of ${backend.name}`, () => {
    let env: Awaited<ReturnType<Backend['setup']>>;
    let approvals: Approvals;
    let runtime: ActraRuntime;

    beforeAll(async () => {
      env = await backend.setup();
      approvals = new Approvals({ store: env.store, policy });
      runtime = new ActraRuntime(policy, { approvals, loaders: [fraudLoader] });
    });
    afterAll(async () => {
      await approvals?.close();
      await env?.cleanup();
    });

    it('fails closed with ACTRA_STORE_FAILED (503) while the store is unreachable, then recovers', async () => {
      let runs = 0;
      const check = async (approvalId?: string) => {
        const result = await runtime.check({ action: refund, actor: CLERK, method: 'POST', route: '/refunds/:id', ...(approvalId === undefined ? {} : { approvalId }) });
        if (result.outcome === 'allow') runs++;
        return result;
      };
      const opened = await check();
      const approvalId = opened.approval?.id ?? '';
      expect(opened.outcome).toBe('pending');
      await approvals.decide(approvalId, { verdict: 'approve', approver: MANAGER });

      await env.proxy.cut();

      const resumed = await rejection(check(approvalId));
      expect(resumed.code).toBe('ACTRA_STORE_FAILED');
      expect(resumed.statusCode).toBe(503);
      const fresh = await rejection(check(undefined));
      expect(fresh.code).toBe('ACTRA_STORE_FAILED');
      expect((await rejection(approvals.decide(approvalId, { verdict: 'deny', approver: MANAGER }))).code).toBe('ACTRA_STORE_FAILED');

      const routes = approvalRoutes(approvals, { resolveApprover: async () => MANAGER, unavailableRetryAfter: 7 });
      const status = await routes({ method: 'GET', path: `/approvals/${approvalId}`, params: {}, query: {}, body: undefined, header: () => undefined } satisfies NeutralRequest);
      expect(status?.status).toBe(503);
      expect(status?.headers['retry-after']).toBe('7');
      expect(status?.body).toMatchObject({ code: 'ACTRA_STORE_FAILED', status: 503 });
      expect(runs).toBe(0);

      await env.proxy.restore();

      // The service is back: the approval was neither lost nor used, and goes through exactly once.
      // Wait until the client has reconnected (a read, which changes nothing).
      await waitUntil(() => env.store.get(approvalId).then(() => true, () => false), `${backend.name} store did not recover`);
      expect((await env.store.get(approvalId))?.status).toBe('approved');
      const result = await check(approvalId);
      expect(result.outcome).toBe('allow');
      expect(runs).toBe(1);
      const again = await check(approvalId);
      expect(again.outcome).toBe('refused');
      expect(again.refusal?.code).toBe('ACTRA_APPROVAL_CONSUMED');
      expect(runs).toBe(1);
    });
  });
}
