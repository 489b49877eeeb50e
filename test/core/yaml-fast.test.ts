/** The fast YAML reader against the library: generated documents, every fixture, each case it leaves alone, a 10,000-rule compile. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineCounter, Pair, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Range } from 'yaml';
import { readFast } from '../../src/core/yaml-fast.js';
import { IssueSink, MAX_DEPTH, parseSource } from '../../src/core/parse.js';
import { compileSources, compileWith } from '../../src/core/actra.js';
import type { Source } from '../../src/core/actra.js';
import type { Policy } from '../../src/core/types.js';
import { agreementInputs, makeRuleSet, toActraYaml } from '../../bench/peers/ruleset.js';

// ---- Document generator: documents in (clean) and around (edge) the fast reader's subset ----
type Draw = fc.GeneratorValue;

function int(g: Draw, min: number, max: number): number {
  return g(fc.integer, { min, max });
}

function pick<T>(g: Draw, values: readonly T[]): T {
  return values[int(g, 0, values.length - 1)] as T;
}

function spaces(g: Draw, min: number, max: number): string {
  return ' '.repeat(int(g, min, max));
}

/** Scalars that may be written plain anywhere. */
const PLAIN_ANYWHERE = [
  'a', 'id', 'refund', 'op_1', 'x-y', 'CamelCase', 'é', 'naïve', '🙂', 'a.b', 'v2', 'a b', 'a  b', 'a:b', 'a#b', 'http://x/y',
  '-x', '-1', '1', '0', '-0', '007', '+3', '1.5', '1.50', '.5', '1.', '-2.000', '1e3', '1E-3', '2.5e+10', '.5e1', '99999999999999999999',
  'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL', 'nULL', '~', 'yes', 'no', 'on', 'off', 'nan',
  'inf', 'x?', 'a-', 'a!', 'a&b', 'a*b', 'a|b', 'a>b', 'a@b', 'a%b', "it's", 'say "hi"', 'a\\b', '0x', '0o', '1_000', '1.2.3', '--x',
  '1.5e3', '-.5', '+.5', '0.0', '10.0e1', '1e', 'e3', '+', '-.', '.', '..', '0', '-007.10',
];
/** Scalars that may be written plain in block context only (they hold flow indicators). */
const PLAIN_BLOCK_ONLY = ['a,b', 'x[1]', 'y{2}', 'z]', 'a, b', 'w}'];
/** Scalars that always need quotes. */
const QUOTED_ONLY = [
  '', ' lead', 'trail ', 'a: b', 'a #b', '#c', '- x', '-', ':', '? x', '[x', '{x', '&a', '*a', '!t', '|', '>', "'q", '"q', '%x', '@x',
  '`x', 'x:', ':x', '?x', ', x', 'line\nbreak', 'tab\there', 'quote"in', "both'\"", 'back\\slash', '  ', 'a:', '---', '...',
];
/** Plain forms the reader leaves to the library. */
const PLAIN_EDGE = ['0x1F', '0o17', '.inf', '-.inf', '+.INF', '.nan', '.NaN', 'a: b', 'x:', '@x', '`x', '%x', '&a x', '*a', '!!str x', '|', '>', '? x', ':x'];

