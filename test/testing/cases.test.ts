import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Actra } from '../../src/core/actra.js';
import { MAX_DEPTH, MAX_DOCUMENT_BYTES } from '../../src/core/parse.js';
import { loadCases, parseCases, runCase, runCases, type PolicyTestCase } from '../../src/testing/cases.js';

const scratch = mkdtempSync(join(tmpdir(), 'actra-cases-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function policyDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'p-'));
  mkdirSync(join(dir, 'tests'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'tests', name), text);
  return dir;
}

const ONE_CASE = `cases:
  - name: small refund
    action: { type: refund, amount: 5 }
    actor: { role: agent }
    snapshot: { fraud_flag: false }
    expect: { effect: allow, rule: null }
`;

describe('parseCases', () => {
  it('reads a `cases:` file with positions and defaults', () => {
    const { cases, issues } = parseCases(ONE_CASE, 'a.yaml');
    expect(issues).toEqual([]);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({
      name: 'small refund',
      action: { type: 'refund', amount: 5 },
      actor: { role: 'agent' },
      snapshot: { fraud_flag: false },
      expect: { effect: 'allow', rule: null },
      file: 'a.yaml',
      line: 2,
      column: 5,
    });
  });

  it('reads a top-level list and defaults a missing actor and snapshot to empty objects', () => {
    const { cases, issues } = parseCases('- name: x\n  action: { type: read_order, order_id: o1 }\n  expect: { effect: block, reason: r.x }\n', 'list.yaml');
    expect(issues).toEqual([]);
    expect(cases[0]).toMatchObject({ actor: {}, snapshot: {}, expect: { effect: 'block', reason: 'r.x' }, line: 1, column: 3 });
    expect(cases[0]!.expect).not.toHaveProperty('rule');
  });

  it('reads an error expectation', () => {
    const { cases, issues } = parseCases('- name: bad\n  action: { type: refund }\n  expect: { error: ACTRA_INPUT }\n', 'e.yaml');
    expect(issues).toEqual([]);
    expect(cases[0]!.expect).toEqual({ error: 'ACTRA_INPUT' });
  });

  it('reports an unknown key with its line and column and a suggestion', () => {
    const text = ONE_CASE.replace('expect: { effect: allow, rule: null }', 'expect: { efect: allow }');
    const { cases, issues } = parseCases(text, 't.yaml');
    expect(cases).toEqual([]);
    expect(issues).toEqual([
      { code: 'MISSING_KEY', message: 'missing required key "effect"', file: 't.yaml', line: 6, column: 13, path: ['cases', 0, 'expect', 'effect'] },
      { code: 'UNKNOWN_KEY', message: 'unknown key "efect" in cases.0.expect (did you mean "effect"?)', file: 't.yaml', line: 6, column: 15, path: ['cases', 0, 'expect', 'efect'] },
    ]);
  });

  it('reports a typo of error in expect as UNKNOWN_KEY with a suggestion, not as an invalid value', () => {
    const { issues } = parseCases(ONE_CASE.replace('expect: { effect: allow, rule: null }', 'expect: { eror: ACTRA_INPUT }'), 't.yaml');
    expect(issues.map((i) => [i.code, i.message])).toEqual([
      ['MISSING_KEY', 'missing required key "effect"'],
      ['UNKNOWN_KEY', 'unknown key "eror" in cases.0.expect (did you mean "error"?)'],
    ]);
  });

  it('reports an unknown key on a case and at the top level', () => {
    const text = `cases:\n  - name: a\n    action: { type: refund }\n    snapshots: {}\n    expect: { effect: allow }\nextra: 1\n`;
    const { issues } = parseCases(text, 't.yaml');
    expect(issues).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_KEY', line: 6, column: 1, message: 'unknown key "extra"' }),
    ]);
    const inner = parseCases(text.replace('extra: 1\n', ''), 't.yaml').issues;
    expect(inner).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_KEY', line: 4, column: 5, message: 'unknown key "snapshots" in cases.0 (did you mean "snapshot"?)' }),
    ]);
  });

  it('reports a missing key at the case that lacks it', () => {
    const { issues } = parseCases('cases:\n  - name: a\n    expect: { effect: allow }\n', 't.yaml');
    expect(issues).toEqual([expect.objectContaining({ code: 'MISSING_KEY', line: 2, column: 5, message: 'missing required key "action"' })]);
  });

  it('reports a wrong effect and a wrong error code as invalid values', () => {
    const { issues } = parseCases(
      '- name: a\n  action: { type: refund }\n  expect: { effect: deny }\n- name: b\n  action: { type: refund }\n  expect: { error: ACTRA_NOPE }\n',
      't.yaml',
    );
    expect(issues.map((i) => [i.code, i.line, i.column])).toEqual([
      ['INVALID_VALUE', 3, 21],
      ['INVALID_VALUE', 6, 20],
    ]);
    expect(issues[0]!.message).toMatch(/^0\.expect\.effect: /);
  });

  it('reports a wrongly typed action and a missing action type', () => {
    const { issues } = parseCases('- name: a\n  action: refund\n  expect: { effect: allow }\n- name: b\n  action: { amount: 3 }\n  expect: { effect: allow }\n', 't.yaml');
    expect(issues.map((i) => [i.code, i.line])).toEqual([
      ['INVALID_TYPE', 2],
      ['MISSING_KEY', 5],
    ]);
  });

  it('reports every problem of a file at once and keeps its valid cases', () => {
    const text = `- name: ok\n  action: { type: refund }\n  expect: { effect: allow }\n- name: bad1\n  action: { type: refund }\n  expect: { effect: allow, rul: x }\n- name: bad2\n  action: { type: refund }\n`;
    const { cases, issues } = parseCases(text, 't.yaml');
    expect(cases.map((c) => c.name)).toEqual(['ok']);
    expect(issues.map((i) => i.code)).toEqual(['UNKNOWN_KEY', 'MISSING_KEY']);
  });

  it('reports duplicate case names', () => {
    const text = `- name: same\n  action: { type: refund }\n  expect: { effect: allow }\n- name: same\n  action: { type: refund }\n  expect: { effect: block }\n`;
    const { cases, issues } = parseCases(text, 't.yaml');
    expect(cases).toHaveLength(1);
    expect(issues).toEqual([expect.objectContaining({ code: 'INVALID_VALUE', line: 4, column: 9, message: 'duplicate case name "same" (first at case 0)' })]);
  });

  it('reports YAML syntax errors with their position', () => {
    const { cases, issues } = parseCases('cases:\n  - name: a\n    action: { type: refund\n', 't.yaml');
    expect(cases).toEqual([]);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ code: 'YAML_SYNTAX', file: 't.yaml' });
    expect(issues[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('reports duplicate keys as YAML errors', () => {
    const { issues } = parseCases('cases: []\ncases: []\n', 't.yaml');
    expect(issues).toEqual([expect.objectContaining({ code: 'YAML_SYNTAX', line: 2, column: 1 })]);
  });

  it('reports an empty file and a scalar document', () => {
    expect(parseCases('', 'e.yaml').issues).toEqual([expect.objectContaining({ code: 'EMPTY_DOCUMENT', line: 1, column: 1 })]);
    expect(parseCases('# only a comment\n', 'e.yaml').issues).toEqual([expect.objectContaining({ code: 'EMPTY_DOCUMENT' })]);
    expect(parseCases('42\n', 'e.yaml').issues).toEqual([expect.objectContaining({ code: 'INVALID_DOCUMENT' })]);
  });

  it('stops an alias expansion bomb with YAML_LIMIT', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const { cases, issues } = parseCases(lines.join('\n') + '\n', 'bomb.yaml');
    expect(cases).toEqual([]);
    expect(issues).toEqual([expect.objectContaining({ code: 'YAML_LIMIT' })]);
  });

  it('stops deep nesting with YAML_LIMIT, the limit policy files have', () => {
    const n = 512 * 1024;
    for (const text of [`cases: ${'['.repeat(n)}${']'.repeat(n)}`, `cases:\n${'- '.repeat(n)}x\n`]) {
      const { cases, issues } = parseCases(text, 'deep.yaml');
      expect(cases).toEqual([]);
      expect(issues.map((i) => [i.code, i.message, i.file])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`, 'deep.yaml']]);
      expect(issues[0]!.line).toBeGreaterThan(0);
    }
  });

  it('refuses a self-referential alias with YAML_LIMIT at the alias', () => {
    const { issues } = parseCases('- name: a\n  action: &a { type: refund, self: *a }\n  expect: { effect: allow }\n', 'cycle.yaml');
    expect(issues.map((i) => [i.code, i.line, i.column])).toEqual([['YAML_LIMIT', 2, 36]]);
  });

  it('refuses a text over the document size limit', () => {
    expect(parseCases(`# ${'x'.repeat(MAX_DOCUMENT_BYTES)}\n`, 'big.yaml').issues.map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`]]);
  });

  it('keeps a __proto__ key as plain data without touching prototypes', () => {
    const { cases, issues } = parseCases('- name: p\n  action: { type: refund, __proto__: { polluted: true } }\n  expect: { effect: allow }\n', 'p.yaml');
    expect(issues).toEqual([]);
    expect(Object.getPrototypeOf(cases[0]!.action)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.hasOwn(cases[0]!.action, '__proto__')).toBe(true);
  });
});

describe('loadCases', () => {
  it('reads every .yaml and .yml file under tests/ in name order', () => {
    const dir = policyDirWith({
      'b.yml': '- name: second\n  action: { type: refund }\n  expect: { effect: block }\n',
      'a.yaml': ONE_CASE,
      'notes.txt': 'not a test file',
    });
    const { cases, issues, files } = loadCases(dir);
    expect(issues).toEqual([]);
    expect(files).toEqual([join(dir, 'tests', 'a.yaml'), join(dir, 'tests', 'b.yml')]);
    expect(cases.map((c) => [c.name, c.file])).toEqual([
      ['small refund', join(dir, 'tests', 'a.yaml')],
      ['second', join(dir, 'tests', 'b.yml')],
    ]);
  });

  it('returns the problems of a bad file and the cases of the good ones', () => {
    const dir = policyDirWith({ 'a.yaml': ONE_CASE, 'b.yaml': 'cases:\n  - nme: x\n' });
    const { cases, issues } = loadCases(dir);
    expect(cases.map((c) => c.name)).toEqual(['small refund']);
    expect(issues.map((i) => [i.file, i.code])).toEqual([
      [join(dir, 'tests', 'b.yaml'), 'MISSING_KEY'],
      [join(dir, 'tests', 'b.yaml'), 'MISSING_KEY'],
      [join(dir, 'tests', 'b.yaml'), 'MISSING_KEY'],
      [join(dir, 'tests', 'b.yaml'), 'UNKNOWN_KEY'],
    ]);
  });

  it('has no cases when the directory has no tests/ folder', () => {
    const dir = mkdtempSync(join(scratch, 'empty-'));
    expect(loadCases(dir)).toEqual({ cases: [], issues: [], files: [] });
  });

  it('refuses a test file over the document size limit (8 MiB, as for policy files)', () => {
    const dir = policyDirWith({ 'big.yaml': `# ${'x'.repeat(MAX_DOCUMENT_BYTES + 10)}\n`, 'ok.yaml': `# ${'x'.repeat(2 * 1024 * 1024)}\n${ONE_CASE}` });
    const { cases, issues } = loadCases(dir);
    expect(issues).toEqual([{ code: 'YAML_LIMIT', message: `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, file: join(dir, 'tests', 'big.yaml'), line: 1, column: 1, path: [] }]);
    expect(cases.map((c) => c.name)).toEqual(['small refund']);
  });

  it('loads the bundled example cases without problems', () => {
    for (const example of ['refunds', 'deploy']) {
      const { cases, issues } = loadCases(join('examples', 'policies', example));
      expect(issues).toEqual([]);
      expect(cases.length).toBeGreaterThan(5);
    }
  });
});

describe('runCases', () => {
  const policy = Actra.fromStrings(
    `version: 1
actions:
  refund: { fields: { amount: number } }
  read_order: { fields: { id: string } }
actor: { fields: { role: string } }
snapshot: { fields: { fraud_flag: boolean } }
`,
    `version: 1
rules:
  - id: block_fraud
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
    reason: refund.fraud_flag
  - id: block_large
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: block
    reason: refund.too_large
  - id: never_matched
    scope: { action: read_order }
    when: { subject: { domain: action, field: id }, operator: equals, value: { literal: nope } }
    effect: block
`,
  );
  function one(expect: string, action = '{ type: refund, amount: 5000 }', snapshot = '{ fraud_flag: false }'): PolicyTestCase {
    const { cases, issues } = parseCases(`- name: c\n  action: ${action}\n  snapshot: ${snapshot}\n  expect: ${expect}\n`, 'c.yaml');
    if (issues.length > 0 || cases[0] === undefined) throw new Error(`bad fixture: ${JSON.stringify(issues)}`);
    return cases[0];
  }

  it('passes when effect, rule and reason match', () => {
    const result = runCase(policy, one('{ effect: block, rule: block_large, reason: refund.too_large }'));
    expect(result).toMatchObject({ passed: true, message: 'ok', decision: { effect: 'block', matchedRule: 'block_large' } });
  });

  it('fails on a wrong effect, a wrong rule, a wrong reason or a rule where none matched', () => {
    expect(runCase(policy, one('{ effect: allow }')).message).toBe('expected allow, got block (rule block_large, reason refund.too_large)');
    expect(runCase(policy, one('{ effect: block, rule: block_fraud }')).message).toBe(
      'expected block (rule block_fraud), got block (rule block_large, reason refund.too_large)',
    );
    expect(runCase(policy, one('{ effect: block, reason: refund.other }')).passed).toBe(false);
    expect(runCase(policy, one('{ effect: block, rule: null }')).message).toBe('expected block (no rule), got block (rule block_large, reason refund.too_large)');
    expect(runCase(policy, one('{ effect: allow, rule: null }', '{ type: refund, amount: 5 }')).passed).toBe(true);
  });

  it('passes an expected error and fails an unexpected one, or a missing one', () => {
    const missing = one('{ error: ACTRA_INPUT }', '{ type: refund, amount: 5 }', '{}');
    expect(runCase(policy, missing)).toMatchObject({ passed: true, errorCode: 'ACTRA_INPUT' });
    const unexpected = runCase(policy, one('{ effect: allow }', '{ type: refund, amount: 5 }', '{}'));
    expect(unexpected.passed).toBe(false);
    expect(unexpected.errorCode).toBe('ACTRA_INPUT');
    expect(unexpected.message).toMatch(/^expected allow, got error ACTRA_INPUT: .*snapshot\.fraud_flag/);
    const wrongCode = runCase(policy, one('{ error: ACTRA_ENGINE }', '{ type: refund, amount: 5 }', '{}'));
    expect(wrongCode.passed).toBe(false);
    expect(wrongCode.message).toMatch(/^expected error ACTRA_ENGINE, got error ACTRA_INPUT: /);
    expect(runCase(policy, one('{ error: ACTRA_INPUT }')).message).toBe('expected error ACTRA_INPUT, got block (rule block_large, reason refund.too_large)');
  });

  it('counts results and lists the rules no case matched, in file order', () => {
    const cases = [one('{ effect: block }'), one('{ effect: allow }', '{ type: refund, amount: 5 }', '{ fraud_flag: true }')];
    const report = runCases(policy, cases);
    expect(report.passed).toBe(1);
    expect(report.failed).toBe(1);
    expect(report.uncoveredRules.map((r) => r.id)).toEqual(['never_matched']);
  });
});
