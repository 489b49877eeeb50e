import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Actra, compileSources, compileWith } from '../../src/core/actra.js';
import { IssueSink, MAX_DEPTH, MAX_DOCUMENT_BYTES, parseLimited, parseSource } from '../../src/core/parse.js';
import { ActraCompileError } from '../../src/errors.js';

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
    expect(issues.map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', 'document expands too many aliases (they would add more than 100000 nodes)']]);
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

  it('stops an 8 MiB flow nesting with YAML_LIMIT at the bracket past the limit, before the library parses it', () => {
    const head = 'version: 1\nrules: ';
    const n = Math.floor((MAX_DOCUMENT_BYTES - head.length - 16) / 2);
    const issues = policyIssues(`${head}${'['.repeat(n)}${']'.repeat(n)}`);
    expect(issues.map((i) => [i.code, i.message, i.line])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`, 2]]);
    expect(issues[0]?.column).toBeGreaterThan(MAX_DEPTH);
    expect(issues[0]?.column).toBeLessThan(2 * MAX_DEPTH + 10);
  });

  it('stops 8 MiB of compact block sequences (- - - ...) with YAML_LIMIT', () => {
    const head = 'version: 1\nrules:\n';
    const n = Math.floor((MAX_DOCUMENT_BYTES - head.length - 16) / 2);
    expect(policyIssues(`${head}${'- '.repeat(n)}x\n`).map((i) => [i.code, i.message, i.line])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`, 3]]);
  });

  it('stops thousands of indented block mappings and mixed flow-in-block nesting with YAML_LIMIT', () => {
    let text = 'version: 1\nrules:\n';
    for (let i = 0; i < 3000; i++) text += `${' '.repeat(i + 1)}k${i}:\n`;
    expect(policyIssues(text).map((i) => i.code)).toEqual(['YAML_LIMIT']);
    for (const [blocks, brackets] of [[40, 30], [60, 20]] as const) {
      let mixed = 'version: 1\nrules:\n';
      for (let i = 0; i < blocks; i++) mixed += `${'  '.repeat(i + 1)}k${i}:\n`;
      mixed += `${'  '.repeat(blocks + 1)}k: ${'['.repeat(brackets)}x${']'.repeat(brackets)}\n`;
      expect(policyIssues(mixed).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`]]);
    }
  });

  it('does not count brackets in quoted scalars, comments or block scalars as nesting', () => {
    const many = '['.repeat(3 * MAX_DEPTH);
    const text = `version: 1\n# ${many}\nrules:\n  - id: a\n    scope: { action: refund }\n    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1 } }\n    effect: block\n    message: "${many}"\n    reason: x\n    description: |\n      ${many}\n      {{{{ ${many}\n  - id: b\n    scope: { action: refund }\n    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 2 } }\n    effect: block\n    message: '${many} # not a comment'\n`;
    const sources = { schema: { text: SCHEMA, file: 'schema.yaml' }, policy: { text, file: 'policy.yaml' } };
    expect(compileWith(sources, 'library').result.issues).toEqual([]);
    expect(compileSources(sources).policy?.rule('a')?.description).toBe(`${many}\n{{{{ ${many}\n`);
  });

  it('lets through every document within the depth limit, whichever way it nests', () => {
    let flow = 'x';
    for (let i = 0; i < MAX_DEPTH - 1; i++) flow = `[${flow}]`;
    let block = '';
    for (let i = 0; i < MAX_DEPTH - 1; i++) block += `${' '.repeat(i)}k${i}:\n`;
    const compact = `${'- '.repeat(MAX_DEPTH - 1)}x\n`;
    for (const text of [`a: ${flow}\n`.slice(3), `${block}${' '.repeat(MAX_DEPTH)}v\n`, compact]) {
      const parsed = parseLimited(text);
      expect('problems' in parsed ? parsed.problems : []).toEqual([]);
    }
  });

  it('places the pre-scan\'s YAML_LIMIT at the token where nesting passed the limit', () => {
    const parsed = parseLimited(`a:\n  b: ${'{ c: '.repeat(200)}1${' }'.repeat(200)}\n`);
    expect('problems' in parsed && parsed.problems.map((p) => [p.code, p.line])).toEqual([['YAML_LIMIT', 2]]);
  });

  it('reports an alias that refers to a node containing it as YAML_LIMIT, with its position', () => {
    const cyclic = [
      ['version: 1\nrules:\n  - id: a\n    scope: { action: refund }\n    when: &w { not: *w }\n    effect: block\n', 5, 21],
      ['version: 1\nrules:\n  - id: a\n    scope: { action: refund }\n    when: &w\n      all: [*w]\n    effect: block\n', 6, 13],
      ['version: 1\nrules: &r\n  - *r\n', 3, 5],
    ] as const;
    for (const [text, line, column] of cyclic) {
      const issues = policyIssues(text);
      expect(issues).toEqual([{ code: 'YAML_LIMIT', message: expect.stringMatching(/^alias \*[wr] refers to a node that contains it/) as string, file: 'policy.yaml', line, column, path: [] }]);
    }
  });

  it('reports a self-referential alias from Actra.fromStrings and Actra.fromDirectory as ACTRA_COMPILE, never a RangeError', () => {
    const policy = 'version: 1\nrules:\n  - id: a\n    scope: { action: refund }\n    when: &w { any: [{ not: *w }] }\n    effect: block\n';
    const dir = mkdtempSync(join(tmpdir(), 'actra-alias-'));
    writeFileSync(join(dir, 'schema.yaml'), SCHEMA);
    writeFileSync(join(dir, 'policy.yaml'), policy);
    for (const compile of [() => Actra.fromStrings(SCHEMA, policy), () => Actra.fromDirectory(dir)]) {
      let caught: unknown;
      try {
        compile();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ActraCompileError);
      expect((caught as ActraCompileError).issues.map((i) => [i.code, i.line, i.column])).toEqual([['YAML_LIMIT', 5, 29]]);
    }
  });

  it('counts nesting through aliases: an anchor reused inside itself deeper than the limit is YAML_LIMIT', () => {
    let text = 'version: 1\nrules: []\n';
    let value = 'x';
    for (let i = 0; i < 20; i++) value = `{ k: ${value} }`;
    text += `a0: &a0 ${value}\n`;
    for (let i = 1; i < 5; i++) text += `a${i}: &a${i} ${'{ k: '.repeat(20)}*a${i - 1}${' }'.repeat(20)}\n`;
    expect(policyIssues(text).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels once its aliases are expanded`]]);
    expect(policyIssues(text.split('\n').slice(0, 5).join('\n')).map((i) => i.code)).toEqual(['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
  });

  it('resolves many aliases to one anchor without searching the document for each', () => {
    const rules = Array.from({ length: 5000 }, (_, i) => `  - { id: r${i}, scope: *s, when: *w, effect: block }`).join('\n');
    const text = `version: 1\nrules:\n  - id: first\n    scope: &s { action: refund }\n    when: &w { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1 } }\n    effect: block\n${rules}\n`;
    expect(policyIssues(text)).toEqual([]);
  });

  it('reads a document with many anchors and one very large mapping (the library path) and still finds a duplicate key', () => {
    let text = 'version: 1\nrules: []\n';
    for (let i = 0; i < 8000; i++) text += `s${i}: &s${i} x\na${i}: &a${i} [*s${i}]\nb${i}: *a${i}\n`;
    expect(policyIssues(text).slice(0, 3).map((i) => [i.code, i.line])).toEqual([
      ['UNKNOWN_KEY', 3],
      ['UNKNOWN_KEY', 4],
      ['UNKNOWN_KEY', 5],
    ]);
    expect(policyIssues(`${text}s5: again\n`).map((i) => [i.code, i.message, i.line, i.column])).toEqual([['YAML_SYNTAX', 'Map keys must be unique', 24003, 1]]);
  });

  it('bounds what aliases expand to (YAML_LIMIT past 100,000 added nodes)', () => {
    const list = `[${Array.from({ length: 1000 }, () => 'x').join(', ')}]`;
    const uses = `[${Array.from({ length: 101 }, () => '*l').join(', ')}]`;
    expect(policyIssues(`version: 1\nrules: []\nl: &l ${list}\nu: ${uses}\n`).map((i) => [i.code, i.message])).toEqual([['YAML_LIMIT', 'document expands too many aliases (they would add more than 100000 nodes)']]);
    expect(policyIssues(`version: 1\nrules: []\nl: &l ${list}\nu: ${uses.replace('*l, ', '')}\n`).map((i) => i.code)).toEqual(['UNKNOWN_KEY', 'UNKNOWN_KEY']);
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
