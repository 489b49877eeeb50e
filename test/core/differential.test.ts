import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { Actra } from '../../src/core/actra.js';
import { codegen } from '../../src/core/codegen.js';
import type { EvaluationInput, Policy } from '../../src/core/types.js';
import { isActraError } from '../../src/errors.js';
import { loadCases } from '../../src/testing/cases.js';
import { referenceEvaluate } from './reference.js';
import type { ReferenceOutcome } from './reference.js';

type Obj = Record<string, unknown>;

function compiledOutcome(policy: Policy, input: unknown): ReferenceOutcome {
  try {
    const decision = policy.evaluate(input as EvaluationInput);
    return { effect: decision.effect, rule: decision.matchedRule };
  } catch (error) {
    if (isActraError(error, 'ACTRA_INPUT')) return { error: 'ACTRA_INPUT', field: (error as { field?: string }).field };
    throw error;
  }
}

/**
 * A generated document as YAML: mostly block keys whose values are one-line JSON (YAML flow
 * collections, quick to write), one in ten in `yaml`'s block style.
 */
function yamlText(doc: Obj, block: boolean): string {
  if (block) return stringify(doc);
  return `${Object.entries(doc)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join('\n')}\n`;
}

function sameOutcome(a: ReferenceOutcome, b: ReferenceOutcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b && a.field === b.field;
  return a.effect === b.effect && a.rule === b.rule;
}

function explainOutcome(policy: Policy, input: unknown): ReferenceOutcome {
  try {
    const { decision } = policy.explain(input as EvaluationInput);
    return { effect: decision.effect, rule: decision.matchedRule };
  } catch (error) {
    if (isActraError(error, 'ACTRA_INPUT')) return { error: 'ACTRA_INPUT', field: (error as { field?: string }).field };
    throw error;
  }
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function fixtureDirs(): string[] {
  const out: string[] = [];
  for (const group of readdirSync(FIXTURES)) {
    for (const name of readdirSync(join(FIXTURES, group))) {
      const dir = join(FIXTURES, group, name);
      if (existsSync(join(dir, 'cases.json')) && existsSync(join(dir, 'policy.yaml'))) out.push(dir);
    }
  }
  return out;
}

/** Both evaluators: generated code (the default) and the closures used where code generation is disabled. */
const MODES = [
  { mode: 'generated code', enabled: true },
  { mode: 'closures', enabled: false },
] as const;

function inMode(enabled: boolean): void {
  const before = codegen.enabled;
  beforeAll(() => {
    codegen.enabled = enabled;
  });
  afterAll(() => {
    codegen.enabled = before;
  });
}

describe.each(MODES)('compiled evaluator ($mode) agrees with the reference interpreter', ({ enabled }) => {
  inMode(enabled);
  const dirs = fixtureDirs();
  it('has fixtures to compare on', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(5);
  });

  for (const dir of dirs) {
    it(`on fixture ${dir.slice(FIXTURES.length + 1)}`, () => {
      const policy = Actra.fromDirectory(dir);
      const schemaDoc = parse(readFileSync(join(dir, 'schema.yaml'), 'utf8')) as Obj;
      const policyDoc = parse(readFileSync(join(dir, 'policy.yaml'), 'utf8')) as Obj;
      const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { input: unknown }[];
      for (const { input } of cases) {
        const expected = referenceEvaluate(schemaDoc, policyDoc, input);
        expect(compiledOutcome(policy, input)).toEqual(expected);
        expect(explainOutcome(policy, input)).toEqual(expected);
      }
    });
  }
});

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'policies');

describe.each(MODES)('compiled evaluator ($mode) agrees with the reference interpreter on the example policies\' test cases', ({ enabled }) => {
  inMode(enabled);
  const dirs = readdirSync(EXAMPLES).map((name) => join(EXAMPLES, name));
  it('has example policies with cases', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(2);
  });

  for (const dir of dirs) {
    it(`on the cases of ${dir.slice(EXAMPLES.length + 1)}`, () => {
      const policy = Actra.fromDirectory(dir);
      const schemaDoc = parse(readFileSync(join(dir, 'schema.yaml'), 'utf8')) as Obj;
      const policyDoc = parse(readFileSync(join(dir, 'policy.yaml'), 'utf8')) as Obj;
      const { cases, issues } = loadCases(dir);
      expect(issues).toEqual([]);
      expect(cases.length).toBeGreaterThan(5);
      for (const testCase of cases) {
        const input = { action: testCase.action, actor: testCase.actor, snapshot: testCase.snapshot };
        const expected = referenceEvaluate(schemaDoc, policyDoc, input);
        expect(compiledOutcome(policy, input), testCase.name).toEqual(expected);
        expect(explainOutcome(policy, input), testCase.name).toEqual(expected);
        // The reference also gives what the case expects.
        const want = testCase.expect;
        if ('error' in want) expect(expected, testCase.name).toMatchObject({ error: want.error });
        else {
          expect(expected, testCase.name).toMatchObject({ effect: want.effect });
          if (want.rule !== undefined) expect((expected as { rule?: string }).rule, testCase.name).toBe(want.rule ?? undefined);
        }
      }
    });
  }
});

