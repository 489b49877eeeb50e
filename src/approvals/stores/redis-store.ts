/** Redis approval store (ioredis): approvals shared by several instances, every transition one Lua script. */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
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
  checkLimit,
  clipError,
  isLive,
  pendingRecord,
  planConsume,
  planDecide,
  planExpire,
  storeFailure,
  type Plan,
  type VerdictInput,
} from './transitions.js';
import { parseOptions } from '../../options.js';

const DAY_MS = 86_400_000;

const optionsSchema = z
  .strictObject({
    redis: z
      .custom<Redis>((v) => typeof v === 'object' && v !== null && typeof (v as Redis).evalsha === 'function' && typeof (v as Redis).get === 'function', 'must be an ioredis client')
      .optional(),
    url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    prefix: z.string().regex(/^[A-Za-z0-9_:.{}-]{0,64}$/, 'must be at most 64 letters, digits or _ : . { } -').optional(),
    retentionMs: z.number().int().min(0).max(366 * DAY_MS).optional(),
    commandTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .refine((o) => (o.redis === undefined) !== (o.url === undefined), { message: 'give exactly one of redis or url', path: ['redis'] });

/** Options of {@link RedisApprovalStore}. */
export interface RedisApprovalStoreOptions {
  /** A client you own (the store never disconnects it). Give this or `url`. */
  readonly redis?: Redis;
  /** URL for a client the store creates (fail-fast settings) and closes on `close()`. */
  readonly url?: string;
  /** Prefix of every key. Default `actra:`. */
  readonly prefix?: string;
  /** How long approvals stay readable after `expiresAt`, and delivered events after delivery. Default 7 days. */
  readonly retentionMs?: number;
  /** Per-command timeout of a client the store creates. Default 5000 ms. */
  readonly commandTimeoutMs?: number;
}

// Shared Lua: writes a new pending outbox event. ARGV offsets are given by the caller.
const WRITE_EVENT = `
local function write_event(p, eid, etype, aid, payload, ecreated, now)
  local ek = p .. 'evt:' .. eid
  redis.call('HSET', ek, 'id', eid, 'type', etype, 'approvalId', aid, 'payload', payload, 'createdAt', ecreated,
    'status', 'pending', 'attempts', '0', 'next', now)
  redis.call('ZADD', p .. 'outbox:due', now, eid)
  redis.call('ZADD', p .. 'outbox:all', ecreated, eid)
  redis.call('ZADD', p .. 'outbox:pending', ecreated, eid)
end
`;

// ARGV: prefix, id, digest, now, recordJson, createdAt, ttlMs, then the event: id, type, approvalId, payload, createdAt
const OPEN = `${WRITE_EVENT}
local p, id, digest, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local dkey = p .. 'digest:' .. digest
local current = redis.call('GET', dkey)
if current then
  local json = redis.call('GET', p .. 'apr:' .. current)
  if json then
    local r = cjson.decode(json)
    if (r.status == 'pending' or r.status == 'approved') and r.expiresAt > now then return {0, json} end
  end
end
local akey = p .. 'apr:' .. id
if redis.call('EXISTS', akey) == 1 then return redis.error_reply('ACTRA duplicate approval id') end
if redis.call('EXISTS', p .. 'evt:' .. ARGV[8]) == 1 then return redis.error_reply('ACTRA duplicate event id') end
local record = cjson.decode(ARGV[5])
redis.call('SET', akey, ARGV[5], 'PX', ARGV[7])
redis.call('SET', dkey, id, 'PX', ARGV[7])
redis.call('ZADD', p .. 'due', record.expiresAt, id)
redis.call('ZADD', p .. 'idx:all', ARGV[6], id)
redis.call('ZADD', p .. 'idx:pending', ARGV[6], id)
write_event(p, ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[4])
return {1}
`;

// Compare-and-set of one approval plus its event. ARGV: prefix, id, expectedJson, newJson, oldStatus,
// newStatus, createdAt, now, then the event: id, type, approvalId, payload, createdAt
const TRANSITION = `${WRITE_EVENT}
local p, id = ARGV[1], ARGV[2]
local akey = p .. 'apr:' .. id
local current = redis.call('GET', akey)
if current ~= ARGV[3] then return {0, current} end
if redis.call('EXISTS', p .. 'evt:' .. ARGV[9]) == 1 then return redis.error_reply('ACTRA duplicate event id') end
redis.call('SET', akey, ARGV[4], 'KEEPTTL')
if ARGV[5] ~= ARGV[6] then
  redis.call('ZREM', p .. 'idx:' .. ARGV[5], id)
  redis.call('ZADD', p .. 'idx:' .. ARGV[6], ARGV[7], id)
end
if ARGV[6] ~= 'pending' and ARGV[6] ~= 'approved' then redis.call('ZREM', p .. 'due', id) end
write_event(p, ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[8])
return {1}
`;

// ARGV: prefix, now, limit, leaseUntil
const CLAIM = `
local p = ARGV[1]
local due = p .. 'outbox:due'
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, eid in ipairs(ids) do
  local ek = p .. 'evt:' .. eid
  if redis.call('HGET', ek, 'status') == 'pending' then
    redis.call('ZADD', due, ARGV[4], eid)
    redis.call('HSET', ek, 'next', ARGV[4])
    out[#out + 1] = redis.call('HGETALL', ek)
  else
    redis.call('ZREM', due, eid)
  end
end
return out
`;

// ARGV: prefix, eid, now, retentionMs
const DELIVERED = `
local p, eid = ARGV[1], ARGV[2]
local ek = p .. 'evt:' .. eid
local status = redis.call('HGET', ek, 'status')
if not status then return 0 end
redis.call('HSET', ek, 'status', 'delivered', 'deliveredAt', ARGV[3])
redis.call('HDEL', ek, 'lastError')
redis.call('ZREM', p .. 'outbox:due', eid)
redis.call('ZREM', p .. 'outbox:' .. status, eid)
redis.call('ZADD', p .. 'outbox:delivered', redis.call('HGET', ek, 'createdAt'), eid)
redis.call('PEXPIRE', ek, ARGV[4])
return 1
`;

// ARGV: prefix, eid, attempts, next, error, dead ('1' | '0')
const FAILED = `
local p, eid = ARGV[1], ARGV[2]
local ek = p .. 'evt:' .. eid
if redis.call('HGET', ek, 'status') ~= 'pending' then return 0 end
redis.call('HSET', ek, 'attempts', ARGV[3], 'next', ARGV[4], 'lastError', ARGV[5])
if ARGV[6] == '1' then
  redis.call('HSET', ek, 'status', 'dead')
  redis.call('ZREM', p .. 'outbox:due', eid)
  redis.call('ZREM', p .. 'outbox:pending', eid)
  redis.call('ZADD', p .. 'outbox:dead', redis.call('HGET', ek, 'createdAt'), eid)
else
  redis.call('ZADD', p .. 'outbox:due', ARGV[4], eid)
end
return 1
`;

// ARGV: prefix, eid, now
const REDELIVER = `
local p, eid = ARGV[1], ARGV[2]
local ek = p .. 'evt:' .. eid
local status = redis.call('HGET', ek, 'status')
if not status then return 0 end
redis.call('HSET', ek, 'status', 'pending', 'attempts', '0', 'next', ARGV[3])
redis.call('HDEL', ek, 'lastError', 'deliveredAt')
redis.call('PERSIST', ek)
redis.call('ZREM', p .. 'outbox:' .. status, eid)
redis.call('ZADD', p .. 'outbox:pending', redis.call('HGET', ek, 'createdAt'), eid)
redis.call('ZADD', p .. 'outbox:due', ARGV[3], eid)
return 1
`;

// ARGV: prefix, id, expiresAt, now. The stored expiry decides; the key TTL only cleans up.
const REMEMBER = `
local k = ARGV[1] .. 'hook:' .. ARGV[2]
local known = redis.call('GET', k)
if known and tonumber(known) > tonumber(ARGV[4]) then return 0 end
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
if ttl < 1 then ttl = 1 end
redis.call('SET', k, ARGV[3], 'PX', ttl)
return 1
`;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const SCRIPTS = {
  open: script(OPEN),
  transition: script(TRANSITION),
  claim: script(CLAIM),
  delivered: script(DELIVERED),
  failed: script(FAILED),
  redeliver: script(REDELIVER),
  remember: script(REMEMBER),
} as const;

const MAX_TRANSITION_ATTEMPTS = 20;

/**
 * Stores approvals, the outbox and webhook ids in Redis. Every transition is one Lua script (a
 * compare-and-set of the record plus its outbox event), so exactly one of many concurrent callers
 * on any number of instances wins. Keys expire: approvals `retentionMs` after `expiresAt`,
 * delivered events `retentionMs` after delivery, webhook ids at their expiry; pending and dead
 * events never expire. A client created from `url` fails fast while Redis is down
 * (`enableOfflineQueue: false`, one retry, a command timeout) and reconnects by itself.
 *
 * @throws ActraError `ACTRA_OPTIONS` from the constructor when options are invalid;
 *   `ACTRA_STORE_FAILED` (503, with `cause`) from any method when Redis fails or is unreachable.
 * @example
 * ```ts
 * const store = new RedisApprovalStore({ url: process.env.REDIS_URL });
 * await store.init();
 * ```
 */
export class RedisApprovalStore implements ApprovalStore {
  readonly #redis: Redis;
  readonly #owned: boolean;
  readonly #p: string;
  readonly #retentionMs: number;

  constructor(options: RedisApprovalStoreOptions) {
    const o = parseOptions(optionsSchema, options, 'RedisApprovalStore');
    this.#p = o.prefix ?? 'actra:';
    this.#retentionMs = o.retentionMs ?? 7 * DAY_MS;
    if (o.redis !== undefined) {
      this.#redis = o.redis;
      this.#owned = false;
    } else {
      this.#redis = new Redis(o.url ?? '', {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: o.commandTimeoutMs ?? 5000,
        connectTimeout: o.commandTimeoutMs ?? 5000,
        retryStrategy: function reconnectDelay(times: number) {
          return Math.min(50 * 2 ** Math.min(times, 6), 2000);
        },
      });
      // Connection errors surface through the commands that fail; the event only needs a listener.
      this.#redis.on('error', function redisConnectionError() {});
      this.#owned = true;
    }
  }

  /** Connects (when the client is not connected yet) and loads the Lua scripts. Idempotent. */
  async init(): Promise<void> {
    try {
      const status = this.#redis.status;
      if (status === 'wait' || (this.#owned && status === 'end')) await this.#redis.connect();
      else if (status !== 'ready') await this.#ready();
      for (const s of Object.values(SCRIPTS)) await this.#redis.script('LOAD', s.lua);
    } catch (cause) {
      throw storeFailure('redis', 'initialise', cause);
    }
  }

  /** Disconnects the client when the store created it from `url`. */
  async close(): Promise<void> {
    if (!this.#owned || this.#redis.status === 'end') return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  async open(approval: NewApproval, event: EventFor, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    return this.#wrap('open', async () => {
      const existingId = await this.#redis.get(`${this.#p}digest:${approval.digest}`);
      if (existingId !== null) {
        const existing = parseRecord(await this.#redis.get(`${this.#p}apr:${existingId}`));
        if (existing !== undefined && isLive(existing, now)) return { record: existing, created: false };
      }
      const record = pendingRecord(approval);
      const json = JSON.stringify(record);
      const e = event(record);
      const ttl = Math.max(1, record.expiresAt - now + this.#retentionMs);
      const reply = (await this.#eval(SCRIPTS.open, [
        this.#p,
        record.id,
        record.digest,
        now,
        json,
        record.createdAt,
        ttl,
        ...eventArgs(e),
      ])) as [number, string?];
      if (reply[0] === 1) return { record, created: true };
      return { record: parseRecord(reply[1] ?? null) ?? record, created: false };
    });
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    return this.#wrap('read an approval', async () => parseRecord(await this.#redis.get(`${this.#p}apr:${id}`)));
  }

  async decide(id: string, verdict: VerdictInput, event: EventFor, now: number): Promise<DecideResult> {
    return this.#wrap('decide', () =>
      this.#transition<DecideResult>(id, (current) => planDecide(current, verdict, now), event, now, (record) => ({ ok: true, record, changed: true })),
    );
  }

  async consume(id: string, digest: string, event: EventFor, now: number): Promise<ConsumeResult> {
    return this.#wrap('consume', () =>
      this.#transition<ConsumeResult>(id, (current) => planConsume(current, digest, now), event, now, (record) => ({ ok: true, record })),
    );
  }

  async expireDue(event: EventFor, now: number, limit?: number): Promise<ApprovalRecord[]> {
    const max = checkLimit(limit);
    return this.#wrap('expire approvals', async () => {
      const ids = await this.#redis.zrangebyscore(`${this.#p}due`, '-inf', now, 'LIMIT', 0, max);
      const expired: ApprovalRecord[] = [];
      for (const id of ids) {
        const result = await this.#transition<ApprovalRecord | undefined>(
          id,
          (current) => {
            const next = planExpire(current, now);
            return next === undefined ? { kind: 'done', result: undefined } : { kind: 'write', next };
          },
          event,
          now,
          (record) => record,
        );
        if (result !== undefined) expired.push(result);
        else if ((await this.#redis.exists(`${this.#p}apr:${id}`)) === 0) await this.#redis.zrem(`${this.#p}due`, id);
      }
      return expired;
    });
  }

  async list(filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const max = checkLimit(filter.limit);
    return this.#wrap('list approvals', async () => {
      const index = `${this.#p}idx:${filter.status ?? 'all'}`;
      const records: ApprovalRecord[] = [];
      let offset = 0;
      while (records.length < max) {
        const ids = await this.#redis.zrevrange(index, offset, offset + max - 1);
        if (ids.length === 0) break;
        offset += ids.length;
        const values = await this.#redis.mget(...ids.map((id) => `${this.#p}apr:${id}`));
        const gone: string[] = [];
        ids.forEach((id, i) => {
          const record = parseRecord(values[i] ?? null);
          if (record === undefined) gone.push(id);
          else if (records.length < max) records.push(record);
        });
        if (gone.length > 0) {
          await this.#redis.zrem(index, ...gone);
          offset -= gone.length;
        }
      }
      return records;
    });
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]> {
    const max = checkLimit(limit);
    return this.#wrap('claim outbox events', async () => {
      const reply = (await this.#eval(SCRIPTS.claim, [this.#p, now, max, now + leaseMs])) as string[][];
      return reply.map(hashToEvent);
    });
  }

  async markDelivered(id: string, now: number): Promise<void> {
    await this.#wrap('mark an event delivered', () => this.#eval(SCRIPTS.delivered, [this.#p, id, now, Math.max(1, this.#retentionMs)]));
  }

  async markFailed(id: string, failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean }): Promise<void> {
    await this.#wrap('record a failed delivery', () =>
      this.#eval(SCRIPTS.failed, [this.#p, id, failure.attempts, failure.nextAttemptAt, clipError(failure.error), failure.dead ? '1' : '0']),
    );
  }

  async listOutbox(filter: { status?: OutboxStatus; limit?: number }): Promise<OutboxEvent[]> {
    const max = checkLimit(filter.limit);
    return this.#wrap('list outbox events', async () => {
      const index = `${this.#p}outbox:${filter.status ?? 'all'}`;
      const events: OutboxEvent[] = [];
      let offset = 0;
      while (events.length < max) {
        const ids = await this.#redis.zrevrange(index, offset, offset + max - 1);
        if (ids.length === 0) break;
        offset += ids.length;
        const pipeline = this.#redis.pipeline();
        for (const id of ids) pipeline.hgetall(`${this.#p}evt:${id}`);
        const replies = (await pipeline.exec()) ?? [];
        const gone: string[] = [];
        ids.forEach((id, i) => {
          const [error, hash] = replies[i] ?? [new Error('missing reply'), null];
          if (error) throw error;
          const fields = hash as Record<string, string>;
          if (fields['id'] === undefined) gone.push(id);
          else if (events.length < max) events.push(fieldsToEvent(fields));
        });
        if (gone.length > 0) {
          await this.#redis.zrem(index, ...gone);
          offset -= gone.length;
        }
      }
      return events;
    });
  }

  async redeliver(id: string, now: number): Promise<boolean> {
    return this.#wrap('redeliver an event', async () => (await this.#eval(SCRIPTS.redeliver, [this.#p, id, now])) === 1);
  }

  async rememberWebhookId(id: string, expiresAt: number, now: number): Promise<boolean> {
    return this.#wrap('remember a webhook id', async () => (await this.#eval(SCRIPTS.remember, [this.#p, id, expiresAt, now])) === 1);
  }

  /** Read, plan, compare-and-set; on a lost race, plan again from the record that won. */
  async #transition<R>(
    id: string,
    plan: (current: ApprovalRecord | undefined) => Plan<R>,
    event: EventFor,
    now: number,
    success: (record: ApprovalRecord) => R,
  ): Promise<R> {
    let json = await this.#redis.get(`${this.#p}apr:${id}`);
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt++) {
      const current = parseRecord(json);
      const step = plan(current);
      if (step.kind === 'done' || current === undefined || json === null) {
        if (step.kind === 'done') return step.result;
        throw new ActraStoreError('redis approval store failed to update an approval: record vanished');
      }
      const next = step.next;
      const reply = (await this.#eval(SCRIPTS.transition, [
        this.#p,
        id,
        json,
        JSON.stringify(next),
        current.status,
        next.status,
        next.createdAt,
        now,
        ...eventArgs(event(next)),
      ])) as [number, string | null];
      if (reply[0] === 1) return success(next);
      json = reply[1] ?? null;
    }
    throw new ActraStoreError('redis approval store failed to update an approval: it kept changing');
  }

  async #eval(s: Script, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(s.sha, 0, ...args);
    } catch (error) {
      // After a Redis restart the script cache is empty: send the script itself once.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return this.#redis.eval(s.lua, 0, ...args);
      throw error;
    }
  }

  async #wrap<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw storeFailure('redis', operation, cause);
    }
  }

  async #ready(): Promise<void> {
    const redis = this.#redis;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('redis client did not become ready')), 10_000);
      const onReady = (): void => finish();
      const onEnd = (): void => finish(new Error('redis connection ended'));
      function finish(error?: Error): void {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      }
      redis.once('ready', onReady);
      redis.once('end', onEnd);
      if (redis.status === 'ready') finish();
    });
  }
}

function eventArgs(e: OutboxEventInput): (string | number)[] {
  return [e.id, e.type, e.approvalId, JSON.stringify(e.payload ?? null), e.createdAt];
}

function parseRecord(json: string | null): ApprovalRecord | undefined {
  return json === null ? undefined : (JSON.parse(json) as ApprovalRecord);
}

function hashToEvent(flat: string[]): OutboxEvent {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fieldsToEvent(fields);
}

function fieldsToEvent(f: Record<string, string>): OutboxEvent {
  const event: { -readonly [K in keyof OutboxEvent]: OutboxEvent[K] } = {
    id: f['id'] ?? '',
    type: f['type'] as OutboxEvent['type'],
    approvalId: f['approvalId'] ?? '',
    payload: JSON.parse(f['payload'] ?? 'null') as unknown,
    createdAt: Number(f['createdAt']),
    status: f['status'] as OutboxStatus,
    attempts: Number(f['attempts']),
    nextAttemptAt: Number(f['next']),
  };
  if (f['lastError'] !== undefined) event.lastError = f['lastError'];
  if (f['deliveredAt'] !== undefined) event.deliveredAt = Number(f['deliveredAt']);
  return event;
}
