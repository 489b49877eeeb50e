import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { ActraApprovalError, ActraAuthError, ActraError, ActraOptionsError, ActraResolverError } from '../../src/errors.js';
import { Approvals } from '../../src/approvals/approvals.js';
import { MemoryApprovalStore } from '../../src/approvals/stores/memory-store.js';
import { ActraApprovalRequiredError, ActraBlockedError } from '../../src/runtime/errors.js';
import { ActraRuntime, type RuntimeOptions } from '../../src/runtime/runtime.js';
import type { Decision } from '../../src/core/types.js';
import type { Actor, CheckResult, DecisionEvent, SnapshotLoader } from '../../src/runtime/types.js';
import { collector, refundPolicy, rejection } from './fixtures.js';

const alice: Actor = { id: 'alice', role: 'support', email: 'alice@example.test' };
const manager: Actor = { id: 'mona', role: 'manager' };
const small = { type: 'refund', amount: 10, currency: 'EUR' } as const;
const large = { type: 'refund', amount: 5000, currency: 'EUR' } as const;

function fraudLoader(flag = false): SnapshotLoader {
  return { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: flag }) };
}

function runtimeWith(options: RuntimeOptions = {}) {
  const events = collector();
  const runtime = new ActraRuntime(refundPolicy(), {
    loaders: [fraudLoader(), { name: 'account', fields: ['balance', 'limit'], load: () => ({ balance: 100, limit: 10 }) }],
    actorResolver: () => alice,
    observers: [events.observer],
    ...options,
  });
  return { runtime, events };
}

async function approvalsFor(now?: () => number) {
  const store = new MemoryApprovalStore();
  await store.init();
  return new Approvals({ store, policy: refundPolicy(), ...(now === undefined ? {} : { now }) });
}

function expectOptionsError(make: () => unknown, message: string): void {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ActraOptionsError);
  expect((caught as ActraOptionsError).code).toBe('ACTRA_OPTIONS');
  expect((caught as ActraOptionsError).message).toContain(message);
}

describe('ActraRuntime construction', () => {
  it('refuses an unknown mode, naming the option', () => {
    expectOptionsError(() => new ActraRuntime(refundPolicy(), { mode: 'strict' as never }), 'ActraRuntime: option "mode"');
  });
  it('refuses a non-positive loader timeout', () => {
    expectOptionsError(() => new ActraRuntime(refundPolicy(), { loaderTimeoutMs: 0 }), 'option "loaderTimeoutMs"');
  });
  it('refuses an unknown option', () => {
    expectOptionsError(() => new ActraRuntime(refundPolicy(), { loader: [] } as never), 'Unrecognized key');
  });
  it('refuses two loaders declaring the same field', () => {
    expectOptionsError(
      () => new ActraRuntime(refundPolicy(), { loaders: [fraudLoader(), { name: 'risk', fields: ['region', 'fraud_flag'], load: () => ({}) }] }),
      'loaders "fraud" and "risk" both declare snapshot field "fraud_flag"',
    );
  });
  it('refuses a loader field the schema does not declare', () => {
    expectOptionsError(
      () => new ActraRuntime(refundPolicy(), { loaders: [{ name: 'geo', fields: ['country'], load: () => ({}) }] }),
      'loader "geo": snapshot field "country" is not declared in the schema',
    );
  });
  it('refuses an approval gate without open/resume and a policy that is not compiled', () => {
    expectOptionsError(() => new ActraRuntime(refundPolicy(), { approvals: {} as never }), 'option "approvals" must have open() and resume()');
    expectOptionsError(() => new ActraRuntime({} as never), 'policy must be a compiled Policy');
  });
  it('refuses non-functions in the Actra-style setters', () => {
    const { runtime } = runtimeWith();
    expectOptionsError(() => runtime.setActorResolver('alice' as never), 'setActorResolver: expected a function, got a string');
    expectOptionsError(() => runtime.setSnapshotResolver(null as never), 'setSnapshotResolver: expected a function, got null');
    expectOptionsError(() => runtime.setDecisionObserver(undefined as never), 'setDecisionObserver');
  });
});