/** Writes `value` single-quoted. */
function singleQuoted(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Writes `value` double-quoted with simple escapes. */
function doubleQuoted(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n').replaceAll('\t', '\\t')}"`;
}

/** Double-quoted escapes, some beyond the reader's set (edge mode). */
const EDGE_ESCAPES = ['\\x41', '\\u00e9', '\\U0001F642', '\\q', '\\/', '\\0', '\\_', '\\ ', '\\e', '\\N'];

interface GenOptions {
  /** Edge mode: constructs outside the subset and random damage. */
  readonly edge: boolean;
}

class Generator {
  readonly #g: Draw;
  readonly #edge: boolean;
  readonly #lines: string[] = [];
  /** In edge mode, one in this many choices takes an edge form (drawn per document, so some documents are nearly clean). */
  #edgeOdds = 1;
  /** Set after an empty value: until the next content line, a comment would take the reader outside its subset. */
  #afterEmpty = false;

  constructor(g: Draw, options: GenOptions) {
    this.#g = g;
    this.#edge = options.edge;
  }

  document(): string {
    const g = this.#g;
    if (this.#edge) this.#edgeOdds = pick(g, [40, 12, 4]);
    this.#trivia(0);
    if (int(g, 0, 5) === 0) {
      this.#lines.push(pick(g, ['---', '--- ', '---  # start']));
      this.#trivia(0);
    }
    // Most documents start at column 0; a few are indented as a whole.
    const base = pick(g, [0, 0, 0, 0, 1, 2]);
    if (pick(g, [true, true, true, false])) this.#map(base, 1, '');
    else this.#seq(base, 1);
    this.#trivia(0);
    let text = this.#lines.join('\n');
    if (pick(g, [true, true, false])) text += '\n';
    if (this.#edge) text = this.#damage(text);
    return text;
  }

  /** Whether to take an edge form here. */
  #edgy(): boolean {
    return this.#edge && int(this.#g, 1, this.#edgeOdds) === 1;
  }

  #content(line: string): void {
    this.#lines.push(line);
    this.#afterEmpty = false;
  }

  /** Blank lines (some with spaces) and comment lines at any column. */
  #trivia(weight: number): void {
    // After an empty value a comment would take the document outside the subset: blank lines only, unless on edge.
    if (this.#afterEmpty && !this.#edgy()) return this.#blanks();
    const g = this.#g;
    const count = int(g, 0, weight === 0 ? 2 : 1);
    for (let i = 0; i < count; i++) {
      const kind = int(g, 0, 2);
      if (kind === 0) this.#lines.push('');
      else if (kind === 1) this.#lines.push(spaces(g, 1, 6));
      else this.#lines.push(`${spaces(g, 0, 10)}#${pick(g, ['', ' c', ' note: a # b', ' - x', ' "q"', '#'])}`);
    }
  }

  #blanks(): void {
    const g = this.#g;
    const count = int(g, 0, 1);
    for (let i = 0; i < count; i++) this.#lines.push(spaces(g, 0, 4));
  }

  /** What may follow a value on its line. */
  #trailer(): string {
    const g = this.#g;
    switch (int(g, 0, 3)) {
      case 0:
        return '';
      case 1:
        return spaces(g, 1, 3);
      case 2:
        return `${spaces(g, 1, 3)}#${pick(g, ['', ' c', ' a: b', '# x', ' ]'])}`;
      default:
        return this.#edgy() ? pick(g, ['#c', ' x', ': y', ' , z', ' ]']) : '';
    }
  }

  scalar(context: 'block' | 'flow'): string {
    const g = this.#g;
    const form = int(g, 0, 4);
    if (this.#edgy()) {
      if (int(g, 0, 1) === 0) return pick(g, PLAIN_EDGE);
      return `"${pick(g, ['a', ''])}${pick(g, EDGE_ESCAPES)}${pick(g, ['b', ''])}"`;
    }
    if (form <= 2) return pick(g, context === 'block' && int(g, 0, 3) === 0 ? PLAIN_BLOCK_ONLY : PLAIN_ANYWHERE);
    const value = pick(g, int(g, 0, 1) === 0 ? QUOTED_ONLY : PLAIN_ANYWHERE);
    return form === 3 && !value.includes('\n') && !value.includes('\t') ? singleQuoted(value) : doubleQuoted(value);
  }

  /** A key unique in its mapping (edge mode also draws colliding and unusual keys). */
  key(index: number, context: 'block' | 'flow'): string {
    const g = this.#g;
    if (this.#edgy()) {
      return pick(g, ['k0', 'k1', 'true', 'True', '1', '01', '1.0', '"k0"', '<<', '? k', 'x'.repeat(1100), '', '~', 'null', '&a k', '!!str k', '[a]', '{a: 1}']);
    }
    switch (int(g, 0, context === 'block' ? 5 : 4)) {
      case 0:
        return `${index + 100}`;
      case 1:
        return singleQuoted(`k ${index}`);
      case 2:
        return doubleQuoted(`k:${index}`);
      case 3:
        return `my key ${index}`;
      case 4:
        return `k${index}`;
      default:
        return `k-${index}${spaces(g, 1, 2)}`;
    }
  }

  flow(depth: number): string {
    const g = this.#g;
    const isMap = int(g, 0, 1) === 0;
    const count = int(g, 0, 3);
    const items: string[] = [];
    for (let i = 0; i < count; i++) {
      const value = depth < 4 && int(g, 0, 4) === 0 ? this.flow(depth + 1) : this.scalar('flow');
      if (!isMap) {
        items.push(value);
        continue;
      }
      const key = this.key(i, 'flow');
      const quoted = key.startsWith('"') || key.startsWith("'");
      const colon = quoted && int(g, 0, 2) === 0 ? ':' : `${spaces(g, 0, 1)}:${spaces(g, 1, 2)}`;
      items.push(`${key}${colon}${value}`);
    }
    if (this.#edgy()) {
      items.push(pick(g, ['', 'a: ', 'a', 'a: b: c', '#c', 'x\n y', 'x,\n', '\n', '\n  ', '? k', '[a]: b', '&a x', '*a']));
    }
    const separator = `${spaces(g, 0, 2)},${spaces(g, 0, 2)}`;
    const pad = spaces(g, 0, 2);
    const end = this.#edgy() ? ',' : '';
    return `${isMap ? '{' : '['}${pad}${items.join(separator)}${end}${count === 0 ? '' : spaces(g, 0, 2)}${isMap ? '}' : ']'}`;
  }

  /** A block mapping at `indent`; its first line starts with `lead` instead of spaces (for `- key: value`). */
  #map(indent: number, depth: number, lead: string): void {
    const g = this.#g;
    const count = int(g, 1, 4);
    for (let i = 0; i < count; i++) {
      const prefix = i === 0 && lead !== '' ? lead : ' '.repeat(indent);
      if (i > 0) this.#trivia(1);
      const key = `${prefix}${this.key(i, 'block')}:`;
      const kind = depth >= 5 ? int(g, 0, 1) : int(g, 0, 5);
      switch (kind) {
        case 0:
          this.#content(`${key}${spaces(g, 1, 3)}${this.scalar('block')}${this.#trailer()}`);
          break;
        case 1:
          this.#content(`${key}${spaces(g, 1, 2)}${this.flow(1)}${this.#trailer()}`);
          break;
        case 2:
          this.#content(`${key}${int(g, 0, 1) === 0 ? spaces(g, 0, 2) : ''}`);
          this.#afterEmpty = true;
          this.#trivia(1);
          break;
        case 3:
          this.#content(`${key}${pick(g, ['', ' ', '  # c'])}`);
          this.#trivia(1);
          this.#map(indent + int(g, 1, 3), depth + 1, '');
          break;
        default:
          this.#content(`${key}${pick(g, ['', ' ', ' # c'])}`);
          this.#trivia(1);
          this.#seq(indent + int(g, 0, 2), depth + 1);
      }
    }
  }

  #seq(indent: number, depth: number): void {
    const g = this.#g;
    const count = int(g, 1, 4);
    for (let i = 0; i < count; i++) {
      if (i > 0) this.#trivia(1);
      const gap = spaces(g, 1, 2);
      const dash = `${' '.repeat(indent)}-${gap}`;
      const kind = depth >= 5 ? int(g, 0, 1) : int(g, 0, 3);
      if (this.#edgy()) {
        this.#content(`${' '.repeat(indent)}${pick(g, ['-', '- ', '- # c', '- - x', '-x', '- ? k', '- |'])}`);
        continue;
      }
      switch (kind) {
        case 0:
          this.#content(`${dash}${this.scalar('block')}${this.#trailer()}`);
          break;
        case 1:
          this.#content(`${dash}${this.flow(1)}${this.#trailer()}`);
          break;
        default:
          this.#map(indent + 1 + gap.length, depth + 1, dash);
      }
    }
  }

  /** Random damage: characters, snippets and indentation changes the reader must either read right or leave alone. */
  #damage(text: string): string {
    const g = this.#g;
    let out = text;
    const rounds = pick(g, [0, 0, 1, 1, 2]);
    for (let r = 0; r < rounds; r++) {
      const at = int(g, 0, out.length);
      switch (int(g, 0, 3)) {
        case 0:
          out = out.slice(0, at) + pick(g, ['\t', '\r', ' ', '#', ':', '- ', '&a ', '*a', '!!str ', '? ', '|', '>', '\n---\n', '\n...\n', '"', "'", '{', '}', '[', ']', ',', '\n', '\n  ', 'x', '%', '@', '\\', '\ufeff', '\u2028', '\x01']) + out.slice(at);
          break;
        case 1:
          out = out.slice(0, at) + out.slice(at + int(g, 1, 3));
          break;
        case 2: {
          const lines = out.split('\n');
          const line = int(g, 0, lines.length - 1);
          lines[line] = int(g, 0, 1) === 0 ? ` ${lines[line]}` : (lines[line] as string).replace(/^ /, '');
          out = lines.join('\n');
          break;
        }
        default: {
          const lines = out.split('\n');
          const line = int(g, 0, lines.length - 1);
          lines.splice(line, 0, lines[line] as string);
          out = lines.join('\n');
        }
      }
    }
    if (int(g, 0, 9) === 0) out = pick(g, ['---\n', '--- # c\n', '%YAML 1.2\n---\n', '  ']) + out;
    return out;
  }
}

