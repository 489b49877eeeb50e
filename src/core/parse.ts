/** YAML parsing with source positions, resource limits and strict, position-aware readers. */
import { Lexer, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Alias, Document, Node } from 'yaml';
import type { CompileIssue, CompileIssueCode } from '../errors.js';
import { didYouMean } from './suggest.js';
import { readFast } from './yaml-fast.js';

/** Largest accepted document, in UTF-8 bytes. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
/** Deepest accepted nesting of mappings and sequences. */
export const MAX_DEPTH = 64;
/** Largest `version` accepted: Actra v1 reads it as a `u32`. */
export const MAX_VERSION = 4_294_967_295;
/** Most nodes that expanding a document's aliases may add to it (defuses "billion laughs" documents). */
export const MAX_ALIAS_NODES = 100_000;
/** Most YAML syntax errors reported for one document. */
const MAX_SYNTAX_ERRORS = 10;
/**
 * Where the nesting pre-scan stops the document before the library parses it. The scan's estimate is at
 * most twice the real depth plus two (see `nestingPastLimit`), so a document it stops nests deeper than
 * MAX_DEPTH; anything it lets through is shallow enough to parse, and MAX_DEPTH is then checked exactly.
 */
const PRESCAN_LIMIT = 2 * MAX_DEPTH + 2;

/** One policy document: its text and the file name used in issues. */
export interface Source {
  readonly text: string;
  readonly file: string;
}

/** A path of keys and indexes inside a document. */
export type Path = readonly (string | number)[];

/** A mapping entry: the key node (for positions) and the value node (null for `key:`). */
export interface Entry {
  readonly key: Node;
  readonly value: Node | null;
}

/** Collects issues and places them at node positions. */
export class IssueSink {
  readonly issues: CompileIssue[] = [];

  /** Records a problem located in `file` (line/column 0 when unknown). */
  add(code: CompileIssueCode, message: string, file: string, line: number, column: number, path: Path, ruleId?: string): void {
    const issue: { -readonly [K in keyof CompileIssue]: CompileIssue[K] } = { code, message, file, line, column, path: [...path] };
    if (ruleId !== undefined) issue.ruleId = ruleId;
    this.issues.push(Object.freeze(issue));
  }
}

/** Which reader parses a document: the fast reader when it can (else the library), or the library only. */
export type YamlReader = 'fast' | 'library';

/** A parsed YAML document with helpers that read it strictly and report problems with positions. */
export class YamlFile {
  readonly file: string;
  readonly root: Node | null;
  /** True when the fast reader (not the library) parsed the document. */
  readonly fast: boolean;
  readonly #lines: LineCounter;
  readonly #sink: IssueSink;
  readonly #aliases: ReadonlyMap<Alias, Node>;

  constructor(file: string, doc: Document, lines: LineCounter, sink: IssueSink, fast = false, aliases: ReadonlyMap<Alias, Node> = NO_ALIASES) {
    this.file = file;
    this.fast = fast;
    this.#lines = lines;
    this.#sink = sink;
    this.#aliases = aliases;
    this.root = (doc.contents as Node | null) ?? null;
  }

