/** Cedar's WebAssembly build: the rule set as `forbid` policies over a `permit` everything. */

import { isAuthorized, preparsePolicySet, statefulIsAuthorized, type AuthorizationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import type { Peer } from './peer.js';
import type { BenchEffect, RuleSet } from './ruleset.js';

/** The rule set in Cedar's policy language. */
export function toCedarText(ruleSet: RuleSet): string {
  const forbids = ruleSet.rules.map(
    (r) => `forbid (principal, action == Action::"${r.action}", resource) when { context.amount > ${r.limit} };`,
  );
  return ['permit (principal, action, resource);', ...forbids].join('\n');
}

function effectOf(answer: AuthorizationAnswer): BenchEffect {
  if (answer.type !== 'success') throw new Error(`cedar failed: ${answer.errors.map((e) => e.message).join('; ')}`);
  return answer.response.decision === 'allow' ? 'allow' : 'block';
}

let preparsedCount = 0;

/** Cedar with the policy set parsed once (`preparsePolicySet` + `statefulIsAuthorized`). */
export function cedarPreparsedPeer(ruleSet: RuleSet): Peer {
  const id = `bench-${++preparsedCount}`;
  const parsed = preparsePolicySet(id, { staticPolicies: toCedarText(ruleSet) });
  if (parsed.type !== 'success') throw new Error(`cedar could not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return {
    name: 'cedar-wasm (preparsed)',
    decider(inputs) {
      const calls = inputs.map((input) => ({
        principal: { type: 'User', id: 'agent' },
        action: { type: 'Action', id: input.action.type },
        resource: { type: 'Order', id: 'order' },
        context: { amount: input.action['amount'] as number },
        entities: [],
        preparsedPolicySetId: id,
      }));
      return function cedarPreparsed(index) {
        return effectOf(statefulIsAuthorized(calls[index]!));
      };
    },
  };
}

/** Cedar parsing the policy text on every call (`isAuthorized`). */
export function cedarTextPeer(ruleSet: RuleSet): Peer {
  const policies = { staticPolicies: toCedarText(ruleSet) };
  return {
    name: 'cedar-wasm (not preparsed)',
    decider(inputs) {
      const calls = inputs.map((input) => ({
        principal: { type: 'User', id: 'agent' },
        action: { type: 'Action', id: input.action.type },
        resource: { type: 'Order', id: 'order' },
        context: { amount: input.action['amount'] as number },
        entities: [],
        policies,
      }));
      return function cedarText(index) {
        return effectOf(isAuthorized(calls[index]!));
      };
    },
  };
}
