import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { logObserver } from '../../src/observability/log-observer.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
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
  email: 'alice.private@example.test',
  balance: 987654321,
  region: 'secret-region-zz',
};

function runtimeLogging(options: Parameters<typeof logObserver>[1] = {}, mode: 'enforce' | 'monitor' = 'enforce') {
  const { logger, lines, raw } = pinoLines();
  const runtime = new ActraRuntime(refundPolicy(), {
    mode,
    loaders: [
      { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) },
      { name: 'account', fields: ['balance', 'limit'], load: () => ({ balance: secretish.balance, limit: 10 }) },
      { name: 'region', fields: ['region'], load: () => ({ region: secretish.region }) },
    ],
    actorResolver: () => ({ id: 'alice', role: 'support-tier-secret', email: secretish.email }),
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
      actorId: 'alice',
      effect: 'allow',
      enforcedEffect: 'allow',
      route: '/refunds',
      method: 'POST',
      policyHash: refundPolicy().policyHash(),
    });
    expect(typeof line.decision['durationMs']).toBe('number');
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
    for (const value of [secretish.email, String(secretish.balance), secretish.region, 'support-tier-secret', '4111']) {
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