  /** 1-based line and column of a node (the start of its range). */
  position(node: Node | null | undefined): { line: number; column: number } {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const pos = this.#lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** Records an issue at `node`. */
  issue(code: CompileIssueCode, message: string, node: Node | null | undefined, path: Path, ruleId?: string): void {
    const { line, column } = this.position(node);
    this.#sink.add(code, message, this.file, line, column, path, ruleId);
  }

  /** Follows an alias to the node it names (looked up, not searched: see `parseLimited`). */
  resolve(node: Node | null): Node | null {
    if (node !== null && isAlias(node)) return this.#aliases.get(node) ?? null;
    return node;
  }

  /**
   * The text of a scalar as Actra v1 reads a string there: a string's value, or the source text of a
   * plain scalar the YAML core schema reads as a number, boolean or null (`5`, `1.50`, `true`, `~`);
   * undefined for anything else (a collection, an empty value).
   */
  scalarText(node: Node | null): string | undefined {
    const target = this.resolve(node);
    if (target === null || !isScalar(target)) return undefined;
    if (typeof target.value === 'string') return target.value;
    const source = target.source;
    return target.type === 'PLAIN' && typeof source === 'string' && source.length > 0 ? source : undefined;
  }

  /**
   * Reads a mapping into a `Map` (never a plain object, so `__proto__` keys are inert).
   * Reports INVALID_TYPE when `node` is not a mapping, UNKNOWN_KEY (with a suggestion) for keys
   * outside `allowed`.
   */
  map(node: Node | null, path: Path, what: string, allowed: readonly string[] | null, ruleId?: string): Map<string, Entry> | undefined {
    const target = this.resolve(node);
    if (target === null || !isMap(target)) {
      this.issue('INVALID_TYPE', `${what} must be a mapping`, target ?? node, path, ruleId);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of target.items) {
      const keyNode = this.resolve(pair.key as Node | null);
      const key = this.scalarText(keyNode);
      if (keyNode === null || key === undefined) {
        this.issue('INVALID_TYPE', `keys in ${what} must be plain strings`, keyNode ?? target, path, ruleId);
        continue;
      }
      if (allowed !== null && !allowed.includes(key)) {
        this.issue('UNKNOWN_KEY', `unknown key "${key}" in ${what}${didYouMean(key, allowed)}`, keyNode, [...path, key], ruleId);
        continue;
      }
      entries.set(key, { key: keyNode, value: (pair.value as Node | null) ?? null });
    }
    return entries;
  }

  /** The value node under `key` when `node` is a mapping; never reports. */
  peek(node: Node | null, key: string): Node | null | undefined {
    const target = this.resolve(node);
    if (target === null || !isMap(target)) return undefined;
    for (const pair of target.items) {
      if (this.scalarText(pair.key as Node | null) === key) return (pair.value as Node | null) ?? null;
    }
    return undefined;
  }

  /** Reads the document's top-level mapping; INVALID_DOCUMENT when the document is not a mapping. */
  rootMap(what: string, allowed: readonly string[]): Map<string, Entry> | undefined {
    const root = this.resolve(this.root);
    if (root === null || !isMap(root)) {
      this.issue('INVALID_DOCUMENT', `${what} must be a mapping of keys (${allowed.join(', ')})`, root, []);
      return undefined;
    }
    return this.map(root, [], what, allowed);
  }

  /** Reads a sequence; reports INVALID_TYPE otherwise. */
  seq(node: Node | null, path: Path, what: string, ruleId?: string): (Node | null)[] | undefined {
    const target = this.resolve(node);
    if (target === null || !isSeq(target)) {
      this.issue('INVALID_TYPE', `${what} must be a list`, target ?? node, path, ruleId);
      return undefined;
    }
    return target.items.map((item) => (item as Node | null) ?? null);
  }

  /** The scalar value of a node (`undefined` when it is not a scalar); `null` for an empty value. */
  scalar(node: Node | null): unknown {
    const target = this.resolve(node);
    if (target === null) return null;
    return isScalar(target) ? target.value : undefined;
  }

  /** True when the node is a sequence (after alias resolution). */
  isSeq(node: Node | null): boolean {
    const target = this.resolve(node);
    return target !== null && isSeq(target);
  }

  /** A non-empty string scalar, or INVALID_TYPE. */
  string(node: Node | null, path: Path, what: string, ruleId?: string): string | undefined {
    const value = this.scalar(node);
    if (typeof value !== 'string' || value.length === 0) {
      this.issue('INVALID_TYPE', `${what} must be a non-empty string`, this.resolve(node) ?? node, path, ruleId);
      return undefined;
    }
    return value;
  }

  /**
   * A non-empty string where Actra v1 reads any scalar as its text (rule and governance ids, governance
   * selectors and error texts): `id: 5` is the id "5". INVALID_TYPE for a collection or an empty value.
   */
  text(node: Node | null, path: Path, what: string, ruleId?: string): string | undefined {
    const value = this.scalarText(node);
    if (value === undefined || value.length === 0) {
      this.issue('INVALID_TYPE', `${what} must be a non-empty string`, this.resolve(node) ?? node, path, ruleId);
      return undefined;
    }
    return value;
  }

  /** A boolean scalar, or INVALID_TYPE. */
  boolean(node: Node | null, path: Path, what: string, ruleId?: string): boolean | undefined {
    const value = this.scalar(node);
    if (typeof value !== 'boolean') {
      this.issue('INVALID_TYPE', `${what} must be true or false`, this.resolve(node) ?? node, path, ruleId);
      return undefined;
    }
    return value;
  }

  /** A non-negative integer scalar, or INVALID_TYPE. */
  count(node: Node | null, path: Path, what: string, ruleId?: string): number | undefined {
    const value = this.scalar(node);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.issue('INVALID_TYPE', `${what} must be a non-negative integer`, this.resolve(node) ?? node, path, ruleId);
      return undefined;
    }
    return value;
  }