// ---- generated policies and inputs ----

const KINDS = ['string', 'number', 'boolean', 'string[]', 'number[]', 'enum'] as const;
type Kind = (typeof KINDS)[number];
const ENUM = ['gold', 'silver', 'bronze'];
const STRINGS = ['', 'a', 'ab', 'gold', 'silver', 'é', '🙂'];
const NUMBERS = [0, -0, 1, -1, 2.5, 1000, 1e308, -1e308];
const FIELD_NAMES = ['f0', 'f1', 'f2', 'constructor', 'type'];

interface GenField {
  name: string;
  kind: Kind;
  optional: boolean;
}

/** The choices the generators make: drawn through fast-check (scenarios, so they shrink) or from a seeded PRNG (inputs, for speed). */
interface G {
  int(min: number, max: number): number;
  bool(): boolean;
}

function fromFastCheck(gen: fc.GeneratorValue): G {
  return { int: (min, max) => gen(fc.integer, { min, max }), bool: () => gen(fc.boolean) };
}

/** mulberry32: a small deterministic PRNG; the seed comes from fast-check, so a failure replays. */
function fromSeed(seed: number): G {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (min, max) => min + Math.floor(next() * (max - min + 1)), bool: () => next() < 0.5 };
}

function pick<T>(g: G, items: readonly T[]): T {
  return items[g.int(0, items.length - 1)] as T;
}

function genFields(g: G, domain: string): GenField[] {
  const count = g.int(1, 3);
  const fields: GenField[] = [];
  const names = FIELD_NAMES.filter((n) => n !== 'type' || domain !== 'snapshot');
  for (let i = 0; i < count; i++) {
    const name = pick(g, names);
    if (fields.some((f) => f.name === name)) continue;
    let kind = pick(g, KINDS);
    if (name === 'type') kind = pick(g, ['string', 'enum'] as const);
    fields.push({ name, kind, optional: g.bool() });
  }
  return fields;
}

function typeYaml(field: GenField): unknown {
  if (field.kind === 'enum') return field.optional ? { enum: ENUM, optional: true } : { enum: ENUM };
  return field.optional ? `${field.kind}?` : field.kind;
}

function scalarOf(kind: Kind): 'string' | 'number' | 'boolean' {
  if (kind === 'number' || kind === 'number[]') return 'number';
  if (kind === 'boolean') return 'boolean';
  return 'string';
}

function literalFor(g: G, kind: Kind): unknown {
  if (kind === 'enum') return pick(g, ENUM);
  const scalar = scalarOf(kind);
  if (scalar === 'number') return pick(g, NUMBERS.filter((n) => !Object.is(n, -0)));
  if (scalar === 'boolean') return g.bool();
  return pick(g, STRINGS);
}

const OPS: Record<Kind, string[]> = {
  string: ['equals', 'not_equals', 'in', 'not_in', 'starts_with', 'ends_with'],
  enum: ['equals', 'not_equals', 'in', 'not_in'],
  number: ['equals', 'not_equals', 'greater_than', 'less_than', 'greater_than_or_equal', 'less_than_or_equal', 'in', 'not_in'],
  boolean: ['equals', 'not_equals'],
  'string[]': ['contains'],
  'number[]': ['contains'],
};

interface Readable {
  domain: string;
  field: GenField;
}

function genAtom(g: G, readable: Readable[]): Obj {
  const left = pick(g, readable);
  const ops = [...OPS[left.field.kind], ...(left.field.optional ? ['exists'] : [])];
  const operator = pick(g, ops);
  const atom: Obj = { subject: { domain: left.domain, field: left.field.name }, operator };
  if (operator === 'exists') return atom;
  if (operator === 'in' || operator === 'not_in') {
    const n = g.int(0, 3);
    atom.value = { literal: Array.from({ length: n }, () => literalFor(g, left.field.kind)) };
    return atom;
  }
  const wanted = scalarOf(left.field.kind);
  const compatible = readable.filter((r) => (operator === 'contains' ? !r.field.kind.endsWith('[]') : r.field.kind !== 'string[]' && r.field.kind !== 'number[]') && scalarOf(r.field.kind) === wanted);
  if (compatible.length > 0 && g.int(0, 3) === 0) {
    const right = pick(g, compatible);
    atom.value = { subject: { domain: right.domain, field: right.field.name } };
  } else {
    atom.value = { literal: operator === 'contains' ? literalFor(g, left.field.kind === 'number[]' ? 'number' : 'string') : literalFor(g, left.field.kind) };
  }
  return atom;
}

