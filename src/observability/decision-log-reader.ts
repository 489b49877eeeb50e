/** Reads a decision log (JSON lines or SQLite) back, one record at a time, reporting malformed entries by position. */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { DecisionLogRecord } from './decision-log-record.js';
import { DECISION_LOG_COLUMNS, DECISION_LOG_TABLE } from './decision-log-sqlite.js';

/** Storage format of a decision log. */
export type DecisionLogFormat = 'jsonl' | 'sqlite';

/** One entry read back: a record, or why the entry at `position` could not be read. */
export type DecisionLogEntry =
  | { readonly position: number; readonly record: DecisionLogRecord; readonly error?: undefined }
  | { readonly position: number; readonly record?: undefined; readonly error: string };

/** A log opened for reading: its size (bytes for JSON lines, rows for SQLite) and its entries. */
export interface DecisionLogSource {
  readonly format: DecisionLogFormat;
  /** Total work units: bytes (jsonl) or rows (sqlite). */
  readonly size: number;
  /** Work units consumed so far, for a progress bar. */
  readonly done: () => number;
  readonly entries: AsyncIterable<DecisionLogEntry>;
  close(): void;
}

const effect = z.enum(['allow', 'block', 'require_approval']);
const plainObject = z.record(z.string(), z.unknown());
const recordSchema = z.object({
  v: z.literal(1),
  decisionId: z.string(),
  time: z.string(),
  mode: z.enum(['enforce', 'monitor', 'warn']),
  policyHash: z.string(),
  effect: effect.optional(),
  enforcedEffect: effect,
  rule: z.string().optional(),
  reason: z.string().optional(),
  route: z.string().optional(),
  method: z.string().optional(),
  requestId: z.string().optional(),
  actorId: z.string().optional(),
  approvalId: z.string().optional(),
  error: z.string().optional(),
  redacted: z.array(z.string()).optional(),
  input: z.object({ action: plainObject.and(z.object({ type: z.string() })), actor: plainObject, snapshot: plainObject }).optional(),
});

/** Checks one parsed value against the record format; returns the record or a message naming the first bad field. */
export function parseDecisionLogRecord(value: unknown): { record: DecisionLogRecord } | { error: string } {
  const parsed = recordSchema.safeParse(value);
  if (parsed.success) return { record: parsed.data as unknown as DecisionLogRecord };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'record';
  return { error: `not a decision record: "${where}" ${issue?.message ?? 'is invalid'}` };
}

/** Guesses the format from the file name: `.db`, `.sqlite`, `.sqlite3` → sqlite, else jsonl. */
export function formatOf(path: string): DecisionLogFormat {
  return /\.(db|sqlite3?)$/i.test(path) ? 'sqlite' : 'jsonl';
}

/**
 * Opens a decision log for reading. JSON lines are streamed (readline), SQLite rows iterated in
 * insertion order; memory stays flat whatever the size of the log.
 * @throws Error when the file cannot be opened (the caller reports it).
 */
export function openDecisionLog(path: string, format: DecisionLogFormat, options: { table?: string } = {}): DecisionLogSource {
  return format === 'sqlite' ? openSqlite(path, options.table ?? DECISION_LOG_TABLE) : openJsonl(path);
}

function openJsonl(path: string): DecisionLogSource {
  const size = statSync(path).size;
  const stream = createReadStream(path, { encoding: 'utf8' });
  let done = 0;
  async function* readJsonlEntries(): AsyncGenerator<DecisionLogEntry> {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let position = 0;
    for await (const line of lines) {
      position++;
      done += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        yield { position, error: 'not valid JSON' };
        continue;
      }
      const parsed = parseDecisionLogRecord(value);
      yield 'record' in parsed ? { position, record: parsed.record } : { position, error: parsed.error };
    }
  }
  return {
    format: 'jsonl',
    size,
    done: () => Math.min(done, size),
    entries: readJsonlEntries(),
    close: () => stream.destroy(),
  };
}

function openSqlite(path: string, table: string): DecisionLogSource {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) throw new Error(`invalid table name`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  let size: number;
  try {
    size = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } catch (error) {
    db.close();
    throw error;
  }
  let done = 0;
  async function* readSqliteEntries(): AsyncGenerator<DecisionLogEntry> {
    const rows = db.prepare(`SELECT seq, ${DECISION_LOG_COLUMNS.join(', ')} FROM ${table} ORDER BY seq`).iterate() as Iterable<Record<string, unknown>>;
    for (const row of rows) {
      done++;
      const position = Number(row.seq);
      let value: Record<string, unknown>;
      try {
        value = {
          v: row.v,
          decisionId: row.decision_id,
          time: row.time,
          mode: row.mode,
          policyHash: row.policy_hash,
          effect: row.effect,
          enforcedEffect: row.enforced_effect,
          rule: row.rule,
          reason: row.reason,
          route: row.route,
          method: row.method,
          requestId: row.request_id,
          actorId: row.actor_id,
          approvalId: row.approval_id,
          error: row.error,
          redacted: typeof row.redacted === 'string' ? JSON.parse(row.redacted) : row.redacted,
          input: typeof row.input === 'string' ? JSON.parse(row.input) : row.input,
        };
      } catch {
        yield { position, error: 'a JSON column is not valid JSON' };
        continue;
      }
      for (const key of Object.keys(value)) if (value[key] === null) delete value[key];
      const parsed = parseDecisionLogRecord(value);
      yield 'record' in parsed ? { position, record: parsed.record } : { position, error: parsed.error };
    }
  }
  return {
    format: 'sqlite',
    size,
    done: () => done,
    entries: readSqliteEntries(),
    close: () => db.close(),
  };
}
