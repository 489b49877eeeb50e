/** Builds the policy action from a request's params, body and query, compiled once per route. */
import type { ActionInput, FieldSpec, SchemaInfo } from '../core/types.js';
import { ActraInputError, ActraOptionsError } from '../errors.js';
import { codegen, Constants, inlineTypeTest } from '../core/codegen.js';
import { actionBody } from './body.js';
import type { NeutralRequest } from './types.js';

/** Keys that are never read from request data, whatever the schema says. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NUMBER = /^-?(?:\d+|\d*\.\d+)(?:[eE][+-]?\d+)?$/;

/** Where a field can come from. */
export type FieldSource = 'params' | 'body' | 'query';

/** The default order fields are looked for in: route params, then the JSON body, then the query string. */
export const SOURCE_PRECEDENCE: readonly FieldSource[] = ['params', 'body', 'query'];

/** How a route turns a request into an action. */
export interface ActionSpec {
  /** The action type, declared in the schema. */
  readonly action: string;
  /** Action field ← request path (`'body.amount_cents'`, `'params.id'`, `'query.currency'`). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Computes the action fields from the request; its result is still limited to declared fields. */
  readonly mapper?: (req: NeutralRequest) => Readonly<Record<string, unknown>>;
}

interface FieldReader {
  readonly name: string;
  readonly spec: FieldSpec;
  /** Tried in order; the first source holding the key wins. */
  readonly sources: readonly { readonly from: FieldSource; readonly path: readonly string[] }[];
}

/** A compiled action builder for one route. */
export interface ActionBuilder {
  readonly type: string;
  /** True when some field may come from the body (adapters that parse lazily read it only then). */
  readonly needsBody: boolean;
  /**
   * Builds the action from the request.
   * @throws ActraInputError (`ACTRA_INPUT`) for a wrongly typed field; ActraError `ACTRA_BAD_REQUEST`
   *   (415, 400) when the action reads the body and the body is not a JSON object (see `actionBody`).
   */
  build(req: NeutralRequest): ActionInput;
}

/**
 * Compiles an {@link ActionSpec} against the schema: unknown actions, unknown mapped fields and
 * malformed source paths are rejected here, at start-up.
 * @param routeParams the route's parameter names, when known: a field that is none of them is
 *   looked for in the body and the query only.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) naming the route and the problem.
 */
export function compileAction(spec: ActionSpec, schema: SchemaInfo, where: string, routeParams?: ReadonlySet<string>): ActionBuilder {
  const declared = schema.actions.get(spec.action);
  if (declared === undefined) throw new ActraOptionsError(`${where}: action "${spec.action}" is not declared in the schema`);
  const explicit = new Map<string, { from: FieldSource; path: string[] }>();
  for (const [field, source] of Object.entries(spec.fields ?? {})) {
    if (!declared.has(field)) throw new ActraOptionsError(`${where}: field "${field}" is not declared for action "${spec.action}"`);
    explicit.set(field, parseSource(source, where));
  }
  const readers: FieldReader[] = [];
  for (const [name, fieldSpec] of declared) {
    if (FORBIDDEN_KEYS.has(name)) continue;
    const mapped = explicit.get(name);
    const sources = mapped
      ? [mapped]
      : SOURCE_PRECEDENCE.filter(function possible(from) {
          return from !== 'params' || routeParams === undefined || routeParams.has(name);
        }).map(function sourceFor(from) {
          return { from, path: [name] };
        });
    readers.push({ name, spec: fieldSpec, sources });
  }
  const type = spec.action;
  const mapper = spec.mapper;
  const readsBody = readers.some(function readsBody(r) {
    return r.sources.some(function isBody(s) {
      return s.from === 'body';
    });
  });
  const needsBody = mapper !== undefined || readsBody;

  return {
    type,
    needsBody,
    build: mapper
      ? function buildMappedAction(req) {
          actionBody(req);
          const mapped = mapper(req);
          const action: Record<string, unknown> = { type };
          for (const reader of readers) {
            if (mapped !== null && typeof mapped === 'object' && Object.hasOwn(mapped, reader.name)) {
              action[reader.name] = coerce(mapped[reader.name], reader, 'mapper');
            }
          }
          return action as ActionInput;
        }
      : (generatedBuild(type, readers, readsBody) ??
        function buildAction(req) {
          const action: Record<string, unknown> = { type };
          const body = readsBody ? actionBody(req) : undefined;
          for (let r = 0; r < readers.length; r++) {
            const reader = readers[r] as FieldReader;
            const sources = reader.sources;
            for (let s = 0; s < sources.length; s++) {
              const source = sources[s] as FieldReader['sources'][number];
              const from = source.from;
              let root: unknown;
              if (from === 'body') root = body;
              else if (from === 'query') root = req.query;
              else if (req.mayHaveParam?.(source.path[0] as string) === false) continue;
              else root = req.params;
              const found = read(root, source.path);
              if (found === MISSING) continue;
              action[reader.name] = coerce(found, reader, from);
              break;
            }
          }
          return action as ActionInput;
        }),
  };
}

