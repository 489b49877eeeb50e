import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresApprovalStore } from '../../../src/approvals/stores/postgres-store.js';
import { SqliteApprovalStore } from '../../../src/approvals/stores/sqlite-store.js';
import type { ApprovalStore } from '../../../src/approvals/types.js';
import { createPgSchema, requireService, type PgSchema } from '../../helpers/services.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));
const compiled = fileURLToPath(new URL('../../../dist/src/approvals/stores/sqlite-store.js', import.meta.url));
const pgUrl = await requireService('postgres');

interface Reported {
  opened: Map<string, string>;
  decided: Map<string, string>;
}

/** Runs the child until it reported `steps` committed opens, then kills it with SIGKILL mid-loop. */
async function runAndKill(args: string[], steps: number): Promise<Reported> {
  if (!existsSync(compiled)) throw new Error('dist/ is missing: run `npm run build` before these tests');
  const reported: Reported = { opened: new Map(), decided: new Map() };
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const [verb, id, eventId] = buffer.slice(0, newline).split(' ');
        buffer = buffer.slice(newline + 1);
        if (verb === 'open' && id && eventId) reported.opened.set(id, eventId);
        if (verb === 'decide' && id && eventId) reported.decided.set(id, eventId);
      }
      if (reported.opened.size >= steps && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
  return reported;
}

async function expectNothingLost(store: ApprovalStore, reported: Reported): Promise<void> {
  expect(reported.opened.size).toBeGreaterThanOrEqual(40);
  for (const [id] of reported.opened) {
    const record = await store.get(id);
    expect(record?.id).toBe(id);
    expect(reported.decided.has(id) ? ['approved'] : ['pending', 'approved']).toContain(record?.status);
  }
  const pending = new Map((await store.listOutbox({ status: 'pending', limit: 100_000 })).map((e) => [e.id, e]));
  for (const [id, eventId] of reported.opened) expect(pending.get(eventId)).toMatchObject({ approvalId: id, type: 'approval.requested', attempts: 0 });
  for (const [id, eventId] of reported.decided) expect(pending.get(eventId)).toMatchObject({ approvalId: id, type: 'approval.decided' });
  // Delivery resumes: every event the child committed is handed to a dispatcher.
  const claimed = new Set((await store.claimDue(Date.now() + 60_000, 100_000, 30_000)).map((e) => e.id));
  for (const eventId of [...reported.opened.values(), ...reported.decided.values()]) expect(claimed.has(eventId)).toBe(true);
  expect(claimed.size).toBe(pending.size);
}

describe('crash: a process killed with SIGKILL mid-way loses no approval and no undelivered event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'actra-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a SQLite file', async () => {
    const path = join(dir, 'crash.db');
    const reported = await runAndKill(['sqlite', path], 60);
    const store = new SqliteApprovalStore({ path });
    await store.init();
    try {
      await expectNothingLost(store, reported);
    } finally {
      await store.close();
    }
  });

  describe.skipIf(!pgUrl)('on PostgreSQL', () => {
    let schema: PgSchema;
    beforeAll(async () => {
      schema = await createPgSchema(pgUrl);
    });
    afterAll(async () => {
      await schema.drop();
    });

    it('in one schema', async () => {
      const url = pgUrl ?? '';
      const reported = await runAndKill(['postgres', url, schema.name], 60);
      const store = new PostgresApprovalStore({ connectionString: url, schema: schema.name });
      await store.init();
      try {
        await expectNothingLost(store, reported);
      } finally {
        await store.close();
      }
    });
  });
});