describe('evaluate, allow, block, requiresApproval', () => {
  it('returns the decision of the compiled policy', async () => {
    const { runtime } = runtimeWith();
    expect(await runtime.evaluate(small)).toEqual({ effect: 'allow', policyHash: refundPolicy().policyHash() });
    expect(await runtime.evaluate(large)).toMatchObject({ effect: 'require_approval', matchedRule: 'approve_large_refund', reason: 'refund.large', risk: 'medium' });
    expect(await runtime.allow(small)).toBe(true);
    expect(await runtime.block(small)).toBe(false);
    expect(await runtime.requiresApproval(large)).toBe(true);
    expect(await runtime.block({ type: 'transfer', amount: 1000 })).toBe(true);
  });

  it('passes the context to the actor resolver and uses the actor it returns', async () => {
    const { runtime } = runtimeWith();
    const seen: unknown[] = [];
    runtime.setActorResolver((ctx) => {
      seen.push(ctx);
      return { id: 'g', role: 'guest' };
    });
    const decision = await runtime.evaluate(small, { session: 's1' });
    expect(seen).toEqual([{ session: 's1' }]);
    expect(decision.matchedRule).toBe('block_guest');
  });

  it('uses an actor given in the call options instead of the resolver', async () => {
    const { runtime } = runtimeWith({ actorResolver: () => { throw new Error('must not be called'); } });
    expect((await runtime.evaluate(small, undefined, { actor: { id: 'g', role: 'guest' } })).matchedRule).toBe('block_guest');
  });

  it('throws ACTRA_INPUT for a wrongly typed action field, naming the field', async () => {
    const { runtime, events } = runtimeWith();
    const error = await rejection(runtime.evaluate({ type: 'refund', amount: '5000', currency: 'EUR' }));
    expect(error.code).toBe('ACTRA_INPUT');
    expect(error.statusCode).toBe(400);
    expect(error.message).toContain('amount');
    expect(error.message).not.toContain('5000');
    expect(events.events[0]).toMatchObject({ enforcedEffect: 'block', error: { code: 'ACTRA_INPUT' } });
  });

  it('throws ACTRA_INPUT for an action that is not an object with a type', async () => {
    const { runtime } = runtimeWith();
    const error = await rejection(runtime.evaluate({ amount: 1 } as never));
    expect(error.code).toBe('ACTRA_INPUT');
    expect(error.message).toBe('action must be an object with a non-empty string "type"');
  });

  it('fails with ACTRA_RESOLVER_FAILED without an actor resolver', async () => {
    const runtime = new ActraRuntime(refundPolicy(), { loaders: [fraudLoader()] });
    const error = await rejection(runtime.evaluate(small));
    expect(error).toBeInstanceOf(ActraResolverError);
    expect(error.code).toBe('ACTRA_RESOLVER_FAILED');
    expect(error.message).toBe('no actor given and no actor resolver configured');
  });

  it('wraps a failing actor resolver in ACTRA_RESOLVER_FAILED without its message', async () => {
    const thrown = new Error('session for alice@example.test expired');
    const { runtime } = runtimeWith({ actorResolver: () => { throw thrown; } });
    const error = await rejection(runtime.check({ action: small, mode: 'monitor' }));
    expect(error.code).toBe('ACTRA_RESOLVER_FAILED');
    expect(error.statusCode).toBe(503);
    expect(error.message).toBe('actor resolver failed');
    expect(error.cause).toBe(thrown);
  });

  it('lets ActraAuthError from the resolver through as a 401, in every mode', async () => {
    const auth = new ActraAuthError('token expired');
    const { runtime, events } = runtimeWith({ actorResolver: () => { throw auth; } });
    for (const mode of ['enforce', 'monitor', 'warn'] as const) {
      expect(await rejection(runtime.check({ action: small, mode }))).toBe(auth);
    }
    expect(events.events.map((e) => e.error?.code)).toEqual(['ACTRA_UNAUTHENTICATED', 'ACTRA_UNAUTHENTICATED', 'ACTRA_UNAUTHENTICATED']);
    expect(events.events[0]?.actorId).toBeUndefined();
  });

  it('refuses an actor without a string id', async () => {
    const { runtime } = runtimeWith({ actorResolver: () => ({ role: 'support' }) as never });
    const error = await rejection(runtime.evaluate(small));
    expect(error.code).toBe('ACTRA_RESOLVER_FAILED');
    expect(error.message).toBe('actor must have a non-empty string id');
  });
});

