/** Actra itself: the rule set compiled from YAML, decided by `policy.evaluate`. */

import { Actra } from '../../src/core/actra.js';
import type { Policy } from '../../src/core/types.js';
import type { Peer } from './peer.js';
import { toActraYaml, type BenchEffect, type RuleSet } from './ruleset.js';

/** Compiles the rule set. */
export function compileActra(ruleSet: RuleSet): Policy {
  const { schema, policy } = toActraYaml(ruleSet);
  return Actra.fromStrings(schema, policy);
}

/** `policy.evaluate` on the compiled rule set. */
export function actraPeer(ruleSet: RuleSet, policy: Policy = compileActra(ruleSet)): Peer {
  return {
    name: 'actra policy.evaluate',
    decider(inputs) {
      return function actraEvaluate(index) {
        const effect = policy.evaluate(inputs[index]!).effect;
        if (effect === 'require_approval') throw new Error('the benchmark rules never require approval');
        return effect satisfies BenchEffect;
      };
    },
  };
}
