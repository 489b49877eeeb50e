/**
 * Crash: a child process opens and decides approvals and is killed with SIGKILL mid-way. After a
 * restart on the same SQLite file (and PostgreSQL schema), the dispatcher delivers every event
 * the child committed: no approval and no notification is lost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/approvals.js';
import { SqliteApprovalStore } from '../../src/approvals/stores/sqlite-store.js';
import { PostgresApprovalStore } from '../../src/approvals/stores/postgres-store.js';
import type { ApprovalStore } from '../../src/approvals/types.js';
import type { ApprovalWebhookPayload } from '../../src/approvals/webhooks.js';
import type { Policy } from '../../src/core/types.js';
import { createPgSchema, requireService, type PgSchema } from '../helpers/services.js';
import { loadPolicy } from './fixtures/policy.js';
import { Receiver } from './fixtures/receiver.js';
import { transpileForChild } from './fixtures/transpile.js';

const pgUrl = await requireService('postgres');

let policy: Policy;
let childRoot: string;
beforeAll(async () => {
  policy = await loadPolicy();
  childRoot = transpileForChild();
}, 120_000);
afterAll(() => {
  if (childRoot) rmSync(childRoot, { recursive: true, force: true });
});

/** Runs the child until it reported `atLeast` opened approvals, then SIGKILLs it; returns what it reported. */
async function runAndKill(args: string[], atLeast: number): Promise<{ opened: string[]; decided: string[]; signal: string | null }> {
  const child = spawn(process.execPath, [join(childRoot, 'test/approvals/fixtures/crash-child.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const opened: string[] = [];
  const decided: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [what, id] = line.split(' ');
        if (what === 'opened' && id) opened.push(id);
        if (what === 'decided' && id) decided.push(id);
      }
      if (opened.length >= atLeast && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.once('exit', () => {
      if (opened.length < atLeast) reject(new Error(`crash child exited early: ${stderr}`));
    });
  });
  const signal = await exited;
  return { opened, decided, signal };
}

/** Restarts on the same data with a live receiver, drains the outbox and checks nothing was lost. */
async function restartAndDeliver(store: ApprovalStore, reported: { opened: string[]; decided: string[] }): Promise<void> {
  const receiver = new Receiver();
  await receiver.listen();
  const key = 'whsec_' + randomBytes(32).toString('base64');
  const approvals = new Approvals({ store, policy, webhooks: { endpoints: [{ url: receiver.url, secret: key }], batchSize: 25 } });
  try {
    // Every approval the child reported survived the crash.
    for (const id of reported.opened) expect((await store.get(id))?.id).toBe(id);
    for (const id of reported.decided) expect((await store.get(id))?.status).toBe('approved');

    let passes = 0;
    while ((await approvals.dispatchNow()).claimed > 0) passes++;
    expect(passes).toBeGreaterThan(1); // more than one batch: delivery resumed over the whole backlog

    const delivered = receiver.received.map((r) => Receiver.verify(key, r) as ApprovalWebhookPayload);
    const requested = new Set(delivered.filter((p) => p.type === 'approval.requested').map((p) => p.data.approval.id));
    const decided = new Set(delivered.filter((p) => p.type === 'approval.decided').map((p) => p.data.approval.id));
    for (const id of reported.opened) expect(requested.has(id)).toBe(true);
    for (const id of reported.decided) expect(decided.has(id)).toBe(true);

    // Exactly the committed state: one requested event per stored approval, one decided per decision.
    const stored = await store.list({ limit: 10_000 });
    expect(requested).toEqual(new Set(stored.map((r) => r.id)));
    expect(decided).toEqual(new Set(stored.filter((r) => r.status === 'approved').map((r) => r.id)));
    expect(delivered.length).toBe(requested.size + decided.size);
    expect(await store.listOutbox({ status: 'pending', limit: 10 })).toEqual([]);
  } finally {
    await approvals.close();
    await receiver.close();
  }
}

describe('crash with the dispatcher', () => {
  it('delivers every committed event after a SIGKILL, on the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'actra-crash-'));
    const path = join(dir, 'approvals.db');
    try {
      const reported = await runAndKill(['sqlite', path], 60);
      expect(reported.signal).toBe('SIGKILL');
      const store = new SqliteApprovalStore({ path });
      await store.init();
      try {
        await restartAndDeliver(store, reported);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe.skipIf(!pgUrl)('on PostgreSQL', () => {
    let schema: PgSchema;
    beforeAll(async () => {
      schema = await createPgSchema(pgUrl ?? '');
    });
    afterAll(async () => {
      await schema?.drop();
    });

    it('delivers every committed event after a SIGKILL, on the same schema', async () => {
      const reported = await runAndKill(['postgres', pgUrl ?? '', schema.name], 60);
      expect(reported.signal).toBe('SIGKILL');
      const store = new PostgresApprovalStore({ connectionString: pgUrl ?? '', schema: schema.name });
      await store.init();
      try {
        await restartAndDeliver(store, reported);
      } finally {
        await store.close();
      }
    }, 60_000);
  });
});
