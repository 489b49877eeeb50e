import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ActraOptionsError } from '../../src/errors.js';
import { logObserver } from '../../src/observability/log-observer.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { DecisionEvent } from '../../src/runtime/types.js';
import { refundPolicy } from '../runtime/fixtures.js';

function pinoLines() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level: 'debug', base: null },
    {
      write(chunk: string) {
        raw.push(chunk);
        lines.push(JSON.parse(chunk) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines, raw };
}

const secretish = {
  actorId: 'actor-id-7f3kq',
  email: 'alice.private@example.test',
  balance: 987654321,
  region: 'secret-region-zz',
};

function runtimeLogging(options: Parameters<typeof logObserver>[1] = {}, mode: 'enforce' | 'monitor' = 'enforce', actorId = secretish.actorId) {
  const { logger, lines, raw } = pinoLines();
  const runtime = new ActraRuntime(refundPolicy(), {
    mode,
    loaders: [
      { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) },
      { name: 'account', fields: ['balance', 'limit'], load: () => ({ balance: secretish.balance, limit: 10 }) },
      { name: 'region', fields: ['region'], load: () => ({ region: secretish.region }) },
    ],
    actorResolver: () => ({ id: actorId, role: 'support-tier-secret', email: secretish.email }),
    observers: [logObserver(logger, options)],
    redact: ['note'],
  });
  return { runtime, lines, raw };
}

describe('logObserver with pino', () => {
  it('writes one structured line per decision, nested under "decision"', async () => {
    const { runtime, lines } = runtimeLogging();
    const result = await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' }, requestId: 'req-1', route: '/refunds', method: 'POST' });
    expect(lines).toHaveLength(1);
    const line = lines[0] as { level: number; msg: string; decision: Record<string, unknown> };
    expect(line.level).toBe(30);
    expect(line.msg).toBe('actra decision');
    expect(line.decision).toMatchObject({
      decisionId: result.decisionId,
      requestId: 'req-1',
      mode: 'enforce',
      action: { type: 'refund', fields: { amount: 10, currency: 'EUR' } },
      actorRef: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      effect: 'allow',
      enforcedEffect: 'allow',
      route: '/refunds',
      method: 'POST',
      policyHash: refundPolicy().policyHash(),
    });
    expect(typeof line.decision['durationMs']).toBe('number');
    expect(line.decision['actorId']).toBeUndefined();
  });

  it('logs blocks at warn (also in monitor mode) and failures at error', async () => {
    const { runtime, lines } = runtimeLogging({}, 'monitor');
    await runtime.check({ action: { type: 'transfer', amount: 10 ** 12 } });
    await runtime.check({ action: { type: 'refund', amount: 'x', currency: 'EUR' } });
    expect(lines.map((l) => l['level'])).toEqual([40, 50]);
    expect((lines[1] as { decision: { error: unknown } }).decision.error).toEqual({ code: 'ACTRA_INPUT' });
  });

  it('never writes claim values or snapshot values', async () => {
    const { runtime, raw } = runtimeLogging();
    await runtime.check({ action: { type: 'transfer', amount: 10 } });
    await runtime.check({ action: { type: 'export', rows: 5 } });
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR', note: 'card 4111-1111' } });
    const text = raw.join('');
    expect(raw).toHaveLength(3);
    for (const value of [secretish.actorId, secretish.email, String(secretish.balance), secretish.region, 'support-tier-secret', '4111']) {
      expect(text).not.toContain(value);
    }
    expect(text).toContain('[redacted]');
  });

  it('follows the message, key, levels and includeFields options', async () => {
    const { runtime, lines } = runtimeLogging({ message: 'admission', key: 'actra', levels: { allow: 'debug' }, includeFields: false });
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect(lines[0]).toMatchObject({ level: 20, msg: 'admission', actra: { action: { type: 'refund' } } });
    expect((lines[0] as { actra: { action: Record<string, unknown> } }).actra.action['fields']).toBeUndefined();
  });

  it('refuses a logger without info/warn/error and invalid options with ACTRA_OPTIONS', () => {
    expect(() => logObserver({ info() {} } as never)).toThrow('logObserver (logger): option "warn" must be a function');
    expect(() => logObserver(pino({ enabled: false }), { levels: { block: 'loud' as never } })).toThrow('logObserver: option "levels.block"');
  });
});

/** The `decision` object of the one line logged for a check by an actor with `actorId`. */
async function loggedFor(actorId: string, options: Parameters<typeof logObserver>[1] = {}): Promise<{ entry: Record<string, unknown>; raw: string }> {
  const { runtime, lines, raw } = runtimeLogging(options, 'enforce', actorId);
  await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
  expect(lines).toHaveLength(1);
  return { entry: (lines[0] as { decision: Record<string, unknown> }).decision, raw: raw.join('') };
}

const KEY = 'a-log-pseudonym-key-of-32-bytes-at-least';
const OTHER_KEY = new Uint8Array(32).fill(7);

/** The documented `actorRef`: the first 16 bytes of HMAC-SHA-256(key, id), base64url. */
function expectedRef(key: string | Uint8Array, actorId: string): string {
  return createHmac('sha256', key).update(actorId, 'utf8').digest().subarray(0, 16).toString('base64url');
}

function optionsError(run: () => unknown): ActraOptionsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ActraOptionsError);
    return error as ActraOptionsError;
  }
  throw new Error('expected ACTRA_OPTIONS');
}