function genCondition(g: G, readable: Readable[], depth: number): Obj {
  const choice = depth >= 3 ? 0 : g.int(0, 5);
  if (choice <= 2) return genAtom(g, readable);
  if (choice === 5) return { not: genCondition(g, readable, depth + 1) };
  const n = g.int(1, 3);
  return { [choice === 3 ? 'all' : 'any']: Array.from({ length: n }, () => genCondition(g, readable, depth + 1)) };
}

function genScenario(g: G): { schema: Obj; policy: Obj; actions: Record<string, GenField[]>; actor: GenField[]; snapshot: GenField[] } {
  const actions: Record<string, GenField[]> = { a0: genFields(g, 'action'), a1: genFields(g, 'action') };
  const actor = genFields(g, 'actor');
  const snapshot = genFields(g, 'snapshot');
  const toFields = (fields: GenField[]): Obj => Object.fromEntries(fields.map((f) => [f.name, typeYaml(f)]));
  const schema: Obj = {
    version: 1,
    actions: { a0: { fields: toFields(actions.a0 ?? []) }, a1: { fields: toFields(actions.a1 ?? []) } },
    actor: { fields: toFields(actor) },
    snapshot: { fields: toFields(snapshot) },
  };
  const shared: Readable[] = [...actor.map((field) => ({ domain: 'actor', field })), ...snapshot.map((field) => ({ domain: 'snapshot', field }))];
  if (!actor.some((f) => f.name === 'type')) shared.push({ domain: 'actor', field: { name: 'type', kind: 'string', optional: true } });
  const ruleCount = g.int(1, 6);
  const rules: Obj[] = [];
  for (let i = 0; i < ruleCount; i++) {
    const scopeKind = g.int(0, 3);
    let scope: Obj;
    let readable = shared;
    if (scopeKind <= 1) {
      const name = scopeKind === 0 ? 'a0' : 'a1';
      scope = { action: name };
      const own = actions[name] ?? [];
      readable = [...shared, ...own.map((field) => ({ domain: 'action', field }))];
      if (!own.some((f) => f.name === 'type')) readable.push({ domain: 'action', field: { name: 'type', kind: 'string', optional: false } });
    } else if (scopeKind === 2) scope = { global: true };
    else scope = { actor: pick(g, ['t0', 't1']) };
    rules.push({ id: `r${i}`, scope, when: genCondition(g, readable, 0), effect: pick(g, ['allow', 'block', 'require_approval']) });
  }
  const policy: Obj = { version: 1, rules };
  if (g.bool()) policy.default_effect = pick(g, ['allow', 'block']);
  return { schema, policy, actions, actor, snapshot };
}

/** Generated policies per evaluator, and inputs per policy. */
const POLICIES = 2000;
const INPUTS_PER_POLICY = 15;

const WRONG = [null, undefined, 'x', 7, true, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, [], ['x'], [1], [1, 'x'], {}, 'platinum'];

function valueFor(g: G, field: GenField): unknown {
  const roll = g.int(0, 9);
  if (roll >= 3) {
    switch (field.kind) {
      case 'enum':
        return pick(g, ENUM);
      case 'string':
        return pick(g, STRINGS);
      case 'number':
        return pick(g, NUMBERS);
      case 'boolean':
        return g.bool();
      case 'string[]':
        return Array.from({ length: g.int(0, 3) }, () => pick(g, STRINGS));
      case 'number[]':
        return Array.from({ length: g.int(0, 3) }, () => pick(g, NUMBERS));
    }
  }
  return pick(g, WRONG);
}

/** A domain's fields, then carried the way callers carry them (see `carry`). */
function genDomain(g: G, fields: GenField[]): Obj {
  const obj: Obj = {};
  for (const field of fields) {
    if (g.int(0, 9) === 0) continue; // missing
    obj[field.name] = valueFor(g, field);
  }
  return carry(g, obj);
}

class GetterThrew extends Error {}

/**
 * The same fields as a plain object, or carried another way: some on the prototype
 * (Object.create, a class with prototype getters), as own getters (one may throw), on a
 * null-prototype object, or next to an own `__proto__` key (as JSON.parse makes it) that holds
 * decoy values. Only own properties count, so the reference reads them with Object.hasOwn.
 */
