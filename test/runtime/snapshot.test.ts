import { describe, expect, it } from 'vitest';
import { ActraResolverError } from '../../src/errors.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import { Actra } from '../../src/core/actra.js';
import { codegen } from '../../src/core/codegen.js';
import type { Policy } from '../../src/core/types.js';
import type { LoaderContext, SnapshotLoader } from '../../src/runtime/types.js';
import { collector, gate, refundPolicy, rejection } from './fixtures.js';

const alice = { id: 'alice', role: 'support' };

/** A loader counting its calls. */
function counted(name: string, fields: string[], values: Record<string, unknown>, extra: Partial<SnapshotLoader> = {}) {
  const calls: LoaderContext[] = [];
  const loader: SnapshotLoader = {
    name,
    fields,
    load(context) {
      calls.push(context);
      return values;
    },
    ...extra,
  };
  return { loader, calls };
}

function setup(overrides: { fraud?: Partial<SnapshotLoader>; account?: Partial<SnapshotLoader>; loaderTimeoutMs?: number } = {}) {
  const fraud = counted('fraud', ['fraud_flag'], { fraud_flag: false }, overrides.fraud);
  const account = counted('account', ['balance', 'limit'], { balance: 500, limit: 100 }, overrides.account);
  const region = counted('region', ['region'], { region: 'eu' });
  const events = collector();
  const runtime = new ActraRuntime(refundPolicy(), {
    loaders: [fraud.loader, account.loader, region.loader],
    actorResolver: () => alice,
    observers: [events.observer],
    ...(overrides.loaderTimeoutMs === undefined ? {} : { loaderTimeoutMs: overrides.loaderTimeoutMs }),
  });
  return { runtime, fraud, account, region, events };
}

