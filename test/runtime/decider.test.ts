import { describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/approvals.js';
import { MemoryApprovalStore } from '../../src/approvals/stores/memory-store.js';
import { ActraRuntime, type CheckMaker, type DecideParts, type RuntimeOptions } from '../../src/runtime/runtime.js';
import type { Actor, CheckRequest, DecisionEvent, Mode, SnapshotLoader } from '../../src/runtime/types.js';
import { collector, refundPolicy } from './fixtures.js';

/**
 * `runtime.decider(type)` is `decide` with its first steps done once per action type. Every request
 * below goes through both, on two runtimes set up alike, and must come out the same: result or
 * error, events, and the calls each loader got.
 */

type LoaderKind = 'sync' | 'async' | 'throws' | 'rejects' | 'not-an-object';

interface Scenario {
  readonly action: Record<string, unknown>;
  readonly actor?: unknown;
  readonly mode?: Mode;
  readonly runtimeMode?: Mode;
  readonly loader?: LoaderKind;
  readonly fraud?: boolean;
  readonly observed?: boolean;
  readonly resolver?: boolean;
  readonly approvals?: boolean;
}

function setup(scenario: Scenario) {
  let ids = 0;
  const calls: string[] = [];
  const fraud = scenario.fraud ?? false;
  const value = { fraud_flag: fraud, balance: 100, limit: 10 };
  const kind = scenario.loader ?? 'sync';
  const loader: SnapshotLoader = {
    name: 'account',
    fields: ['fraud_flag', 'balance', 'limit'],
    load({ action }) {
      calls.push(String(action.type));
      switch (kind) {
        case 'sync':
          return value;
        case 'async':
          return Promise.resolve(value);
        case 'throws':
          throw new Error('account service down: secret-value');
        case 'rejects':
          return Promise.reject(new Error('account service down: secret-value'));
        case 'not-an-object':
          return 42 as unknown as Record<string, unknown>;
      }
    },
  };
  const events = collector();
  const policy = refundPolicy();
  const options: RuntimeOptions = {
    loaders: [loader],
    idGenerator: (what) => `${what}-${++ids}`,
    now: () => Date.UTC(2026, 11, 7),
    actorResolver: () => ({ id: 'resolved', role: 'support' }),
    ...(scenario.runtimeMode === undefined ? {} : { mode: scenario.runtimeMode }),
    ...(scenario.observed ? { observers: [events.observer] } : {}),
    ...(scenario.resolver ? { snapshotResolver: () => ({ region: 'eu' }) } : {}),
    ...(scenario.approvals ? { approvals: new Approvals({ policy, store: new MemoryApprovalStore() }) } : {}),
  };
  return { runtime: new ActraRuntime(policy, options), calls, events };
}

function request(scenario: Scenario): CheckRequest {
  return {
    action: scenario.action as CheckRequest['action'],
    ...(scenario.actor === undefined ? {} : { actor: scenario.actor as Actor }),
    ...(scenario.mode === undefined ? {} : { mode: scenario.mode }),
    method: 'POST',
    route: '/refunds/:id',
    requestId: 'req-given',
  };
}

/** What a check came to, comparable across runtimes (approval ids and times are random). */
async function settle(run: () => unknown): Promise<unknown> {
  try {
    const result = (await run()) as Record<string, unknown>;
    const approval = result['approval'] as Record<string, unknown> | undefined;
    return { result: { ...result, ...(approval === undefined ? {} : { approval: { status: approval['status'] } }) } };
  } catch (error) {
    const e = error as { name: string; code?: string; message: string; source?: string };
    return { error: { name: e.name, code: e.code, message: e.message, source: e.source } };
  }
}

/** The check maker a guard gives: a plain check from the parts, counted. */
function maker() {
  const made: CheckRequest[] = [];
  const check: CheckMaker<unknown> = (action, ctx, actor, mode, method, route, requestId) => {
    const request = { action, ctx, actor, mode, method, route, requestId } as CheckRequest;
    made.push(request);
    return request;
  };
  return { check, made };
}

/** `request(scenario)` taken apart, as a guard calls a decider. */
function parts(decideAction: DecideParts<unknown>, r: CheckRequest) {
  return decideAction(r.action, r.ctx, r.actor, r.mode, r.method, r.route, r.requestId);
}

function same(scenario: Scenario) {
  return async () => {
    const viaDecide = setup(scenario);
    const viaDecider = setup(scenario);
    const { check, made } = maker();
    const decideAction = viaDecider.runtime.decider('refund', check);
    const expected = await settle(() => viaDecide.runtime.decide(request(scenario)));
    const actual = await settle(() => parts(decideAction, request(scenario)));
    // A check object is made only for what goes on through decide: never for an allowed, unobserved decision in enforce mode.
    const fastPath = (expected as { result?: { outcome?: string } }).result?.outcome === 'allow' && !scenario.observed && (scenario.mode ?? scenario.runtimeMode ?? 'enforce') === 'enforce' && scenario.actor !== undefined && (scenario.loader ?? 'sync') === 'sync' && !scenario.resolver;
    expect(made.length).toBe(fastPath ? 0 : 1);
    expect(actual).toEqual(expected);
    expect(viaDecider.calls).toEqual(viaDecide.calls);
    // Approval ids are random: an event names one or not, alike.
    const comparable = (e: DecisionEvent) => ({ ...e, durationMs: 0, ...(e.approvalId === undefined ? {} : { approvalId: 'apr' }) });
    expect(viaDecider.events.events.map(comparable)).toEqual(viaDecide.events.events.map(comparable));
    expect(viaDecider.events.details).toEqual(viaDecide.events.details);
    return { expected, calls: viaDecide.calls };
  };
}

const support = { id: 'alice', role: 'support' };
const small = { type: 'refund', amount: 49, currency: 'EUR' };
const large = { type: 'refund', amount: 5000, currency: 'EUR' };

describe('runtime.decider: the same decisions as decide', () => {
  it('allows in one pass: the same result, ids in the same order, the loader called once', async () => {
    const { expected, calls } = await same({ action: small, actor: support })();
    expect(expected).toEqual({ result: { decisionId: 'decision-1', mode: 'enforce', requestId: 'req-given', outcome: 'allow', enforcedEffect: 'allow', actor: support, decision: expect.objectContaining({ effect: 'allow' }) } });
    expect(calls).toEqual(['refund']);
  });

  it('tells an observer added while the loaders ran, as decide does', async () => {
    const outcomes: unknown[] = [];
    for (const via of ['decide', 'decider'] as const) {
      const events = collector();
      let runtime!: ActraRuntime;
      const loader: SnapshotLoader = {
        name: 'account',
        fields: ['fraud_flag', 'balance', 'limit'],
        load() {
          runtime.addDecisionObserver(events.observer);
          return { fraud_flag: false, balance: 1, limit: 1 };
        },
      };
      runtime = new ActraRuntime(refundPolicy(), { loaders: [loader] });
      const r = request({ action: small, actor: support });
      const result = via === 'decide' ? await runtime.decide(r) : await parts(runtime.decider('refund', maker().check), r);
      outcomes.push({ outcome: result.outcome, events: events.events.map((e) => e.enforcedEffect) });
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[0]).toEqual({ outcome: 'allow', events: ['allow'] });
  });

  it('answers synchronously where decide does', () => {
    const { runtime } = setup({ action: small });
    const result = parts(runtime.decider('refund', maker().check), request({ action: small, actor: support }));
    expect(result).not.toBeInstanceOf(Promise);
    expect((result as { outcome: string }).outcome).toBe('allow');
  });

  const cases: [string, Scenario][] = [
    ['a block', { action: small, actor: support, fraud: true }],
    ['a block in monitor mode', { action: small, actor: support, fraud: true, mode: 'monitor' }],
    ['a block in warn mode', { action: small, actor: support, fraud: true, mode: 'warn' }],
    ['a block under a runtime in monitor mode', { action: small, actor: support, fraud: true, runtimeMode: 'monitor' }],
    ['enforce asked of a monitoring runtime', { action: small, actor: support, fraud: true, runtimeMode: 'monitor', mode: 'enforce' }],
    ['an approval required, no gate', { action: large, actor: support }],
    ['an approval required, with a gate (pending)', { action: large, actor: support, approvals: true }],
    ['an approval required, observed', { action: large, actor: support, approvals: true, observed: true }],
    ['an allow, observed', { action: small, actor: support, observed: true }],
    ['a block, observed', { action: small, actor: support, fraud: true, observed: true }],
    ['a loader that answers with a promise', { action: small, actor: support, loader: 'async' }],
    ['a loader that answers with a promise, then a block', { action: small, actor: support, loader: 'async', fraud: true, observed: true }],
    ['a loader that throws', { action: small, actor: support, loader: 'throws' }],
    ['a loader that throws, observed', { action: small, actor: support, loader: 'throws', observed: true }],
    ['a loader that throws, in warn mode', { action: small, actor: support, loader: 'throws', mode: 'warn', observed: true }],
    ['a loader that rejects', { action: small, actor: support, loader: 'rejects', observed: true }],
    ['a loader that returns a non-object', { action: small, actor: support, loader: 'not-an-object', observed: true }],
    ['a whole-snapshot resolver', { action: small, actor: support, resolver: true }],
    ['no actor given (the resolver is asked)', { action: small }],
    ['an actor without an id', { action: small, actor: { role: 'support' }, observed: true }],
    ['an actor that is not an object', { action: small, actor: 'alice' }],
    ['an action of another type', { action: { type: 'transfer', amount: 500 }, actor: support, observed: true }],
    ['an action without a type', { action: { amount: 5 }, actor: support }],
    ['an action field of the wrong type', { action: { type: 'refund', amount: 'five', currency: 'EUR' }, actor: support, observed: true }],
    ['a guest (a global rule)', { action: small, actor: { id: 'g', role: 'guest' } }],
    ['an invalid mode', { action: small, actor: support, mode: 'audit' as Mode }],
  ];
  for (const [name, scenario] of cases) it(`… for ${name}`, same(scenario));
});
