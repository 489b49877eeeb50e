/** PostgreSQL approval store (pg): approvals shared by several instances, with a transactional outbox. */
import pg from 'pg';
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
  OutboxEventInput,
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
import { checkLimit, clipError, pendingRecord, planConsume, planDecide, storeFailure, type VerdictInput } from './transitions.js';
import { parseOptions } from '../../options.js';

/** Schema version this library writes; `init()` refuses tables migrated by a newer release. */
export const POSTGRES_SCHEMA_VERSION = 1;

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'must be lower-case letters, digits or _ (starting with a letter or _), at most 41 characters');

const optionsSchema = z
  .strictObject({
    pool: z
      .custom<pg.Pool>((v) => typeof v === 'object' && v !== null && typeof (v as pg.Pool).connect === 'function' && typeof (v as pg.Pool).query === 'function', 'must be a pg Pool')
      .optional(),
    connectionString: z.string().min(1).optional(),
    schema: identifier.optional(),
    tablePrefix: identifier.optional(),
    max: z.number().int().min(1).max(1000).optional(),
    connectionTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .refine((o) => (o.pool === undefined) !== (o.connectionString === undefined), {
    message: 'give exactly one of pool or connectionString',
    path: ['pool'],
  });

/** Options of {@link PostgresApprovalStore}. */
export interface PostgresApprovalStoreOptions {
  /** A pool you own (the store never ends it). Give this or `connectionString`. */
  readonly pool?: pg.Pool;
  /** Connection string for a pool the store creates and ends on `close()`. */
  readonly connectionString?: string;
  /** Schema of the tables, created when missing. Default `public`. */
  readonly schema?: string;
  /** Prefix of every table name. Default `actra_`. */
  readonly tablePrefix?: string;
  /** Size of a pool the store creates. Default 10. */
  readonly max?: number;
  /** How long a pool the store creates waits for a connection. Default 5000 ms. */
  readonly connectionTimeoutMs?: number;
}

/**
 * Stores approvals, the outbox and webhook ids in PostgreSQL. `init()` creates or migrates the
 * tables (the same DDL ships as `sql/postgres.sql`). Decide and consume are conditional
 * `UPDATE … RETURNING` statements, so exactly one of many concurrent callers on any number of
 * instances wins; open takes a transaction-scoped advisory lock on the digest so concurrent
 * retries of one request share one approval; outbox claims use `FOR UPDATE SKIP LOCKED`.
 *
 * @throws ActraError `ACTRA_OPTIONS` from the constructor when options are invalid;
 *   `ACTRA_STORE_FAILED` (503, with `cause`) from any method when PostgreSQL fails or is unreachable.
 * @example
 * ```ts
 * const store = new PostgresApprovalStore({ connectionString: process.env.DATABASE_URL });
 * await store.init();
 * ```
 */
export class PostgresApprovalStore implements ApprovalStore {
  readonly #pool: pg.Pool;
  readonly #owned: boolean;
  readonly #schema: string;
  readonly #prefix: string;
  readonly #a: string;
  readonly #o: string;
  readonly #w: string;

  constructor(options: PostgresApprovalStoreOptions) {
    const o = parseOptions(optionsSchema, options, 'PostgresApprovalStore');
    this.#schema = o.schema ?? 'public';
    this.#prefix = o.tablePrefix ?? 'actra_';
    const q = (table: string): string => `"${this.#schema}"."${this.#prefix}${table}"`;
    this.#a = q('approvals');
    this.#o = q('outbox');
    this.#w = q('webhook_ids');
    if (o.pool !== undefined) {
      this.#pool = o.pool;
      this.#owned = false;
    } else {
      this.#pool = new pg.Pool({
        connectionString: o.connectionString,
        max: o.max ?? 10,
        connectionTimeoutMillis: o.connectionTimeoutMs ?? 5000,
      });
      // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool;
      // without a listener the 'error' event would crash the process.
      this.#pool.on('error', function idleConnectionLost() {});
      this.#owned = true;
    }
  }

  /** Creates the schema and tables, or migrates them, under an advisory lock. Idempotent. */
  async init(): Promise<void> {
    await this.#tx('initialise', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`actra:migrate:${this.#schema}.${this.#prefix}`]);
      const versions = `"${this.#schema}"."${this.#prefix}schema_version"`;
      // Checked before any CREATE, so a role without CREATE privileges can use tables made from sql/postgres.sql.
      const found = await c.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [versions]);
      if (found.rows[0]?.table == null) {
        await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${versions} (version integer NOT NULL)`);
      }
      const { rows } = await c.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${versions}`);
      const version = rows[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new ActraStoreError(`postgres approval store found schema version ${version}, newer than the supported ${POSTGRES_SCHEMA_VERSION}`);
      }
      if (version < 1) {
        await c.query(postgresDdl(this.#schema, this.#prefix));
        await c.query(`INSERT INTO ${versions} (version) VALUES (1)`);
      }
    });
  }

  /** Ends the pool when the store created it from `connectionString`. */
  async close(): Promise<void> {
    if (this.#owned && !this.#pool.ended) await this.#pool.end();
  }

  async open(approval: NewApproval, event: EventFor, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    return this.#tx('open', async (c) => {
      // Serialises opens of one digest across every instance, so client retries share one approval.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${this.#a}|${approval.digest}`]);
      const live = await c.query<ApprovalRow>(
        `SELECT * FROM ${this.#a} WHERE digest = $1 AND status IN ('pending', 'approved') AND expires_at > $2 ORDER BY created_at DESC LIMIT 1`,
        [approval.digest, now],
      );
      const existing = live.rows[0];
      if (existing !== undefined) return { record: rowToRecord(existing), created: false };
      const record = pendingRecord(approval);
      await c.query(
        `INSERT INTO ${this.#a} (${APPROVAL_COLUMNS.join(', ')}) VALUES (${params(APPROVAL_COLUMNS.length)})`,
        recordValues(record),
      );
      await this.#insertEvent(c, event(record), now);
      return { record, created: true };
    });
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.#query<ApprovalRow>('read an approval', `SELECT * FROM ${this.#a} WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : rowToRecord(rows[0]);
  }

  async decide(id: string, verdict: VerdictInput, event: EventFor, now: number): Promise<DecideResult> {
    return this.#tx('decide', async (c) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const updated = await c.query<ApprovalRow>(
          `UPDATE ${this.#a} SET status = $2, verdict = $3, decided_by = $4, decided_at = $5, note = $6
           WHERE id = $1 AND status = 'pending' AND expires_at > $5 RETURNING *`,
          [id, verdict.verdict === 'approve' ? 'approved' : 'denied', verdict.verdict, verdict.decidedBy, now, verdict.note ?? null],
        );
        if (updated.rows[0] !== undefined) {
          const record = rowToRecord(updated.rows[0]);
          await this.#insertEvent(c, event(record), now);
          return { ok: true, record, changed: true };
        }
        const plan = planDecide(await this.#current(c, id), verdict, now);
        if (plan.kind === 'done') return plan.result;
      }
      throw new ActraStoreError('postgres approval store failed to decide: the approval kept changing');
    });
  }

  async consume(id: string, digest: string, event: EventFor, now: number): Promise<ConsumeResult> {
    return this.#tx('consume', async (c) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        // The conditional UPDATE decides the winner: concurrent callers wait on the row lock and
        // then see `status = 'consumed'`, so they match nothing.
        const updated = await c.query<ApprovalRow>(
          `UPDATE ${this.#a} SET status = 'consumed', consumed_at = $3
           WHERE id = $1 AND digest = $2 AND status = 'approved' AND expires_at > $3 RETURNING *`,
          [id, digest, now],
        );
        if (updated.rows[0] !== undefined) {
          const record = rowToRecord(updated.rows[0]);
          await this.#insertEvent(c, event(record), now);
          return { ok: true, record };
        }
        const plan = planConsume(await this.#current(c, id), digest, now);
        if (plan.kind === 'done') return plan.result;
      }
      throw new ActraStoreError('postgres approval store failed to consume: the approval kept changing');
    });
  }

  async expireDue(event: EventFor, now: number, limit?: number): Promise<ApprovalRecord[]> {
    const max = checkLimit(limit);
    return this.#tx('expire approvals', async (c) => {
      const { rows } = await c.query<ApprovalRow>(
        `UPDATE ${this.#a} SET status = 'expired'
         WHERE status IN ('pending', 'approved') AND id IN (
           SELECT id FROM ${this.#a} WHERE status IN ('pending', 'approved') AND expires_at <= $1
           ORDER BY expires_at, id COLLATE "C" LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now, max],
      );
      const records = rows.map(rowToRecord).sort((x, y) => x.expiresAt - y.expiresAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      for (const record of records) await this.#insertEvent(c, event(record), now);
      await c.query(`DELETE FROM ${this.#w} WHERE expires_at <= $1`, [now]);
      return records;
    });
  }

  async list(filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const max = checkLimit(filter.limit);
    const { rows } =
      filter.status === undefined
        ? await this.#query<ApprovalRow>('list approvals', `SELECT * FROM ${this.#a} ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $1`, [max])
        : await this.#query<ApprovalRow>(
            'list approvals',
            `SELECT * FROM ${this.#a} WHERE status = $1 ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2`,
            [filter.status, max],
          );
    return rows.map(rowToRecord);
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]> {
    const max = checkLimit(limit);
    const { rows } = await this.#query<OutboxRow & { due_at: string }>(
      'claim outbox events',
      `WITH due AS (
         SELECT id, next_attempt_at AS due_at FROM ${this.#o}
         WHERE status = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, created_at, id COLLATE "C" LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#o} AS o SET next_attempt_at = $3 FROM due WHERE o.id = due.id
       RETURNING o.*, due.due_at`,
      [now, max, now + leaseMs],
    );
    return rows
      .sort((x, y) => Number(x.due_at) - Number(y.due_at) || Number(x.created_at) - Number(y.created_at) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
      .map(rowToEvent);
  }

  async markDelivered(id: string, now: number): Promise<void> {
    await this.#query('mark an event delivered', `UPDATE ${this.#o} SET status = 'delivered', delivered_at = $2, last_error = NULL WHERE id = $1`, [
      id,
      now,
    ]);
  }

  async markFailed(id: string, failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean }): Promise<void> {
    await this.#query(
      'record a failed delivery',
      `UPDATE ${this.#o} SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5 WHERE id = $1 AND status = 'pending'`,
      [id, failure.dead ? 'dead' : 'pending', failure.attempts, failure.nextAttemptAt, clipError(failure.error)],
    );
  }

  async listOutbox(filter: { status?: OutboxStatus; limit?: number }): Promise<OutboxEvent[]> {
    const max = checkLimit(filter.limit);
    const { rows } =
      filter.status === undefined
        ? await this.#query<OutboxRow>('list outbox events', `SELECT * FROM ${this.#o} ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $1`, [max])
        : await this.#query<OutboxRow>(
            'list outbox events',
            `SELECT * FROM ${this.#o} WHERE status = $1 ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2`,
            [filter.status, max],
          );
    return rows.map(rowToEvent);
  }

  async redeliver(id: string, now: number): Promise<boolean> {
    const result = await this.#query(
      'redeliver an event',
      `UPDATE ${this.#o} SET status = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL, delivered_at = NULL WHERE id = $1`,
      [id, now],
    );
    return result.rowCount === 1;
  }

  async rememberWebhookId(id: string, expiresAt: number, now: number): Promise<boolean> {
    const { rows } = await this.#query(
      'remember a webhook id',
      `INSERT INTO ${this.#w} AS w (id, expires_at) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE w.expires_at <= $3
       RETURNING id`,
      [id, expiresAt, now],
    );
    return rows.length === 1;
  }

  async #current(c: pg.PoolClient, id: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await c.query<ApprovalRow>(`SELECT * FROM ${this.#a} WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : rowToRecord(rows[0]);
  }

  async #insertEvent(c: pg.PoolClient, input: OutboxEventInput, now: number): Promise<void> {
    await c.query(`INSERT INTO ${this.#o} (${OUTBOX_COLUMNS.join(', ')}) VALUES (${params(OUTBOX_COLUMNS.length)})`, eventValues(input, now));
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (cause) {
      throw storeFailure('postgres', operation, cause);
    }
  }

  async #tx<T>(operation: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw storeFailure('postgres', operation, cause);
    }
    let broken: Error | undefined;
    // A checked-out client has no error listener of the pool's: a connection lost between two
    // queries would otherwise surface as an uncaught 'error' event.
    const onError = function checkedOutConnectionLost(error: Error): void {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (cause) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackFailure) {
        broken = rollbackFailure instanceof Error ? rollbackFailure : new Error('rollback failed');
      }
      throw storeFailure('postgres', operation, cause);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