describe('snapshot loaders: what is loaded', () => {
  it('calls only the loaders for fields the action’s rules read', async () => {
    const { runtime, fraud, account, region } = setup();
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect([fraud.calls.length, account.calls.length, region.calls.length]).toEqual([1, 0, 0]);
    await runtime.check({ action: { type: 'export', rows: 5 } });
    expect([fraud.calls.length, account.calls.length, region.calls.length]).toEqual([1, 1, 0]);
    await runtime.check({ action: { type: 'ping' } });
    expect([fraud.calls.length, account.calls.length, region.calls.length]).toEqual([1, 1, 0]);
  });

  it('calls each loader at most once per check, even for several of its fields', async () => {
    const { runtime, fraud, account } = setup();
    const result = await runtime.check({ action: { type: 'transfer', amount: 50 } });
    expect(result.decision?.effect).toBe('allow');
    expect(fraud.calls).toHaveLength(1);
    expect(account.calls).toHaveLength(1);
  });

  it('gives loaders the action, the actor, the context and an abort signal', async () => {
    const { runtime, fraud } = setup();
    const ctx = { tenant: 't1' };
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' }, ctx });
    const call = fraud.calls[0] as LoaderContext;
    expect(call.action).toEqual({ type: 'refund', amount: 10, currency: 'EUR' });
    expect(call.actor).toBe(alice);
    expect(call.ctx).toBe(ctx);
    expect(call.signal).toBeInstanceOf(AbortSignal);
    expect(call.signal.aborted).toBe(false);
  });

  it('runs the loaders of one check concurrently', async () => {
    const order: string[] = [];
    const bothStarted = gate();
    let started = 0;
    function slow(name: string, values: Record<string, unknown>): Partial<SnapshotLoader> {
      return {
        async load() {
          order.push(`start:${name}`);
          started += 1;
          if (started === 2) bothStarted.open();
          // Finishes only once the other loader has started: a sequential runtime would time out here.
          await bothStarted.promise;
          order.push(`end:${name}`);
          return values;
        },
      };
    }
    const { runtime } = setup({ fraud: slow('fraud', { fraud_flag: false }), account: slow('account', { balance: 500, limit: 1 }) });
    const result = await runtime.check({ action: { type: 'transfer', amount: 50 } });
    expect(result.outcome).toBe('allow');
    expect(order.slice(0, 2).sort()).toEqual(['start:account', 'start:fraud']);
    expect(order.slice(2).sort()).toEqual(['end:account', 'end:fraud']);
  });

  it('computes the loaders of an action type once', async () => {
    const policy = refundPolicy();
    let readsForCalls = 0;
    const counting = new Proxy(policy, {
      get(target, property, receiver) {
        if (property === 'readsFor') {
          return (type: string) => {
            readsForCalls += 1;
            return target.readsFor(type);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Policy;
    const runtime = new ActraRuntime(counting, { actorResolver: () => alice, loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) }] });
    for (let i = 0; i < 3; i += 1) await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect(readsForCalls).toBe(1);
  });

  it('loads for an undeclared action type only what global rules read, planned once for all such types', async () => {
    const { runtime, fraud, account, region } = setup();
    const allowed = await runtime.check({ action: { type: 'wire', amount: 10 } });
    expect(allowed.decision).toMatchObject({ effect: 'allow' });
    expect(allowed.decision?.matchedRule).toBeUndefined();
    const guest = await runtime.check({ action: { type: 'wire-2' }, actor: { id: 'g', role: 'guest' } });
    expect(guest.decision?.matchedRule).toBe('block_guest');
    expect([fraud.calls.length, account.calls.length, region.calls.length]).toEqual([0, 0, 0]);
  });

  it.each([
    ['generated', true],
    ['closure', false],
  ])('copies only the fields a loader declares, as own properties (%s copier)', async (_kind, generated) => {
    const before = codegen.enabled;
    codegen.enabled = generated;
    const { runtime, events } = setup({
      fraud: { load: () => JSON.parse('{"fraud_flag": false, "balance": 1, "__proto__": {"polluted": true}}') as Record<string, unknown> },
    });
    try {
      await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    } finally {
      codegen.enabled = before;
    }
    const snapshot = events.details[0]?.input?.snapshot as Record<string, unknown>;
    expect(Object.keys(snapshot)).toEqual(['fraud_flag']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['generated', true],
    ['closure', false],
  ])('loads snapshot fields named like inherited properties (__proto__, constructor) as own fields the rules read (%s copier)', async (_kind, generated) => {
    const policy = Actra.fromStrings(
      `version: 1
actions:
  refund:
    fields: { amount: number }
actor:
  fields: {}
snapshot:
  fields: { __proto__: boolean, constructor: string, fraud_flag: boolean }
`,
      `version: 1
rules:
  - id: proto_flag
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: __proto__ }, operator: equals, value: { literal: true } }
    effect: block
  - id: constructor_name
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: constructor }, operator: equals, value: { literal: evil } }
    effect: block
`,
    );
    const decide = (values: Record<string, unknown>) => {
      const runtime = new ActraRuntime(policy, { actorResolver: () => alice, loaders: [{ name: 'odd', fields: ['__proto__', 'constructor'], load: () => values }] });
      // The plan, and its copier, is made on the first check of the action type.
      const before = codegen.enabled;
      codegen.enabled = generated;
      try {
        return runtime.check({ action: { type: 'refund', amount: 1 } });
      } finally {
        codegen.enabled = before;
      }
    };
    const flagged = await decide(JSON.parse('{"__proto__": true, "constructor": "fine"}') as Record<string, unknown>);
    expect(flagged.decision?.matchedRule).toBe('proto_flag');
    const named = await decide(JSON.parse('{"__proto__": false, "constructor": "evil"}') as Record<string, unknown>);
    expect(named.decision?.matchedRule).toBe('constructor_name');
    const clean = await decide(JSON.parse('{"__proto__": false, "constructor": "fine"}') as Record<string, unknown>);
    expect(clean.outcome).toBe('allow');
    expect(clean.decision?.matchedRule).toBeUndefined();
    // A missing field is never filled from Object.prototype: the reached rule fails closed.
    await expect(decide({ __proto__: null, constructor: 'fine' } as unknown as Record<string, unknown>)).rejects.toMatchObject({ code: 'ACTRA_INPUT' });
  });

  it('fails closed (ACTRA_INPUT) when a loader leaves out a field a reached rule reads', async () => {
    const { runtime } = setup({ fraud: { load: () => ({}) } });
    const error = await rejection(runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } }));
    expect(error.code).toBe('ACTRA_INPUT');
    expect(error.message).toContain('fraud_flag');
  });
});

