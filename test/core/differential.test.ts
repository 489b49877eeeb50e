import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { Actra } from '../../src/core/actra.js';
import { codegen } from '../../src/core/codegen.js';
import type { EvaluationInput, Policy } from '../../src/core/types.js';
import { isActraError } from '../../src/errors.js';
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

type G = fc.GeneratorValue;

function pick<T>(g: G, items: readonly T[]): T {
  return items[g(fc.integer, { min: 0, max: items.length - 1 })] as T;
}

function genFields(g: G, domain: string): GenField[] {
  const count = g(fc.integer, { min: 1, max: 3 });
  const fields: GenField[] = [];
  const names = FIELD_NAMES.filter((n) => n !== 'type' || domain !== 'snapshot');
  for (let i = 0; i < count; i++) {
    const name = pick(g, names);
    if (fields.some((f) => f.name === name)) continue;
    let kind = pick(g, KINDS);
    if (name === 'type') kind = pick(g, ['string', 'enum'] as const);
    fields.push({ name, kind, optional: g(fc.boolean) });
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
  if (scalar === 'boolean') return g(fc.boolean);
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
    const n = g(fc.integer, { min: 0, max: 3 });
    atom.value = { literal: Array.from({ length: n }, () => literalFor(g, left.field.kind)) };
    return atom;
  }
  const wanted = scalarOf(left.field.kind);
  const compatible = readable.filter((r) => (operator === 'contains' ? !r.field.kind.endsWith('[]') : r.field.kind !== 'string[]' && r.field.kind !== 'number[]') && scalarOf(r.field.kind) === wanted);
  if (compatible.length > 0 && g(fc.integer, { min: 0, max: 3 }) === 0) {
    const right = pick(g, compatible);
    atom.value = { subject: { domain: right.domain, field: right.field.name } };
  } else {
    atom.value = { literal: operator === 'contains' ? literalFor(g, left.field.kind === 'number[]' ? 'number' : 'string') : literalFor(g, left.field.kind) };
  }
  return atom;
}

function genCondition(g: G, readable: Readable[], depth: number): Obj {
  const choice = depth >= 3 ? 0 : g(fc.integer, { min: 0, max: 5 });
  if (choice <= 2) return genAtom(g, readable);
  if (choice === 5) return { not: genCondition(g, readable, depth + 1) };
  const n = g(fc.integer, { min: 1, max: 3 });
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
  const ruleCount = g(fc.integer, { min: 1, max: 6 });
  const rules: Obj[] = [];
  for (let i = 0; i < ruleCount; i++) {
    const scopeKind = g(fc.integer, { min: 0, max: 3 });
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
  if (g(fc.boolean)) policy.default_effect = pick(g, ['allow', 'block']);
  return { schema, policy, actions, actor, snapshot };
}

const WRONG = [null, undefined, 'x', 7, true, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, [], ['x'], [1], [1, 'x'], {}, 'platinum'];

function valueFor(g: G, field: GenField): unknown {
  const roll = g(fc.integer, { min: 0, max: 9 });
  if (roll >= 3) {
    switch (field.kind) {
      case 'enum':
        return pick(g, ENUM);
      case 'string':
        return pick(g, STRINGS);
      case 'number':
        return pick(g, NUMBERS);
      case 'boolean':
        return g(fc.boolean);
      case 'string[]':
        return Array.from({ length: g(fc.integer, { min: 0, max: 3 }) }, () => pick(g, STRINGS));
      case 'number[]':
        return Array.from({ length: g(fc.integer, { min: 0, max: 3 }) }, () => pick(g, NUMBERS));
    }
  }
  return pick(g, WRONG);
}

function genDomain(g: G, fields: GenField[], extra: Obj = {}): Obj {
  const obj: Obj = {};
  for (const field of fields) {
    if (g(fc.integer, { min: 0, max: 9 }) === 0) continue; // missing
    obj[field.name] = valueFor(g, field);
  }
  return { ...obj, ...extra };
}

function genInput(g: G, s: ReturnType<typeof genScenario>): unknown {
  const type = pick(g, ['a0', 'a0', 'a1', 'a1', 'other']);
  const action = genDomain(g, s.actions[type] ?? []);
  if (!Object.hasOwn(action, 'type') || g(fc.integer, { min: 0, max: 9 }) > 0) action.type = type;
  const actor = genDomain(g, s.actor);
  const actorTypeRoll = g(fc.integer, { min: 0, max: 5 });
  if (actorTypeRoll === 1) actor.type = 't0';
  else if (actorTypeRoll === 2) actor.type = 't1';
  else if (actorTypeRoll === 3) actor.type = 5;
  const shape = g(fc.integer, { min: 0, max: 40 });
  if (shape === 0) return null;
  if (shape === 1) return { action: [], actor, snapshot: {} };
  if (shape === 2) return { action, actor, snapshot: 'nope' };
  return { action, actor, snapshot: genDomain(g, s.snapshot) };
}

describe.each(MODES)('differential ($mode): generated policies and inputs', ({ enabled }) => {
  inMode(enabled);
  it('the compiled evaluator and explain agree with the reference interpreter', () => {
    let compared = 0;
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const scenario = genScenario(g);
        const schemaText = stringify(scenario.schema);
        const policyText = stringify(scenario.policy);
        const policy = Actra.fromStrings(schemaText, policyText);
        const schemaDoc = parse(schemaText) as Obj;
        const policyDoc = parse(policyText) as Obj;
        for (let i = 0; i < 15; i++) {
          const input = genInput(g, scenario);
          const expected = referenceEvaluate(schemaDoc, policyDoc, input);
          expect(compiledOutcome(policy, input)).toEqual(expected);
          expect(explainOutcome(policy, input)).toEqual(expected);
          compared++;
        }
      }),
      { numRuns: 600 },
    );
    expect(compared).toBe(600 * 15);
  });
});