describe('logObserver actor pseudonyms', () => {
  it('writes a keyed actorRef by default and never the plain actor id', async () => {
    const { entry, raw } = await loggedFor(secretish.actorId, { actorRefKey: KEY });
    expect(entry['actorRef']).toBe(expectedRef(KEY, secretish.actorId));
    expect(entry).not.toHaveProperty('actorId');
    expect(raw).not.toContain(secretish.actorId);
  });

  it('gives the same ref for the same id and key, across observers', async () => {
    const first = await loggedFor(secretish.actorId, { actorRefKey: KEY });
    const second = await loggedFor(secretish.actorId, { actorRefKey: KEY });
    expect(second.entry['actorRef']).toBe(first.entry['actorRef']);
  });

  it('gives different refs for different ids, and for different keys', async () => {
    const alice = await loggedFor('actor-alice', { actorRefKey: KEY });
    const bob = await loggedFor('actor-bob', { actorRefKey: KEY });
    const aliceOtherKey = await loggedFor('actor-alice', { actorRefKey: OTHER_KEY });
    expect(bob.entry['actorRef']).not.toBe(alice.entry['actorRef']);
    expect(aliceOtherKey.entry['actorRef']).toBe(expectedRef(OTHER_KEY, 'actor-alice'));
    expect(aliceOtherKey.entry['actorRef']).not.toBe(alice.entry['actorRef']);
  });

  it('uses one random key per process when none is given: stable within the process, not the unkeyed hash', async () => {
    const first = await loggedFor(secretish.actorId);
    const second = await loggedFor(secretish.actorId);
    const other = await loggedFor('actor-bob');
    expect(first.entry['actorRef']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(second.entry['actorRef']).toBe(first.entry['actorRef']);
    expect(other.entry['actorRef']).not.toBe(first.entry['actorRef']);
    expect(first.entry['actorRef']).not.toBe(expectedRef(KEY, secretish.actorId));
    expect(first.raw).not.toContain(secretish.actorId);
  });

  it("writes the plain actor id only with actorId: 'plain'", async () => {
    const { entry } = await loggedFor(secretish.actorId, { actorId: 'plain' });
    expect(entry['actorId']).toBe(secretish.actorId);
    expect(entry).not.toHaveProperty('actorRef');
  });

  it("writes no actor at all with actorId: 'omit'", async () => {
    const { entry, raw } = await loggedFor(secretish.actorId, { actorId: 'omit' });
    expect(entry).not.toHaveProperty('actorId');
    expect(entry).not.toHaveProperty('actorRef');
    expect(raw).not.toContain(secretish.actorId);
  });

  it('writes no actor field when the event has no actor (authentication failed)', async () => {
    const { logger, lines } = pinoLines();
    const runtime = new ActraRuntime(refundPolicy(), {
      actorResolver: () => {
        throw new Error(`token for ${secretish.actorId} expired`);
      },
      observers: [logObserver(logger)],
    });
    await expect(runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } })).rejects.toThrow();
    const entry = (lines[0] as { decision: Record<string, unknown> }).decision;
    expect(entry['error']).toEqual({ code: 'ACTRA_RESOLVER_FAILED', source: 'actorResolver' });
    expect(entry).not.toHaveProperty('actorRef');
    expect(JSON.stringify(lines)).not.toContain(secretish.actorId);
  });

  it('logs only the vetted event fields, never a field it does not know', () => {
    const { logger, lines } = pinoLines();
    const event = {
      decisionId: 'dec_x',
      time: '2026-01-01T00:00:00.000Z',
      mode: 'enforce',
      action: { type: 'refund', fields: { amount: 1 } },
      enforcedEffect: 'allow',
      effect: 'allow',
      policyHash: 'h',
      durationMs: 0.1,
      claims: { email: secretish.email },
    } as unknown as DecisionEvent;
    void logObserver(logger)(event, {});
    expect(lines[0]).toMatchObject({ decision: { decisionId: 'dec_x', action: { type: 'refund', fields: { amount: 1 } } } });
    expect(JSON.stringify(lines[0])).not.toContain(secretish.email);
  });

  it('refuses a bad actorId or actorRefKey with ACTRA_OPTIONS naming the option, never echoing the key', () => {
    const logger = pino({ enabled: false });
    const cases: [Parameters<typeof logObserver>[1], string][] = [
      [{ actorId: 'hashed' as never }, `logObserver: option "actorId" must be 'ref', 'plain' or 'omit'`],
      [{ actorRefKey: 'short-key-9q' }, 'logObserver: option "actorRefKey" must be at least 32 bytes'],
      [{ actorRefKey: 12345 as never }, 'logObserver: option "actorRefKey" must be a string or a Uint8Array'],
      [{ actorId: 'plain', actorRefKey: KEY }, `logObserver: option "actorRefKey" only applies with actorId: 'ref'`],
      [{ actorId: 'omit', actorRefKey: KEY }, `logObserver: option "actorRefKey" only applies with actorId: 'ref'`],
    ];
    for (const [options, message] of cases) {
      const error = optionsError(() => logObserver(logger, options));
      expect({ code: error.code, message: error.message }).toEqual({ code: 'ACTRA_OPTIONS', message });
      expect(error.message).not.toContain('short-key-9q');
      expect(error.message).not.toContain(KEY);
    }
  });

  it('refuses an unknown option (a misspelt actorId) with ACTRA_OPTIONS', () => {
    const error = optionsError(() => logObserver(pino({ enabled: false }), { actorIds: 'plain' } as never));
    expect(error.code).toBe('ACTRA_OPTIONS');
    expect(error.message).toMatch(/^logObserver: option .*actorIds/);
  });
});
