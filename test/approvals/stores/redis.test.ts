import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisApprovalStore } from '../../../src/approvals/stores/redis-store.js';
import type { ApprovalStore } from '../../../src/approvals/types.js';
import { cleanRedisPrefix, redisTestPrefix, requireService, startRedisServer, waitUntil } from '../../helpers/services.js';
import { T0, TTL, approvalStoreContract, eventFor, newApproval } from './contract.js';

const url = await requireService('redis');

describe.skipIf(!url)('redis', () => {
  const redisUrl = url ?? '';
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await cleanRedisPrefix(prefix, redisUrl);
  });

  approvalStoreContract('redis', async () => {
    const prefix = redisTestPrefix();
    prefixes.push(prefix);
    const opened: ApprovalStore[] = [];
    async function openStore(): Promise<ApprovalStore> {
      const store = new RedisApprovalStore({ url: redisUrl, prefix });
      await store.init();
      opened.push(store);
      return store;
    }
    const store = await openStore();
    return {
      store,
      twin: openStore,
      dispose: async () => {
        for (const s of opened) await s.close();
        await cleanRedisPrefix(prefix, redisUrl);
      },
    };
  });

  describe('RedisApprovalStore', () => {
    it('sets key TTLs: approvals kept retentionMs past expiry, delivered events retentionMs, pending events forever', async () => {
      const prefix = redisTestPrefix();
      prefixes.push(prefix);
      const store = new RedisApprovalStore({ url: redisUrl, prefix, retentionMs: 3_600_000 });
      await store.init();
      const client = new Redis(redisUrl);
      try {
        const input = newApproval();
        await store.open(input, eventFor('approval.requested'), T0);
        const recordTtl = await client.pttl(`${prefix}apr:${input.id}`);
        expect(recordTtl).toBeGreaterThan(3_600_000);
        expect(recordTtl).toBeLessThanOrEqual(TTL + 3_600_000);
        const [event] = await store.listOutbox({});
        if (!event) throw new Error('no event');
        expect(await client.pttl(`${prefix}evt:${event.id}`)).toBe(-1);
        await store.decide(input.id, { verdict: 'approve', decidedBy: 'a' }, eventFor('approval.decided'), T0 + 1);
        expect(await client.pttl(`${prefix}apr:${input.id}`)).toBeGreaterThan(3_600_000);
        await store.markDelivered(event.id, T0 + 2);
        const deliveredTtl = await client.pttl(`${prefix}evt:${event.id}`);
        expect(deliveredTtl).toBeGreaterThan(0);
        expect(deliveredTtl).toBeLessThanOrEqual(3_600_000);
        await store.redeliver(event.id, T0 + 3);
        expect(await client.pttl(`${prefix}evt:${event.id}`)).toBe(-1);
      } finally {
        client.disconnect();
        await store.close();
      }
    });

    it('skips approvals whose keys Redis already removed when listing', async () => {
      const prefix = redisTestPrefix();
      prefixes.push(prefix);
      const store = new RedisApprovalStore({ url: redisUrl, prefix });
      await store.init();
      const client = new Redis(redisUrl);
      try {
        const kept = newApproval({ createdAt: T0 + 1 });
        const gone = newApproval({ createdAt: T0 + 2 });
        await store.open(kept, eventFor('approval.requested'), T0);
        await store.open(gone, eventFor('approval.requested'), T0);
        await client.del(`${prefix}apr:${gone.id}`);
        expect((await store.list({})).map((r) => r.id)).toStrictEqual([kept.id]);
        expect(await client.zscore(`${prefix}idx:all`, gone.id)).toBeNull();
      } finally {
        client.disconnect();
        await store.close();
      }
    });

    it('works with a client it was given and leaves it connected on close()', async () => {
      const prefix = redisTestPrefix();
      prefixes.push(prefix);
      const client = new Redis(redisUrl);
      const store = new RedisApprovalStore({ redis: client, prefix });
      await store.init();
      const input = newApproval();
      await store.open(input, eventFor('approval.requested'), T0);
      expect((await store.get(input.id))?.id).toBe(input.id);
      await store.close();
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    });

    it('rejects invalid options with ACTRA_OPTIONS naming the option', () => {
      expect(() => new RedisApprovalStore({})).toThrow(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'RedisApprovalStore: option "redis" give exactly one of redis or url' }),
      );
      expect(() => new RedisApprovalStore({ url: 'http://x' })).toThrow(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'RedisApprovalStore: option "url" must start with redis:// or rediss://' }),
      );
      expect(() => new RedisApprovalStore({ url: redisUrl, prefix: 'has space' })).toThrow(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringMatching(/^RedisApprovalStore: option "prefix" /) }),
      );
    });

    it('fails with ACTRA_STORE_FAILED while Redis is down and recovers when it returns', async () => {
      const server = await startRedisServer();
      const store = new RedisApprovalStore({ url: server.url, prefix: 'actra:' });
      try {
        await store.init();
        const input = newApproval();
        await store.open(input, eventFor('approval.requested'), T0);

        await server.kill();
        for (const attempt of [
          () => store.consume(input.id, input.digest, eventFor('approval.consumed'), T0 + 1),
          () => store.open(newApproval(), eventFor('approval.requested'), T0 + 1),
          () => store.get(input.id),
        ]) {
          const error = await attempt().catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'ACTRA_STORE_FAILED', statusCode: 503, message: expect.stringMatching(/^redis approval store failed to /) });
          expect((error as Error).cause).toBeInstanceOf(Error);
        }

        await server.restart();
        await waitUntil(async () => (await store.get('apr_probe').then(() => true, () => false)), 'store did not recover');
        // The restarted server has no data and no script cache: the store must load its scripts again.
        const again = newApproval();
        const opened = await store.open(again, eventFor('approval.requested'), T0 + 2);
        expect(opened.created).toBe(true);
        expect(await store.get(again.id)).toStrictEqual({ ...again, status: 'pending' });
      } finally {
        await store.close();
        await server.kill();
      }
    });
  });
});
