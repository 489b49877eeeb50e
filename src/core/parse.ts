/** YAML parsing with source positions, resource limits and strict, position-aware readers. */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { CompileIssue, CompileIssueCode } from '../errors.js';
import { didYouMean } from './suggest.js';
import { readFast } from './yaml-fast.js';

/** Largest accepted document, in UTF-8 bytes. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
/** Deepest accepted nesting of mappings and sequences. */
export const MAX_DEPTH = 64;
/** Alias expansion budget handed to the `yaml` library (defuses "billion laughs" documents). */
export const MAX_ALIAS_COUNT = 100;
/** Most YAML syntax errors reported for one document. */
const MAX_SYNTAX_ERRORS = 10;

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
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #sink: IssueSink;

  constructor(file: string, doc: Document, lines: LineCounter, sink: IssueSink, fast = false) {
    this.file = file;
    this.fast = fast;
    this.#doc = doc;
    this.#lines = lines;
    this.#sink = sink;
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

  /** Follows an alias to the node it names. */
  resolve(node: Node | null): Node | null {
    if (node !== null && isAlias(node)) return (node.resolve(this.#doc) as Node | undefined) ?? null;
    return node;
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
      if (keyNode === null || !isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number' && typeof keyNode.value !== 'boolean')) {
        this.issue('INVALID_TYPE', `keys in ${what} must be plain strings`, keyNode ?? target, path, ruleId);
        continue;
      }
      const key = String(keyNode.value);
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
      const keyNode = this.resolve(pair.key as Node | null);
      if (keyNode !== null && isScalar(keyNode) && String(keyNode.value) === key) return (pair.value as Node | null) ?? null;
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

  /** Checks `version: 1`. */
  version(entries: Map<string, Entry>, path: Path): void {
    const entry = this.require(entries, 'version', this.root, path, 'the document');
    if (entry === undefined) return;
    const value = this.scalar(entry.value);
    if (value !== 1) this.issue('UNSUPPORTED_VERSION', 'version must be 1 (the only supported version)', entry.value ?? entry.key, [...path, 'version']);
  }
}

/** Deepest nesting of collections below `root` (walked iteratively, aliases not followed) and whether it has aliases. */
function shapeOf(root: Node | null): { depth: number; aliases: boolean } {
  let max = 0;
  let aliases = false;
  // Two parallel stacks (node, depth) rather than a pair per node: documents have many nodes.
  const nodes: unknown[] = [root];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop() as number;
    if (isMap(node)) {
      if (depth + 1 > max) max = depth + 1;
      if (max > MAX_DEPTH) break;
      for (const pair of node.items) {
        nodes.push(pair.key, pair.value);
        depths.push(depth + 1, depth + 1);
      }
    } else if (isSeq(node)) {
      if (depth + 1 > max) max = depth + 1;
      if (max > MAX_DEPTH) break;
      for (const item of node.items) {
        nodes.push(item);
        depths.push(depth + 1);
      }
    } else if (isAlias(node)) aliases = true;
  }
  return { depth: max, aliases };
}

/**
 * Parses one document with positions and limits. Returns undefined (after recording issues)
 * when the document is empty, malformed or over a limit. With the `fast` reader, documents in the
 * common subset skip the library (same nodes and ranges; see yaml-fast.ts); the rest, and every
 * document with a problem, go through the library.
 */
export function parseSource(source: Source, sink: IssueSink, reader: YamlReader = 'fast'): YamlFile | undefined {
  const { text, file } = source;
  if (typeof text !== 'string') {
    sink.add('INVALID_DOCUMENT', 'document text must be a string', file, 0, 0, []);
    return undefined;
  }
  if (text.length > MAX_DOCUMENT_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    sink.add('YAML_LIMIT', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, file, 1, 1, []);
    return undefined;
  }
  if (reader === 'fast') {
    // The fast reader gives up past MAX_DEPTH and never produces aliases, so the checks below hold already.
    const quick = readFast(text, MAX_DEPTH);
    if (quick !== undefined) return new YamlFile(file, quick.doc, quick.lines, sink, true);
  }
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, version: '1.2', merge: false, uniqueKeys: true });
  } catch (error) {
    const overflow = error instanceof RangeError;
    sink.add(overflow ? 'YAML_LIMIT' : 'YAML_SYNTAX', overflow ? `document nests deeper than ${MAX_DEPTH} levels` : 'document could not be parsed', file, 1, 1, []);
    return undefined;
  }
  if (doc.errors.length > 0) {
    const exhausted = doc.errors.find((error) => error.code === 'RESOURCE_EXHAUSTION');
    if (exhausted !== undefined) {
      const pos = exhausted.linePos?.[0] ?? lines.linePos(exhausted.pos[0]);
      sink.add('YAML_LIMIT', 'document exceeds a parser limit (nesting or alias expansion)', file, pos.line, pos.col, []);
      return undefined;
    }
    // Past the first few, syntax errors are mostly echoes of the first one.
    for (const error of doc.errors.slice(0, MAX_SYNTAX_ERRORS)) {
      const pos = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
      sink.add('YAML_SYNTAX', error.message.split('\n')[0] ?? error.code, file, pos.line, pos.col, []);
    }
    return undefined;
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    sink.add('EMPTY_DOCUMENT', 'document is empty', file, 1, 1, []);
    return undefined;
  }
  try {
    const shape = shapeOf(doc.contents as Node);
    if (shape.depth > MAX_DEPTH) {
      sink.add('YAML_LIMIT', `document nests deeper than ${MAX_DEPTH} levels`, file, 1, 1, []);
      return undefined;
    }
    // Expanding through the library enforces the alias budget before any reader follows an alias.
    if (shape.aliases) doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const overflow = error instanceof RangeError;
    const message = overflow ? `document nests deeper than ${MAX_DEPTH} levels` : 'document expands too many aliases (limit exceeded)';
    sink.add('YAML_LIMIT', message, file, 1, 1, []);
    return undefined;
  }
  return new YamlFile(file, doc, lines, sink);
}
