import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDirectory, compileSources } from '../../src/core/actra.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'governance');

describe('governance fixtures (Actra v1 semantics)', () => {
  for (const name of readdirSync(DIR)) {
    it(`${name}: reports exactly the expected violations with their error text and rule id`, () => {
      const expected = JSON.parse(readFileSync(join(DIR, name, 'expected.json'), 'utf8')) as { violations: { ruleId: string; message: string }[] };
      const result = checkDirectory(join(DIR, name));
      expect(result.issues.map((i) => ({ ruleId: i.ruleId, message: i.message }))).toEqual(expected.violations);
      for (const issue of result.issues) {
        expect(issue.code).toBe('GOVERNANCE_VIOLATION');
        expect(issue.file).toBe(join(DIR, name, 'governance.yaml'));
        expect(issue.line).toBeGreaterThan(0);
      }
      expect(result.policy === undefined).toBe(expected.violations.length > 0);
    });
  }
});

const SCHEMA = 'version: 1\nactions:\n  refund: { fields: { amount: number } }\n  export: { fields: { rows: number } }\nactor: { fields: { role: string } }\nsnapshot: { fields: { fraud_flag: boolean, limit: number } }\n';
const POLICY = `version: 1
rules:
  - id: nested
    scope: { action: refund }
    when:
      any:
        - not: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
        - all:
            - { subject: { domain: action, field: amount }, operator: greater_than, value: { subject: { domain: snapshot, field: limit } } }
    effect: block
  - id: bot_rule
    scope: { actor: bot }
    when: { subject: { domain: actor, field: role }, operator: equals, value: { literal: x } }
    effect: allow
`;

function check(governance: string) {
  return compileSources({ schema: { text: SCHEMA, file: 'schema.yaml' }, policy: { text: POLICY, file: 'policy.yaml' }, governance: { text: governance, file: 'governance.yaml' } });
}

const gov = (select: string, must: string, extra = ''): string => `version: 1\ngovernance:\n  rules:\n    - id: g1\n${extra}      select: { where: ${select} }\n      must: ${must}\n      error: violated\n`;

