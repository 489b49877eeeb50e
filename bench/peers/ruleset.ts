/** The benchmark's rule sets and inputs: "block a refund over 1000", plus rules for other actions. */

import type { EvaluationInput } from '../../src/core/types.js';

/** The two outcomes the benchmark's rules can give. */
export type BenchEffect = 'allow' | 'block';

/** One rule: block `action` when its `amount` is greater than `limit`. */
export interface BenchRule {
  readonly id: string;
  readonly action: string;
  readonly limit: number;
}

/** A rule set every peer encodes in its own language. The first rule is the refund rule. */
export interface RuleSet {
  readonly name: string;
  /** Every action type, `refund` first. */
  readonly actions: readonly string[];
  /** Every rule, in order (first match wins; all rules block, the default allows). */
  readonly rules: readonly BenchRule[];
}

/** The refund rule every set starts with. */
export const REFUND_LIMIT = 1000;

/**
 * A set of `ruleCount` rules: the refund rule, then `ruleCount - 1` rules spread round-robin over
 * `actionCount - 1` other actions, each with its own limit.
 */
export function makeRuleSet(ruleCount: number, actionCount = ruleCount): RuleSet {
  if (!Number.isInteger(ruleCount) || ruleCount < 1) throw new RangeError('ruleCount must be a positive integer');
  const others = Math.max(1, Math.min(actionCount, ruleCount) - 1);
  const actions = ['refund', ...Array.from({ length: others }, (_, i) => `op_${i}`)];
  const rules: BenchRule[] = [{ id: 'block_large_refund', action: 'refund', limit: REFUND_LIMIT }];
  for (let k = 1; k < ruleCount; k++) {
    const action = actions[1 + ((k - 1) % others)]!;
    rules.push({ id: `rule_${k}`, action, limit: 2000 + ((k * 7919) % 50000) });
  }
  return { name: `${ruleCount} rules / ${actions.length} actions`, actions, rules };
}

/** The 20 refund amounts the benchmark cycles through: both sides of the limit, and on it. */
export const REFUND_AMOUNTS: readonly number[] = [
  50, 1500, 999, 1000, 1001, 4900, 0, 25000, 120, 999999, 1, 2000, 750, 10000, 300, 1002, 42, 5000, 998, 3000,
];

/** The timed inputs: 20 refunds. Amounts are integers so that every peer (Cedar has no floats) reads them alike. */
export function benchInputs(): EvaluationInput[] {
  return REFUND_AMOUNTS.map((amount) => ({ action: { type: 'refund', amount }, actor: { role: 'support_agent' }, snapshot: {} }));
}

/** Inputs for the agreement check: the timed ones plus actions other than refund, around their limits. */
export function agreementInputs(ruleSet: RuleSet): EvaluationInput[] {
  const extra: EvaluationInput[] = [];
  for (const action of ruleSet.actions.slice(1, 6)) {
    const limit = Math.min(...ruleSet.rules.filter((r) => r.action === action).map((r) => r.limit));
    for (const amount of [0, limit - 1, limit, limit + 1, limit * 3]) {
      extra.push({ action: { type: action, amount }, actor: { role: 'support_agent' }, snapshot: {} });
    }
  }
  return [...benchInputs(), ...extra];
}

/** The expected outcome, computed the obvious way (first matching rule in order). */
export function expectedEffect(ruleSet: RuleSet, input: EvaluationInput): BenchEffect {
  const amount = input.action['amount'] as number;
  return ruleSet.rules.some((r) => r.action === input.action.type && amount > r.limit) ? 'block' : 'allow';
}

/** The rule set as an Actra schema and policy (YAML text). */
export function toActraYaml(ruleSet: RuleSet): { schema: string; policy: string } {
  const schema = [
    'version: 1',
    'actions:',
    ...ruleSet.actions.map((a) => `  ${a}:\n    fields:\n      amount: number`),
    'actor:',
    '  fields:',
    '    role: string',
    'snapshot:',
    '  fields:',
    '    region: string?',
    '',
  ].join('\n');
  // One flow-style line per rule keeps a 10,000-rule policy as small as the format allows.
  const policy = [
    'version: 1',
    'rules:',
    ...ruleSet.rules.map(
      (r) =>
        `  - {id: ${r.id}, scope: {action: ${r.action}}, when: {subject: {domain: action, field: amount}, operator: greater_than, value: {literal: ${r.limit}}}, effect: block}`,
    ),
    '',
  ].join('\n');
  return { schema, policy };
}
