import { describe, expect, it } from 'vitest';
import { compileSources, compileWith } from '../../src/core/actra.js';
import { IssueSink, MAX_DEPTH, MAX_DOCUMENT_BYTES, parseSource } from '../../src/core/parse.js';

const SCHEMA = 'version: 1\nactions:\n  refund:\n    fields:\n      amount: number\n';
const POLICY = 'version: 1\nrules: []\n';

function policyIssues(text: string) {
  return compileSources({ schema: { text: SCHEMA, file: 'schema.yaml' }, policy: { text, file: 'policy.yaml' } }).issues;
}

describe('YAML parsing and limits', () => {
  it('reports EMPTY_DOCUMENT for empty, blank and comment-only files', () => {
    for (const text of ['', '   \n\n', '# nothing here\n', '~\n']) {
      expect(policyIssues(text).map((i) => [i.code, i.message, i.line])).toEqual([['EMPTY_DOCUMENT', 'document is empty', 1]]);
    }
  });

  it('reports YAML_SYNTAX with a position', () => {
    const issues = policyIssues('version: 1\nrules:\n  - id: a\n   bad: [\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.code === 'YAML_SYNTAX' && i.file === 'policy.yaml' && i.line >= 1 && i.column >= 1)).toBe(true);
  });

  it('reports duplicate keys as YAML_SYNTAX at the duplicate', () => {
    const issues = policyIssues('version: 1\nversion: 1\nrules: []\n');
    expect(issues.map((i) => [i.code, i.line, i.column])).toEqual([['YAML_SYNTAX', 2, 1]]);
    expect(issues[0]?.message).toContain('Map keys must be unique');
  });

  it('defuses an alias expansion bomb with YAML_LIMIT', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 12; i++) text += `a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]\n`;
    const issues = policyIssues(text);
    expect(issues.map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', 'document expands too many aliases (limit exceeded)']]);
  });

  it('accepts a few ordinary anchors and aliases', () => {
    const text = 'version: 1\nrules:\n  - id: a\n    scope: &s { action: refund }\n    when: &w { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1 } }\n    effect: block\n  - id: b\n    scope: *s\n    when: *w\n    effect: allow\n';
    expect(policyIssues(text)).toEqual([]);
  });

  it('rejects 10,000-deep flow nesting with YAML_LIMIT', () => {
    const issues = policyIssues(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    expect(issues.map((i) => i.code)).toEqual(['YAML_LIMIT']);
  });

  it('rejects nesting deeper than 64 levels with YAML_LIMIT', () => {
    let text = 'version: 1\nrules:\n';
    let value = 'x';
    for (let i = 0; i < 70; i++) value = `{ k: ${value} }`;
    text += `  - ${value}\n`;
    expect(policyIssues(text).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', 'document nests deeper than 64 levels']]);
  });

  it('rejects deeply nested block mappings with YAML_LIMIT', () => {
    let text = '';
    for (let i = 0; i < 200; i++) text += `${' '.repeat(i)}k${i}:\n`;
    expect(policyIssues(`${text}${' '.repeat(200)}v\n`).map((i) => i.code)).toEqual(['YAML_LIMIT']);
  });

  it('rejects documents over the size limit with YAML_LIMIT before parsing', () => {
    const text = `version: 1\nrules: []\n# ${'x'.repeat(MAX_DOCUMENT_BYTES)}\n`;
    expect(policyIssues(text).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`]]);
  });

  it('reports INVALID_DOCUMENT when the text is not a string', () => {
    expect(policyIssues(42 as unknown as string).map((i) => i.code)).toEqual(['INVALID_DOCUMENT']);
  });

  it('rejects multiple documents in one file', () => {
    expect(policyIssues(`${POLICY}---\n${POLICY}`).map((i) => i.code)).toEqual(['YAML_SYNTAX']);
  });

  it('handles unicode keys and values with correct positions', () => {
    const issues = policyIssues('version: 1\nrules:\n  - id: "règle-🙂"\n    scope: { action: refund }\n    wheñ: {}\n');
    expect(issues.map((i) => [i.code, i.line, i.column, i.ruleId])).toEqual([
      ['UNKNOWN_KEY', 5, 5, 'règle-🙂'],
      ['MISSING_KEY', 3, 5, 'règle-🙂'],
      ['MISSING_KEY', 3, 5, 'règle-🙂'],
    ]);
  });

  it('reads common documents with the fast reader and leaves the rest to the library', () => {
    const sink = new IssueSink();
    expect(parseSource({ text: POLICY, file: 'policy.yaml' }, sink)?.fast).toBe(true);
    expect(parseSource({ text: 'version: 1\nrules: &r []\n', file: 'policy.yaml' }, sink)?.fast).toBe(false);
    expect(parseSource({ text: POLICY, file: 'policy.yaml' }, sink, 'library')?.fast).toBe(false);
    expect(sink.issues).toEqual([]);
  });

  it('keeps the depth limit for documents the fast reader would otherwise read', () => {
    let text = 'version: 1\nrules:\n';
    for (let i = 0; i < MAX_DEPTH; i++) text += `${'  '.repeat(i + 1)}k${i}:\n`;
    text += `${'  '.repeat(MAX_DEPTH + 1)}leaf: x\n`;
    expect(policyIssues(text).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`]]);
  });

  it('reports the same issues at the same positions whichever reader parsed the policy', () => {
    const texts = [
      'version: 1\nrules:\n  - id: a\n    scope: { action: refund }\n    when: { subject: { domain: action, field: amont }, operator: greater_than, value: { literal: 1 } }\n    effect: block\n',
      'version: 2\nrules:\n  - {id: a, scope: {action: refnd}, when: {subject: {domain: action, field: amount}, operator: more, value: {literal: x}}, effect: stop}\n',
      'version: 1\nrules:\n  # a comment\n  - id: a\n    scope: { action: refund }\n    when:\n      all: []\n    effect: block\n  - id: a\n    scope: { global: false }\n',
    ];
    for (const text of texts) {
      const sources = { schema: { text: SCHEMA, file: 'schema.yaml' }, policy: { text, file: 'policy.yaml' } };
      const fast = compileWith(sources, 'fast');
      expect(fast.fast).toBe(true);
      expect(fast.result.issues.length).toBeGreaterThan(0);
      const library = compileWith(sources, 'library');
      expect(compileSources(sources).issues).toEqual(library.result.issues);
      // The fast reader places nodes where the library does, so even its own pass agrees.
      expect(fast.result.issues).toEqual(library.result.issues);
    }
  });
});