describe('governance over extended conditions', () => {
  it('when.subject matches an atom anywhere in a nested condition', () => {
    expect(check(gov('{ when: { subject: { domain: snapshot, field: fraud_flag } } }', '{ forbid: true }')).issues.map((i) => i.ruleId)).toEqual(['g1']);
    expect(check(gov('{ when: { subject: { domain: action, field: amount } } }', '{ exists: true }')).issues).toEqual([]);
    expect(check(gov('{ when: { subject: { field: rows } } }', '{ exists: true }')).issues.map((i) => i.message)).toEqual(['violated']);
  });

  it('allowed_fields checks the left-hand subjects of every atom (as v1 does)', () => {
    expect(check(gov('{ id: nested }', '{ allowed_fields: [snapshot.fraud_flag, action.amount] }')).issues).toEqual([]);
    expect(check(gov('{ id: nested }', '{ allowed_fields: [snapshot.fraud_flag] }')).issues.map((i) => i.ruleId)).toEqual(['g1']);
  });

  it('scope.actor selects actor-scoped rules; scope.global: false selects every non-global rule', () => {
    expect(check(gov('{ scope: { actor: bot } }', '{ max_count: 0 }')).issues.map((i) => i.ruleId)).toEqual(['g1']);
    expect(check(gov('{ scope: { global: false } }', '{ min_count: 2 }')).issues).toEqual([]);
    expect(check(gov('{ scope: { global: true } }', '{ exists: false }')).issues).toEqual([]);
  });

  it('applies_to applies only when some rule is scoped to one of the actions', () => {
    expect(check(gov('{ effect: require_approval }', '{ exists: true }', '      applies_to: { actions: [export] }\n')).issues).toEqual([]);
    expect(check(gov('{ effect: require_approval }', '{ exists: true }', '      applies_to: { actions: [export, refund] }\n')).issues.map((i) => i.ruleId)).toEqual(['g1']);
  });

  it('places a violation at its governance rule', () => {
    const [issue] = check(gov('{ effect: allow }', '{ forbid: true }')).issues;
    expect(issue).toEqual({ code: 'GOVERNANCE_VIOLATION', message: 'violated', file: 'governance.yaml', line: 4, column: 7, path: ['governance', 'rules', 0], ruleId: 'g1' });
  });

  it('reports governance document problems strictly', () => {
    const codes = (text: string): string[] => check(text).issues.map((i) => i.code);
    expect(codes(gov('{ efect: block }', '{ forbid: true }'))).toEqual(['UNKNOWN_KEY']);
    expect(codes(gov('{ effect: deny }', '{ forbid: true }'))).toEqual(['INVALID_VALUE']);
    expect(codes(gov('{ scope: { action: refnd } }', '{ forbid: true }'))).toEqual(['UNKNOWN_ACTION']);
    expect(codes(gov('{ when: { subject: { domain: actr } } }', '{ forbid: true }'))).toEqual(['UNKNOWN_DOMAIN']);
    expect(codes(gov('{}', '{ forbid: true, exists: true }'))).toEqual(['INVALID_VALUE']);
    expect(codes(gov('{}', '{ min_count: -1 }'))).toEqual(['INVALID_TYPE']);
    expect(codes(gov('{}', '{ allowed_fields: [amount] }'))).toEqual(['INVALID_VALUE']);
    expect(codes(gov('{}', '{ forbid: true }', '      applies_to: { actions: [nope] }\n'))).toEqual(['UNKNOWN_ACTION']);
    expect(codes('version: 1\ngovernance:\n  rules:\n    - id: a\n      must: { forbid: false }\n')).toEqual(['MISSING_KEY', 'MISSING_KEY']);
  });

  it('accepts two governance rules with one id, as Actra v1 does, and checks both', () => {
    const twice = 'version: 1\ngovernance:\n  rules:\n    - id: a\n      select: { where: { effect: allow } }\n      must: { forbid: true }\n      error: no allow rules\n    - id: a\n      select: { where: { effect: block } }\n      must: { min_count: 5 }\n      error: five block rules\n';
    const { issues, policy } = check(twice);
    expect(policy).toBeUndefined();
    expect(issues.map((i) => [i.code, i.ruleId, i.message, i.line, i.column])).toEqual([
      ['GOVERNANCE_VIOLATION', 'a', 'no allow rules', 4, 7],
      ['GOVERNANCE_VIOLATION', 'a', 'five block rules', 8, 7],
    ]);
    expect(check(twice.replace('must: { min_count: 5 }', 'must: { min_count: 1 }').replace('must: { forbid: true }', 'must: { forbid: false }')).issues).toEqual([]);
  });

  it('accepts an empty error text (as Actra v1 does) and reports its violation by the rule id', () => {
    for (const error of ['""', "''", '']) {
      const text = gov('{ effect: allow }', '{ forbid: true }').replace('error: violated', `error: ${error}`);
      expect(check(text).issues.map((i) => [i.code, i.ruleId, i.message])).toEqual([['GOVERNANCE_VIOLATION', 'g1', 'governance rule "g1" is violated (it has no error text)']]);
    }
    expect(check(gov('{ effect: block }', '{ forbid: false }').replace('error: violated', 'error: ""')).issues).toEqual([]);
    expect(check(gov('{ effect: allow }', '{ forbid: true }').replace('error: violated', 'error: [a]')).issues.map((i) => [i.code, i.message])).toEqual([['INVALID_TYPE', 'error must be a string']]);
  });

  it('reads numeric and boolean ids, selectors and error texts as their text, as Actra v1 does', () => {
    const text = gov('{ id: 5 }', '{ forbid: true }').replace('- id: g1', '- id: 7').replace('error: violated', 'error: 404');
    const numbered = compileSources({
      schema: { text: SCHEMA, file: 'schema.yaml' },
      policy: { text: POLICY.replace('id: bot_rule', 'id: 5'), file: 'policy.yaml' },
      governance: { text, file: 'governance.yaml' },
    });
    expect(numbered.issues.map((i) => [i.code, i.ruleId, i.message])).toEqual([['GOVERNANCE_VIOLATION', '7', '404']]);
    expect(check(gov('{ id: true }', '{ exists: false }')).issues).toEqual([]);
  });

  it('reports policy issues and governance violations together', () => {
    const result = compileSources({
      schema: { text: SCHEMA, file: 'schema.yaml' },
      policy: { text: POLICY.replace('effect: allow', 'effect: alow'), file: 'policy.yaml' },
      governance: { text: gov('{ effect: block }', '{ forbid: true }'), file: 'governance.yaml' },
    });
    expect(result.issues.map((i) => [i.file, i.code])).toEqual([
      ['policy.yaml', 'INVALID_VALUE'],
      ['governance.yaml', 'GOVERNANCE_VIOLATION'],
    ]);
  });
});
