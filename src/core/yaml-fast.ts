/** A fast, strict reader for the common subset of YAML that Actra documents use; it gives up (undefined) on anything else. */
import { Document, LineCounter, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Range, Schema } from 'yaml';

/**
 * What the reader returns: the same node classes, values and source ranges that `parseDocument`
 * (YAML 1.2 core schema, `uniqueKeys`, no merge keys) gives for the same text, and a line counter
 * filled the way the library fills it. Comments are not attached to nodes: nothing reads them.
 */
export interface FastParse {
  readonly doc: Document;
  readonly lines: LineCounter;
}

/** The library's options for policy documents (`parseLimited` checks duplicate keys itself, as `uniqueKeys` would), so the document reports the same options and schema. */
const DOCUMENT_OPTIONS = { prettyErrors: false, version: '1.2', merge: false, uniqueKeys: true } as const;

/** Characters the reader never handles: tabs, carriage returns, other controls, byte-order marks, Unicode line separators. */
// eslint-disable-next-line no-control-regex
const UNSUPPORTED_CHARACTER = /[\x00-\x09\x0b-\x1f\x7f\u2028\u2029\ufeff]/;

/** The library caps implicit keys at 1024 characters; staying well below keeps that rule the library's alone. */
const MAX_KEY_LENGTH = 1000;
/** Past this many keys a mapping checks duplicates with a set rather than by scanning its pairs. */
const KEY_SCAN_LIMIT = 16;

const LF = 10;
const SPACE = 32;
const DQUOTE = 34;
const HASH = 35;
const SQUOTE = 39;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

// The core schema's scalar tests, in the library's order (src/schema/core).
const NULL_PATTERN = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_PATTERN = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_PATTERN = /^[-+]?[0-9]+$/;
const FLOAT_EXP_PATTERN = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_PATTERN = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Octal, hexadecimal, infinities and NaN: left to the library. */
const SPECIAL_NUMBER_PATTERN = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

/** Double-quoted escapes the reader decodes (the library's table without \t, as tabs are never read). */
const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
};

/** Thrown inside the reader when the text leaves the subset; never escapes `readFast`. */
const GIVE_UP: unique symbol = Symbol('give up');

function giveUp(): never {
  throw GIVE_UP;
}

/** An open block mapping or sequence. */
interface Frame {
  readonly node: YAMLMap | YAMLSeq;
  readonly isMap: boolean;
  /** The column its entries start at (for `- key: value`, the key's column). */
  readonly indent: number;
  readonly depth: number;
  readonly start: number;
  /** Key values, once the mapping is too large to scan for duplicates. */
  keys: Set<unknown> | null;
}

/** True at a space, a line feed or the end of the text. */
function blankAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code === SPACE || code === LF || Number.isNaN(code);
}

function isFlowIndicator(code: number): boolean {
  return code === COMMA || code === LBRACKET || code === RBRACKET || code === LBRACE || code === RBRACE;
}

/** Whether a plain scalar may start with `code` (followed by `next`); indicators, and the line's end, are left to the library. */
function plainStart(code: number, next: number, inFlow: boolean): boolean {
  switch (code) {
    case SPACE:
    case LF:
      return false;
    case DASH:
      // `-x` is a scalar, `- x` a sequence entry.
      return !(next === SPACE || next === LF || Number.isNaN(next) || (inFlow && isFlowIndicator(next)));
    case COMMA:
    case LBRACKET:
    case RBRACKET:
    case LBRACE:
    case RBRACE:
    case HASH:
    case SQUOTE:
    case DQUOTE:
    case COLON:
    case 33: // ! tag
    case 37: // % directive
    case 38: // & anchor
    case 42: // * alias
    case 62: // > folded block scalar
    case 63: // ? explicit key
    case 64: // @ reserved
    case 96: // ` reserved
    case 124: // | literal block scalar
      return false;
    default:
      return !Number.isNaN(code);
  }
}

