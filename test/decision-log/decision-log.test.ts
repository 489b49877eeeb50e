import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonlDecisionLog, REDACTED, sqliteDecisionLog, type DecisionLogRecord } from '../../src/observability/decision-log.js';
import { openDecisionLog, type DecisionLogEntry } from '../../src/observability/decision-log-reader.js';
import type { DecisionDetail, DecisionEvent } from '../../src/runtime/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'actra-dlog-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function event(i: number, extra: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    decisionId: `dec_${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    mode: 'monitor',
    action: { type: 'refund', fields: { amount: 100 * i } },
    actorId: `user_${i}`,
    effect: 'allow',
    enforcedEffect: 'allow',
    policyHash: 'a'.repeat(64),
    durationMs: 0.1,
    route: '/refunds',
    method: 'POST',
    requestId: `req_${i}`,
    ...extra,
  };
}

function detail(i: number): DecisionDetail {
  return {
    input: {
      action: { type: 'refund', amount: 100 * i, currency: 'usd' },
      actor: { id: `user_${i}`, role: 'support_agent', email: `u${i}@example.com`, address: { city: 'Lyon', zip: '69001' } },
      snapshot: { fraud_flag: false },
    },
  };
}

async function readAll(path: string, format: 'jsonl' | 'sqlite'): Promise<DecisionLogEntry[]> {
  const source = openDecisionLog(path, format);
  const out: DecisionLogEntry[] = [];
  try {
    for await (const entry of source.entries) out.push(entry);
  } finally {
    source.close();
  }
  return out;
}

describe('jsonlDecisionLog', () => {
  it('appends one JSON line per decision with the event fields and the full input', async () => {
    const path = join(dir, 'nested', 'decisions.jsonl');
    const log = jsonlDecisionLog({ path });
    log(event(1), detail(1));
    log(event(2, { effect: 'require_approval', enforcedEffect: 'allow', rule: 'approve_large_refund', reason: 'refund.needs_approval' }), detail(2));
    expect(log.written).toBe(2);
    await log.close();

    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const first = JSON.parse(lines[0] as string) as DecisionLogRecord;
    expect(first).toEqual({
      v: 1,
      decisionId: 'dec_1',
      time: '2026-01-01T00:00:01.000Z',
      mode: 'monitor',
      policyHash: 'a'.repeat(64),
      effect: 'allow',
      enforcedEffect: 'allow',
      route: '/refunds',
      method: 'POST',
      requestId: 'req_1',
      actorId: 'user_1',
      input: detail(1).input,
    });
    const second = JSON.parse(lines[1] as string) as DecisionLogRecord;
    expect(second.rule).toBe('approve_large_refund');
    expect(second.reason).toBe('refund.needs_approval');
    expect(second.effect).toBe('require_approval');
  });

  it('appends to an existing file instead of truncating it', async () => {
    const path = join(dir, 'decisions.jsonl');
    const a = jsonlDecisionLog({ path });
    a(event(1), detail(1));
    await a.close();
    const b = jsonlDecisionLog({ path });
    b(event(2), detail(2));
    await b.close();
    const ids = readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as DecisionLogRecord).decisionId);
    expect(ids).toEqual(['dec_1', 'dec_2']);
  });

  it('replaces redacted paths by the marker, lists them, and leaves the caller input untouched', async () => {
    const path = join(dir, 'decisions.jsonl');
    const log = jsonlDecisionLog({ path, redact: ['actor.email', 'actor.address.city', 'snapshot.iban'] });
    const d = detail(3);
    log(event(3), d);
    await log.close();
    const record = JSON.parse(readFileSync(path, 'utf8')) as DecisionLogRecord;
    expect(record.input?.actor).toEqual({ id: 'user_3', role: 'support_agent', email: REDACTED, address: { city: REDACTED, zip: '69001' } });
    // snapshot.iban was not present: nothing to redact, and not listed
    expect(record.redacted).toEqual(['actor.email', 'actor.address.city']);
    expect(readFileSync(path, 'utf8')).not.toContain('u3@example.com');
    expect(readFileSync(path, 'utf8')).not.toContain('Lyon');
    expect(d.input?.actor.email).toBe('u3@example.com');
    expect((d.input?.actor.address as { city: string }).city).toBe('Lyon');
  });

  it('records a failed decision without input, with its error code', async () => {
    const path = join(dir, 'decisions.jsonl');
    const log = jsonlDecisionLog({ path });
    const failed: DecisionEvent = { ...event(4), error: { code: 'ACTRA_LOADER_FAILED', source: 'fraud' }, enforcedEffect: 'block' };
    delete (failed as { effect?: unknown }).effect;
    log(failed, {});
    await log.close();
    const record = JSON.parse(readFileSync(path, 'utf8')) as DecisionLogRecord;
    expect(record.error).toBe('ACTRA_LOADER_FAILED');
    expect(record.effect).toBeUndefined();
    expect(record.enforcedEffect).toBe('block');
    expect('input' in record).toBe(false);
  });

  it('never throws into the decision when a write fails, and reports it to onError', async () => {
    const path = join(dir, 'decisions.jsonl');
    const errors: unknown[] = [];
    const log = jsonlDecisionLog({ path, onError: (e) => errors.push(e) });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => log(event(5), { input: { action: { type: 'refund' }, actor: cyclic, snapshot: {} } })).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(log.written).toBe(0);
    log(event(6), detail(6));
    expect(log.written).toBe(1);
    await log.close();
    // after close the observer is inert, not throwing
    expect(() => log(event(7), detail(7))).not.toThrow();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('rejects invalid options at construction with ACTRA_OPTIONS', () => {
    expect(() => jsonlDecisionLog({ path: '' })).toThrowError(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('"path"') }));
    expect(() => jsonlDecisionLog({ path: join(dir, 'x.jsonl'), redact: ['email'] })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('"redact.0"') }),
    );
    expect(() => jsonlDecisionLog({ path: join(dir, 'x.jsonl'), redact: ['action.type'] })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('action.type cannot be redacted') }),
    );
    mkdirSync(join(dir, 'adir'));
    expect(() => jsonlDecisionLog({ path: join(dir, 'adir') })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'jsonlDecisionLog: option "path" names a file that cannot be opened for appending' }),
    );
  });
});

describe('sqliteDecisionLog', () => {
  it('inserts one row per decision with the same fields, the input as JSON text', async () => {
    const path = join(dir, 'data', 'decisions.db');
    const log = sqliteDecisionLog({ path, redact: ['actor.email'] });
    log(event(1), detail(1));
    log(event(2, { effect: 'block', enforcedEffect: 'allow', rule: 'block_too_large', reason: 'refund.too_large' }), detail(2));
    await log.close();

    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT * FROM actra_decisions ORDER BY seq').all() as Record<string, unknown>[];
    db.close();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ v: 1, decision_id: 'dec_2', mode: 'monitor', effect: 'block', enforced_effect: 'allow', rule: 'block_too_large', reason: 'refund.too_large', method: 'POST', route: '/refunds' });
    const input = JSON.parse(rows[0]?.input as string) as { actor: Record<string, unknown> };
    expect(input.actor.email).toBe(REDACTED);
    expect(JSON.parse(rows[0]?.redacted as string)).toEqual(['actor.email']);

    const entries = await readAll(path, 'sqlite');
    expect(entries.map((e) => e.record?.decisionId)).toEqual(['dec_1', 'dec_2']);
    expect(entries[1]?.record?.rule).toBe('block_too_large');
    expect(entries[0]?.record?.input?.action).toEqual({ type: 'refund', amount: 100, currency: 'usd' });
  });

  it('writes into a database it was given, in a custom table, and does not close it', async () => {
    const db = new Database(join(dir, 'app.db'));
    const log = sqliteDecisionLog({ database: db, table: 'audit_decisions' });
    log(event(1), detail(1));
    await log.close();
    expect((db.prepare('SELECT COUNT(*) AS n FROM audit_decisions').get() as { n: number }).n).toBe(1);
    db.close();
  });

  it('rejects path and database together, and a bad table name', () => {
    const db = new Database(':memory:');
    expect(() => sqliteDecisionLog({ path: join(dir, 'a.db'), database: db })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'sqliteDecisionLog: option "path" must be given, or "database", but not both' }),
    );
    expect(() => sqliteDecisionLog({ database: db, table: 'x; DROP TABLE y' })).toThrowError(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('"table"') }));
    db.close();
  });

  it('never throws into the decision when the database is gone', async () => {
    const db = new Database(join(dir, 'app.db'));
    const errors: unknown[] = [];
    const log = sqliteDecisionLog({ database: db, onError: (e) => errors.push(e) });
    db.close();
    expect(() => log(event(1), detail(1))).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});

describe('openDecisionLog (JSON lines)', () => {
  it('reports blank lines as nothing, and malformed lines with their line numbers', async () => {
    const path = join(dir, 'decisions.jsonl');
    const good = JSON.stringify({ v: 1, decisionId: 'dec_1', time: 't', mode: 'enforce', policyHash: 'h', effect: 'allow', enforcedEffect: 'allow', input: { action: { type: 'refund' }, actor: {}, snapshot: {} } });
    writeFileSync(path, [good, '', '{"v":1,', JSON.stringify({ v: 2, decisionId: 'x' }), good.replace('"allow","enforcedEffect"', '"maybe","enforcedEffect"'), good].join('\n') + '\n');
    const entries = await readAll(path, 'jsonl');
    expect(entries.map((e) => [e.position, e.record?.decisionId ?? e.error])).toEqual([
      [1, 'dec_1'],
      [3, 'not valid JSON'],
      [4, 'not a decision record: "v" Invalid input: expected 1'],
      [5, expect.stringMatching(/^not a decision record: "effect" /)],
      [6, 'dec_1'],
    ]);
  });
});