describe('snapshot loaders: failures', () => {
  it('fails with ACTRA_LOADER_TIMEOUT naming the loader when it hangs, aborts it, and never runs the function', async () => {
    let signal: AbortSignal | undefined;
    const { runtime, events } = setup({
      fraud: {
        timeoutMs: 25,
        load(context) {
          signal = context.signal;
          return new Promise(() => {});
        },
      },
    });
    let ran = false;
    const error = await rejection(
      runtime.admit({ type: 'refund', amount: 10, currency: 'EUR' }, () => {
        ran = true;
      }),
    );
    expect(error).toBeInstanceOf(ActraResolverError);
    expect(error.code).toBe('ACTRA_LOADER_TIMEOUT');
    expect(error.statusCode).toBe(503);
    expect(error.source).toBe('fraud');
    expect(error.message).toBe('snapshot loader "fraud" timed out after 25 ms');
    expect(ran).toBe(false);
    expect(signal?.aborted).toBe(true);
    expect(events.events[0]).toMatchObject({ enforcedEffect: 'block', error: { code: 'ACTRA_LOADER_TIMEOUT', source: 'fraud' } });
    expect(events.events[0]?.effect).toBeUndefined();
  });

  it('uses the runtime default timeout when the loader sets none', async () => {
    const { runtime } = setup({ loaderTimeoutMs: 30, account: { load: () => new Promise(() => {}) } });
    const error = await rejection(runtime.check({ action: { type: 'export', rows: 1 } }));
    expect(error.code).toBe('ACTRA_LOADER_TIMEOUT');
    expect(error.message).toBe('snapshot loader "account" timed out after 30 ms');
  });

  it('fails with ACTRA_LOADER_FAILED naming the loader when it throws, without its message', async () => {
    const thrown = new Error('balance of IBAN DE89370400440532013000 unavailable');
    const { runtime } = setup({
      account: {
        load() {
          throw thrown;
        },
      },
    });
    const error = await rejection(runtime.check({ action: { type: 'export', rows: 1 } }));
    expect(error).toBeInstanceOf(ActraResolverError);
    expect(error.code).toBe('ACTRA_LOADER_FAILED');
    expect(error.source).toBe('account');
    expect(error.message).toBe('snapshot loader "account" failed');
    expect(error.message).not.toContain('DE89');
    expect(error.cause).toBe(thrown);
  });

  it('fails with ACTRA_LOADER_FAILED when a loader rejects or returns a non-object', async () => {
    for (const [load, message] of [
      [() => Promise.reject(new Error('down')), 'snapshot loader "fraud" failed'],
      [() => null, 'snapshot loader "fraud" returned null, not an object'],
      [() => [true], 'snapshot loader "fraud" returned an array, not an object'],
      [() => 42, 'snapshot loader "fraud" returned a number, not an object'],
    ] as const) {
      const { runtime } = setup({ fraud: { load: load as SnapshotLoader['load'] } });
      const error = await rejection(runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } }));
      expect(error.code).toBe('ACTRA_LOADER_FAILED');
      expect(error.message).toBe(message);
    }
  });

  it('aborts the other loaders of a check when one fails', async () => {
    let accountSignal: AbortSignal | undefined;
    const { runtime } = setup({
      fraud: { load: () => Promise.reject(new Error('down')) },
      account: {
        load(context) {
          accountSignal = context.signal;
          return new Promise(() => {});
        },
      },
    });
    const error = await rejection(runtime.check({ action: { type: 'transfer', amount: 5 } }));
    expect(error.code).toBe('ACTRA_LOADER_FAILED');
    expect(accountSignal?.aborted).toBe(true);
  });

  for (const mode of ['monitor', 'warn'] as const) {
    it(`never throws on a loader failure in ${mode} mode, and records it`, async () => {
      const { runtime, events } = setup({ fraud: { timeoutMs: 10, load: () => new Promise(() => {}) } });
      const result = await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' }, mode });
      expect(result.outcome).toBe('allow');
      expect(result.enforcedEffect).toBe('allow');
      expect(result.decision).toBeUndefined();
      expect(result.error?.code).toBe('ACTRA_LOADER_TIMEOUT');
      expect(result.wouldHave).toBe(mode === 'warn' ? 'block' : undefined);
      expect(events.events[0]).toMatchObject({ mode, enforcedEffect: 'allow', error: { code: 'ACTRA_LOADER_TIMEOUT', source: 'fraud' } });
    });
  }
});

