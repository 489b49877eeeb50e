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
    const routes: CompiledRoute<T>[] = [];
    for (const [key, value] of entries) {
      const { method, pattern } = parseRouteKey(key);
      const id = `${method} ${pattern}`;
      if (this.#byKey.has(id)) throw new ActraOptionsError(`routes: "${key}" is declared twice`);
      const segments = compileSegments(key, pattern);
      const route: CompiledRoute<T> = {
        method,
        pattern,
        value,
        segments: options.caseSensitive ? segments : segments.map(lowerStatic),
        weight: segments.filter(function isStatic(s) {
          return s.kind === 'static';
        }).length,
      };
      this.#byKey.set(id, route);
      routes.push(route);
    }
    this.routes = routes;
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
    const segments = splitPath(path);
    const compare = this.#caseSensitive ? segments : segments.map(lower);
    let best: CompiledRoute<T> | undefined;
    for (const route of this.routes) {
      if (route.method !== m && route.method !== 'ALL') continue;
      if (best !== undefined && route.weight <= best.weight) continue;
      if (matches(route.segments, compare)) best = route;
    }
    if (best === undefined) return undefined;
    return { route: best, params: extractParams(best.segments, segments) };
  }
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
