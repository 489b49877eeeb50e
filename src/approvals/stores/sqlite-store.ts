/** SQLite approval store (better-sqlite3): the embedded default, one file, durable across restarts. */
import Database from 'better-sqlite3';
import { z } from 'zod';
import { ActraStoreError } from '../../errors.js';
import type {
  ApprovalRecord,
  ApprovalStatus,
  ApprovalStore,
  ConsumeResult,
  DecideResult,
  EventFor,
  NewApproval,
  OutboxEvent,
  OutboxStatus,
} from '../types.js';
import {
  APPROVAL_COLUMNS,
  OUTBOX_COLUMNS,
  eventValues,
  recordValues,
  rowToEvent,
  rowToRecord,
  type ApprovalRow,
  type OutboxRow,
} from './sql-rows.js';
import { checkLimit, clipError, pendingRecord, planConsume, planDecide, type VerdictInput, storeFailure } from './transitions.js';
import { parseOptions } from '../../options.js';

/** Schema version this library writes; `init()` refuses a file migrated by a newer release. */
export const SQLITE_SCHEMA_VERSION = 1;

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

const common = {
  /** Prefix of every table name. Default `actra_`. */
  tablePrefix: z.string().regex(identifier, 'must be letters, digits or _ (starting with a letter or _), at most 41 characters').optional(),
  /** How long a writer waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs: z.number().int().min(0).max(600_000).optional(),
  /** `full` (default): every commit survives power loss. `normal`: survives a process crash, may lose the last commits on power loss. */
  synchronous: z.enum(['full', 'normal']).optional(),
};

const optionsSchema = z.union([
  z.strictObject({ path: z.string().min(1), ...common }),
  z.strictObject({ database: z.custom<Database.Database>((v) => v instanceof Database, 'must be a better-sqlite3 Database'), ...common }),
]);

/** Options of {@link SqliteApprovalStore}: a file `path`, or an open better-sqlite3 `database`. */
export type SqliteApprovalStoreOptions = (
  | { readonly path: string; readonly database?: never }
  | { readonly database: Database.Database; readonly path?: never }
) & {
  readonly tablePrefix?: string;
  readonly busyTimeoutMs?: number;
  readonly synchronous?: 'full' | 'normal';
};

interface Statements {
  get: Database.Statement<[string], ApprovalRow>;
  live: Database.Statement<[string, number], ApprovalRow>;
  insertApproval: Database.Statement<unknown[]>;
  insertEvent: Database.Statement<unknown[]>;
  decide: Database.Statement<unknown[]>;
  consume: Database.Statement<unknown[]>;
  expire: Database.Statement<unknown[]>;
  dueApprovals: Database.Statement<[number, number], ApprovalRow>;
  listAll: Database.Statement<[number], ApprovalRow>;
  listStatus: Database.Statement<[string, number], ApprovalRow>;
  dueEvents: Database.Statement<[number, number], OutboxRow>;
  lease: Database.Statement<[number, string]>;
  delivered: Database.Statement<[number, string]>;
  failed: Database.Statement<unknown[]>;
  outboxAll: Database.Statement<[number], OutboxRow>;
  outboxStatus: Database.Statement<[string, number], OutboxRow>;
  redeliver: Database.Statement<[number, string]>;
  remember: Database.Statement<[string, number, number], { id: string }>;
  forgetWebhookIds: Database.Statement<[number]>;
}

/**
 * Stores approvals, the outbox and webhook ids in one SQLite file. The file is opened in WAL mode
 * with `synchronous=FULL` (configurable) and a busy timeout, so several processes or store
 * instances can share it; every state change and its outbox event commit in one
 * `BEGIN IMMEDIATE` transaction.
 *
 * @throws ActraError `ACTRA_OPTIONS` from the constructor when options are invalid;
 *   `ACTRA_STORE_FAILED` (503) from any method when SQLite fails.
 * @example
 * ```ts
 * const store = new SqliteApprovalStore({ path: './data/approvals.db' });
 * await store.init();
 * ```
 */
export class SqliteApprovalStore implements ApprovalStore {
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #busyTimeoutMs: number;
  readonly #synchronous: 'full' | 'normal';
  #s: Statements | undefined;

  constructor(options: SqliteApprovalStoreOptions) {
    const o = parseOptions(optionsSchema, options, 'SqliteApprovalStore');
    this.#prefix = o.tablePrefix ?? 'actra_';
    this.#busyTimeoutMs = o.busyTimeoutMs ?? 5000;
    this.#synchronous = o.synchronous ?? 'full';
    if ('database' in o) {
      this.#db = o.database;
      this.#owned = false;
    } else {
      try {
        this.#db = new Database(o.path);
      } catch (cause) {
        throw new ActraStoreError('sqlite approval store failed to open its database file', { cause });
      }
      this.#owned = true;
    }
  }