  /** Reports MISSING_KEY when `key` is absent from `entries`; returns the entry otherwise. */
  require(entries: Map<string, Entry>, key: string, owner: Node | null, path: Path, what: string, ruleId?: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) this.issue('MISSING_KEY', `${what} is missing required key "${key}"`, this.resolve(owner) ?? owner, path, ruleId);
    return entry;
  }

  /**
   * Checks `version`: an integer from 0 to 4294967295, as Actra v1 reads it (a `u32` it does not
   * otherwise look at); every version is read as the one format there is.
   */
  version(entries: Map<string, Entry>, path: Path): void {
    const entry = this.require(entries, 'version', this.root, path, 'the document');
    if (entry === undefined) return;
    const value = this.scalar(entry.value);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_VERSION) {
      this.issue('UNSUPPORTED_VERSION', `version must be an integer from 0 to ${MAX_VERSION} (1 is the format described here)`, this.resolve(entry.value) ?? entry.key, [...path, 'version']);
    }
  }
}

/** A problem that stops a document before it can be read (1-based position; 0 when there is none). */
export interface YamlProblem {
  readonly code: CompileIssueCode;
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

/** A document the library parsed within the limits, with each alias's anchored node. */
export interface LimitedDocument {
  readonly doc: Document;
  readonly lines: LineCounter;
  /** The node each alias refers to (the last node with its anchor before it, as the library resolves it). */
  readonly aliases: ReadonlyMap<Alias, Node>;
}

const NO_ALIASES: ReadonlyMap<Alias, Node> = new Map();

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const BANG = 33;
const HASH = 35;
const AMPERSAND = 38;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

/**
 * A linear over-estimate of how deeply `text` nests, from the library's own tokenizer (so quotes,
 * comments and block scalars are split exactly as the parser sees them), stopping as soon as it
 * passes `limit`. Returns the offset where it did, or undefined.
 *
 * Flow collections: every `[` and `{` counts until the bracket that matches it (a mismatched one
 * closes nothing here). Block collections: twice the chain of indentation columns open at a line,
 * since every block collection nested in another starts at a greater column except a sequence right
 * under a mapping key (same column), so a column holds at most two. Compact entries (`- - x`,
 * `- key: v`, `? - x`) open their columns on the same line; the node after each indicator is counted
 * too, which over-counts a scalar by one level at most. The estimate is thus at least the depth the
 * parser builds, and at most twice the real depth plus two.
 */
function nestingPastLimit(text: string, limit: number): number | undefined {
  const columns: number[] = [];
  /** The closing bracket of each flow collection counted as open. */
  const flow: number[] = [];
  /** The tokenizer's own flow level (any closing bracket lowers it): block structure only counts at 0. */
  let level = 0;
  let offset = 0;
  let lineStart = 0;
  let lineHead = true;
  let nodeNext = false;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    if (token === '\u0002') continue; // document start marker
    if (token === '\u001f') {
      // Scalar marker: the next token is the scalar's text, whatever its first character.
      scalarNext = true;
      continue;
    }
    if (token === '\u0018') {
      // Flow ended by a dedent (an error): the tokenizer is back at the head of a block line.
      level = 0;
      lineHead = true;
      nodeNext = false;
      continue;
    }
    const start = offset;
    offset += token.length;
    const code = token.charCodeAt(0);
    const scalar = scalarNext;
    scalarNext = false;
    // Line breaks, spaces and comments, and block scalar text (which starts with its indentation), open nothing.
    const blank = code === LF || code === CR || code === SPACE || code === TAB || code === HASH;
    if (!scalar && (code === LBRACKET || code === LBRACE)) {
      if (level === 0) countNode(start - lineStart);
      level++;
      flow.push(code === LBRACKET ? RBRACKET : RBRACE);
      if (2 * columns.length + flow.length > limit) return start;
      lineHead = false;
      nodeNext = false;
    } else if (!scalar && (code === RBRACKET || code === RBRACE)) {
      if (level > 0) level--;
      if (flow[flow.length - 1] === code) flow.pop();
    } else if (level === 0 && !blank) {
      countNode(start - lineStart);
      if (2 * columns.length + flow.length > limit) return start;
      // After `-`, `?` and a leading `:`, a block collection may start on the same line (`- - x`,
      // `- key: v`, `? - x`); an anchor or a tag in between (`- &a - x`) keeps that open.
      const property: boolean = !scalar && (code === AMPERSAND || code === BANG) && (nodeNext || lineHead);
      nodeNext = !scalar && (token === '-' || token === '?' || (token === ':' && lineHead) || property);
      lineHead = false;
    }
    const newline = token.lastIndexOf('\n');
    if (newline !== -1) {
      lineStart = start + newline + 1;
      if (newline === token.length - 1) {
        lineHead = level === 0;
        nodeNext = false;
      }
    }
  }
  return undefined;

