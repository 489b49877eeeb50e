import { describe, expect, it } from 'vitest';
import {
  agreementInputs,
  benchInputs,
  buildPeers,
  compileActra,
  expectedEffect,
  findDisagreements,
  makeRuleSet,
  REFUND_AMOUNTS,
  toCedarText,
  type Peer,
} from '../../bench/peers/index.js';

describe('benchmark peers', () => {
  it('builds rule sets with the refund rule first and the rest spread over other actions', () => {
    const ten = makeRuleSet(10);
    expect(ten.rules).toHaveLength(10);
    expect(ten.actions).toHaveLength(10);
    expect(ten.rules[0]).toEqual({ id: 'block_large_refund', action: 'refund', limit: 1000 });
    expect(ten.rules.slice(1).every((r) => r.action !== 'refund')).toBe(true);
    const large = makeRuleSet(10_000, 1_000);
    expect(large.rules).toHaveLength(10_000);
    expect(large.actions).toHaveLength(1_000);
    expect(large.rules.filter((r) => r.action === 'refund')).toHaveLength(1);
    expect(benchInputs()).toHaveLength(20);
    expect(REFUND_AMOUNTS.filter((a) => a > 1000).length).toBeGreaterThan(5);
    expect(REFUND_AMOUNTS.filter((a) => a <= 1000).length).toBeGreaterThan(5);
  });

  for (const ruleCount of [10, 200]) {
    it(`all peers agree with policy.evaluate on every input (${ruleCount} rules)`, async () => {
      const ruleSet = makeRuleSet(ruleCount);
      const peers = await buildPeers(ruleSet);
      expect(peers.map((p) => p.name)).toEqual([
        'hand-written JS',
        'actra policy.evaluate',
        'casl ability.can',
        'casbin enforceSync',
        'cedar-wasm (preparsed)',
        'cedar-wasm (not preparsed)',
      ]);
      const inputs = agreementInputs(ruleSet);
      expect(inputs.length).toBe(45);
      const actra = compileActra(ruleSet);
      const fromActra = inputs.map((input) => actra.evaluate(input).effect);
      expect(new Set(fromActra)).toEqual(new Set(['allow', 'block']));
      for (const peer of peers) {
        const decide = peer.decider(inputs);
        expect(inputs.map((_, i) => decide(i)), peer.name).toEqual(fromActra);
      }
      expect(findDisagreements(ruleSet, peers, inputs)).toEqual([]);
    });
  }

  it('the 10,000-rule policy decides refunds like the 10-rule one', () => {
    const large = makeRuleSet(10_000, 1_000);
    const policy = compileActra(large);
    expect(policy.rules).toHaveLength(10_000);
    for (const input of agreementInputs(large)) expect(policy.evaluate(input).effect).toBe(expectedEffect(large, input));
  });

  it('finds a peer that disagrees', () => {
    const ruleSet = makeRuleSet(10);
    const wrong: Peer = { name: 'always allow', decider: () => () => 'allow' };
    const problems = findDisagreements(ruleSet, [wrong], benchInputs());
    expect(problems).toContainEqual({ peer: 'always allow', index: 1, expected: 'block', actual: 'allow' });
    expect(problems).toHaveLength(REFUND_AMOUNTS.filter((a) => a > 1000).length);
  });

  it('writes Cedar policies that forbid each rule over a permit', () => {
    const text = toCedarText(makeRuleSet(2));
    expect(text.split('\n')).toEqual([
      'permit (principal, action, resource);',
      'forbid (principal, action == Action::"refund", resource) when { context.amount > 1000 };',
      expect.stringMatching(/^forbid \(principal, action == Action::"op_0", resource\) when \{ context\.amount > \d+ \};$/),
    ]);
  });
});