  /** Sets WAL, synchronous and busy timeout, creates or migrates the tables, prepares statements. */
  async init(): Promise<void> {
    return this.#run('initialise', () => {
      const db = this.#db;
      db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.#synchronous.toUpperCase()}`);
      db.transaction(() => this.#migrate()).immediate();
      this.#s = this.#prepare();
    });
  }

  /** Closes the database when the store opened it from `path`. */
  async close(): Promise<void> {
    this.#s = undefined;
    if (this.#owned && this.#db.open) this.#db.close();
  }

  async open(approval: NewApproval, event: EventFor, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    return this.#run('open', () => {
      const s = this.#statements();
      return this.#db
        .transaction(() => {
          const live = s.live.get(approval.digest, now);
          if (live !== undefined) return { record: rowToRecord(live), created: false };
          const record = pendingRecord(approval);
          s.insertApproval.run(...recordValues(record));
          s.insertEvent.run(...eventValues(event(record), now));
          return { record, created: true };
        })
        .immediate();
    });
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    return this.#run('read an approval', () => {
      const row = this.#statements().get.get(id);
      return row === undefined ? undefined : rowToRecord(row);
    });
  }

  async decide(id: string, verdict: VerdictInput, event: EventFor, now: number): Promise<DecideResult> {
    return this.#run('decide', () => {
      const s = this.#statements();
      return this.#db
        .transaction((): DecideResult => {
          const row = s.get.get(id);
          const plan = planDecide(row === undefined ? undefined : rowToRecord(row), verdict, now);
          if (plan.kind === 'done') return plan.result;
          const next = plan.next;
          const info = s.decide.run(next.status, next.decidedAt, next.decidedBy, next.verdict, next.note ?? null, id, now);
          if (info.changes !== 1) throw new ActraStoreError('sqlite approval store failed to decide: conditional update lost');
          s.insertEvent.run(...eventValues(event(next), now));
          return { ok: true, record: next, changed: true };
        })
        .immediate();
    });
  }

  async consume(id: string, digest: string, event: EventFor, now: number): Promise<ConsumeResult> {
    return this.#run('consume', () => {
      const s = this.#statements();
      return this.#db
        .transaction((): ConsumeResult => {
          const row = s.get.get(id);
          const plan = planConsume(row === undefined ? undefined : rowToRecord(row), digest, now);
          if (plan.kind === 'done') return plan.result;
          // The conditional UPDATE is the single point that decides the winner.
          const info = s.consume.run(now, id, now, digest);
          if (info.changes !== 1) throw new ActraStoreError('sqlite approval store failed to consume: conditional update lost');
          s.insertEvent.run(...eventValues(event(plan.next), now));
          return { ok: true, record: plan.next };
        })
        .immediate();
    });
  }

  async expireDue(event: EventFor, now: number, limit?: number): Promise<ApprovalRecord[]> {
    const max = checkLimit(limit);
    return this.#run('expire approvals', () => {
      const s = this.#statements();
      return this.#db
        .transaction(() => {
          const expired: ApprovalRecord[] = [];
          for (const row of s.dueApprovals.all(now, max)) {
            const next: ApprovalRecord = { ...rowToRecord(row), status: 'expired' };
            if (s.expire.run(row.id, now).changes !== 1) continue;
            s.insertEvent.run(...eventValues(event(next), now));
            expired.push(next);
          }
          s.forgetWebhookIds.run(now);
          return expired;
        })
        .immediate();
    });
  }

  async list(filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const max = checkLimit(filter.limit);
    return this.#run('list approvals', () => {
      const s = this.#statements();
      const rows = filter.status === undefined ? s.listAll.all(max) : s.listStatus.all(filter.status, max);
      return rows.map(rowToRecord);
    });
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]> {
    const max = checkLimit(limit);
    return this.#run('claim outbox events', () => {
      const s = this.#statements();
      return this.#db
        .transaction(() => {
          const until = now + leaseMs;
          return s.dueEvents.all(now, max).map((row) => {
            s.lease.run(until, row.id);
            return rowToEvent({ ...row, next_attempt_at: until });
          });
        })
        .immediate();
    });
  }

  async markDelivered(id: string, now: number): Promise<void> {
    return this.#run('mark an event delivered', () => {
      this.#statements().delivered.run(now, id);
    });
  }

  async markFailed(id: string, failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean }): Promise<void> {
    return this.#run('record a failed delivery', () => {
      this.#statements().failed.run(failure.dead ? 'dead' : 'pending', failure.attempts, failure.nextAttemptAt, clipError(failure.error), id);
    });
  }

  async listOutbox(filter: { status?: OutboxStatus; limit?: number }): Promise<OutboxEvent[]> {
    const max = checkLimit(filter.limit);
    return this.#run('list outbox events', () => {
      const s = this.#statements();
      const rows = filter.status === undefined ? s.outboxAll.all(max) : s.outboxStatus.all(filter.status, max);
      return rows.map(rowToEvent);
    });
  }

  async redeliver(id: string, now: number): Promise<boolean> {
    return this.#run('redeliver an event', () => this.#statements().redeliver.run(now, id).changes === 1);
  }

  async rememberWebhookId(id: string, expiresAt: number, now: number): Promise<boolean> {
    return this.#run('remember a webhook id', () => this.#statements().remember.get(id, expiresAt, now) !== undefined);
  }

  #statements(): Statements {
    if (this.#s === undefined) throw new ActraStoreError('sqlite approval store is not initialised: call init() first');
    return this.#s;
  }

  async #run<T>(operation: string, fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (cause) {
      throw storeFailure('sqlite', operation, cause);
    }
  }

  #migrate(): void {
    const p = this.#prefix;
    const db = this.#db;
    db.exec(`CREATE TABLE IF NOT EXISTS ${p}schema_version (version INTEGER NOT NULL)`);
    const row = db.prepare<[], { version: number | null }>(`SELECT MAX(version) AS version FROM ${p}schema_version`).get();
    const version = row?.version ?? 0;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new ActraStoreError(`sqlite approval store found schema version ${version}, newer than the supported ${SQLITE_SCHEMA_VERSION}`);
    }
    if (version < 1) {
      db.exec(sqliteDdl(p));
      db.prepare(`INSERT INTO ${p}schema_version (version) VALUES (1)`).run();
    }
  }

  #prepare(): Statements {
    const db = this.#db;
    const a = `${this.#prefix}approvals`;
    const o = `${this.#prefix}outbox`;
    const w = `${this.#prefix}webhook_ids`;
    const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
    return {
      get: db.prepare(`SELECT * FROM ${a} WHERE id = ?`),
      live: db.prepare(
        `SELECT * FROM ${a} WHERE digest = ? AND status IN ('pending', 'approved') AND expires_at > ? ORDER BY created_at DESC LIMIT 1`,
      ),
      insertApproval: db.prepare(`INSERT INTO ${a} (${APPROVAL_COLUMNS.join(', ')}) VALUES (${placeholders(APPROVAL_COLUMNS.length)})`),
      insertEvent: db.prepare(`INSERT INTO ${o} (${OUTBOX_COLUMNS.join(', ')}) VALUES (${placeholders(OUTBOX_COLUMNS.length)})`),
      decide: db.prepare(
        `UPDATE ${a} SET status = ?, decided_at = ?, decided_by = ?, verdict = ?, note = ? WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      ),
      consume: db.prepare(
        `UPDATE ${a} SET status = 'consumed', consumed_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ? AND digest = ?`,
      ),
      expire: db.prepare(`UPDATE ${a} SET status = 'expired' WHERE id = ? AND status IN ('pending', 'approved') AND expires_at <= ?`),
      dueApprovals: db.prepare(
        `SELECT * FROM ${a} WHERE status IN ('pending', 'approved') AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
      ),
      listAll: db.prepare(`SELECT * FROM ${a} ORDER BY created_at DESC, id DESC LIMIT ?`),
      listStatus: db.prepare(`SELECT * FROM ${a} WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?`),
      dueEvents: db.prepare(
        `SELECT * FROM ${o} WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at, id LIMIT ?`,
      ),
      lease: db.prepare(`UPDATE ${o} SET next_attempt_at = ? WHERE id = ?`),
      delivered: db.prepare(`UPDATE ${o} SET status = 'delivered', delivered_at = ?, last_error = NULL WHERE id = ?`),
      failed: db.prepare(
        `UPDATE ${o} SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'`,
      ),
      outboxAll: db.prepare(`SELECT * FROM ${o} ORDER BY created_at DESC, id DESC LIMIT ?`),
      outboxStatus: db.prepare(`SELECT * FROM ${o} WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?`),
      redeliver: db.prepare(
        `UPDATE ${o} SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL, delivered_at = NULL WHERE id = ?`,
      ),
      remember: db.prepare(
        `INSERT INTO ${w} (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE ${w}.expires_at <= ? RETURNING id`,
      ),
      forgetWebhookIds: db.prepare(`DELETE FROM ${w} WHERE expires_at <= ?`),
    };
  }
}

/** The DDL of schema version 1 for table prefix `p`. */
export function sqliteDdl(p: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  digest TEXT NOT NULL,
  action_type TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  reason TEXT,
  policy_hash TEXT NOT NULL,
  requester_id TEXT NOT NULL,
  method TEXT,
  route TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by TEXT,
  verdict TEXT,
  note TEXT,
  consumed_at INTEGER
);
CREATE INDEX IF NOT EXISTS ${p}approvals_digest ON ${p}approvals (digest, status);
CREATE INDEX IF NOT EXISTS ${p}approvals_expiry ON ${p}approvals (status, expires_at);
CREATE INDEX IF NOT EXISTS ${p}approvals_created ON ${p}approvals (created_at);
CREATE TABLE IF NOT EXISTS ${p}outbox (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  approval_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS ${p}outbox_due ON ${p}outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS ${p}outbox_created ON ${p}outbox (created_at);
CREATE TABLE IF NOT EXISTS ${p}webhook_ids (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}webhook_ids_expiry ON ${p}webhook_ids (expires_at);
`;
}
