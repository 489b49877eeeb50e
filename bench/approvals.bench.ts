/** Approval protocol benchmark: median time to open, decide and consume an approval through `Approvals`, per store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Actra } from '../src/core/actra.js';
import { Approvals } from '../src/approvals/approvals.js';
import { MemoryApprovalStore } from '../src/approvals/stores/memory-store.js';
import { SqliteApprovalStore } from '../src/approvals/stores/sqlite-store.js';
import { PostgresApprovalStore } from '../src/approvals/stores/postgres-store.js';
import { RedisApprovalStore } from '../src/approvals/stores/redis-store.js';
import type { ApprovalRequest, ApprovalStore } from '../src/approvals/types.js';

const SCHEMA = `
version: 1
actions:
  refund:
    fields: { amount: number, currency: string }
actor:
  fields: { role: string }
snapshot:
  fields: {}
`;
const POLICY = `
version: 1
rules:
  - id: refund_needs_approval
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: require_approval
    reason: refund.large
    approval:
      ttl: 1h
      approvers: { subject: { domain: actor, field: role }, operator: equals, value: { literal: manager } }
`;

const ITERATIONS = Number(process.env['ACTRA_BENCH_ITERATIONS'] ?? 1000);
const policy = Actra.fromStrings(SCHEMA, POLICY);
const manager = { id: 'manager-1', role: 'manager' };

interface Row {
  readonly store: string;
  readonly open: number;
  readonly decide: number;
  readonly consume: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function requestFor(amount: number): ApprovalRequest {
  const action = { type: 'refund', amount, currency: 'EUR' };
  const actor = { id: 'clerk-1', role: 'clerk' };
  return { decision: policy.evaluate({ action, actor, snapshot: {} }), action, actorId: actor.id, method: 'POST', route: '/refunds/:id' };
}

async function measure(name: string, store: ApprovalStore): Promise<Row> {
  await store.init();
  const approvals = new Approvals({ store, policy });
  const open: number[] = [];
  const decide: number[] = [];
  const consume: number[] = [];
  const warmup = Math.min(100, ITERATIONS);
  for (let i = 0; i < warmup + ITERATIONS; i++) {
    const request = requestFor(1001 + i);
    let t = performance.now();
    const record = await approvals.open(request);
    const opened = performance.now() - t;
    t = performance.now();
    await approvals.decide(record.id, { verdict: 'approve', approver: manager });
    const decided = performance.now() - t;
    t = performance.now();
    const result = await approvals.resume(record.id, request);
    const consumed = performance.now() - t;
    if (!result.ok) throw new Error(`consume failed on ${name}: ${result.refusal}`);
    if (i >= warmup) {
      open.push(opened);
      decide.push(decided);
      consume.push(consumed);
    }
  }
  await approvals.close();
  return { store: name, open: median(open), decide: median(decide), consume: median(consume) };
}

async function reachablePostgres(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function removeRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

function format(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  rows.push(await measure('memory', new MemoryApprovalStore()));

  const dir = mkdtempSync(join(tmpdir(), 'actra-bench-'));
  try {
    const sqlite = new SqliteApprovalStore({ path: join(dir, 'approvals.db') });
    rows.push(await measure('sqlite (file, WAL, synchronous=FULL)', sqlite));
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pgUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (await reachablePostgres(pgUrl)) {
    const schema = `actra_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const store = new PostgresApprovalStore({ connectionString: pgUrl, schema });
    try {
      rows.push(await measure('postgres (127.0.0.1)', store));
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  } else {
    console.warn(`postgres unreachable at ${pgUrl.replace(/\/\/[^@/]*@/, '//***@')}: skipped`);
  }

  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `actra:bench:${process.pid}:`;
  const redis = new RedisApprovalStore({ url: redisUrl, prefix, commandTimeoutMs: 2000 });
  try {
    rows.push(await measure('redis (127.0.0.1)', redis));
  } catch (error) {
    console.warn(`redis unreachable at ${redisUrl}: skipped (${error instanceof Error ? error.message : 'error'})`);
  } finally {
    await redis.close().catch(() => undefined);
    await removeRedisPrefix(redisUrl, prefix).catch(() => undefined);
  }

  const cells = [['store', 'open (median)', 'decide (median)', 'consume (median)'], ...rows.map((r) => [r.store, format(r.open), format(r.decide), format(r.consume)])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  console.log(`\nApprovals through Approvals (open → decide → consume), ${ITERATIONS} each after warm-up, one at a time`);
  for (const row of cells) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