/** A YAML document drawn with `g` (from `fc.gen()`): in the fast reader's subset (clean) or around it (edge). */
function generateYaml(g: Draw, options: GenOptions): string {
  return new Generator(g, options).document();
}

// ---- Comparison with the library ----

/** The library parse exactly as parseSource runs it. */
function libraryParse(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, version: '1.2', merge: false, uniqueKeys: true });
  return { doc, lines };
}

/** Everything about a node the compile could read: class, value, scalar style and source, range, and the same for children. */
function shape(node: unknown, lines: LineCounter): unknown {
  const at = (range: Range | null | undefined) => (range ? { range: [...range], start: lines.linePos(range[0]) } : { range });
  if (isMap(node)) {
    return {
      map: Object.getPrototypeOf(node) === YAMLMap.prototype,
      flow: node.flow === true,
      ...at(node.range),
      items: node.items.map((pair) => ({ pair: Object.getPrototypeOf(pair) === Pair.prototype, key: shape(pair.key, lines), value: shape(pair.value, lines) })),
    };
  }
  if (isSeq(node)) return { seq: Object.getPrototypeOf(node) === YAMLSeq.prototype, flow: node.flow === true, ...at(node.range), items: node.items.map((item) => shape(item, lines)) };
  if (isScalar(node)) {
    return {
      scalar: Object.getPrototypeOf(node) === Scalar.prototype,
      value: node.value,
      type: node.type,
      source: node.source,
      format: node.format,
      minFractionDigits: node.minFractionDigits,
      tag: node.tag,
      anchor: node.anchor,
      ...at(node.range),
    };
  }
  return { other: node === null ? null : typeof node };
}

