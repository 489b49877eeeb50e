/** CASL: `can('manage', 'all')` plus one `cannot(action, 'Request', { amount: { $gt: limit } })` per rule. */

import { AbilityBuilder, createMongoAbility, subject } from '@casl/ability';
import type { Peer } from './peer.js';
import type { RuleSet } from './ruleset.js';

/** `ability.can(action, subject('Request', { amount }))` on the rule set. */
export function caslPeer(ruleSet: RuleSet): Peer {
  const { can, cannot, build } = new AbilityBuilder(createMongoAbility);
  can('manage', 'all');
  for (const rule of ruleSet.rules) cannot(rule.action, 'Request', { amount: { $gt: rule.limit } });
  const ability = build();
  return {
    name: 'casl ability.can',
    decider(inputs) {
      const requests = inputs.map((input) => ({
        action: input.action.type,
        subject: subject('Request', { amount: input.action['amount'] as number }),
      }));
      return function caslCan(index) {
        const request = requests[index]!;
        return ability.can(request.action, request.subject) ? 'allow' : 'block';
      };
    },
  };
}
