/** Route table: `"POST /refunds/:id"` keys compiled once into a matcher and an exact pattern index. */
import { ActraError, ActraOptionsError } from '../errors.js';
import { normaliseMethod } from '../runtime/method.js';

export { normaliseMethod };

/** Characters RFC 3986 calls unreserved: decoding them never changes what a path means. */
const UNRESERVED_ESCAPE = /%(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2D|2E|5F|7E)/gi;
const METHOD = /^[A-Z]+$/;
const PARAM_NAME = /^[A-Za-z_$][\w$]*$/;

/** How a compiled table matches raw paths. */
export interface MatchOptions {
  /** Compare static segments case-sensitively (Fastify, Hono) or not (Express's default). */
  readonly caseSensitive: boolean;
}

/** One segment of a compiled pattern. */
type Segment = { readonly kind: 'static'; readonly value: string } | { readonly kind: 'param'; readonly name: string } | { readonly kind: 'rest'; readonly name: string };

/** One compiled route: its method, normalised pattern and whatever the caller attached. */
export interface CompiledRoute<T> {
  /** Upper-case; `GET` also serves `HEAD`; `ALL` matches any method. */
  readonly method: string;
  /** The pattern, normalised (`/refunds/:id`). */
  readonly pattern: string;
  readonly value: T;
  readonly segments: readonly Segment[];
  /** Number of static segments: more specific routes win. */
  readonly weight: number;
  /**
   * True when no other route of the table can match a path this route matches (for a method both
   * serve), and the route ends in no wildcard: a path it matches is then this route's whichever
   * route of the framework serves it, so an adapter need not look for that route first.
   */
  readonly alone: boolean;
}

/** A route matched against a raw path. */
export interface RouteMatch<T> {
  readonly route: CompiledRoute<T>;
  readonly params: Record<string, string>;
}

/** Normalises a route pattern or path: one leading slash, no duplicate slashes, no trailing slash. */
export function normalisePattern(pattern: string): string {
  const parts = pattern.split('/').filter(function nonEmpty(part) {
    return part.length > 0;
  });
  return '/' + parts.join('/');
}

/** Splits a raw path into segments: duplicate and trailing slashes dropped, unreserved escapes decoded. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  const decoded = path.includes('%') ? path.replace(UNRESERVED_ESCAPE, decodeUnreserved) : path;
  for (const part of decoded.split('/')) if (part.length > 0) out.push(part);
  return out;
}

function decodeUnreserved(escape: string): string {
  return String.fromCharCode(parseInt(escape.slice(1), 16));
}

/** Parses a `"METHOD /path"` key; throws `ACTRA_OPTIONS` naming the key when malformed. */
export function parseRouteKey(key: string): { method: string; pattern: string } {
  const match = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(key);
  if (!match || !match[1] || !match[2]) {
    throw new ActraOptionsError(`routes: key "${key}" must look like "POST /refunds/:id"`);
  }
  const method = match[1].toUpperCase();
  if (!METHOD.test(method)) throw new ActraOptionsError(`routes: key "${key}" has an invalid method`);
  return { method: method === 'HEAD' ? 'GET' : method, pattern: normalisePattern(match[2]) };
}

/**
 * The names of the parameters a route key declares (`POST /users/:uid/refunds/:id` → `uid`, `id`).
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) for a malformed key.
 */
export function routeParamNames(key: string): ReadonlySet<string> {
  const names = new Set<string>();
  for (const segment of compileSegments(key, parseRouteKey(key).pattern)) {
    if (segment.kind !== 'static') names.add(segment.name);
  }
  return names;
}

function compileSegments(key: string, pattern: string): Segment[] {
  const parts = pattern.split('/').slice(1).filter(function nonEmpty(part) {
    return part.length > 0;
  });
  return parts.map(function compileSegment(part, index): Segment {
    if (part.startsWith(':')) {
      const name = part.slice(1);
      if (!PARAM_NAME.test(name)) throw new ActraOptionsError(`routes: key "${key}" has an invalid parameter name "${part}"`);
      return { kind: 'param', name };
    }
    if (part.startsWith('*')) {
      if (index !== parts.length - 1) throw new ActraOptionsError(`routes: key "${key}" may only end with a wildcard`);
      return { kind: 'rest', name: part.length > 1 ? part.slice(1) : '*' };
    }
    if (/[:*?(){}]/.test(part)) throw new ActraOptionsError(`routes: key "${key}" uses an unsupported pattern feature in "${part}"`);
    return { kind: 'static', value: part.replace(UNRESERVED_ESCAPE, decodeUnreserved) };
  });
}