  /** A block-context token at `column`: a line's first closes deeper columns; a node's start opens one. */
  function countNode(column: number): void {
    if (lineHead) while (columns.length > 0 && (columns[columns.length - 1] as number) > column) columns.pop();
    if ((lineHead || nodeNext) && columns[columns.length - 1] !== column) columns.push(column);
  }
}

/**
 * One walk over the parsed tree (document order, aliases not followed): its deepest nesting and, for
 * each alias, the node it refers to — the last node before it with its anchor, which is how the
 * library resolves aliases, without the library's walk of the whole document per alias.
 */
function walkTree(root: Node | null): { depth: number; aliases: Map<Alias, Node>; duplicateKeys: number[] } {
  let max = 0;
  const aliases = new Map<Alias, Node>();
  const duplicateKeys: number[] = [];
  const anchors = new Map<string, Node>();
  // Two parallel stacks (node, depth) rather than a pair per node: documents have many nodes.
  const nodes: unknown[] = [root];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop() as number;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target !== undefined) aliases.set(node, target);
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === 'string') anchors.set(anchor, node as Node);
    if (isMap(node)) {
      if (depth + 1 > max) max = depth + 1;
      if (max > MAX_DEPTH) break;
      if (node.items.length > 1) findDuplicateKeys(node, duplicateKeys);
      for (let i = node.items.length - 1; i >= 0; i--) {
        const pair = node.items[i];
        if (!isPair(pair)) continue;
        nodes.push(pair.value, pair.key);
        depths.push(depth + 1, depth + 1);
      }
    } else if (isSeq(node)) {
      if (depth + 1 > max) max = depth + 1;
      if (max > MAX_DEPTH) break;
      for (let i = node.items.length - 1; i >= 0; i--) {
        nodes.push(node.items[i]);
        depths.push(depth + 1);
      }
    }
  }
  return { depth: max, aliases, duplicateKeys };
}

/**
 * Offsets of the keys of `map` equal to an earlier key, compared as the library's `uniqueKeys`
 * compares them (scalars by value) but with a set: the library scans every earlier key for each key,
 * which is quadratic in the size of a mapping.
 */
