import { describe, expect, it } from 'vitest';
import { compileSources } from '../../src/core/actra.js';
import type { CompileIssue } from '../../src/errors.js';

const SCHEMA = `version: 1
actions:
  refund:
    fields:
      amount: number
      currency: { enum: [EUR, USD] }
      tags: string[]
      note: string?
actor:
  fields:
    role: string
    verified: boolean
snapshot:
  fields:
    fraud_flag: boolean
    limit: number
`;

function issuesOf(policy: string, schema = SCHEMA): CompileIssue[] {
  const result = compileSources({ schema: { text: schema, file: 'schema.yaml' }, policy: { text: policy, file: 'policy.yaml' } });
  if (result.issues.length === 0) expect(result.policy).toBeDefined();
  return result.issues;
}

const brief = (issues: CompileIssue[]): [string, number, number, string | undefined][] => issues.map((i) => [i.code, i.line, i.column, i.ruleId]);

function rule(when: string, extra = '', scope = '{ action: refund }', effect = 'block'): string {
  return `version: 1\nrules:\n  - id: r1\n    scope: ${scope}\n    when: ${when}\n    effect: ${effect}\n${extra}`;
}

const atom = (field: string, operator: string, value: string, domain = 'action'): string => `{ subject: { domain: ${domain}, field: ${field} }, operator: ${operator}${value === '' ? '' : `, value: ${value}`} }`;