describe('check: modes', () => {
  it('enforce: blocks a blocked action and allows an allowed one', async () => {
    const { runtime } = runtimeWith();
    const blocked = await runtime.check({ action: { type: 'transfer', amount: 1000 } });
    expect(blocked).toMatchObject({ outcome: 'block', enforcedEffect: 'block', mode: 'enforce', decision: { effect: 'block', matchedRule: 'block_transfer_over_balance' } });
    expect(blocked.actor).toBe(alice);
    const allowed = await runtime.check({ action: small });
    expect(allowed).toMatchObject({ outcome: 'allow', enforcedEffect: 'allow', decision: { effect: 'allow' } });
    expect(allowed.wouldHave).toBeUndefined();
  });

  it('monitor: allows, records what would have happened, says nothing to the caller', async () => {
    const { runtime, events } = runtimeWith({ mode: 'monitor' });
    const result = await runtime.check({ action: { type: 'transfer', amount: 1000 } });
    expect(result).toMatchObject({ outcome: 'allow', enforcedEffect: 'allow', mode: 'monitor', decision: { effect: 'block' } });
    expect(result.wouldHave).toBeUndefined();
    expect(events.events[0]).toMatchObject({ mode: 'monitor', effect: 'block', enforcedEffect: 'allow', rule: 'block_transfer_over_balance' });
  });

  it('warn: allows and tells the caller what enforce would have done', async () => {
    const { runtime } = runtimeWith({ mode: 'warn' });
    expect((await runtime.check({ action: { type: 'transfer', amount: 1000 } })).wouldHave).toBe('block');
    expect((await runtime.check({ action: large })).wouldHave).toBe('require_approval');
    const allowed = await runtime.check({ action: small });
    expect(allowed.outcome).toBe('allow');
    expect(allowed.wouldHave).toBeUndefined();
  });

  it('lets a request override the runtime mode', async () => {
    const { runtime } = runtimeWith({ mode: 'monitor' });
    expect((await runtime.check({ action: { type: 'transfer', amount: 1000 }, mode: 'enforce' })).outcome).toBe('block');
    const enforcing = runtimeWith().runtime;
    expect((await enforcing.check({ action: { type: 'transfer', amount: 1000 }, mode: 'warn' })).outcome).toBe('allow');
  });

  it('monitor: never fails on an input error, and reports it', async () => {
    const { runtime } = runtimeWith({ mode: 'monitor' });
    const result = await runtime.check({ action: { type: 'refund', amount: 'lots', currency: 'EUR' } });
    expect(result.outcome).toBe('allow');
    expect(result.error?.code).toBe('ACTRA_INPUT');
  });

  it('refuses an unknown mode on a request', async () => {
    const { runtime } = runtimeWith();
    const error = await rejection(runtime.check({ action: small, mode: 'loud' as never }));
    expect(error.code).toBe('ACTRA_OPTIONS');
  });
});

