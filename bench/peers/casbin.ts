/** casbin: an ABAC model whose matcher compares the request's amount with each policy line's limit. */

import { newEnforcer, newModelFromString } from 'casbin';
import type { Peer } from './peer.js';
import type { RuleSet } from './ruleset.js';

/** A match means "block": `p, <action>, <limit>` matches when the request is that action over the limit. */
export const CASBIN_MODEL = `
[request_definition]
r = act, amount

[policy_definition]
p = act, limit

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && r.amount > p.limit
`;

/** casbin's `enforceSync` on the rule set. */
export async function casbinPeer(ruleSet: RuleSet): Promise<Peer> {
  const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL));
  await enforcer.addPolicies(ruleSet.rules.map((r) => [r.action, String(r.limit)]));
  return {
    name: 'casbin enforceSync',
    decider(inputs) {
      const requests = inputs.map((input) => [input.action.type, input.action['amount'] as number] as const);
      return function casbinEnforce(index) {
        const [act, amount] = requests[index]!;
        return enforcer.enforceSync(act, amount) ? 'block' : 'allow';
      };
    },
  };
}