describe('policy compile issues', () => {
  it('accepts a valid policy with no issues', () => {
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }')))).toEqual([]);
  });

  it('reports UNKNOWN_KEY with a suggestion, file, line, column, path and rule id', () => {
    const issues = issuesOf('version: 1\nrules:\n  - id: r1\n    scope: { action: refund }\n    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1 } }\n    efect: block\n');
    expect(issues).toEqual([
      { code: 'UNKNOWN_KEY', message: 'unknown key "efect" in rule (did you mean "effect"?)', file: 'policy.yaml', line: 6, column: 5, path: ['rules', 0, 'efect'], ruleId: 'r1' },
      { code: 'MISSING_KEY', message: 'rule is missing required key "effect"', file: 'policy.yaml', line: 3, column: 5, path: ['rules', 0], ruleId: 'r1' },
    ]);
  });

  it('reports unknown keys inside conditions, values and subjects', () => {
    const issues = issuesOf(rule('{ subject: { domain: action, field: amount, extra: 1 }, operator: greater_than, value: { literal: 1, literall: 2 }, operatr: x }'));
    expect(issues.map((i) => [i.code, i.message])).toEqual([
      ['UNKNOWN_KEY', 'unknown key "operatr" in condition (did you mean "operator"?)'],
      ['UNKNOWN_KEY', 'unknown key "extra" in subject'],
      ['UNKNOWN_KEY', 'unknown key "literall" in value (did you mean "literal"?)'],
    ]);
  });

  it('reports DUPLICATE_RULE_ID at the second id', () => {
    const body = `  - id: same\n    scope: { global: true }\n    when: ${atom('fraud_flag', 'equals', '{ literal: true }', 'snapshot')}\n    effect: block\n`;
    const issues = issuesOf(`version: 1\nrules:\n${body}${body}`);
    expect(issues.map((i) => [i.code, i.line, i.column, i.ruleId, i.message])).toEqual([['DUPLICATE_RULE_ID', 7, 9, 'same', 'rule id "same" is already used by rule 1; rule ids must be unique']]);
  });

  it('reports AMBIGUOUS_CONDITION for an atom mixed with all, and for two combinators', () => {
    const mixed = `\n      subject: { domain: action, field: amount }\n      operator: greater_than\n      value: { literal: 1 }\n      all:\n        - ${atom('amount', 'less_than', '{ literal: 5 }')}`;
    expect(brief(issuesOf(rule(mixed)))).toEqual([['AMBIGUOUS_CONDITION', 6, 7, 'r1']]);
    const two = `{ all: [${atom('amount', 'less_than', '{ literal: 5 }')}], any: [${atom('amount', 'less_than', '{ literal: 5 }')}] }`;
    expect(issuesOf(rule(two)).map((i) => i.code)).toEqual(['AMBIGUOUS_CONDITION']);
  });

  it('reports EMPTY_CONDITION for empty all / any and an empty mapping', () => {
    expect(issuesOf(rule('{ all: [] }')).map((i) => [i.code, i.message])).toEqual([['EMPTY_CONDITION', 'all must list at least one condition']]);
    expect(issuesOf(rule('{ any: [] }')).map((i) => i.code)).toEqual(['EMPTY_CONDITION']);
    expect(issuesOf(rule('{}')).map((i) => i.code)).toEqual(['EMPTY_CONDITION']);
  });

  it('accepts all / any with a single condition', () => {
    expect(issuesOf(rule(`{ all: [${atom('amount', 'less_than', '{ literal: 5 }')}] }`))).toEqual([]);
  });

  it('reports UNKNOWN_ACTION, INVALID_SCOPE for global: false and for two scopes', () => {
    expect(issuesOf(rule(atom('fraud_flag', 'equals', '{ literal: true }', 'snapshot'), '', '{ action: refnd }')).map((i) => [i.code, i.message])).toEqual([
      ['UNKNOWN_ACTION', 'unknown action "refnd" (did you mean "refund"?); declare it under actions in schema.yaml'],
    ]);
    expect(issuesOf(rule(atom('fraud_flag', 'equals', '{ literal: true }', 'snapshot'), '', '{ global: false }')).map((i) => i.code)).toEqual(['INVALID_SCOPE']);
    expect(issuesOf(rule(atom('fraud_flag', 'equals', '{ literal: true }', 'snapshot'), '', '{ global: true, action: refund }')).map((i) => i.code)).toEqual(['INVALID_SCOPE']);
  });

  it('reports UNKNOWN_DOMAIN, UNKNOWN_FIELD and ACTION_FIELD_OUT_OF_SCOPE', () => {
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }', 'acton'))).map((i) => [i.code, i.message])).toEqual([
      ['UNKNOWN_DOMAIN', 'unknown domain "acton" (did you mean "action"?); expected action, actor or snapshot'],
    ]);
    expect(issuesOf(rule(atom('amont', 'greater_than', '{ literal: 1 }'))).map((i) => [i.code, i.message])).toEqual([
      ['UNKNOWN_FIELD', 'action "refund" has no field "amont" (did you mean "amount"?)'],
    ]);
    expect(issuesOf(rule(atom('rol', 'equals', '{ literal: x }', 'actor'))).map((i) => [i.code, i.message])).toEqual([['UNKNOWN_FIELD', 'actor has no field "rol" (did you mean "role"?)']]);
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '', '{ global: true }')).map((i) => [i.code, i.path.join('.')])).toEqual([
      ['ACTION_FIELD_OUT_OF_SCOPE', 'rules.0.when.subject.field'],
    ]);
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '', '{ actor: bot }')).map((i) => i.code)).toEqual(['ACTION_FIELD_OUT_OF_SCOPE']);
  });

  it('reports UNKNOWN_OPERATOR with a suggestion', () => {
    expect(issuesOf(rule(atom('amount', 'greater_then', '{ literal: 1 }'))).map((i) => [i.code, i.message])).toEqual([
      ['UNKNOWN_OPERATOR', 'unknown operator "greater_then" (did you mean "greater_than"?)'],
    ]);
  });

  it('reports TYPE_MISMATCH between the two sides (v1 rule)', () => {
    expect(issuesOf(rule(atom('amount', 'equals', '{ literal: "1000" }'))).map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
    expect(issuesOf(rule(atom('amount', 'equals', '{ subject: { domain: actor, field: role } }'))).map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
    expect(issuesOf(rule(atom('verified', 'equals', '{ literal: "true" }', 'actor'))).map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
    expect(issuesOf(rule(atom('amount', 'equals', '{ literal: [1, 2] }'))).map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
    expect(issuesOf(rule(atom('amount', 'in', '{ literal: [1, x] }'))).map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
  });

  it('reports OPERATOR_NOT_FOR_TYPE', () => {
    expect(issuesOf(rule(atom('role', 'greater_than', '{ literal: a }', 'actor'))).map((i) => [i.code, i.message])).toEqual([
      ['OPERATOR_NOT_FOR_TYPE', 'operator greater_than does not apply to actor.role of type string; allowed: equals, not_equals, in, not_in, starts_with, ends_with'],
    ]);
    expect(issuesOf(rule(atom('verified', 'greater_than', '{ literal: true }', 'actor'))).map((i) => i.code)).toEqual(['OPERATOR_NOT_FOR_TYPE']);
    expect(issuesOf(rule(atom('tags', 'equals', '{ literal: a }'))).map((i) => i.code)).toEqual(['OPERATOR_NOT_FOR_TYPE']);
    expect(issuesOf(rule(atom('currency', 'starts_with', '{ literal: E }'))).map((i) => i.code)).toEqual(['OPERATOR_NOT_FOR_TYPE']);
    expect(issuesOf(rule(atom('amount', 'exists', ''))).map((i) => [i.code, i.message])).toEqual([
      ['OPERATOR_NOT_FOR_TYPE', 'exists only applies to optional fields (type ending in ?); action.amount is required'],
    ]);
  });

  it('reports INVALID_VALUE for enum literals outside the enum, bad literals, in without a list, exists with a value', () => {
    expect(issuesOf(rule(atom('currency', 'equals', '{ literal: EURO }'))).map((i) => [i.code, i.message])).toEqual([
      ['INVALID_VALUE', '"EURO" is not a value of enum action.currency [EUR, USD] (did you mean "EUR"?)'],
    ]);
    expect(issuesOf(rule(atom('currency', 'in', '{ literal: [EUR, YEN] }'))).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'in', '{ literal: 5 }'))).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'equals', '{ literal: .nan }'))).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'equals', '{ literal: null }'))).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'equals', '{ literal: 1, subject: { domain: snapshot, field: limit } }'))).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('note', 'exists', '{ literal: x }'))).map((i) => [i.code, i.message])).toEqual([['INVALID_VALUE', 'exists takes no value']]);
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '    reason: "has spaces"\n')).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '    risk: severe\n')).map((i) => [i.code, i.message])).toEqual([
      ['INVALID_VALUE', 'risk must be one of low, medium, high, critical, not "severe"'],
    ]);
    expect(issuesOf(`default_effect: maybe\n${rule(atom('amount', 'greater_than', '{ literal: 1 }'))}`).map((i) => i.code)).toEqual(['INVALID_VALUE']);
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '', '{ action: refund }', 'deny')).map((i) => [i.code, i.message])).toEqual([
      ['INVALID_VALUE', 'effect must be one of allow, block, require_approval, not "deny"'],
    ]);
  });

  it('reports INVALID_TYPE for values of the wrong YAML type', () => {
    expect(issuesOf('version: 1\nrules: {}\n').map((i) => [i.code, i.message])).toEqual([['INVALID_TYPE', 'rules must be a list']]);
    expect(issuesOf('version: 1\nrules:\n  - id: [x]\n    scope: { global: true }\n    when: { subject: { domain: snapshot, field: limit }, operator: equals, value: { literal: 1 } }\n    effect: block\n').map((i) => [i.code, i.message])).toEqual([
      ['INVALID_TYPE', 'rule id must be a non-empty string'],
    ]);
  });

  it('reports MISSING_KEY for version, rules and each missing rule part', () => {
    expect(issuesOf('rules: []\n').map((i) => i.code)).toEqual(['MISSING_KEY']);
    expect(issuesOf('version: 1\n').map((i) => [i.code, i.message])).toEqual([['MISSING_KEY', 'the policy document is missing required key "rules"']]);
    expect(issuesOf('version: 1\nrules:\n  - id: r\n').map((i) => i.message)).toEqual([
      'rule is missing required key "scope"',
      'rule is missing required key "when"',
      'rule is missing required key "effect"',
    ]);
    expect(issuesOf(rule('{ subject: { domain: action, field: amount }, operator: equals }')).map((i) => [i.code, i.message])).toEqual([
      ['MISSING_KEY', 'condition is missing required key "value" (operator equals)'],
    ]);
  });

  it('accepts every version Actra v1 accepts (an integer from 0 to 4294967295) and reports UNSUPPORTED_VERSION otherwise', () => {
    for (const version of ['0', '1', '2', '0x10', '4294967295']) expect(issuesOf(`version: ${version}\nrules: []\n`)).toEqual([]);
    for (const version of ['-1', '1.5', '"1"', 'one', '4294967296', '.inf', '[1]']) {
      expect(issuesOf(`version: ${version}\nrules: []\n`).map((i) => [i.code, i.line, i.column, i.message])).toEqual([
        ['UNSUPPORTED_VERSION', 1, 10, 'version must be an integer from 0 to 4294967295 (1 is the format described here)'],
      ]);
    }
    expect(issuesOf('version: 1\nrules: []\n', SCHEMA.replace('version: 1', 'version: 3'))).toEqual([]);
  });

  it('reports INVALID_DOCUMENT', () => {
    expect(issuesOf('- just\n- a list\n').map((i) => i.code)).toEqual(['INVALID_DOCUMENT']);
    expect(issuesOf('just a string\n').map((i) => i.code)).toEqual(['INVALID_DOCUMENT']);
  });

  it('reports INVALID_APPROVAL: approval on a non-approval rule, bad ttl, approvers reading other domains', () => {
    expect(issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), '    approval: { ttl: 60 }\n')).map((i) => [i.code, i.message])).toEqual([
      ['INVALID_APPROVAL', "approval is only allowed on require_approval rules (this rule's effect is block)"],
    ]);
    const ar = (approval: string): CompileIssue[] => issuesOf(rule(atom('amount', 'greater_than', '{ literal: 1 }'), `    approval: ${approval}\n`, '{ action: refund }', 'require_approval'));
    expect(ar('{ ttl: 0 }').map((i) => i.code)).toEqual(['INVALID_APPROVAL']);
    expect(ar('{ ttl: 1w }').map((i) => i.code)).toEqual(['INVALID_APPROVAL']);
    expect(ar('{ ttl: -5 }').map((i) => i.code)).toEqual(['INVALID_APPROVAL']);
    expect(ar(`{ approvers: ${atom('limit', 'greater_than', '{ literal: 1 }', 'snapshot')} }`).map((i) => [i.code, i.message])).toEqual([
      ['INVALID_APPROVAL', 'approval.approvers can only read actor fields (the approver), not snapshot.limit'],
    ]);
    expect(ar(`{ ttl: 30s, approvers: ${atom('role', 'equals', '{ literal: boss }', 'actor')} }`)).toEqual([]);
    expect(ar('{ tll: 5 }').map((i) => i.code)).toEqual(['UNKNOWN_KEY']);
  });

  it('reports every problem of every rule at once, in document order', () => {
    const policy = `version: 1
rules:
  - id: a
    scope: { action: nope }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
  - id: b
    scope: { global: true }
    when: { subject: { domain: snapshot, field: limit }, operator: greater_than, value: { literal: "x" } }
    effect: allow
  - id: c
    scope: { action: refund }
    when: { subject: { domain: actor, field: role }, operator: like, value: { literal: "x" } }
    effect: allow
    risk: extreme
`;
    expect(brief(issuesOf(policy))).toEqual([
      ['UNKNOWN_ACTION', 4, 22, 'a'],
      ['TYPE_MISMATCH', 9, 100, 'b'],
      ['UNKNOWN_OPERATOR', 13, 64, 'c'],
      ['INVALID_VALUE', 15, 11, 'c'],
    ]);
  });

  it('accepts __proto__ as a key without polluting anything', () => {
    const schema = 'version: 1\nactions:\n  __proto__:\n    fields:\n      __proto__: number\n';
    const policy = 'version: 1\nrules:\n  - id: p\n    scope: { action: __proto__ }\n    when: { subject: { domain: action, field: __proto__ }, operator: greater_than, value: { literal: 1 } }\n    effect: block\n';
    const result = compileSources({ schema: { text: schema, file: 's' }, policy: { text: policy, file: 'p' } });
    expect(result.issues).toEqual([]);
    expect(({} as Record<string, unknown>).fields).toBeUndefined();
    const input = JSON.parse('{"action":{"type":"__proto__","__proto__":5},"actor":{},"snapshot":{}}') as never;
    expect(result.policy?.evaluate(input).matchedRule).toBe('p');
    expect(() => result.policy?.evaluate({ action: { type: '__proto__' }, actor: {}, snapshot: {} } as never)).toThrow('input field action.__proto__ is missing or null');
  });
});

