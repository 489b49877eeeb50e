import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Actra, checkDirectory, compileSources } from '../../src/core/actra.js';
import type { EvaluationInput } from '../../src/core/types.js';
import { ActraCompileError, isActraError } from '../../src/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const REFUND = join(FIXTURES, 'v1', 'refund');

interface Case {
  name: string;
  input: EvaluationInput;
  effect?: string;
  rule?: string;
  error?: string;
  field?: string;
}

function casesIn(group: string): [string, Case[]][] {
  return readdirSync(join(FIXTURES, group))
    .filter((name) => existsSync(join(FIXTURES, group, name, 'cases.json')))
    .map((name) => [name, JSON.parse(readFileSync(join(FIXTURES, group, name, 'cases.json'), 'utf8')) as Case[]]);
}

describe('fixtures give the expected effect and matched rule', () => {
  for (const group of ['v1', 'extended', 'governance']) {
    for (const [name, cases] of casesIn(group)) {
      describe(`${group}/${name}`, () => {
        const policy = Actra.fromDirectory(join(FIXTURES, group, name));
        for (const c of cases) {
          it(c.name, () => {
            if (c.error !== undefined) {
              let caught: unknown;
              try {
                policy.evaluate(c.input);
              } catch (error) {
                caught = error;
              }
              expect(isActraError(caught, 'ACTRA_INPUT')).toBe(true);
              expect((caught as { field?: string }).field).toBe(c.field);
              expect((caught as Error).message).toContain(c.field);
              return;
            }
            const decision = policy.evaluate(c.input);
            expect(decision.effect).toBe(c.effect);
            expect(decision.matchedRule).toBe(c.rule);
          });
        }
      });
    }
  }
});

