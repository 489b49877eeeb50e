/** Append-only decision log in SQLite: one row per decision, the input as JSON text, for `actra replay`. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { ActraOptionsError } from '../errors.js';
import { fn, parseOptions } from '../options.js';
import { decisionLogObserver, redactPathsSchema, warnOnce, type DecisionLog, type DecisionLogRecord } from './decision-log-record.js';

/** The default table name. */
export const DECISION_LOG_TABLE = 'actra_decisions';

/** Options of {@link sqliteDecisionLog}: either `path` (a file the log opens and closes) or `database` (yours). */
export interface SqliteDecisionLogOptions {
  /** A SQLite file; created (with its directory) when missing. */
  readonly path?: string;
  /** An open better-sqlite3 database; the log never closes it. */
  readonly database?: Database.Database;
  /** Table name (letters, digits, `_`). Default `actra_decisions`. */
  readonly table?: string;
  /** Input paths to replace by the redaction marker before writing, e.g. `['actor.email']`. */
  readonly redact?: readonly string[];
  /** Called when a row cannot be written. The decision is never affected. Default: one process warning. */
  readonly onError?: (error: unknown) => void;
}

const optionsSchema = z
  .object({
    path: z.string().min(1).optional(),
    database: z.custom<Database.Database>((v) => v !== null && typeof v === 'object' && typeof (v as { prepare?: unknown }).prepare === 'function', 'must be a better-sqlite3 Database').optional(),
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be letters, digits and _').optional(),
    redact: redactPathsSchema,
    onError: fn<(error: unknown) => void>().optional(),
  })
  .strict()
  .refine((o) => (o.path === undefined) !== (o.database === undefined), { message: 'must be given, or "database", but not both', path: ['path'] });

/** Column order shared by the writer and the reader. */
export const DECISION_LOG_COLUMNS = [
  'v', 'decision_id', 'time', 'mode', 'policy_hash', 'effect', 'enforced_effect', 'rule', 'reason', 'route', 'method',
  'request_id', 'actor_id', 'approval_id', 'error', 'redacted', 'input',
] as const;

/** Creates the decision table and its time index when missing. */
export function createDecisionTable(db: Database.Database, table: string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    v INTEGER NOT NULL,
    decision_id TEXT NOT NULL,
    time TEXT NOT NULL,
    mode TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    effect TEXT,
    enforced_effect TEXT NOT NULL,
    rule TEXT,
    reason TEXT,
    route TEXT,
    method TEXT,
    request_id TEXT,
    actor_id TEXT,
    approval_id TEXT,
    error TEXT,
    redacted TEXT,
    input TEXT
  );
  CREATE INDEX IF NOT EXISTS ${table}_time ON ${table} (time);`);
}

/** The row values of a record, in {@link DECISION_LOG_COLUMNS} order. */
function rowOf(r: DecisionLogRecord): unknown[] {
  return [
    r.v, r.decisionId, r.time, r.mode, r.policyHash, r.effect ?? null, r.enforcedEffect, r.rule ?? null, r.reason ?? null,
    r.route ?? null, r.method ?? null, r.requestId ?? null, r.actorId ?? null, r.approvalId ?? null, r.error ?? null,
    r.redacted === undefined ? null : JSON.stringify(r.redacted), r.input === undefined ? null : JSON.stringify(r.input),
  ];
}

/**
 * Creates a decision observer inserting one row per decision into a SQLite table (default
 * `actra_decisions`), with the same fields as the JSON-lines log and the input as JSON text.
 *
 * Each insert is synchronous and committed before the observer returns (WAL journal when the log
 * opens the file itself). A failed insert never changes a decision.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) on an invalid option or when the database cannot be opened.
 * @example
 * ```ts
 * const log = sqliteDecisionLog({ path: '.actra-data/decisions.db' });
 * runtime.setDecisionObserver(log);
 * ```
 */
export function sqliteDecisionLog(options: SqliteDecisionLogOptions): DecisionLog {
  const opts = parseOptions(optionsSchema, options, 'sqliteDecisionLog');
  const table = opts.table ?? DECISION_LOG_TABLE;
  const redact = opts.redact ?? [];
  const onError = opts.onError ?? warnOnce('sqliteDecisionLog');
  const owned = opts.database === undefined;
  let db: Database.Database | undefined;
  let insert: Database.Statement;
  try {
    if (opts.path !== undefined) {
      mkdirSync(dirname(opts.path), { recursive: true });
      db = new Database(opts.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    } else {
      db = opts.database as Database.Database;
    }
    createDecisionTable(db, table);
    insert = db.prepare(`INSERT INTO ${table} (${DECISION_LOG_COLUMNS.join(', ')}) VALUES (${DECISION_LOG_COLUMNS.map(() => '?').join(', ')})`);
  } catch (error) {
    if (owned) db?.close();
    throw new ActraOptionsError('sqliteDecisionLog: the database cannot be opened or the decision table cannot be created', { cause: error });
  }
  const database = db;
  return decisionLogObserver(
    'insertDecisionLogRow',
    redact,
    onError,
    function insertRow(record) {
      insert.run(...rowOf(record));
    },
    function closeDatabase() {
      if (owned) database.close();
    },
  );
}