describe('check: approvals', () => {
  it('opens an approval for require_approval and returns pending; a retry returns the same approval', async () => {
    const approvals = await approvalsFor();
    const { runtime, events } = runtimeWith({ approvals });
    const first = await runtime.check({ action: large, method: 'POST', route: '/refunds' });
    expect(first.outcome).toBe('pending');
    expect(first.enforcedEffect).toBe('require_approval');
    expect(first.approval).toMatchObject({ status: 'pending', created: true });
    expect(first.approval?.id).toMatch(/^apr_/);
    const again = await runtime.check({ action: large, method: 'POST', route: '/refunds' });
    expect(again.approval).toMatchObject({ id: first.approval?.id, created: false });
    expect(await approvals.list({})).toHaveLength(1);
    expect(events.events[0]).toMatchObject({ enforcedEffect: 'require_approval', approvalId: first.approval?.id, method: 'POST', route: '/refunds' });
  });

  it('consumes an approved approval exactly once, then refuses it as consumed', async () => {
    const approvals = await approvalsFor();
    const { runtime, events } = runtimeWith({ approvals });
    const opened = await runtime.check({ action: large, method: 'POST', route: '/refunds' });
    const id = opened.approval?.id as string;
    const early = await runtime.check({ action: large, method: 'POST', route: '/refunds', approvalId: id });
    expect(early).toMatchObject({ outcome: 'pending', approval: { id, status: 'pending' } });
    await approvals.decide(id, { verdict: 'approve', approver: manager });
    const resumed = await runtime.check({ action: large, method: 'POST', route: '/refunds', approvalId: id });
    expect(resumed).toMatchObject({ outcome: 'allow', enforcedEffect: 'allow', approval: { id, status: 'consumed' }, decision: { effect: 'require_approval' } });
    expect(events.events.at(-1)).toMatchObject({ effect: 'require_approval', enforcedEffect: 'allow', approvalId: id });
    const reused = await runtime.check({ action: large, method: 'POST', route: '/refunds', approvalId: id });
    expect(reused.outcome).toBe('refused');
    expect(reused.refusal).toBeInstanceOf(ActraApprovalError);
    expect(reused.refusal?.code).toBe('ACTRA_APPROVAL_CONSUMED');
    expect(reused.refusal?.message).toBe('approval was already used');
    expect(reused.approval).toBeUndefined();
  });

  it('lets exactly one of several concurrent resumes through', async () => {
    const approvals = await approvalsFor();
    const { runtime } = runtimeWith({ approvals });
    const id = (await runtime.check({ action: large, method: 'POST', route: '/refunds' })).approval?.id as string;
    await approvals.decide(id, { verdict: 'approve', approver: manager });
    const results = await Promise.all(Array.from({ length: 8 }, () => runtime.check({ action: large, method: 'POST', route: '/refunds', approvalId: id })));
    expect(results.filter((r) => r.outcome === 'allow')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'refused' && r.refusal?.code === 'ACTRA_APPROVAL_CONSUMED')).toHaveLength(7);
  });

  it('refuses a denied, a mismatched, an unknown and an expired approval, each with its code', async () => {
    let clock = Date.UTC(2030, 0, 1);
    const approvals = await approvalsFor(() => clock);
    const { runtime } = runtimeWith({ approvals });
    const refusal = async (approvalId: string, action: Record<string, unknown> & { type: string } = large): Promise<CheckResult> =>
      runtime.check({ action, method: 'POST', route: '/refunds', approvalId });

    const denied = (await runtime.check({ action: { ...large, amount: 2000 }, method: 'POST', route: '/refunds' })).approval?.id as string;
    await approvals.decide(denied, { verdict: 'deny', approver: manager });
    expect((await refusal(denied, { ...large, amount: 2000 })).refusal?.code).toBe('ACTRA_APPROVAL_DENIED');

    const approved = (await runtime.check({ action: large, method: 'POST', route: '/refunds' })).approval?.id as string;
    await approvals.decide(approved, { verdict: 'approve', approver: manager });
    const mismatch = await refusal(approved, { ...large, amount: 9000 });
    expect(mismatch).toMatchObject({ outcome: 'refused', enforcedEffect: 'block' });
    expect(mismatch.refusal?.code).toBe('ACTRA_APPROVAL_MISMATCH');
    expect(mismatch.refusal?.message).toBe('approval was granted for another request');

    expect((await refusal('apr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).refusal?.code).toBe('ACTRA_APPROVAL_NOT_FOUND');

    clock += 16 * 60 * 1000;
    expect((await refusal(approved)).refusal?.code).toBe('ACTRA_APPROVAL_EXPIRED');
  });

  it('never overrides a block with an approval', async () => {
    const approvals = await approvalsFor();
    const { runtime } = runtimeWith({ approvals });
    const id = (await runtime.check({ action: large, method: 'POST', route: '/refunds' })).approval?.id as string;
    await approvals.decide(id, { verdict: 'approve', approver: manager });
    const fraudulent = new ActraRuntime(refundPolicy(), { loaders: [fraudLoader(true)], actorResolver: () => alice, approvals });
    const blocked = await fraudulent.check({ action: large, method: 'POST', route: '/refunds', approvalId: id });
    expect(blocked).toMatchObject({ outcome: 'block', decision: { matchedRule: 'block_fraud' } });
    expect(blocked.approval).toBeUndefined();
    expect((await approvals.get(id, alice)).status).toBe('approved');
  });

  it('fails closed (block) for require_approval when no approval gate is configured', async () => {
    const { runtime } = runtimeWith();
    const result = await runtime.check({ action: large });
    expect(result).toMatchObject({ outcome: 'block', enforcedEffect: 'block', decision: { effect: 'require_approval' } });
  });

  it('never opens approvals in monitor or warn mode', async () => {
    const approvals = await approvalsFor();
    const { runtime } = runtimeWith({ approvals, mode: 'monitor' });
    expect((await runtime.check({ action: large })).outcome).toBe('allow');
    expect((await runtime.check({ action: large, mode: 'warn' })).outcome).toBe('allow');
    expect(await approvals.list({})).toHaveLength(0);
  });

  it('fails with ACTRA_STORE_FAILED when the approval gate throws', async () => {
    const approvals = await approvalsFor();
    const broken = { open: () => Promise.reject(new Error('connection reset')), resume: approvals.resume.bind(approvals) };
    const { runtime, events } = runtimeWith({ approvals: broken });
    const error = await rejection(runtime.check({ action: large }));
    expect(error.code).toBe('ACTRA_STORE_FAILED');
    expect(error.statusCode).toBe(503);
    expect(error.message).toBe('approval gate failed');
    expect(events.events[0]).toMatchObject({ enforcedEffect: 'block', error: { code: 'ACTRA_STORE_FAILED' } });
  });
});

describe('admit', () => {
  it('runs the function on allow and resolves to its result', async () => {
    const { runtime } = runtimeWith();
    expect(await runtime.admit(small, () => 'refunded')).toBe('refunded');
    expect(await runtime.admit(small, async () => 42)).toBe(42);
  });

  it('throws ActraBlockedError carrying the decision and never runs the function', async () => {
    const { runtime } = runtimeWith();
    let ran = false;
    const error = await rejection(runtime.admit({ type: 'transfer', amount: 1000 }, () => { ran = true; }));
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(ActraBlockedError);
    expect(error.code).toBe('ACTRA_BLOCKED');
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe('action "transfer" blocked by rule "block_transfer_over_balance" (transfer.over_balance)');
    expect((error as ActraBlockedError).decision).toMatchObject({ effect: 'block', matchedRule: 'block_transfer_over_balance' });
  });

  it('throws ActraApprovalRequiredError with the approval id, then runs once after approval', async () => {
    const approvals = await approvalsFor();
    const { runtime } = runtimeWith({ approvals });
    let runs = 0;
    const refund = () => {
      runs += 1;
      return 'done';
    };
    const error = await rejection(runtime.admit(large, refund));
    expect(error).toBeInstanceOf(ActraApprovalRequiredError);
    const required = error as ActraApprovalRequiredError;
    expect(required.code).toBe('ACTRA_APPROVAL_REQUIRED');
    expect(required.approvalId).toMatch(/^apr_/);
    expect(required.message).toBe(`action "refund" requires approval by rule "approve_large_refund" (approval ${required.approvalId})`);
    expect(required.decision.effect).toBe('require_approval');
    await approvals.decide(required.approvalId as string, { verdict: 'approve', approver: manager });
    expect(await runtime.admit(large, refund, undefined, { approvalId: required.approvalId as string })).toBe('done');
    const reuse = await rejection(runtime.admit(large, refund, undefined, { approvalId: required.approvalId as string }));
    expect(reuse.code).toBe('ACTRA_APPROVAL_CONSUMED');
    expect(runs).toBe(1);
  });

  it('throws ActraApprovalRequiredError without an id when no gate is configured', async () => {
    const { runtime } = runtimeWith();
    const error = (await rejection(runtime.admit(large, () => 'x'))) as ActraApprovalRequiredError;
    expect(error).toBeInstanceOf(ActraApprovalRequiredError);
    expect(error.approvalId).toBeUndefined();
    expect(error.message).toBe('action "refund" requires approval by rule "approve_large_refund" (no approval gate configured)');
  });

  it('lets the function’s own error through unchanged', async () => {
    const { runtime } = runtimeWith();
    const own = new Error('payment provider down');
    expect(await rejection(runtime.admit(small, () => { throw own; }))).toBe(own);
  });

  it('wraps a function: builds the action from the arguments and keeps this', async () => {
    const { runtime, events } = runtimeWith();
    const ledger = {
      entries: [] as number[],
      transfer(account: string, amount: number) {
        this.entries.push(amount);
        return `${account}:${amount}`;
      },
    };
    const transfer = runtime.admit('transfer', ledger.transfer, (args) => ({ amount: args[1] }));
    expectTypeOf(transfer).toEqualTypeOf<(account: string, amount: number) => Promise<string>>();
    const bound = { entries: ledger.entries, transfer };
    expect(await bound.transfer('acct-1', 50)).toBe('acct-1:50');
    expect(ledger.entries).toEqual([50]);
    const error = await rejection(bound.transfer('acct-1', 5000));
    expect(error.code).toBe('ACTRA_BLOCKED');
    expect(ledger.entries).toEqual([50]);
    expect(events.events.map((e) => [e.action.type, e.action.fields, e.route, e.method])).toEqual([
      ['transfer', { amount: 50 }, 'transfer', 'call'],
      ['transfer', { amount: 5000 }, 'transfer', 'call'],
    ]);
  });

  it('wraps a function with the default builder: the first argument’s fields', async () => {
    const { runtime } = runtimeWith();
    const refund = runtime.admit('refund', async (input: { amount: number; currency: string }) => `refunded ${input.amount}`);
    expect(await refund({ amount: 10, currency: 'EUR' })).toBe('refunded 10');
    expect((await rejection(refund({ amount: 5000, currency: 'EUR' }))).code).toBe('ACTRA_APPROVAL_REQUIRED');
  });

  it('wraps a function with per-call context and actor derived from the arguments', async () => {
    const { runtime } = runtimeWith();
    const seen: unknown[] = [];
    runtime.setActorResolver((ctx) => {
      seen.push(ctx);
      return { id: String(ctx), role: 'guest' };
    });
    const ping = runtime.admit('ping', (who: string) => who, undefined, { ctx: (args) => args[0] });
    expect((await rejection(ping('guest-1'))).code).toBe('ACTRA_BLOCKED');
    expect(seen).toEqual(['guest-1']);
    const asAlice = runtime.admit('ping', (who: string) => who, undefined, { actor: () => alice });
    expect(await asAlice('x')).toBe('x');
  });

  it('runs the function in monitor mode even when the policy blocks', async () => {
    const { runtime, events } = runtimeWith({ mode: 'monitor' });
    expect(await runtime.admit({ type: 'transfer', amount: 1000 }, () => 'ran')).toBe('ran');
    expect(events.events[0]).toMatchObject({ effect: 'block', enforcedEffect: 'allow' });
  });
});

describe('audit', () => {
  it('always runs the function and records what would have happened', async () => {
    const { runtime, events } = runtimeWith();
    expect(await runtime.audit({ type: 'transfer', amount: 1000 }, () => 'ran')).toBe('ran');
    expect(events.events[0]).toMatchObject({ mode: 'monitor', effect: 'block', enforcedEffect: 'allow', rule: 'block_transfer_over_balance' });
  });

  it('runs the function even when a loader fails, recording the failure', async () => {
    const { runtime, events } = runtimeWith({ loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: () => { throw new Error('x'); } }] });
    expect(await runtime.audit(small, () => 'ran')).toBe('ran');
    expect(events.events[0]).toMatchObject({ mode: 'monitor', enforcedEffect: 'allow', error: { code: 'ACTRA_LOADER_FAILED', source: 'fraud' } });
  });

  it('wraps a function, never opening approvals', async () => {
    const approvals = await approvalsFor();
    const { runtime } = runtimeWith({ approvals });
    const refund = runtime.audit('refund', (amount: number) => amount * 2, (args) => ({ amount: args[0], currency: 'EUR' }));
    expect(await refund(5000)).toBe(10000);
    expect(await approvals.list({})).toHaveLength(0);
  });
});