/** A plain scalar resolved with the core schema, as the library's tags would; gives up on the rarer number forms. */
function plainScalar(source: string): Scalar {
  const first = source.charCodeAt(0);
  // Words that cannot be null, booleans or numbers are the common case: decided without a regular expression.
  switch (first) {
    case 126: // ~
    case 78: // N
    case 110: // n
      if (NULL_PATTERN.test(source)) return new Scalar(null);
      break;
    case 84: // T
    case 116: // t
    case 70: // F
    case 102: // f
      if (BOOL_PATTERN.test(source)) return new Scalar(first === 84 || first === 116);
      break;
    default:
      if ((first >= 48 && first <= 57) || first === 43 || first === DASH || first === DOT) {
        if (SPECIAL_NUMBER_PATTERN.test(source)) giveUp();
        if (INT_PATTERN.test(source)) return new Scalar(parseInt(source, 10));
        if (FLOAT_EXP_PATTERN.test(source)) {
          const node = new Scalar(parseFloat(source));
          node.format = 'EXP';
          return node;
        }
        if (FLOAT_PATTERN.test(source)) {
          const node = new Scalar(parseFloat(source));
          const dot = source.indexOf('.');
          if (dot !== -1 && source.endsWith('0')) node.minFractionDigits = source.length - dot - 1;
          return node;
        }
      }
  }
  return new Scalar(source);
}

/** Reads one document line by line; every method throws GIVE_UP when the text leaves the subset. */
class Reader {
  readonly #text: string;
  readonly #length: number;
  readonly #maxDepth: number;
  readonly #schema: Schema;
  readonly #stack: Frame[] = [];
  #root: YAMLMap | YAMLSeq | null = null;
  #docStart = 0;
  /** True once a `---` line opened the document. */
  #docMarker = false;

  // The current line: its start, its end (the line feed or the end of the text) and the next line's start.
  #lineStart = 0;
  #lineEnd = 0;
  #lineNext = 0;
  /** Where the scalar or flow collection just read ends. */
  #at = 0;

  /** The scalar or flow collection that ended the last content line. */
  #last: Scalar | YAMLMap | YAMLSeq | null = null;
  /** A mapping entry whose value starts on a later line (or is empty), and where an empty value would sit. */
  #pending: Pair<Scalar, unknown> | null = null;
  #pendingAt = 0;
  #pendingComment = false;

  // Blank and comment lines after the last value that the library keeps as one trailing run: whether there is one,
  // where it ends, and its deepest comment's column (-1 without comments). It decides where collections end.
  #trailing = false;
  #trailingEnd = 0;
  #trailingIndent = -1;

  constructor(text: string, maxDepth: number, schema: Schema) {
    this.#text = text;
    this.#length = text.length;
    this.#maxDepth = maxDepth;
    this.#schema = schema;
  }