/**
 * Reads `text` with the fast reader; when it does not give up, checks that the library reads the
 * same document without errors and that both agree on every node, range, line:column and value.
 */
function agree(text: string): 'fast' | 'library' {
  const fast = readFast(text, MAX_DEPTH);
  if (fast === undefined) return 'library';
  const library = libraryParse(text);
  expect(library.doc.errors.map((error) => error.code)).toEqual([]);
  expect(library.doc.warnings.map((warning) => warning.code)).toEqual([]);
  expect(shape(fast.doc.contents, fast.lines)).toEqual(shape(library.doc.contents, library.lines));
  expect(fast.doc.range).toEqual(library.doc.range);
  expect(fast.lines.lineStarts).toEqual(library.lines.lineStarts);
  expect(fast.doc.toJS()).toEqual(library.doc.toJS());
  expect(fast.doc.schema.name).toBe(library.doc.schema.name);
  expect(fast.doc.errors).toEqual([]);
  return 'fast';
}

describe('the fast YAML reader agrees with the library', () => {
  it('reads generated documents in its subset exactly as the library does', () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const text = generateYaml(g, { edge: false });
        expect(agree(text)).toBe('fast');
      }),
      { numRuns: 1500 },
    );
  });

  it('either gives up on or agrees with the library on generated documents around its subset', () => {
    const counts = { fast: 0, library: 0 };
    fc.assert(
      fc.property(fc.gen(), (g) => {
        counts[agree(generateYaml(g, { edge: true }))]++;
      }),
      { numRuns: 3000 },
    );
    // Both outcomes are exercised (a generator drift that always gave up would prove nothing).
    expect(counts.fast).toBeGreaterThan(100);
    expect(counts.library).toBeGreaterThan(100);
  });
});

/** Every YAML file under `dir` (recursively). */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFiles(path));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(path);
  }
  return out.sort();
}

