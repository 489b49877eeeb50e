/** The baseline: a hand-written JavaScript function for the same rules. */

import type { EvaluationInput } from '../../src/core/types.js';
import type { Peer } from './peer.js';
import { REFUND_LIMIT, type BenchEffect, type RuleSet } from './ruleset.js';

/** A hand-written decision function: the refund rule inline, the other actions' limits in a Map. */
export function handWrittenPeer(ruleSet: RuleSet): Peer {
  const limits = new Map<string, number>();
  for (const rule of ruleSet.rules.slice(1)) {
    limits.set(rule.action, Math.min(limits.get(rule.action) ?? Infinity, rule.limit));
  }
  function decide(input: EvaluationInput): BenchEffect {
    const action = input.action;
    if (action.type === 'refund') return (action['amount'] as number) > REFUND_LIMIT ? 'block' : 'allow';
    const limit = limits.get(action.type);
    return limit !== undefined && (action['amount'] as number) > limit ? 'block' : 'allow';
  }
  return {
    name: 'hand-written JS',
    decider(inputs) {
      return function handWritten(index) {
        return decide(inputs[index]!);
      };
    },
  };
}