describe('documents Actra v1 accepts', () => {
  const input = { action: { type: 'refund', amount: 5, currency: 'EUR', tags: [] }, actor: { role: 'agent', verified: true }, snapshot: { fraud_flag: false, limit: 1 } };
  const withId = (id: string): string => rule(atom('amount', 'greater_than', '{ literal: 1 }')).replace('id: r1', `id: ${id}`);

  it('reads a plain-scalar rule id that YAML reads as a number, boolean or null as its text, as v1 does', () => {
    for (const [id, text] of [['5', '5'], ['1.50', '1.50'], ['-7', '-7'], ['true', 'true'], ['0x1F', '0x1F'], ['~', '~'], ["'5'", '5']] as const) {
      const result = compileSources({ schema: { text: SCHEMA, file: 'schema.yaml' }, policy: { text: withId(id), file: 'policy.yaml' } });
      expect(result.issues).toEqual([]);
      expect(result.policy?.rules.map((r) => r.id)).toEqual([text]);
      expect(result.policy?.evaluate(input as never).matchedRule).toBe(text);
    }
  });

  it('counts id 5 and id "5" as the same id', () => {
    const twice = `${withId('5')}${withId('"5"').split('rules:\n')[1]}`;
    expect(brief(issuesOf(twice))).toEqual([['DUPLICATE_RULE_ID', 7, 9, '5']]);
  });

  it('refuses an empty rule id (matchedRule "" would read as "no rule matched")', () => {
    for (const id of ['""', "''", '']) {
      expect(issuesOf(withId(id)).map((i) => [i.code, i.message])).toEqual([['INVALID_TYPE', 'rule id must be a non-empty string']]);
    }
  });

  it('refuses an empty actor scope (an actor without a type would get its rules)', () => {
    expect(issuesOf(rule(atom('role', 'equals', '{ literal: x }', 'actor'), '', '{ actor: "" }')).map((i) => [i.code, i.message])).toEqual([['INVALID_TYPE', 'scope.actor must be a non-empty string']]);
  });

  it('refuses non-finite number literals: .inf, -.inf, .nan and 1e309', () => {
    for (const literal of ['.inf', '-.inf', '.nan', '.NaN', '1e309']) {
      expect(issuesOf(rule(atom('amount', 'less_than', `{ literal: ${literal} }`))).map((i) => [i.code, i.path.join('.'), i.message])).toEqual([
        ['INVALID_VALUE', 'rules.0.when.value.literal', 'literal must be a finite number: .inf, -.inf, .nan and numbers too large for a double (such as 1e309) are refused'],
      ]);
    }
  });
});

