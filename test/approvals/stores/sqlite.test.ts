import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteApprovalStore } from '../../../src/approvals/stores/sqlite-store.js';
import type { ApprovalStore } from '../../../src/approvals/types.js';
import { T0, approvalStoreContract, eventFor, newApproval } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'actra-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

approvalStoreContract('sqlite', async () => {
  const path = join(dir, `contract-${++counter}.db`);
  const opened: ApprovalStore[] = [];
  async function openStore(): Promise<ApprovalStore> {
    const store = new SqliteApprovalStore({ path });
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

describe('SqliteApprovalStore', () => {
  it('keeps approvals and pending events across a restart on the same file', async () => {
    const path = join(dir, 'restart.db');
    const first = new SqliteApprovalStore({ path });
    await first.init();
    const input = newApproval();
    await first.open(input, eventFor('approval.requested'), T0);
    await first.close();

    const second = new SqliteApprovalStore({ path });
    await second.init();
    expect(await second.get(input.id)).toStrictEqual({ ...input, status: 'pending' });
    const [event] = await second.claimDue(T0, 10, 1000);
    expect(event).toMatchObject({ approvalId: input.id, type: 'approval.requested', status: 'pending' });
    await second.close();
  });

  it('opens the file in WAL mode with synchronous FULL and a busy timeout', async () => {
    const path = join(dir, 'pragmas.db');
    const database = new Database(path);
    const store = new SqliteApprovalStore({ database });
    await store.init();
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.pragma('synchronous', { simple: true })).toBe(2);
    expect(database.pragma('busy_timeout', { simple: true })).toBe(5000);
    await store.close();
    expect(database.open).toBe(true);
    database.close();
  });

  it('uses the table prefix and records the schema version', async () => {
    const path = join(dir, 'prefix.db');
    const database = new Database(path);
    const store = new SqliteApprovalStore({ database, tablePrefix: 'tenant_a_', synchronous: 'normal' });
    await store.init();
    await store.init();
    const tables = database.prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all().map((r) => r.name);
    expect(tables).toStrictEqual(['tenant_a_approvals', 'tenant_a_outbox', 'tenant_a_schema_version', 'tenant_a_webhook_ids']);
    expect(database.prepare('SELECT version FROM tenant_a_schema_version').all()).toStrictEqual([{ version: 1 }]);
    expect(database.pragma('synchronous', { simple: true })).toBe(1);
    database.close();
  });

  it('refuses a file migrated by a newer release with ACTRA_STORE_FAILED', async () => {
    const path = join(dir, 'newer.db');
    const database = new Database(path);
    database.exec('CREATE TABLE actra_schema_version (version INTEGER NOT NULL); INSERT INTO actra_schema_version VALUES (99);');
    const store = new SqliteApprovalStore({ database });
    await expect(store.init()).rejects.toMatchObject({
      code: 'ACTRA_STORE_FAILED',
      statusCode: 503,
      message: 'sqlite approval store found schema version 99, newer than the supported 1',
    });
    database.close();
  });

  it('fails with ACTRA_STORE_FAILED when used before init()', async () => {
    const store = new SqliteApprovalStore({ path: join(dir, 'uninit.db') });
    await expect(store.get('apr_x')).rejects.toMatchObject({
      code: 'ACTRA_STORE_FAILED',
      message: 'sqlite approval store is not initialised: call init() first',
    });
    await store.close();
  });

  it('fails with ACTRA_STORE_FAILED when the file cannot be opened', () => {
    expect(() => new SqliteApprovalStore({ path: join(dir, 'missing-dir', 'x.db') })).toThrow(
      expect.objectContaining({ code: 'ACTRA_STORE_FAILED', message: 'sqlite approval store failed to open its database file' }),
    );
  });

  it('rejects invalid options with ACTRA_OPTIONS naming the option', () => {
    expect(() => new SqliteApprovalStore({ path: 'x.db', tablePrefix: 'bad-prefix;' })).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringMatching(/^SqliteApprovalStore: option "tablePrefix" /) }),
    );
    expect(() => new SqliteApprovalStore({ path: 'x.db', busyTimeoutMs: -1 })).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringMatching(/^SqliteApprovalStore: option "busyTimeoutMs" /) }),
    );
    expect(() => new SqliteApprovalStore({} as never)).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS' }));
  });
});