const LOOKUP_MEMO_MAX = 1024;

/**
 * A compiled route table. `lookup` finds a route by the framework's own matched pattern (exact);
 * `match` matches a raw path leniently (a superset of what the frameworks route), so a variant of
 * a declared path that reaches a handler is always matched.
 */
export class RouteTable<T> {
  readonly routes: readonly CompiledRoute<T>[];
  readonly #byKey = new Map<string, CompiledRoute<T>>();
  /** `lookup` results by method, then raw pattern: frameworks pass their own (finitely many) route patterns. */
  readonly #looked = new Map<string, Map<string, CompiledRoute<T> | null>>();
  readonly #caseSensitive: boolean;

  constructor(entries: Iterable<readonly [string, T]>, options: MatchOptions) {
    this.#caseSensitive = options.caseSensitive;
    const routes: Omit<CompiledRoute<T>, 'alone'>[] = [];
    const ids = new Set<string>();
    for (const [key, value] of entries) {
      const { method, pattern } = parseRouteKey(key);
      const id = `${method} ${pattern}`;
      if (ids.has(id)) throw new ActraOptionsError(`routes: "${key}" is declared twice`);
      ids.add(id);
      const segments = compileSegments(key, pattern);
      const route = {
        method,
        pattern,
        value,
        segments: options.caseSensitive ? segments : segments.map(lowerStatic),
        weight: segments.filter(function isStatic(s) {
          return s.kind === 'static';
        }).length,
      };
      routes.push(route);
    }
    this.routes = routes.map(function withAlone(route, index): CompiledRoute<T> {
      const alone = route.segments.every(isNotRest) && routes.every((other, at) => at === index || !overlaps(route, other));
      return { ...route, alone };
    });
    for (const route of this.routes) this.#byKey.set(`${route.method} ${route.pattern}`, route);
  }

  /** Exact lookup by method and the framework's matched pattern (normalised both sides). */
  lookup(method: string, pattern: string): CompiledRoute<T> | undefined {
    let byPattern = this.#looked.get(method);
    if (byPattern === undefined) {
      byPattern = new Map();
      if (this.#looked.size < LOOKUP_MEMO_MAX) this.#looked.set(method, byPattern);
    }
    // `null` remembers a pattern with no route: one map read either way.
    const known = byPattern.get(pattern);
    if (known !== undefined) return known ?? undefined;
    const found = this.#lookup(method, pattern);
    if (byPattern.size < LOOKUP_MEMO_MAX) byPattern.set(pattern, found ?? null);
    return found;
  }

  #lookup(method: string, pattern: string): CompiledRoute<T> | undefined {
    const m = normaliseMethod(method);
    const p = normalisePattern(pattern);
    return this.#byKey.get(`${m} ${p}`) ?? this.#byKey.get(`ALL ${p}`);
  }

  /**
   * Matches a raw path (no query string). The most specific route wins (more static segments).
   * @throws ActraError `ACTRA_BAD_REQUEST` (400) when a parameter is not valid percent-encoding.
   */
  match(method: string, path: string): RouteMatch<T> | undefined {
    if (this.routes.length === 0) return undefined;
    const m = normaliseMethod(method);
    // A path with no percent escape and only ASCII characters (what clients send) is read in place:
    // no array, no lower-cased copy, and no substring but the params, cut only when read.
    if (!needsGeneral(path)) {
      const best = this.#best(m, path, undefined);
      return best === undefined ? undefined : new ScannedMatch(best, path, !this.#caseSensitive);
    }
    const segments = splitPath(path);
    const best = this.#best(m, path, this.#caseSensitive ? segments : segments.map(lower));
    return best === undefined ? undefined : { route: best, params: extractParams(best.segments, segments) };
  }

  /**
   * The most specific route of `method` that matches: `path` read in place, or its `split` segments
   * (unreserved escapes decoded, lower-cased where the table is case-insensitive).
   */
  #best(method: string, path: string, split: readonly string[] | undefined): CompiledRoute<T> | undefined {
    const fold = !this.#caseSensitive;
    let best: CompiledRoute<T> | undefined;
    for (const route of this.routes) {
      if (route.method !== method && route.method !== 'ALL') continue;
      if (best !== undefined && route.weight <= best.weight) continue;
      if (split === undefined ? scan(route.segments, path, fold, undefined) : matches(route.segments, split)) best = route;
    }
    return best;
  }
}

/** A match of a path read in place: its params are cut from the path only when read (most actions take none). */
class ScannedMatch<T> implements RouteMatch<T> {
  readonly route: CompiledRoute<T>;
  readonly #path: string;
  readonly #fold: boolean;
  #params: Record<string, string> | undefined;

