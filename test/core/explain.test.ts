import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Actra } from '../../src/core/actra.js';
import type { EvaluationInput } from '../../src/core/types.js';

const policy = Actra.fromDirectory(join(import.meta.dirname, '..', 'fixtures', 'extended', 'payments'));
const agent = { id: 'u1', role: 'agent', scopes: [] as string[] };
const snap = { fraud_flag: false, refund_limit: 1000 };

describe('explain', () => {
  it('traces each rule considered, in order, with the values compared', () => {
    const input: EvaluationInput = { action: { type: 'refund', amount: 1200, currency: 'USD' }, actor: agent, snapshot: snap };
    const explanation = policy.explain(input);
    expect(explanation.decision).toEqual(policy.evaluate(input));
    expect(explanation.trace.map((t) => [t.ruleId, t.matched])).toEqual([
      ['refund_fraud', false],
      ['refund_over_limit', true],
    ]);
    expect(explanation.trace[0]?.condition).toEqual({ text: 'snapshot.fraud_flag equals true', result: false, left: false, right: true });
    const over = explanation.trace[1]?.condition;
    expect(over?.text).toBe('all(action.amount greater_than_or_equal snapshot.refund_limit, not (actor.tier equals "gold"))');
    expect(over?.children?.[0]).toEqual({ text: 'action.amount greater_than_or_equal snapshot.refund_limit', result: true, left: 1200, right: 1000 });
    expect(over?.children?.[1]).toEqual({ text: 'not (actor.tier equals "gold")', result: true, children: [{ text: 'actor.tier equals "gold"', result: false, right: 'gold' }] });
    expect(explanation.closest).toEqual({ ruleId: 'refund_fraud', effect: 'block', failedCondition: 'snapshot.fraud_flag equals true (snapshot.fraud_flag is false)' });
  });

  it('stops a trace where short-circuit evaluation stops', () => {
    const explanation = policy.explain({ action: { type: 'refund', amount: 5, currency: 'EUR' }, actor: agent, snapshot: snap });
    const ok = explanation.trace.find((t) => t.ruleId === 'refund_ok');
    expect(ok?.matched).toBe(true);
    expect(ok?.condition.children).toHaveLength(1);
    const over = explanation.trace.find((t) => t.ruleId === 'refund_over_limit');
    expect(over?.condition.children).toHaveLength(1);
  });

  it('names the closest non-matching rule and the condition that stopped it when nothing matched', () => {
    const explanation = policy.explain({ action: { type: 'refund', amount: 10, currency: 'USD', tags: ['usd-ok'], note: 'no ticket' }, actor: { id: 'u1', tier: 'gold', scopes: [] }, snapshot: snap });
    expect(explanation.decision).toEqual({ effect: 'block', policyHash: policy.policyHash() });
    expect(explanation.trace.map((t) => t.ruleId)).toEqual(['refund_fraud', 'refund_over_limit', 'refund_ok', 'risky_snapshot', 'known_actor']);
    expect(explanation.closest).toEqual({ ruleId: 'refund_ok', effect: 'allow', failedCondition: 'action.note starts_with "ticket:" (action.note is "no ticket")' });
  });

  it('has a readable text form', () => {
    const explanation = policy.explain({ action: { type: 'refund', amount: 1200, currency: 'USD' }, actor: agent, snapshot: snap });
    expect(explanation.text).toBe(
      [
        'decision: require_approval (rule refund_over_limit, reason refund.over_limit, risk high)',
        'message: Refunds at or over the account limit need a supervisor.',
        'action: refund',
        `policy: ${policy.policyHash()}`,
        'rules considered, in order:',
        '  1. refund_fraud [action refund] -> block: did not match',
        '      false snapshot.fraud_flag equals true  [left false, right true]',
        '  2. refund_over_limit [action refund] -> require_approval: matched',
        '      true  all',
        '        true  action.amount greater_than_or_equal snapshot.refund_limit  [left 1200, right 1000]',
        '        true  not',
        '          false actor.tier equals "gold"  [left absent, right "gold"]',
        'closest rule that did not match: refund_fraud (would give block)',
        '  stopped by: snapshot.fraud_flag equals true (snapshot.fraud_flag is false)',
      ].join('\n'),
    );
  });

  it('fails with ACTRA_INPUT exactly when evaluate does', () => {
    const input = { action: { type: 'refund', amount: '12', currency: 'USD' }, actor: agent, snapshot: snap } as unknown as EvaluationInput;
    expect(() => policy.explain(input)).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', field: 'action.amount' }));
  });

  it('omits closest when no other rule could change the outcome', () => {
    const single = Actra.fromStrings('version: 1\nactions: { a: { fields: { n: number } } }\n', 'version: 1\nrules:\n  - { id: r, scope: { action: a }, when: { subject: { domain: action, field: n }, operator: equals, value: { literal: 1 } }, effect: block }\n');
    const explanation = single.explain({ action: { type: 'a', n: 1 }, actor: {}, snapshot: {} });
    expect(explanation.closest).toBeUndefined();
    expect(explanation.text).not.toContain('closest');
  });
});