function findDuplicateKeys(map: { items: readonly unknown[] }, into: number[]): void {
  const seen = new Set<unknown>();
  for (const pair of map.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const value = pair.key.value;
    if (seen.has(value)) into.push(pair.key.range?.[0] ?? 0);
    else seen.add(value);
  }
}

/**
 * How deeply the tree nests and how many nodes it holds once its aliases are expanded (each node
 * measured once, so this stays linear however often an anchor is reused), or the first alias that
 * refers to a node containing it (whose expansion never ends).
 */
function expandedShape(root: Node, aliases: ReadonlyMap<Alias, Node>): { depth: number; added: number } | { cycle: Alias } {
  const heights = new Map<unknown, number>();
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  const stack: unknown[] = [root];
  let nodes = 0;
  while (stack.length > 0) {
    const node = stack[stack.length - 1];
    const children = isMap(node) ? node.items.flatMap((pair) => [pair.key, pair.value]) : isSeq(node) ? node.items : undefined;
    if (children === undefined) {
      stack.pop();
      nodes++;
      if (isAlias(node)) {
        const target = aliases.get(node);
        if (target !== undefined && open.has(target)) return { cycle: node };
        heights.set(node, target === undefined ? 0 : (heights.get(target) ?? 0));
        sizes.set(node, target === undefined ? 1 : (sizes.get(target) ?? 1));
      } else {
        heights.set(node, 0);
        sizes.set(node, 1);
      }
      continue;
    }
    if (!open.has(node)) {
      open.add(node);
      for (let i = children.length - 1; i >= 0; i--) if (!heights.has(children[i])) stack.push(children[i]);
      continue;
    }
    stack.pop();
    open.delete(node);
    nodes++;
    let height = 0;
    let size = 1;
    for (const child of children) {
      height = Math.max(height, heights.get(child) ?? 0);
      size += sizes.get(child) ?? 1;
    }
    heights.set(node, height + 1);
    sizes.set(node, size);
    if (height + 1 > MAX_DEPTH) return { depth: height + 1, added: 0 };
  }
  return { depth: heights.get(root) ?? 0, added: (sizes.get(root) ?? 1) - nodes };
}