function carry(g: G, fields: Obj): Obj {
  const entries = Object.entries(fields);
  const split = (): [[string, unknown][], [string, unknown][]] => {
    const own: [string, unknown][] = [];
    const inherited: [string, unknown][] = [];
    for (const entry of entries) (g.bool() ? own : inherited).push(entry);
    return [own, inherited];
  };
  const define = (obj: object, key: string, descriptor: PropertyDescriptor): void => {
    Object.defineProperty(obj, key, { enumerable: true, configurable: true, ...descriptor });
  };
  switch (g.int(0, 11)) {
    case 0: {
      const [own, inherited] = split();
      const obj = Object.create(Object.fromEntries(inherited)) as Obj;
      for (const [key, value] of own) define(obj, key, { value, writable: true });
      return obj;
    }
    case 1: {
      const obj: Obj = {};
      const throwsAt = g.int(0, 3 * entries.length);
      entries.forEach(([key, value], index) =>
        define(obj, key, {
          get: index === throwsAt
            ? () => {
                throw new GetterThrew('secret');
              }
            : () => value,
        }),
      );
      return obj;
    }
    case 2: {
      const [own, inherited] = split();
      class Carrier {}
      for (const [key, value] of inherited) define(Carrier.prototype, key, { get: () => value });
      const obj = new Carrier() as Obj;
      for (const [key, value] of own) define(obj, key, { value, writable: true });
      return obj;
    }
    case 3:
      return Object.assign(Object.create(null) as Obj, fields);
    case 4: {
      const [own, inherited] = split();
      const obj: Obj = {};
      define(obj, '__proto__', { value: Object.fromEntries(entries.map(([key]) => [key, 'decoy'])), writable: true });
      for (const [key, value] of [...own, ...inherited]) define(obj, key, { value, writable: true });
      return obj;
    }
    case 5: {
      const [own, inherited] = split();
      const base = Object.assign(Object.create(null) as Obj, Object.fromEntries(inherited));
      return Object.assign(Object.create(base) as Obj, Object.fromEntries(own));
    }
    default:
      return { ...fields };
  }
}

function genInput(g: G, s: ReturnType<typeof genScenario>): unknown {
  const type = pick(g, ['a0', 'a0', 'a1', 'a1', 'other']);
  const actionFields: Obj = {};
  for (const field of s.actions[type] ?? []) if (g.int(0, 9) > 0) actionFields[field.name] = valueFor(g, field);
  if (!Object.hasOwn(actionFields, 'type') || g.int(0, 9) > 0) actionFields.type = type;
  const action = carry(g, actionFields);
  const actorFields: Obj = {};
  for (const field of s.actor) if (g.int(0, 9) > 0) actorFields[field.name] = valueFor(g, field);
  const actorTypeRoll = g.int(0, 5);
  if (actorTypeRoll === 1) actorFields.type = 't0';
  else if (actorTypeRoll === 2) actorFields.type = 't1';
  else if (actorTypeRoll === 3) actorFields.type = 5;
  const actor = carry(g, actorFields);
  const shape = g.int(0, 40);
  if (shape === 0) return null;
  if (shape === 1) return { action: [], actor, snapshot: {} };
  if (shape === 2) return { action, actor, snapshot: 'nope' };
  const domains = { action, actor, snapshot: genDomain(g, s.snapshot) };
  // The input itself: plain, its domains inherited (so missing), or a class instance holding them.
  if (shape === 3) return Object.create(domains) as unknown;
  if (shape === 4) return Object.assign(new (class Input {})(), domains);
  return domains;
}

describe.each(MODES)('differential ($mode): generated policies and inputs', ({ enabled }) => {
  inMode(enabled);
  it(`the compiled evaluator and explain agree with the reference interpreter on ${POLICIES} policies × ${INPUTS_PER_POLICY} inputs`, () => {
    let compared = 0;
    let readFailures = 0;
    fc.assert(
      fc.property(fc.gen(), fc.integer({ min: 0, max: 0x7fffffff }), (gen, seed) => {
        const g = fromFastCheck(gen);
        const inputs = fromSeed(seed);
        const scenario = genScenario(g);
        // The compiler reads the YAML text; the reference reads the documents as generated, so a
        // text that did not say what was meant would show as a disagreement too.
        const block = g.int(0, 9) === 0;
        const policy = Actra.fromStrings(yamlText(scenario.schema, block), yamlText(scenario.policy, block));
        for (let i = 0; i < INPUTS_PER_POLICY; i++) {
          const input = genInput(inputs, scenario);
          const expected = referenceEvaluate(scenario.schema, scenario.policy, input);
          // expect() only on a disagreement: it costs more than the evaluations themselves.
          const compiled = compiledOutcome(policy, input);
          if (!sameOutcome(compiled, expected)) expect(compiled).toEqual(expected);
          const explained = explainOutcome(policy, input);
          if (!sameOutcome(explained, expected)) expect(explained).toEqual(expected);
          if ('error' in expected && expected.field === undefined && input !== null && typeof input === 'object') readFailures++;
          compared++;
        }
      }),
      { numRuns: POLICIES },
    );
    expect(compared).toBe(POLICIES * INPUTS_PER_POLICY);
    // The generators do reach throwing getters (not only missing or wrong fields).
    expect(readFailures).toBeGreaterThan(0);
  });
});