describe('schema compile issues', () => {
  const ok = 'version: 1\nrules: []\n';
  it('reports INVALID_TYPE for an unknown field type with a suggestion', () => {
    expect(issuesOf(ok, 'version: 1\nactions:\n  a:\n    fields:\n      n: numbr\n').map((i) => [i.code, i.line, i.column, i.path.join('.')])).toEqual([['INVALID_TYPE', 5, 10, 'actions.a.fields.n']]);
    expect(issuesOf(ok, 'version: 1\nactions:\n  a:\n    fields:\n      n: numbr\n')[0]?.message).toContain('(did you mean "number"?)');
  });

  it('accepts every type form', () => {
    const schema = 'version: 1\nactions:\n  a:\n    fields:\n      s: string\n      n: number?\n      b: boolean\n      ss: string[]\n      nn: number[]?\n      e: { enum: [x, y] }\n      eo: { enum: [x], optional: true }\n  empty:\nactor:\n  fields:\n    type: string\n';
    expect(issuesOf(ok, schema)).toEqual([]);
  });

  it('reports bad enums and a reserved type field of the wrong kind', () => {
    const codes = (schema: string): string[] => issuesOf(ok, schema).map((i) => i.code);
    expect(codes('version: 1\nactor:\n  fields:\n    e: { enum: [] }\n')).toEqual(['INVALID_VALUE']);
    expect(codes('version: 1\nactor:\n  fields:\n    e: { enum: [a, a] }\n')).toEqual(['INVALID_VALUE']);
    expect(codes('version: 1\nactor:\n  fields:\n    e: { enum: [1] }\n')).toEqual(['INVALID_TYPE']);
    expect(codes('version: 1\nactor:\n  fields:\n    e: { enum: [a], optional: maybe }\n')).toEqual(['INVALID_TYPE']);
    expect(codes('version: 1\nactor:\n  fields:\n    e: { enum: [a], values: 1 }\n')).toEqual(['UNKNOWN_KEY']);
    expect(codes('version: 1\nactor:\n  fields:\n    type: number\n')).toEqual(['INVALID_TYPE']);
    expect(codes('version: 1\nactor:\n  field:\n    role: string\n')).toEqual(['UNKNOWN_KEY']);
    expect(codes('version: 1\nactions: []\n')).toEqual(['INVALID_TYPE']);
  });
});