  /** The root collection, the document's range and whether `---` opened it; undefined for a document without content. */
  read(lines: LineCounter): { root: YAMLMap | YAMLSeq; range: Range; docStart: boolean } | undefined {
    const text = this.#text;
    const length = this.#length;
    lines.addNewLine(0);
    let pos = 0;
    while (pos < length) {
      const newline = text.indexOf('\n', pos);
      const end = newline === -1 ? length : newline;
      this.#lineStart = pos;
      this.#lineEnd = end;
      this.#lineNext = newline === -1 ? length : newline + 1;
      let i = pos;
      while (i < end && text.charCodeAt(i) === SPACE) i++;
      if (i === end) this.#trivia(false, i - pos);
      else if (text.charCodeAt(i) === HASH) this.#trivia(true, i - pos);
      else this.#content(i, i - pos);
      if (newline !== -1) lines.addNewLine(newline + 1);
      pos = this.#lineNext;
    }
    const root = this.#root;
    if (root === null) return undefined;
    if (this.#pending !== null) this.#emptyValue();
    while (this.#stack.length > 0) this.#pop();
    const contentEnd = (root.range as Range)[2];
    return { root, range: [this.#docStart, contentEnd, this.#trailing ? this.#trailingEnd : contentEnd], docStart: this.#docMarker };
  }

  /** A blank or comment-only line. */
  #trivia(comment: boolean, indent: number): void {
    if (this.#root === null) return;
    if (this.#pending !== null) {
      if (comment) this.#pendingComment = true;
      return;
    }
    const top = this.#stack[this.#stack.length - 1] as Frame;
    if (comment && this.#trailingIndent === -1 && indent > top.indent) {
      // A comment indented past its collection, with only blank lines before it, ends the value above it.
      (this.#last?.range as Range)[2] = this.#lineNext;
      this.#trailing = false;
      return;
    }
    this.#trailing = true;
    this.#trailingEnd = this.#lineNext;
    if (comment && indent > this.#trailingIndent) this.#trailingIndent = indent;
  }

  /** A line with content starting at `i`, in column `indent`. */
  #content(i: number, indent: number): void {
    const text = this.#text;
    const code = text.charCodeAt(i);
    if (indent === 0 && (code === DASH || code === DOT) && text.charCodeAt(i + 1) === code && text.charCodeAt(i + 2) === code) {
      // One `---` before any content opens the document (where its range starts); any other marker, and a
      // `---x`-style scalar, is left to the library.
      if (code === DOT || this.#root !== null || this.#docMarker || !blankAt(text, i + 3)) giveUp();
      this.#at = i + 3;
      this.#endLine(null);
      this.#docMarker = true;
      this.#docStart = i;
      return;
    }
    const dash = code === DASH && blankAt(text, i + 1);
    let top: Frame;
    if (this.#root === null) {
      if (!this.#docMarker) this.#docStart = this.#lineStart;
      const node = dash ? new YAMLSeq(this.#schema) : new YAMLMap(this.#schema);
      this.#root = node;
      top = this.#push(node, indent, 1, i);
    } else {
      if (this.#trailing && indent > 0) this.#trailingEnd = i;
      const pending = this.#pending;
      top = this.#stack[this.#stack.length - 1] as Frame;
      if (pending !== null && (indent > top.indent || (indent === top.indent && dash))) {
        const node = dash ? new YAMLSeq(this.#schema) : new YAMLMap(this.#schema);
        pending.value = node;
        this.#pending = null;
        top = this.#push(node, indent, top.depth + 1, i);
      } else {
        if (pending !== null) this.#emptyValue();
        while (top.indent > indent || (top.indent === indent && !top.isMap && !dash)) {
          this.#pop();
          if (this.#stack.length === 0) giveUp();
          top = this.#stack[this.#stack.length - 1] as Frame;
        }
        if (top.indent !== indent || (top.isMap && dash)) giveUp();
      }
      // Whatever trailing run is left starts the new entry: it no longer bears on any range.
      this.#trailing = false;
      this.#trailingIndent = -1;
    }
    if (top.isMap) this.#mapEntry(top, i);
    else this.#seqEntry(top, i);
  }

  #push(node: YAMLMap | YAMLSeq, indent: number, depth: number, start: number): Frame {
    if (depth > this.#maxDepth) giveUp();
    const frame: Frame = { node, isMap: node instanceof YAMLMap, indent, depth, start, keys: null };
    this.#stack.push(frame);
    return frame;
  }

  /** Closes the innermost collection and sets its range as the library does. */
  #pop(): void {
    const frame = this.#stack.pop() as Frame;
    const items = frame.node.items;
    const lastItem = items[items.length - 1];
    const lastNode = (frame.isMap ? (lastItem as Pair).value : lastItem) as Scalar | YAMLMap | YAMLSeq;
    const valueEnd = (lastNode.range as Range)[2];
    let end = valueEnd;
    // A trailing run stays in this collection when it holds a comment at or past the collection's column;
    // otherwise it moves to the parent (and, from the root, to the document).
    if (this.#trailing && frame.indent !== 0 && this.#trailingIndent >= frame.indent) {
      end = this.#trailingEnd;
      this.#trailing = false;
      this.#trailingIndent = -1;
    }
    frame.node.range = [frame.start, valueEnd, end];
  }

  /** `key:` with nothing after it on its line and nothing deeper below: a null value just after the colon. */
  #emptyValue(): void {
    // A comment here would become the empty value's and move its range: left to the library.
    if (this.#pendingComment) giveUp();
    const at = this.#pendingAt;
    const node = new Scalar(null);
    node.range = [at, at, at];
    node.source = '';
    node.type = 'PLAIN';
    (this.#pending as Pair).value = node;
    this.#pending = null;
  }

  /** `key: value`, `key: {flow}` or `key:` at the start of a mapping entry line. */
  #mapEntry(frame: Frame, i: number): void {
    const text = this.#text;
    const key = this.#blockScalar(i);
    let colon = this.#at;
    while (text.charCodeAt(colon) === SPACE) colon++;
    if (text.charCodeAt(colon) !== COLON || !blankAt(text, colon + 1)) giveUp();
    this.#afterKey(frame, key, colon);
  }

  /** `- value`, `- {flow}` or `- key: value` (a mapping whose entries line up with its first key). */
  #seqEntry(frame: Frame, i: number): void {
    const text = this.#text;
    let j = i + 1;
    while (text.charCodeAt(j) === SPACE) j++;
    // `-` alone (an empty entry or one that starts below) and `- # comment` are left to the library.
    if (j >= this.#lineEnd || text.charCodeAt(j) === HASH) giveUp();
    const code = text.charCodeAt(j);
    if (code === LBRACE || code === LBRACKET) {
      const node = this.#flow(j, frame.depth + 1);
      (frame.node as YAMLSeq).items.push(node);
      this.#endLine(node);
      return;
    }
    const scalar = this.#blockScalar(j);
    let colon = this.#at;
    while (text.charCodeAt(colon) === SPACE) colon++;
    if (text.charCodeAt(colon) === COLON && blankAt(text, colon + 1)) {
      const map = new YAMLMap(this.#schema);
      (frame.node as YAMLSeq).items.push(map);
      this.#afterKey(this.#push(map, j - this.#lineStart, frame.depth + 1, j), scalar, colon);
      return;
    }
    (frame.node as YAMLSeq).items.push(scalar);
    this.#endLine(scalar);
  }

  /** Reads what follows `key:` on its line. */
  #afterKey(frame: Frame, key: Scalar, colon: number): void {
    const text = this.#text;
    if (colon - (key.range as Range)[0] > MAX_KEY_LENGTH) giveUp();
    const items = (frame.node as YAMLMap).items;
    frame.keys = this.#addKey(items, key, frame.keys);
    const pair = new Pair<Scalar, unknown>(key, null);
    items.push(pair as Pair);
    let j = colon + 1;
    while (text.charCodeAt(j) === SPACE) j++;
    if (j >= this.#lineEnd || text.charCodeAt(j) === HASH) {
      this.#pending = pair;
      this.#pendingAt = j;
      this.#pendingComment = j < this.#lineEnd;
      return;
    }
    const code = text.charCodeAt(j);
    const value = code === LBRACE || code === LBRACKET ? this.#flow(j, frame.depth + 1) : this.#blockScalar(j);
    pair.value = value;
    this.#endLine(value);
  }

  /**
   * Mapping keys must be unique (by value, as the library compares scalar keys); merge keys are left
   * to the library. `keys` is the mapping's key set once it has one; returns the set to keep.
   */
  #addKey(items: readonly Pair[], key: Scalar, keys: Set<unknown> | null): Set<unknown> | null {
    const value = key.value;
    if (value === '<<' && key.type === 'PLAIN') giveUp();
    if (keys !== null) {
      if (keys.has(value)) giveUp();
      return keys.add(value);
    }
    for (const pair of items) if ((pair.key as Scalar).value === value) giveUp();
    return items.length + 1 >= KEY_SCAN_LIMIT ? new Set([...items.map((pair) => (pair.key as Scalar).value), value]) : null;
  }

  /** After a value (or `---`): only spaces and a comment may follow; the value's range runs to the next line's start. */
  #endLine(node: Scalar | YAMLMap | YAMLSeq | null): void {
    const text = this.#text;
    const at = this.#at;
    let j = at;
    while (text.charCodeAt(j) === SPACE) j++;
    if (j < this.#lineEnd && (text.charCodeAt(j) !== HASH || j === at)) giveUp();
    if (node === null) return;
    (node.range as Range)[2] = this.#lineNext;
    this.#last = node;
  }

  /** A scalar in block context: plain (up to `: `, ` #` or the line end) or quoted on one line. */
  #blockScalar(i: number): Scalar {
    const text = this.#text;
    const code = text.charCodeAt(i);
    if (code === DQUOTE) return this.#doubleQuoted(i);
    if (code === SQUOTE) return this.#singleQuoted(i);
    if (!plainStart(code, text.charCodeAt(i + 1), false)) giveUp();
    const lineEnd = this.#lineEnd;
    let end = i + 1;
    for (let j = end; j < lineEnd; j++) {
      const c = text.charCodeAt(j);
      if (c === COLON) {
        if (blankAt(text, j + 1)) break;
        end = j + 1;
      } else if (c === SPACE) {
        if (text.charCodeAt(j + 1) === HASH) break;
      } else end = j + 1;
    }
    return this.#plain(i, end);
  }

  /** A scalar inside a flow collection: plain (up to a flow indicator, `: ` or ` #`) or quoted. */
  #flowScalar(i: number): Scalar {
    const text = this.#text;
    const code = text.charCodeAt(i);
    if (code === DQUOTE) return this.#doubleQuoted(i);
    if (code === SQUOTE) return this.#singleQuoted(i);
    if (!plainStart(code, text.charCodeAt(i + 1), true)) giveUp();
    const lineEnd = this.#lineEnd;
    let end = i + 1;
    for (let j = end; j < lineEnd; j++) {
      const c = text.charCodeAt(j);
      if (c === COLON) {
        const next = text.charCodeAt(j + 1);
        if (next === SPACE || next === LF || Number.isNaN(next) || isFlowIndicator(next)) break;
        end = j + 1;
      } else if (c === SPACE) {
        const next = text.charCodeAt(j + 1);
        if (next === HASH || isFlowIndicator(next)) break;
      } else if (isFlowIndicator(c)) break;
      else end = j + 1;
    }
    return this.#plain(i, end);
  }

  #plain(start: number, end: number): Scalar {
    const source = this.#text.slice(start, end);
    const node = plainScalar(source);
    node.range = [start, end, end];
    node.source = source;
    node.type = 'PLAIN';
    this.#at = end;
    return node;
  }

  #quoted(start: number, end: number, value: string, type: 'QUOTE_SINGLE' | 'QUOTE_DOUBLE'): Scalar {
    const node = new Scalar(value);
    node.range = [start, end, end];
    node.source = value;
    node.type = type;
    this.#at = end;
    return node;
  }

  /** 'text' with '' for a quote, closed on the same line. */
  #singleQuoted(i: number): Scalar {
    const text = this.#text;
    let close = text.indexOf("'", i + 1);
    while (close !== -1 && text.charCodeAt(close + 1) === SQUOTE) close = text.indexOf("'", close + 2);
    if (close === -1 || close >= this.#lineEnd) giveUp();
    const raw = text.slice(i + 1, close);
    return this.#quoted(i, close + 1, raw.includes("''") ? raw.replaceAll("''", "'") : raw, 'QUOTE_SINGLE');
  }

  /** "text" with single-character escapes, closed on the same line. */
  #doubleQuoted(i: number): Scalar {
    const text = this.#text;
    const lineEnd = this.#lineEnd;
    let value = '';
    let from = i + 1;
    let j = from;
    for (;;) {
      if (j >= lineEnd) giveUp();
      const code = text.charCodeAt(j);
      if (code === DQUOTE) break;
      if (code === BACKSLASH) {
        const escaped = ESCAPES[text.charAt(j + 1)];
        if (escaped === undefined) giveUp();
        value += text.slice(from, j) + escaped;
        j += 2;
        from = j;
      } else j++;
    }
    value += text.slice(from, j);
    return this.#quoted(i, j + 1, value, 'QUOTE_DOUBLE');
  }

  /** A flow mapping or sequence that closes on its line; items' ranges run over the spaces before `,` or the bracket. */
  #flow(i: number, depth: number): YAMLMap | YAMLSeq {
    if (depth > this.#maxDepth) giveUp();
    const text = this.#text;
    const isMap = text.charCodeAt(i) === LBRACE;
    const close = isMap ? RBRACE : RBRACKET;
    const node = isMap ? new YAMLMap(this.#schema) : new YAMLSeq(this.#schema);
    node.flow = true;
    let keys: Set<unknown> | null = null;
    let j = i + 1;
    while (text.charCodeAt(j) === SPACE) j++;
    if (text.charCodeAt(j) !== close) {
      for (;;) {
        let value: Scalar | YAMLMap | YAMLSeq;
        if (isMap) {
          const key = this.#flowScalar(j);
          let colon = this.#at;
          while (text.charCodeAt(colon) === SPACE) colon++;
          if (text.charCodeAt(colon) !== COLON) giveUp();
          if (colon - j > MAX_KEY_LENGTH) giveUp();
          keys = this.#addKey((node as YAMLMap).items, key, keys);
          j = colon + 1;
          while (text.charCodeAt(j) === SPACE) j++;
          value = this.#flowValue(j, depth);
          (node as YAMLMap).items.push(new Pair(key, value));
        } else {
          value = this.#flowValue(j, depth);
          (node as YAMLSeq).items.push(value);
        }
        j = this.#at;
        while (text.charCodeAt(j) === SPACE) j++;
        (value.range as Range)[2] = j;
        const code = text.charCodeAt(j);
        if (code === close) break;
        // Anything else (`key: value` in a sequence, a comment, the line's end) is left to the library.
        if (code !== COMMA) giveUp();
        j++;
        while (text.charCodeAt(j) === SPACE) j++;
        // A trailing comma or an empty entry is left to the library too.
        const next = text.charCodeAt(j);
        if (next === close || next === COMMA) giveUp();
      }
    }
    node.range = [i, j + 1, j + 1];
    this.#at = j + 1;
    return node;
  }

  #flowValue(j: number, depth: number): Scalar | YAMLMap | YAMLSeq {
    const code = this.#text.charCodeAt(j);
    if (code === LBRACE || code === LBRACKET) return this.#flow(j, depth + 1);
    return this.#flowScalar(j);
  }
}

/**
 * Reads `text` when it stays inside the subset Actra documents use: block mappings and sequences
 * (`- key: value` entries, sequences at their key's column), one-line flow collections, plain and
 * one-line quoted scalars, comments, a leading `---`. Returns undefined for anything else (tabs,
 * anchors, tags, block scalars, multi-line scalars, duplicate keys, other document markers, nesting past `maxDepth`,
 * a root that is not a block collection, ...) so that the caller parses with the library.
 */
export function readFast(text: string, maxDepth: number): FastParse | undefined {
  if (UNSUPPORTED_CHARACTER.test(text)) return undefined;
  const doc = new Document(undefined, DOCUMENT_OPTIONS);
  const lines = new LineCounter();
  let read: ReturnType<Reader['read']>;
  try {
    read = new Reader(text, maxDepth, doc.schema).read(lines);
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
  if (read === undefined) return undefined;
  doc.contents = read.root;
  doc.range = read.range;
  if (read.docStart && doc.directives !== undefined) doc.directives.docStart = true;
  return { doc, lines };
}
