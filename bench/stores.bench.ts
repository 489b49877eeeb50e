/** Benchmark: median time to open and to consume an approval on each approval store. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryApprovalStore } from '../src/approvals/stores/memory-store.js';
import { PostgresApprovalStore } from '../src/approvals/stores/postgres-store.js';
import { RedisApprovalStore } from '../src/approvals/stores/redis-store.js';
import { SqliteApprovalStore } from '../src/approvals/stores/sqlite-store.js';
import type { ApprovalEventType, ApprovalStore, EventFor, NewApproval } from '../src/approvals/types.js';

const WARMUP = 200;
const N = Number(process.env['ACTRA_BENCH_N'] ?? 2000);

function eventFor(type: ApprovalEventType): EventFor {
  return function buildEvent(record) {
    return { id: `msg_${randomBytes(12).toString('base64url')}`, type, approvalId: record.id, payload: { type, data: { id: record.id } }, createdAt: Date.now() };
  };
}
const requested = eventFor('approval.requested');
const decided = eventFor('approval.decided');
const consumed = eventFor('approval.consumed');

function approval(): NewApproval {
  const now = Date.now();
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
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

function median(samples: bigint[]): number {
  const sorted = [...samples].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Number(sorted[Math.floor(sorted.length / 2)] ?? 0n) / 1000;
}

async function measure(store: ApprovalStore): Promise<{ open: number; consume: number }> {
  for (let i = 0; i < WARMUP; i++) await store.open(approval(), requested, Date.now());
  const openSamples: bigint[] = [];
  const ready: NewApproval[] = [];
  for (let i = 0; i < N; i++) {
    const input = approval();
    const start = process.hrtime.bigint();
    await store.open(input, requested, Date.now());
    openSamples.push(process.hrtime.bigint() - start);
    await store.decide(input.id, { verdict: 'approve', decidedBy: 'approver-1' }, decided, Date.now());
    ready.push(input);
  }
  const consumeSamples: bigint[] = [];
  for (const input of ready) {
    const start = process.hrtime.bigint();
    const result = await store.consume(input.id, input.digest, consumed, Date.now());
    consumeSamples.push(process.hrtime.bigint() - start);
    if (!result.ok) throw new Error(`consume refused: ${result.refusal}`);
  }
  return { open: median(openSamples), consume: median(consumeSamples) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'actra-bench-'));
  const suffix = randomBytes(4).toString('hex');
  const candidates: [string, () => ApprovalStore][] = [
    ['memory', () => new MemoryApprovalStore()],
    ['sqlite (WAL, synchronous=FULL)', () => new SqliteApprovalStore({ path: join(dir, 'full.db') })],
    ['sqlite (WAL, synchronous=NORMAL)', () => new SqliteApprovalStore({ path: join(dir, 'normal.db'), synchronous: 'normal' })],
    [
      'postgres',
      () => new PostgresApprovalStore({ connectionString: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test', schema: `actra_bench_${suffix}` }),
    ],
    ['redis', () => new RedisApprovalStore({ url: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', prefix: `actra:bench:${suffix}:` })],
  ];
  console.log(`approval stores: median of ${N} sequential operations after ${WARMUP} warm-up opens (node ${process.version})`);
  console.log('| store | open (µs) | consume (µs) |');
  console.log('|---|---:|---:|');
  for (const [name, make] of candidates) {
    const store = make();
    try {
      await store.init();
    } catch {
      console.log(`| ${name} | unreachable | unreachable |`);
      await store.close().catch(() => undefined);
      continue;
    }
    const { open, consume } = await measure(store);
    console.log(`| ${name} | ${open.toFixed(1)} | ${consume.toFixed(1)} |`);
    await cleanup(name, store, suffix);
    await store.close();
  }
  rmSync(dir, { recursive: true, force: true });
}

async function cleanup(name: string, store: ApprovalStore, suffix: string): Promise<void> {
  if (name === 'postgres') {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "actra_bench_${suffix}" CASCADE`);
    await client.end();
  }
  if (name === 'redis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `actra:bench:${suffix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
    client.disconnect();
  }
  void store;
}

await main();
