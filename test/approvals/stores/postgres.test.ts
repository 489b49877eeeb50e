import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresApprovalStore, postgresDdl } from '../../../src/approvals/stores/postgres-store.js';
import type { ApprovalStore } from '../../../src/approvals/types.js';
import { createPgSchema, freePort, requireService, startTcpProxy, uniqueName, waitUntil, type PgSchema } from '../../helpers/services.js';
import { T0, approvalStoreContract, eventFor, newApproval } from './contract.js';

const url = await requireService('postgres');

describe.skipIf(!url)('postgres', () => {
  const databaseUrl = url ?? '';
  let schema: PgSchema;
  let counter = 0;

  beforeAll(async () => {
    schema = await createPgSchema(databaseUrl);
  });
  afterAll(async () => {
    await schema.drop();
  });

  approvalStoreContract('postgres', async () => {
    const tablePrefix = `t${++counter}_`;
    const opened: ApprovalStore[] = [];
    async function openStore(): Promise<ApprovalStore> {
      const store = new PostgresApprovalStore({ connectionString: databaseUrl, schema: schema.name, tablePrefix });
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
      },
    };
  });

  describe('PostgresApprovalStore', () => {
    it('ships sql/postgres.sql with the same DDL init() runs', () => {
      const file = readFileSync(new URL('../../../sql/postgres.sql', import.meta.url), 'utf8');
      expect(file).toContain(postgresDdl('public', 'actra_'));
    });

    it('works on tables created by sql/postgres.sql', async () => {
      const target = uniqueName();
      const file = readFileSync(new URL('../../../sql/postgres.sql', import.meta.url), 'utf8').replaceAll('"public".', `"${target}".`);
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA "${target}"`);
        await client.query(file);
        // A role that may use the tables but create nothing.
        await client.query(`CREATE ROLE "${target}" LOGIN`);
        await client.query(`GRANT USAGE ON SCHEMA "${target}" TO "${target}"`);
        await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${target}" TO "${target}"`);
        const asRole = new URL(databaseUrl);
        asRole.username = target;
        asRole.password = '';
        const store = new PostgresApprovalStore({ connectionString: asRole.toString(), schema: target });
        await store.init();
        const input = newApproval();
        await store.open(input, eventFor('approval.requested'), T0);
        expect(await store.get(input.id)).toStrictEqual({ ...input, status: 'pending' });
        await store.close();
        const { rows } = await client.query(`SELECT version FROM "${target}".actra_schema_version`);
        expect(rows).toStrictEqual([{ version: 1 }]);
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS "${target}" CASCADE`);
        await client.query(`DROP ROLE IF EXISTS "${target}"`);
        await client.end();
      }
    });

    it('initialises concurrently from several instances and stores times as bigint', async () => {
      const stores = Array.from({ length: 4 }, () => new PostgresApprovalStore({ connectionString: databaseUrl, schema: schema.name, tablePrefix: 'race_' }));
      await Promise.all(stores.map((s) => s.init()));
      const input = newApproval({ expiresAt: 8_000_000_000_000 });
      await stores[0]?.open(input, eventFor('approval.requested'), T0);
      expect(await stores[1]?.get(input.id)).toMatchObject({ expiresAt: 8_000_000_000_000, createdAt: T0 });
      for (const s of stores) await s.close();
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      const { rows } = await client.query(
        `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'race_approvals' AND column_name = 'expires_at'`,
        [schema.name],
      );
      const versions = await client.query(`SELECT version FROM "${schema.name}".race_schema_version`);
      await client.end();
      expect(rows).toStrictEqual([{ data_type: 'bigint' }]);
      expect(versions.rows).toStrictEqual([{ version: 1 }]);
    });

    it('leaves a pool it was given open on close()', async () => {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
      const store = new PostgresApprovalStore({ pool, schema: schema.name, tablePrefix: 'given_' });
      await store.init();
      await store.close();
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toStrictEqual([{ one: 1 }]);
      await pool.end();
    });

    it('rejects invalid options with ACTRA_OPTIONS naming the option', () => {
      expect(() => new PostgresApprovalStore({})).toThrow(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'PostgresApprovalStore: option "pool" give exactly one of pool or connectionString' }),
      );
      expect(() => new PostgresApprovalStore({ connectionString: databaseUrl, schema: 'Bad"Schema' })).toThrow(
        expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringMatching(/^PostgresApprovalStore: option "schema" /) }),
      );
    });

    it('fails with ACTRA_STORE_FAILED (503) and a cause when nothing listens, without echoing the URL', async () => {
      const port = await freePort();
      const store = new PostgresApprovalStore({ connectionString: `postgres://postgres:s3cret@127.0.0.1:${port}/test`, schema: schema.name });
      const error = await store.init().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ACTRA_STORE_FAILED', statusCode: 503, message: 'postgres approval store failed to initialise' });
      expect((error as Error).cause).toBeInstanceOf(Error);
      const refused = await store.consume('apr_x', 'd', eventFor('approval.consumed'), T0).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ACTRA_STORE_FAILED', message: 'postgres approval store failed to consume' });
      expect(JSON.stringify({ m: (refused as Error).message })).not.toContain('s3cret');
      await store.close();
    });

    it('fails with ACTRA_STORE_FAILED during an outage and recovers when PostgreSQL returns', async () => {
      const target = new URL(databaseUrl);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(databaseUrl);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const store = new PostgresApprovalStore({ connectionString: viaProxy.toString(), schema: schema.name, tablePrefix: 'outage_', connectionTimeoutMs: 2000 });
      try {
        await store.init();
        const approved = newApproval();
        await store.open(approved, eventFor('approval.requested'), T0);
        await store.decide(approved.id, { verdict: 'approve', decidedBy: 'a' }, eventFor('approval.decided'), T0 + 1);

        await proxy.cut();
        const during = await store.consume(approved.id, approved.digest, eventFor('approval.consumed'), T0 + 2).catch((e: unknown) => e);
        expect(during).toMatchObject({ code: 'ACTRA_STORE_FAILED', statusCode: 503, message: 'postgres approval store failed to consume' });
        const again = await store.open(newApproval(), eventFor('approval.requested'), T0 + 2).catch((e: unknown) => e);
        expect(again).toMatchObject({ code: 'ACTRA_STORE_FAILED', message: 'postgres approval store failed to open' });

        await proxy.restore();
        await waitUntil(async () => (await store.get(approved.id).catch(() => undefined)) !== undefined, 'store did not recover');
        expect((await store.get(approved.id))?.status).toBe('approved');
        const result = await store.consume(approved.id, approved.digest, eventFor('approval.consumed'), T0 + 3);
        expect(result.ok).toBe(true);
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it('survives server-side termination of its connections', async () => {
      const app = uniqueName('actra_app_');
      const withName = new URL(databaseUrl);
      withName.searchParams.set('application_name', app);
      const store = new PostgresApprovalStore({ connectionString: withName.toString(), schema: schema.name, tablePrefix: 'terminate_' });
      await store.init();
      const input = newApproval();
      await store.open(input, eventFor('approval.requested'), T0);
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      const { rows } = await admin.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      await admin.end();
      expect(rows.length).toBeGreaterThan(0);
      const first = await store.get(input.id).then(
        (record) => ({ ok: true as const, record }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (!first.ok) expect(first.error).toMatchObject({ code: 'ACTRA_STORE_FAILED' });
      else expect(first.record?.id).toBe(input.id);
      await waitUntil(async () => (await store.get(input.id).catch(() => undefined)) !== undefined, 'store did not recover');
      expect((await store.get(input.id))?.id).toBe(input.id);
      await store.close();
    });
  });
});