  constructor(route: CompiledRoute<T>, path: string, fold: boolean) {
    this.route = route;
    this.#path = path;
    this.#fold = fold;
  }

  get params(): Record<string, string> {
    if (this.#params !== undefined) return this.#params;
    const bounds: number[] = [];
    scan(this.route.segments, this.#path, this.#fold, bounds);
    return (this.#params = scannedParams(this.route.segments, this.#path, bounds));
  }
}

/** True when `path` needs the general matcher: a percent escape to decode, or a character outside ASCII to compare. */
function needsGeneral(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code === 37 || code > 127) return true;
  }
  return false;
}

/**
 * True when `path` (ASCII, no escapes) matches `pattern`, segment by segment, empty segments skipped
 * as `splitPath` drops them. With `bounds`, records each segment's start and end offsets in it.
 */
function scan(pattern: readonly Segment[], path: string, fold: boolean, bounds: number[] | undefined): boolean {
  const length = path.length;
  let at = 0;
  for (let index = 0; index < pattern.length; index++) {
    while (at < length && path.charCodeAt(at) === 47) at++;
    if (at === length) return false;
    const segment = pattern[index] as Segment;
    let end = segment.kind === 'rest' ? length : path.indexOf('/', at);
    if (end === -1) end = length;
    if (segment.kind === 'static' && !sameText(segment.value, path, at, end, fold)) return false;
    if (bounds !== undefined) bounds.push(at, end);
    at = end;
  }
  while (at < length && path.charCodeAt(at) === 47) at++;
  return at === length;
}

/** True when `path[start, end)` is `value`; with `fold`, ASCII letters compared in lower case (`value` is lower case). */
function sameText(value: string, path: string, start: number, end: number, fold: boolean): boolean {
  if (end - start !== value.length) return false;
  if (!fold) return path.startsWith(value, start);
  for (let i = 0; i < value.length; i++) {
    let code = path.charCodeAt(start + i);
    if (code >= 65 && code <= 90) code += 32;
    if (code !== value.charCodeAt(i)) return false;
  }
  return true;
}

/** The params of a scanned match (nothing to decode: the path has no escapes); a wildcard's segments joined by single slashes. */
function scannedParams(pattern: readonly Segment[], path: string, bounds: readonly number[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as Segment;
    if (seg.kind === 'static') continue;
    const value = path.slice(bounds[2 * i], bounds[2 * i + 1]);
    params[seg.name] = seg.kind === 'param' ? value : value.split('/').filter(isSegment).join('/');
  }
  return params;
}

function isSegment(part: string): boolean {
  return part.length > 0;
}

function isNotRest(segment: Segment): boolean {
  return segment.kind !== 'rest';
}

/**
 * True when some request could match both routes: their methods meet (the same, or either `ALL`) and
 * some path matches both patterns (segment by segment, two static segments must be equal; a wildcard
 * meets anything from where it stands). Segments are compared as compiled (lower-cased statics when
 * the table is case-insensitive).
 */
function overlaps(a: Pick<CompiledRoute<unknown>, 'method' | 'segments'>, b: Pick<CompiledRoute<unknown>, 'method' | 'segments'>): boolean {
  if (a.method !== b.method && a.method !== 'ALL' && b.method !== 'ALL') return false;
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    if (x?.kind === 'rest' || y?.kind === 'rest') return true;
    if (x === undefined || y === undefined) return false;
    if (x.kind === 'static' && y.kind === 'static' && x.value !== y.value) return false;
  }
  return true;
}

function lower(segment: string): string {
  return segment.toLowerCase();
}

function lowerStatic(segment: Segment): Segment {
  return segment.kind === 'static' ? { kind: 'static', value: segment.value.toLowerCase() } : segment;
}

function matches(pattern: readonly Segment[], path: readonly string[]): boolean {
  const last = pattern[pattern.length - 1];
  if (last?.kind === 'rest') {
    if (path.length < pattern.length) return false;
  } else if (path.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as Segment;
    if (seg.kind === 'static' && seg.value !== path[i]) return false;
  }
  return true;
}

function extractParams(pattern: readonly Segment[], path: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as Segment;
    if (seg.kind === 'param') params[seg.name] = decodeParam(path[i] as string);
    else if (seg.kind === 'rest') params[seg.name] = path.slice(i).map(decodeParam).join('/');
  }
  return params;
}

function decodeParam(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ActraError('ACTRA_BAD_REQUEST', 'a path parameter is not valid percent-encoding', { statusCode: 400 });
  }
}