describe('Actra entry points', () => {
  const schema = readFileSync(join(REFUND, 'schema.yaml'), 'utf8');
  const policyText = readFileSync(join(REFUND, 'policy.yaml'), 'utf8');
  const input = { action: { type: 'refund', amount: 4900 }, actor: { role: 'agent' }, snapshot: { fraud_flag: false } };

  it('fromStrings, fromFiles and fromDirectory compile the same policy', () => {
    const a = Actra.fromStrings(schema, policyText);
    const b = Actra.fromFiles(join(REFUND, 'schema.yaml'), join(REFUND, 'policy.yaml'));
    const c = Actra.fromDirectory(REFUND);
    expect(a.policyHash()).toBe(b.policyHash());
    expect(b.policyHash()).toBe(c.policyHash());
    expect(a.evaluate(input)).toEqual({ effect: 'block', matchedRule: 'block_large_refund', policyHash: a.policyHash() });
  });

  it('evaluateAction is evaluate with the three domains', () => {
    const policy = Actra.fromDirectory(REFUND);
    expect(policy.evaluateAction(input.action, input.actor, input.snapshot)).toBe(policy.evaluate(input));
  });

  it('returns the same frozen decision object for the same rule (no allocation per call)', () => {
    const policy = Actra.fromDirectory(REFUND);
    const first = policy.evaluate(input);
    expect(Object.isFrozen(first)).toBe(true);
    expect(policy.evaluate({ ...input, action: { type: 'refund', amount: 5000 } })).toBe(first);
  });

  it('names string sources schema.yaml / policy.yaml / governance.yaml in issues', () => {
    try {
      Actra.fromStrings('version: -2\n', 'version: 1\nrules: []\nextra: 1\n', 'version: 1\ngovernance: { rules: [], more: 1 }\n');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ActraCompileError);
      const issues = (error as ActraCompileError).issues;
      expect(issues.map((i) => [i.file, i.code])).toEqual([
        ['schema.yaml', 'UNSUPPORTED_VERSION'],
        ['policy.yaml', 'UNKNOWN_KEY'],
        ['governance.yaml', 'UNKNOWN_KEY'],
      ]);
      expect((error as ActraCompileError).code).toBe('ACTRA_COMPILE');
      expect((error as Error).message).toContain('3 issue(s)');
    }
  });

  it('compileSources never throws for document problems and returns every issue', () => {
    const result = compileSources({ schema: { text: '', file: 's.yaml' }, policy: { text: 'rules: [', file: 'p.yaml' } });
    expect(result.policy).toBeUndefined();
    expect(result.issues.map((i) => [i.file, i.code])).toEqual([
      ['s.yaml', 'EMPTY_DOCUMENT'],
      ['p.yaml', 'YAML_SYNTAX'],
    ]);
  });

  it('still reports the policy and governance problems when schema.yaml cannot be read', () => {
    const badPolicy = 'version: 1\nrules:\n  - id: a\n    scope: { action: refund }\n    when: { subject: { domain: action, field: amount }, operator: more_than, value: { literal: 1 } }\n    efect: block\n  - id: a\n    scope: { global: true }\n    when: { all: [], any: [] }\n    effect: block\n';
    const badGovernance = 'version: 1\ngovernance:\n  rules:\n    - id: g\n      select: { where: { effect: alow } }\n      must: { forbid: true }\n';
    const policyIssues = [
      ['policy.yaml', 'UNKNOWN_KEY', 6, 5, 'a'],
      ['policy.yaml', 'MISSING_KEY', 3, 5, 'a'],
      ['policy.yaml', 'UNKNOWN_OPERATOR', 5, 67, 'a'],
      ['policy.yaml', 'AMBIGUOUS_CONDITION', 9, 11, 'a'],
      ['policy.yaml', 'DUPLICATE_RULE_ID', 7, 9, 'a'],
      ['governance.yaml', 'INVALID_VALUE', 5, 34, 'g'],
      ['governance.yaml', 'MISSING_KEY', 4, 7, 'g'],
    ];
    for (const [schemaText, schemaIssue] of [
      ['version: 1\nactions: [\n', 'YAML_SYNTAX'],
      ['', 'EMPTY_DOCUMENT'],
      ['# nothing\n', 'EMPTY_DOCUMENT'],
      ['- a list\n', 'INVALID_DOCUMENT'],
    ]) {
      const result = compileSources({
        schema: { text: schemaText as string, file: 'schema.yaml' },
        policy: { text: badPolicy, file: 'policy.yaml' },
        governance: { text: badGovernance, file: 'governance.yaml' },
      });
      expect(result.policy).toBeUndefined();
      expect(result.issues[0]).toMatchObject({ file: 'schema.yaml', code: schemaIssue });
      expect(result.issues.slice(1).filter((i) => i.file === 'schema.yaml')).toEqual([]);
      expect(result.issues.filter((i) => i.file !== 'schema.yaml').map((i) => [i.file, i.code, i.line, i.column, i.ruleId])).toEqual(policyIssues);
    }
  });

  it('reports no schema-dependent issue (unknown action, field or type) when schema.yaml cannot be read', () => {
    const policy = 'version: 1\nrules:\n  - id: a\n    scope: { action: no_such_action }\n    when: { subject: { domain: snapshot, field: no_such_field }, operator: greater_than, value: { literal: yes } }\n    effect: block\n';
    const result = compileSources({ schema: { text: 'version: [', file: 'schema.yaml' }, policy: { text: policy, file: 'policy.yaml' } });
    expect(result.issues.map((i) => [i.file, i.code])).toEqual([['schema.yaml', 'YAML_SYNTAX']]);
  });

  it('checkDirectory still checks policy.yaml when schema.yaml is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actra-noschema-'));
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules:\n  - id: a\n    scope: { global: true }\n    when: { subject: { domain: actr, field: role }, operator: equals, value: { literal: x } }\n    effect: block\n');
    const result = checkDirectory(dir);
    expect(result.policy).toBeUndefined();
    expect(result.issues.map((i) => [i.code, i.file, i.line])).toEqual([
      ['FILE_NOT_FOUND', join(dir, 'schema.yaml'), 0],
      ['UNKNOWN_DOMAIN', join(dir, 'policy.yaml'), 5],
    ]);
  });

  it('checkDirectory reports missing schema.yaml and policy.yaml as FILE_NOT_FOUND', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actra-empty-'));
    const result = checkDirectory(dir);
    expect(result.policy).toBeUndefined();
    expect(result.issues.map((i) => [i.code, i.file, i.line])).toEqual([
      ['FILE_NOT_FOUND', join(dir, 'schema.yaml'), 0],
      ['FILE_NOT_FOUND', join(dir, 'policy.yaml'), 0],
    ]);
    expect(result.issues[0]?.message).toContain('does not exist');
  });

  it('fromDirectory picks up governance.yaml when present', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actra-gov-'));
    writeFileSync(join(dir, 'schema.yaml'), schema);
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    const without = Actra.fromDirectory(dir).policyHash();
    writeFileSync(join(dir, 'governance.yaml'), 'version: 1\ngovernance:\n  rules:\n    - id: need_allow\n      select: { where: { effect: allow } }\n      must: { min_count: 1 }\n      error: an allow rule is required\n');
    const result = checkDirectory(dir);
    expect(result.issues).toEqual([
      { code: 'GOVERNANCE_VIOLATION', message: 'an allow rule is required', file: join(dir, 'governance.yaml'), line: 4, column: 7, path: ['governance', 'rules', 0], ruleId: 'need_allow' },
    ]);
    writeFileSync(join(dir, 'governance.yaml'), 'version: 1\ngovernance:\n  rules:\n    - id: need_block\n      select: { where: { effect: block } }\n      must: { min_count: 1 }\n      error: a block rule is required\n');
    const withGovernance = Actra.fromDirectory(dir).policyHash();
    expect(withGovernance).not.toBe(without);
  });

  it('fromFiles reports a missing governance file it was asked for', () => {
    try {
      Actra.fromFiles(join(REFUND, 'schema.yaml'), join(REFUND, 'policy.yaml'), join(REFUND, 'nope.yaml'));
      expect.unreachable();
    } catch (error) {
      expect((error as ActraCompileError).issues.map((i) => i.code)).toEqual(['FILE_NOT_FOUND']);
    }
  });

  it('exposes rules, schema, hasAction and rule()', () => {
    const policy = Actra.fromDirectory(join(FIXTURES, 'extended', 'payments'));
    expect(policy.rules.map((r) => r.id)).toEqual(['refund_fraud', 'refund_over_limit', 'refund_ok', 'interns_need_approval', 'service_accounts_ok', 'risky_snapshot', 'known_actor']);
    expect(policy.hasAction('refund')).toBe(true);
    expect(policy.hasAction('nope')).toBe(false);
    expect(policy.schema.actions.get('refund')?.get('currency')).toEqual({ kind: 'enum', optional: false, values: ['EUR', 'USD', 'GBP'] });
    expect(policy.schema.actor.get('role')).toEqual({ kind: 'string', optional: true });
    const rule = policy.rule('refund_over_limit');
    expect(rule).toMatchObject({ effect: 'require_approval', reason: 'refund.over_limit', risk: 'high', approval: { ttlSeconds: 900, restricted: true }, scope: { action: 'refund' } });
    expect(rule?.location).toEqual({ file: join(FIXTURES, 'extended', 'payments', 'policy.yaml'), line: 14, column: 5 });
    expect(policy.rule('interns_need_approval')?.approval).toEqual({ ttlSeconds: 3600, restricted: false });
    expect(policy.rule('missing')).toBeUndefined();
  });
});