describe('whole-snapshot resolver', () => {
  it('uses the fields it returns and lets loaders fill the rest', async () => {
    const { runtime, fraud, account, events } = setup();
    let resolverCalls = 0;
    runtime.setSnapshotResolver(() => {
      resolverCalls += 1;
      return { fraud_flag: false, unknown_field: 'x' };
    });
    await runtime.check({ action: { type: 'transfer', amount: 50 } });
    expect(resolverCalls).toBe(1);
    expect(fraud.calls).toHaveLength(0);
    expect(account.calls).toHaveLength(1);
    // `limit` is the account loader's too, but no transfer rule reads it.
    expect(events.details[0]?.input?.snapshot).toEqual({ fraud_flag: false, balance: 500 });
  });

  it('wins over a loader for the same field', async () => {
    const { runtime } = setup();
    runtime.setSnapshotResolver(() => ({ fraud_flag: true }));
    const result = await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect(result.decision?.matchedRule).toBe('block_fraud');
  });

  it('is not called for an action whose rules read no snapshot field', async () => {
    const { runtime } = setup();
    let resolverCalls = 0;
    runtime.setSnapshotResolver(() => {
      resolverCalls += 1;
      return {};
    });
    await runtime.check({ action: { type: 'ping' } });
    expect(resolverCalls).toBe(0);
  });

  it('fails with ACTRA_LOADER_FAILED (source snapshotResolver) when it throws', async () => {
    const { runtime } = setup();
    runtime.setSnapshotResolver(() => {
      throw new Error('db down');
    });
    const error = await rejection(runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } }));
    expect(error.code).toBe('ACTRA_LOADER_FAILED');
    expect(error.source).toBe('snapshotResolver');
    expect(error.message).toBe('snapshot resolver failed');
  });
});

describe('snapshot loaders: synchronous path', () => {
  it('decides synchronously when the actor resolver and every loader return values', () => {
    const { runtime, fraud, events } = setup();
    const decided = runtime.decide({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect(typeof (decided as { then?: unknown }).then).toBe('undefined');
    expect(decided).toMatchObject({ outcome: 'allow', enforcedEffect: 'allow', decision: { effect: 'allow' } });
    expect(fraud.calls).toHaveLength(1);
    expect(events.events).toHaveLength(1);
  });

  it('answers with a promise, and the same outcome, when a loader returns one', async () => {
    const { runtime } = setup({ fraud: { load: async () => ({ fraud_flag: true }) } });
    const decided = runtime.decide({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    expect(decided).toBeInstanceOf(Promise);
    expect(await decided).toMatchObject({ outcome: 'block', decision: { effect: 'block', matchedRule: 'block_fraud' } });
  });

  it('throws ACTRA_LOADER_FAILED synchronously from decide when a synchronous loader throws', () => {
    const { runtime, events } = setup({
      fraud: {
        load() {
          throw new Error('secret-value');
        },
      },
    });
    expect(() => runtime.decide({ action: { type: 'refund', amount: 10, currency: 'EUR' } })).toThrow(
      expect.objectContaining({ code: 'ACTRA_LOADER_FAILED', source: 'fraud', message: 'snapshot loader "fraud" failed' }),
    );
    expect(events.events[0]).toMatchObject({ enforcedEffect: 'block', error: { code: 'ACTRA_LOADER_FAILED', source: 'fraud' } });
  });

  it('aborts the signal of a lone loader that throws or returns a non-object synchronously', () => {
    for (const fail of [
      () => {
        throw new Error('down');
      },
      () => 'not an object',
    ]) {
      let context: LoaderContext | undefined;
      const { runtime } = setup({
        fraud: {
          load(given) {
            context = given;
            return fail() as never;
          },
        },
      });
      let thrown: unknown;
      try {
        runtime.decide({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'ACTRA_LOADER_FAILED', source: 'fraud' });
      expect(context?.signal.aborted).toBe(true);
      expect(context?.signal.reason).toBe(thrown);
    }
  });

  it('gives a synchronous loader a signal that is not aborted after its check succeeded', async () => {
    const { runtime, fraud } = setup();
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    const call = fraud.calls[0] as LoaderContext;
    expect(call.signal.aborted).toBe(false);
  });

  it('hands an aborted signal to a loader that first reads it after another loader failed', async () => {
    let context: LoaderContext | undefined;
    let release: (() => void) | undefined;
    const { runtime } = setup({
      fraud: { load: () => Promise.reject(new Error('down')) },
      account: {
        load(given) {
          context = given;
          return new Promise((resolve) => {
            release = () => resolve({ balance: 1, limit: 1 });
          });
        },
      },
    });
    const error = await rejection(runtime.check({ action: { type: 'transfer', amount: 5 } }));
    expect(error.code).toBe('ACTRA_LOADER_FAILED');
    expect(context?.signal.aborted).toBe(true);
    expect(context?.signal.reason).toBe(error);
    release?.();
  });
});