/*
 * Why generate code: the closure builder above walks every field's sources in a loop, so each read
 * is a keyed property access on whichever object comes up. A generated function per route writes
 * each field's sources out in order, with the field name as a literal key, and checks the common
 * body types inline: the code a request runs is a fraction of the loop's. Only structure becomes
 * code: the action type, field names and keys go in as JSON string literals, everything else (the
 * coercions, multi-key paths, helpers) through the constants array `k`. Where code generation is
 * disabled (`--disallow-code-generation-from-strings`) the closure builder runs instead, with the
 * same results (the tests run both).
 */

/** The builder of a route as one generated function; `undefined` where code generation is disabled. */
function generatedBuild(type: string, readers: readonly FieldReader[], readsBody: boolean): ((req: NeutralRequest) => ActionInput) | undefined {
  if (!codegen.enabled) return undefined;
  const k = new Constants();
  const lines = [`const body = ${readsBody ? `${k.constant(actionBody)}(req)` : 'undefined'};`, `const a = { type: ${JSON.stringify(type)} };`, 'let v;'];
  readers.forEach(function emitField(reader, index) {
    const name = JSON.stringify(reader.name);
    const coerceField = k.constant(function coerceField(value: unknown, from: FieldSource): unknown {
      return coerce(value, reader, from);
    });
    lines.push(`f${index}: {`);
    for (const source of reader.sources) {
      const from = JSON.stringify(source.from);
      const root = source.from === 'body' ? 'body' : `req.${source.from}`;
      const paramCheck = source.from === 'params' ? `(req.mayHaveParam == null || req.mayHaveParam(${JSON.stringify(source.path[0])}) !== false) && ` : '';
      // Body values must already have the declared type: the common types are taken as they are; params and query values are text to convert.
      const typed = source.from === 'body' ? inlineTypeTest(reader.spec.kind, 'v') : undefined;
      const value = typed === undefined ? `${coerceField}(v, ${from})` : `(${typed} ? v : ${coerceField}(v, ${from}))`;
      if (source.path.length === 1) {
        const key = JSON.stringify(source.path[0]);
        lines.push(`  if (${paramCheck}(v = ${root}) !== null && typeof v === "object" && !Array.isArray(v) && hasOwn(v, ${key}) && (v = v[${key}]) !== undefined) { a[${name}] = ${value}; break f${index}; }`);
      } else {
        lines.push(`  if (${paramCheck}(v = ${k.constant(read)}(${root}, ${k.constant(source.path)})) !== ${k.constant(MISSING)}) { a[${name}] = ${value}; break f${index}; }`);
      }
    }
    lines.push('}');
  });
  lines.push('return a;');
  const source = `"use strict";\nconst hasOwn = Object.hasOwn;\nreturn function actraBuildAction(req) {\n${lines.join('\n')}\n};`;
  return (new Function('k', source) as (k: unknown[]) => (req: NeutralRequest) => ActionInput)(k.constants);
}

function parseSource(source: string, where: string): { from: FieldSource; path: string[] } {
  const [from, ...path] = source.split('.');
  if ((from !== 'params' && from !== 'body' && from !== 'query') || path.length === 0) {
    throw new ActraOptionsError(`${where}: field source "${source}" must start with params., body. or query.`);
  }
  for (const key of path) {
    if (key.length === 0 || FORBIDDEN_KEYS.has(key)) throw new ActraOptionsError(`${where}: field source "${source}" has an invalid key`);
  }
  return { from, path };
}

const MISSING: unique symbol = Symbol('missing');

function read(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (let index = 0; index < path.length; index++) {
    const key = path[index] as string;
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return MISSING;
    value = (value as Record<string, unknown>)[key];
  }
  return value === undefined ? MISSING : value;
}

/** Coerces strings from params and query to the declared type; checks body values' types. */
function coerce(value: unknown, reader: FieldReader, from: FieldSource | 'mapper'): unknown {
  const { spec, name } = reader;
  const fromText = from === 'params' || from === 'query';
  switch (spec.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'enum':
      if (typeof value === 'string' && spec.values?.includes(value)) return value;
      break;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (fromText && typeof value === 'string' && NUMBER.test(value)) return Number(value);
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (fromText && (value === 'true' || value === 'false')) return value === 'true';
      break;
    case 'string[]':
      if (fromText && typeof value === 'string') return [value];
      if (Array.isArray(value) && value.every(isString)) return value;
      break;
    case 'number[]': {
      const list = fromText && typeof value === 'string' ? [value] : value;
      if (Array.isArray(list)) {
        const out: number[] = [];
        for (const item of list) {
          if (typeof item === 'number' && Number.isFinite(item)) out.push(item);
          else if (fromText && typeof item === 'string' && NUMBER.test(item)) out.push(Number(item));
          else return fail(name, spec, from);
        }
        return out;
      }
      break;
    }
  }
  return fail(name, spec, from);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function fail(name: string, spec: FieldSpec, from: FieldSource | 'mapper'): never {
  const expected = spec.kind === 'enum' ? 'one of the declared values' : `a ${spec.kind}`;
  throw new ActraInputError(`action field "${name}" (from ${from}) must be ${expected}`, { field: name });
}