describe('explain and explainCall', () => {
  it('explains with the resolved actor and loaded snapshot', async () => {
    const { runtime, events } = runtimeWith();
    const explanation = await runtime.explain({ type: 'transfer', amount: 1000 });
    expect(explanation.decision.matchedRule).toBe('block_transfer_over_balance');
    expect(explanation.trace.map((t) => [t.ruleId, t.matched])).toEqual([
      ['block_transfer_fraud', false],
      ['block_transfer_over_balance', true],
    ]);
    expect(explanation.text).toContain('block_transfer_over_balance');
    expect(events.events).toHaveLength(0);
  });

  it('explains a call built from arguments', async () => {
    const { runtime } = runtimeWith();
    const explanation = await runtime.explainCall('refund', [5000] as [number], (args) => ({ amount: args[0], currency: 'EUR' }));
    expect(explanation.decision).toMatchObject({ effect: 'require_approval', matchedRule: 'approve_large_refund' });
  });

  it('throws like evaluate when it cannot decide', async () => {
    const { runtime } = runtimeWith({ loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: () => null as never }] });
    expect((await rejection(runtime.explain(small))).code).toBe('ACTRA_LOADER_FAILED');
  });
});

describe('decision events', () => {
  afterEach(() => {
    process.removeAllListeners('warning');
  });

  it('times a decision begun before its observer was added by the clock at emission', async () => {
    let release: (actor: Actor) => void = () => {};
    const runtime = new ActraRuntime(refundPolicy(), {
      loaders: [fraudLoader(), { name: 'account', fields: ['balance', 'limit'], load: () => ({ balance: 100, limit: 10 }) }],
      actorResolver: () => new Promise<Actor>((resolve) => (release = resolve)),
      now: () => Date.UTC(2031, 5, 1),
    });
    const pending = runtime.check({ action: small });
    const events = collector();
    runtime.addDecisionObserver(events.observer);
    release(alice);
    await pending;
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({ time: '2031-06-01T00:00:00.000Z', durationMs: 0, effect: 'allow' });
  });

  it('carries ids, time, mode, redacted declared action fields, actor id, decision and route', async () => {
    const { runtime, events } = runtimeWith({ redact: ['note'], now: () => Date.UTC(2030, 0, 1, 12) });
    const result = await runtime.check({
      action: { type: 'refund', amount: 10, currency: 'EUR', note: 'card 4111 1111 1111 1111', extra: 'not declared' },
      method: 'head',
      route: '/refunds/:id',
      requestId: 'req-123',
    });
    const event = events.events[0] as DecisionEvent;
    expect(event).toEqual({
      decisionId: result.decisionId,
      time: '2030-01-01T12:00:00.000Z',
      mode: 'enforce',
      action: { type: 'refund', fields: { amount: 10, currency: 'EUR', note: '[redacted]' } },
      actorId: 'alice',
      effect: 'allow',
      enforcedEffect: 'allow',
      policyHash: refundPolicy().policyHash(),
      durationMs: event.durationMs,
      route: '/refunds/:id',
      method: 'GET',
      requestId: 'req-123',
    });
    expect(result.decisionId).toMatch(/^dec_[A-Za-z0-9_-]{22}$/);
    expect(result.requestId).toBe('req-123');
    expect(event.durationMs).toBeGreaterThanOrEqual(0);
    expect(Object.isFrozen(event)).toBe(true);
  });

  it('never carries actor claims or snapshot values; the detail carries the full input', async () => {
    const { runtime, events } = runtimeWith();
    await runtime.check({ action: { type: 'transfer', amount: 1000 } });
    const text = JSON.stringify(events.events[0]);
    expect(text).not.toContain('alice@example.test');
    expect(text).not.toContain('support');
    expect(text).not.toContain('"balance"');
    expect(events.details[0]?.input).toEqual({ action: { type: 'transfer', amount: 1000 }, actor: alice, snapshot: { fraud_flag: false, balance: 100 } });
  });

  it('generates a request id when none is given, the same in the event and the result', async () => {
    const { runtime, events } = runtimeWith();
    const result = await runtime.check({ action: small });
    expect(result.requestId).toMatch(/^req_[\w-]{22}$/);
    expect(events.events[0]?.requestId).toBe(result.requestId);
    expect(events.events[0]?.decisionId).toBe(result.decisionId);
  });

  it('uses a custom id generator', async () => {
    let n = 0;
    const { runtime, events } = runtimeWith({ idGenerator: (kind) => `${kind}-${++n}` });
    const result = await runtime.check({ action: small });
    expect([result.decisionId, result.requestId]).toEqual(['decision-1', 'request-2']);
    expect(events.events[0]?.decisionId).toBe('decision-1');
  });

  it('isolates a throwing and a rejecting observer: the decision stands and others still run', async () => {
    const failures: unknown[] = [];
    const seen: string[] = [];
    const { runtime } = runtimeWith({
      observers: [
        () => {
          throw new Error('observer bug');
        },
        () => Promise.reject(new Error('async observer bug')),
        (event) => {
          seen.push(event.enforcedEffect);
        },
      ],
      onObserverError: (error) => failures.push(error),
    });
    const blocked = await runtime.check({ action: { type: 'transfer', amount: 1000 } });
    const allowed = await runtime.check({ action: small });
    expect(blocked.outcome).toBe('block');
    expect(allowed.outcome).toBe('allow');
    expect(seen).toEqual(['block', 'allow']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((e) => (e as Error).message).sort()).toEqual(['async observer bug', 'async observer bug', 'observer bug', 'observer bug']);
  });

  it('reports a failing observer once as a process warning by default, without the error text', async () => {
    const warnings: Error[] = [];
    process.on('warning', (w) => warnings.push(w));
    const { runtime } = runtimeWith({ observers: [() => { throw new Error('leaky alice@example.test'); }] });
    const result = await runtime.check({ action: small });
    await runtime.check({ action: small });
    await new Promise((resolve) => setImmediate(resolve));
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'ACTRA_OBSERVER');
    expect(ours.map((w) => w.message)).toEqual([`a decision observer failed for decision ${result.decisionId}`]);
  });

  it('setDecisionObserver replaces every observer; addDecisionObserver returns an unsubscribe', async () => {
    const { runtime, events } = runtimeWith();
    const added: DecisionEvent[] = [];
    const stop = runtime.addDecisionObserver((event) => {
      added.push(event);
    });
    await runtime.check({ action: small });
    expect([events.events.length, added.length]).toEqual([1, 1]);
    stop();
    stop();
    await runtime.check({ action: small });
    expect([events.events.length, added.length]).toEqual([2, 1]);
    const only: DecisionEvent[] = [];
    runtime.setDecisionObserver((event) => {
      only.push(event);
    });
    await runtime.check({ action: small });
    expect([events.events.length, added.length, only.length]).toEqual([2, 1, 1]);
  });

  it('records the approval id on pending and resumed decisions', async () => {
    const approvals = await approvalsFor();
    const { runtime, events } = runtimeWith({ approvals });
    const pending = await runtime.check({ action: large });
    expect(events.events[0]?.approvalId).toBe(pending.approval?.id);
  });
});

describe('types', () => {
  it('types the results of the Actra-style API', () => {
    const { runtime } = runtimeWith();
    expectTypeOf(runtime.evaluate(small)).toEqualTypeOf<Promise<Decision>>();
    expectTypeOf(runtime.check({ action: small })).toEqualTypeOf<Promise<CheckResult>>();
    expectTypeOf(runtime.admit(small, () => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(runtime.allow(small)).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(runtime.addDecisionObserver(() => {})).toEqualTypeOf<() => void>();
    expectTypeOf<ActraBlockedError>().toMatchTypeOf<ActraError>();
  });
});