const ROOT = join(import.meta.dirname, '..', '..');

describe('fixtures and examples', () => {
  const files = [...yamlFiles(join(ROOT, 'examples', 'policies')), ...yamlFiles(join(ROOT, 'test'))];

  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(files.map((file) => [file.slice(ROOT.length + 1), file]))('reads %s as the library does', (_name, file) => {
    expect(agree(readFileSync(file, 'utf8'))).toBe('fast');
  });

  it('reads the inline fixtures of the runtime and approval tests as the library does', async () => {
    const runtime = await import('../runtime/fixtures.js');
    const approvals = await import('../approvals/fixtures/policy.js');
    for (const text of [runtime.SCHEMA, runtime.POLICY, approvals.SCHEMA, approvals.POLICY]) expect(agree(text)).toBe('fast');
  });

  it('reads the 10,000-rule benchmark policy and its schema as the library does', () => {
    const { schema, policy } = toActraYaml(makeRuleSet(10_000, 1_000));
    expect(agree(schema)).toBe('fast');
    expect(agree(policy)).toBe('fast');
  });
});

describe('what the fast reader leaves to the library', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['a tab', 'a:\t1\n'],
    ['a carriage return', 'a: 1\r\nb: 2\r\n'],
    ['a byte-order mark', '\ufeffa: 1\n'],
    ['a control character', 'a: b\x01c\n'],
    ['a line separator', 'a: b\u2028c\n'],
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['an explicit key', '? a\n: 1\n'],
    ['a literal block scalar', 'a: |\n  text\n'],
    ['a folded block scalar', 'a: >\n  text\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['a multi-line flow collection', 'a: [1,\n  2]\n'],
    ['a scalar on the line below its key', 'a:\n  text\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['content on the document start line', '--- a: 1\n'],
    ['a second document start marker', '---\na: 1\n---\nb: 2\n'],
    ['a document start marker after content', 'a: 1\n---\n'],
    ['a document start marker alone', '---\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['keys equal by value', 'true: 1\nTrue: 2\n'],
    ['a duplicate key in a flow mapping', 'a: {b: 1, b: 2}\n'],
    ['a duplicate key in a large mapping', `${Array.from({ length: 20 }, (_, i) => `k${i}: ${i}\n`).join('')}k3: again\n`],
    ['a duplicate key in a large flow mapping', `a: {${Array.from({ length: 20 }, (_, i) => `k${i}: ${i}`).join(', ')}, k17: again}\n`],
    ['null keys written two ways', '~: 1\nnull: 2\n'],
    ['a merge key', '<<: {a: 1}\nb: 2\n'],
    ['nesting past the depth limit', `a: ${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}\n`],
    ['a hexadecimal number', 'a: 0x1F\n'],
    ['an octal number', 'a: 0o17\n'],
    ['an infinity', 'a: -.inf\n'],
    ['a NaN', 'a: .nan\n'],
    ['a \\x escape', 'a: "\\x41"\n'],
    ['a \\u escape', 'a: "\\u00e9"\n'],
    ['an empty sequence entry', 'a:\n  -\n  - b\n'],
    ['a sequence entry that starts below its dash', 'a:\n  -\n    b: 1\n'],
    ['a sequence entry with only a comment', 'a:\n  - # c\n    b: 1\n'],
    ['a sequence in a sequence entry', '- - a\n'],
    ['an empty value followed by a comment line', 'a:\n# c\nb: 1\n'],
    ['an empty value with a comment', 'a: # c\nb: 1\n'],
    ['a flow collection as a key', '{a: 1}: x\n'],
    ['a scalar document', 'text\n'],
    ['a flow collection document', '{a: 1}\n'],
    ['an empty document', ''],
    ['a comment-only document', '# nothing\n'],
    ['a key over 1000 characters', `${'k'.repeat(1001)}: 1\n`],
    ['a trailing comma in a flow collection', 'a: [1, 2, ]\n'],
    ['an empty flow entry', 'a: [1, , 2]\n'],
    ['a pair in a flow sequence', 'a: [b: 1]\n'],
    ['a flow key without a value', 'a: {b}\n'],
    ['a flow key with an empty value', 'a: {b: }\n'],
    ['a comment inside a flow collection', 'a: [1, # c\n  2]\n'],
    ['a flow sequence closed on the next line', 'a: [x,\n]\n'],
    ['a flow mapping closed on the next line', 'a: {b: c,\n  }\n'],
    ['a flow collection cut by the end of the text', 'a: [x, '],
    ['a comment touching a quoted scalar', 'a: "b"#c\n'],
    ['text after a quoted scalar', "a: 'b'c\n"],
    ['text after a flow collection', 'a: [b] c\n'],
    ['a plain scalar starting with @', 'a: @b\n'],
    ['a plain scalar starting with a colon', 'a: :b\n'],
    ['a plain scalar starting with a question mark', 'a: ?b\n'],
    ['a more indented line', 'a: 1\n  b: 2\n'],
    ['a less indented line', '  a: 1\nb: 2\n'],
    ['a sequence entry at a mapping column', 'a: 1\n- b\n'],
    ['a mapping in a value', 'a: b: c\n'],
    ['a sequence in a value', 'a: - b\n'],
  ];

  it.each(cases)('gives up on %s', (_name, text) => {
    expect(readFast(text, MAX_DEPTH)).toBeUndefined();
  });

  it('still reads the same documents through the library when they are valid', () => {
    for (const [name, text] of cases) {
      const { doc } = libraryParse(text);
      if (doc.errors.length > 0) continue;
      const sink = new IssueSink();
      const file = parseSource({ text, file: 'x.yaml' }, sink);
      expect({ name, fast: file?.fast ?? null }).toEqual({ name, fast: file === undefined ? null : false });
    }
  });

  it('reads large mappings without duplicate keys', () => {
    expect(agree(Array.from({ length: 40 }, (_, i) => `k${i}: ${i}\n`).join(''))).toBe('fast');
    expect(agree(`a: {${Array.from({ length: 40 }, (_, i) => `k${i}: ${i}`).join(', ')}}\n`)).toBe('fast');
  });

  it('reads a document that only stays under the depth limit', () => {
    expect(agree(`a: ${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}\n`)).toBe('fast');
  });
});

/** The benchmark rule set's schema and policy as sources. */
function benchSources(rules: number): { schema: Source; policy: Source } {
  const { schema, policy } = toActraYaml(makeRuleSet(rules, 1_000));
  return { schema: { text: schema, file: 'schema.yaml' }, policy: { text: policy, file: 'policy.yaml' } };
}

describe('compiling through the fast reader', () => {
  it('compiles the 10,000-rule policy to the same hash, rule locations and decisions as the library path', () => {
    const sources = benchSources(10_000);
    const fast = compileWith(sources, 'fast');
    const library = compileWith(sources, 'library');
    expect([fast.fast, library.fast]).toEqual([true, false]);
    expect([fast.result.issues, library.result.issues]).toEqual([[], []]);
    const a = fast.result.policy as Policy;
    const b = library.result.policy as Policy;
    expect(a.policyHash()).toBe(b.policyHash());
    expect(a.rules.map((rule) => [rule.id, rule.location])).toEqual(b.rules.map((rule) => [rule.id, rule.location]));
    expect(a.rules[1]?.location).toEqual({ file: 'policy.yaml', line: 4, column: 5 });
    for (const input of agreementInputs(makeRuleSet(10_000, 1_000))) expect(a.evaluate(input)).toEqual(b.evaluate(input));
  });

  it('reports issues with the library positions (the compile is redone on the library parse)', () => {
    const sources = benchSources(1_000);
    const broken = sources.policy.text.replace('{id: rule_500, scope: {action: op_', '{id: rule_500, scope: {acton: op_');
    expect(broken).not.toBe(sources.policy.text);
    const policy = { text: broken, file: 'policy.yaml' };
    const first = compileWith({ ...sources, policy }, 'fast');
    expect(first.fast).toBe(true);
    const { issues } = compileSources({ ...sources, policy });
    expect(issues).toEqual(compileWith({ ...sources, policy }, 'library').result.issues);
    expect(issues.map((issue) => [issue.code, issue.line, issue.column, issue.ruleId])).toEqual([
      ['UNKNOWN_KEY', 503, 28, 'rule_500'],
      ['INVALID_SCOPE', 503, 27, 'rule_500'],
      ['ACTION_FIELD_OUT_OF_SCOPE', 503, 84, 'rule_500'],
    ]);
  });
});