function params(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
}

/**
 * The DDL of schema version 1 for `schema` and table prefix `prefix`; `sql/postgres.sql` holds it
 * for `public` and `actra_`.
 */
export function postgresDdl(schema = 'public', prefix = 'actra_'): string {
  const t = (name: string): string => `"${schema}"."${prefix}${name}"`;
  return `CREATE TABLE IF NOT EXISTS ${t('approvals')} (
  id           text PRIMARY KEY,
  status       text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
  digest       text NOT NULL,
  action_type  text NOT NULL,
  rule_id      text NOT NULL,
  reason       text,
  policy_hash  text NOT NULL,
  requester_id text NOT NULL,
  method       text,
  route        text,
  created_at   bigint NOT NULL,
  expires_at   bigint NOT NULL,
  decided_at   bigint,
  decided_by   text,
  verdict      text CHECK (verdict IN ('approve', 'deny')),
  note         text,
  consumed_at  bigint
);
CREATE INDEX IF NOT EXISTS ${prefix}approvals_digest ON ${t('approvals')} (digest, status);
CREATE INDEX IF NOT EXISTS ${prefix}approvals_due ON ${t('approvals')} (expires_at) WHERE status IN ('pending', 'approved');
CREATE INDEX IF NOT EXISTS ${prefix}approvals_created ON ${t('approvals')} (created_at DESC);
CREATE INDEX IF NOT EXISTS ${prefix}approvals_status_created ON ${t('approvals')} (status, created_at DESC);
CREATE TABLE IF NOT EXISTS ${t('outbox')} (
  id              text PRIMARY KEY,
  type            text NOT NULL,
  approval_id     text NOT NULL,
  payload         text NOT NULL,
  created_at      bigint NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  last_error      text,
  delivered_at    bigint
);
CREATE INDEX IF NOT EXISTS ${prefix}outbox_due ON ${t('outbox')} (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS ${prefix}outbox_created ON ${t('outbox')} (created_at DESC);
CREATE TABLE IF NOT EXISTS ${t('webhook_ids')} (
  id         text PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ${prefix}webhook_ids_expiry ON ${t('webhook_ids')} (expires_at);
`;
}