function tooLarge(text: string): YamlProblem | undefined {
  if (text.length > MAX_DOCUMENT_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    return { code: 'YAML_LIMIT', message: `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, line: 1, column: 1 };
  }
  return undefined;
}

function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let from = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    from = i + 1;
  }
  return { line, column: offset - from + 1 };
}

/**
 * Parses `text` with the `yaml` library (YAML 1.2 core schema, unique keys, no merge keys) within the
 * limits: at most MAX_DOCUMENT_BYTES, nesting at most MAX_DEPTH (checked by a linear pre-scan before
 * the library parses, and exactly after, aliases expanded), aliases adding at most MAX_ALIAS_NODES
 * nodes, no alias that contains itself. Returns the document, or the problems that stop it (YAML_LIMIT,
 * YAML_SYNTAX, EMPTY_DOCUMENT, INVALID_DOCUMENT). Policy documents and test-case files share it.
 */
export function parseLimited(text: string): LimitedDocument | { readonly problems: readonly YamlProblem[] } {
  if (typeof text !== 'string') return { problems: [{ code: 'INVALID_DOCUMENT', message: 'document text must be a string', line: 0, column: 0 }] };
  const large = tooLarge(text);
  if (large !== undefined) return { problems: [large] };
  const past = nestingPastLimit(text, PRESCAN_LIMIT);
  if (past !== undefined) {
    const { line, column } = positionAt(text, past);
    return { problems: [{ code: 'YAML_LIMIT', message: `document nests deeper than ${MAX_DEPTH} levels`, line, column }] };
  }
  const lines = new LineCounter();
  let doc: Document;
  try {
    // Duplicate keys are found by walkTree (`uniqueKeys` is quadratic in the size of a mapping).
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, version: '1.2', merge: false, uniqueKeys: false });
  } catch (error) {
    const overflow = error instanceof RangeError;
    return { problems: [{ code: overflow ? 'YAML_LIMIT' : 'YAML_SYNTAX', message: overflow ? `document nests deeper than ${MAX_DEPTH} levels` : 'document could not be parsed', line: 1, column: 1 }] };
  }
  const exhausted = doc.errors.find((error) => error.code === 'RESOURCE_EXHAUSTION');
  if (exhausted !== undefined) {
    const pos = exhausted.linePos?.[0] ?? lines.linePos(exhausted.pos[0]);
    return { problems: [{ code: 'YAML_LIMIT', message: 'document exceeds a parser limit (nesting or alias expansion)', line: pos.line, column: pos.col }] };
  }
  const root = (doc.contents as Node | null) ?? null;
  const tree = walkTree(root);
  if (tree.depth > MAX_DEPTH) return { problems: [{ code: 'YAML_LIMIT', message: `document nests deeper than ${MAX_DEPTH} levels`, line: 1, column: 1 }] };
  if (doc.errors.length > 0 || tree.duplicateKeys.length > 0) {
    const found = [
      ...doc.errors.map((error) => ({ offset: error.pos[0], message: error.message.split('\n')[0] ?? error.code })),
      ...tree.duplicateKeys.map((offset) => ({ offset, message: 'Map keys must be unique' })),
    ].sort((a, b) => a.offset - b.offset);
    // Past the first few, syntax errors are mostly echoes of the first one.
    return {
      problems: found.slice(0, MAX_SYNTAX_ERRORS).map(({ offset, message }) => {
        const pos = lines.linePos(offset);
        return { code: 'YAML_SYNTAX', message, line: pos.line, column: pos.col };
      }),
    };
  }
  if (root === null || (isScalar(root) && root.value === null)) {
    return { problems: [{ code: 'EMPTY_DOCUMENT', message: 'document is empty', line: 1, column: 1 }] };
  }
  if (tree.aliases.size === 0) return { doc, lines, aliases: NO_ALIASES };
  // Checked here rather than by the library's alias budget (toJS with maxAliasCount), which searches
  // the whole document for every aliased collection: quadratic, seconds for a 100 KB document.
  const expanded = expandedShape(root, tree.aliases);
  if ('cycle' in expanded) {
    const pos = lines.linePos(expanded.cycle.range?.[0] ?? 0);
    return { problems: [{ code: 'YAML_LIMIT', message: `alias *${expanded.cycle.source} refers to a node that contains it (its expansion would never end)`, line: pos.line, column: pos.col }] };
  }
  if (expanded.depth > MAX_DEPTH) return { problems: [{ code: 'YAML_LIMIT', message: `document nests deeper than ${MAX_DEPTH} levels once its aliases are expanded`, line: 1, column: 1 }] };
  if (expanded.added > MAX_ALIAS_NODES) return { problems: [{ code: 'YAML_LIMIT', message: `document expands too many aliases (they would add more than ${MAX_ALIAS_NODES} nodes)`, line: 1, column: 1 }] };
  return { doc, lines, aliases: tree.aliases };
}

/**
 * Parses one document with positions and limits. Returns undefined (after recording issues)
 * when the document is empty, malformed or over a limit. With the `fast` reader, documents in the
 * common subset skip the library (same nodes and ranges; see yaml-fast.ts); the rest, and every
 * document with a problem, go through the library (`parseLimited`).
 */
export function parseSource(source: Source, sink: IssueSink, reader: YamlReader = 'fast'): YamlFile | undefined {
  const { text, file } = source;
  if (reader === 'fast' && typeof text === 'string' && tooLarge(text) === undefined) {
    // The fast reader gives up past MAX_DEPTH and never produces aliases, so the limits hold already.
    const quick = readFast(text, MAX_DEPTH);
    if (quick !== undefined) return new YamlFile(file, quick.doc, quick.lines, sink, true);
  }
  const parsed = parseLimited(text);
  if ('problems' in parsed) {
    for (const problem of parsed.problems) sink.add(problem.code, problem.message, file, problem.line, problem.column, []);
    return undefined;
  }
  return new YamlFile(file, parsed.doc, parsed.lines, sink, false, parsed.aliases);
}
