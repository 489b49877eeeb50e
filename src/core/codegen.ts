/** Turns an ordered list of rules into one generated JavaScript function, with closures as the fallback. */
import type { Decision, FieldSpec } from './types.js';
import type { AtomNode, CondNode, FieldRef, LiteralValue } from './ast.js';
import { comparator, compileCondition, inheritedName, makeCheckedReader } from './compile.js';
import type { Fields, Test } from './compile.js';

/** Decides a list of rules: the first matching rule's decision, else the list's fallback (possibly `undefined`). */
export type Decide = (action: Fields, actor: Fields, snapshot: Fields) => Decision | undefined;

/** One rule as the generator needs it. */
export interface RuleSource {
  readonly id: string;
  readonly when: CondNode;
  readonly decision: Decision;
}

/*
 * Why generate code: a decision through closures costs one megamorphic call per rule and per
 * field read (every rule's closure comes from the same few function literals). A generated
 * function per rule list inlines the reads and comparisons, so V8 compiles each list on its own
 * feedback. Only structure becomes code: field names go in as JSON string literals, every other
 * value (literals that are not plain numbers, strings or booleans, sets, readers, decisions)
 * through the constants array `k`. Where code generation is disabled
 * (`--disallow-code-generation-from-strings`) the closures of compile.ts run instead, with the
 * same semantics (the differential tests run both).
 */

/** Rules per generated function: long lists are chained, so that each function stays small enough for V8 to optimise. */
const RULES_PER_FUNCTION = 48;

function probeCodegen(): boolean {
  try {
    return (new Function('return 1') as () => number)() === 1;
  } catch {
    return false;
  }
}

/** Whether rule lists are compiled to generated code. Internal: tests turn it off to exercise the closures. */
export const codegen = { enabled: probeCodegen() };

const OBJECT_PROTO = Object.prototype as unknown as Record<string, unknown>;

const DOMAIN_VAR = { action: 'a', actor: 'c', snapshot: 's' } as const;

const LITERAL_OPERATOR: Partial<Record<AtomNode['operator'], string>> = {
  equals: '===',
  not_equals: '!==',
  greater_than: '>',
  less_than: '<',
  greater_than_or_equal: '>=',
  less_than_or_equal: '<=',
};

/** The values a generated function refers to, as the array `k` it is handed. */
export class Constants {
  readonly constants: unknown[] = [];

  /** The expression (`k[i]`) that reads `value` in the generated code. */
  constant(value: unknown): string {
    this.constants.push(value);
    return `k[${this.constants.length - 1}]`;
  }
}

/**
 * The inline test that `temp` already has the type `kind` declares, for the kinds a generated
 * function checks without a call (`number`, finite; `string`; `boolean`); `undefined` for the others.
 */
export function inlineTypeTest(kind: FieldSpec['kind'], temp: string): string | undefined {
  if (kind === 'number') return `typeof ${temp} === "number" && ${temp} - ${temp} === 0`;
  if (kind === 'string') return `typeof ${temp} === "string"`;
  if (kind === 'boolean') return `typeof ${temp} === "boolean"`;
  return undefined;
}

/** The source text of one generated function, and the values it refers to. */
class Emitter extends Constants {

  /** A literal written into the code when that is exact; otherwise a constant. */
  literal(value: LiteralValue): string {
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0)) return value < 0 ? `(${String(value)})` : String(value);
    return this.constant(value);
  }

  /**
   * An expression list that leaves the field's value (or `undefined` for an absent optional field)
   * in `temp`, or throws. Same reads as `makeReader`, for the same objects (prototype
   * `Object.prototype` or `null`, checked by the caller): own only, type-checked, prototype-safe.
   */
  read(ref: FieldRef, ruleId: string, temp: string): string {
    const obj = DOMAIN_VAR[ref.domain];
    const slow = `${this.constant(makeCheckedReader(ref, ruleId))}(${obj})`;
    if (inheritedName(ref.field)) return `${temp} = ${slow}`;
    const key = JSON.stringify(ref.field);
    const fast = inlineTypeTest(ref.spec.kind, temp);
    if (fast === undefined) return `${temp} = ${slow}`;
    return `${temp} = ${obj}[${key}], ${temp} = ${fast} && ${temp} !== p[${key}] ? ${temp} : ${slow}`;
  }

  atom(atom: AtomNode, ruleId: string): string {
    if (atom.operator === 'exists') return `(${this.read(atom.left, ruleId, 't')}, t !== undefined)`;
    const right = atom.right;
    if (right === undefined) throw new Error(`condition ${atom.text} has no value`);
    if (right.kind === 'field') {
      const compare = this.constant(comparator(atom));
      return `(${this.read(atom.left, ruleId, 't')}, ${this.read(right.ref, ruleId, 'u')}, t !== undefined && u !== undefined && ${compare}(t, u))`;
    }
    const op = LITERAL_OPERATOR[atom.operator];
    const test = op !== undefined ? `t ${op} ${this.literal(right.value)}` : `${this.constant(comparator(atom))}(t, ${this.constant(right.value)})`;
    return `(${this.read(atom.left, ruleId, 't')}, t !== undefined && ${test})`;
  }

  condition(node: CondNode, ruleId: string): string {
    switch (node.kind) {
      case 'atom':
        return this.atom(node, ruleId);
      case 'not':
        return `!${this.condition(node.child, ruleId)}`;
      case 'all':
      case 'any': {
        const parts = node.children.map((child) => this.condition(child, ruleId));
        return parts.length === 1 ? (parts[0] as string) : `(${parts.join(node.kind === 'all' ? ' && ' : ' || ')})`;
      }
    }
  }
}

function generate(rules: readonly RuleSource[], otherwise: Decision | undefined): Decide {
  const emitter = new Emitter();
  const lines = rules.map((rule) => `    if (${emitter.condition(rule.when, rule.id)}) return ${emitter.constant(rule.decision)};`);
  const tail = otherwise === undefined ? 'undefined' : emitter.constant(otherwise);
  const body = `"use strict";\n  return function actraRules(a, c, s) {\n    let t, u;\n${lines.join('\n')}\n    return ${tail};\n  };`;
  const factory = new Function('k', 'p', body) as (k: unknown[], p: Record<string, unknown>) => Decide;
  return factory(emitter.constants, OBJECT_PROTO);
}

function closures(rules: readonly RuleSource[], otherwise: Decision | undefined, checked: boolean): Decide {
  const tests: Test[] = rules.map((rule) => compileCondition(rule.when, rule.id, checked));
  const decisions = rules.map((rule) => rule.decision);
  const n = rules.length;
  return function actraRuleClosures(a, c, s) {
    for (let i = 0; i < n; i++) if ((tests[i] as Test)(a, c, s)) return decisions[i];
    return otherwise;
  };
}

/**
 * Compiles rules into one function that returns the first matching rule's decision, or
 * `otherwise` when none matches. Throws what the rules' readers throw (ACTRA_INPUT), or whatever
 * a getter in the input throws; the caller turns the latter into an input error.
 *
 * The function reads domain objects whose prototype is `Object.prototype` or `null`; with `checked`
 * it reads any object, confirming every property with `Object.hasOwn` (closures: it runs only for
 * unusual inputs such as class instances, so it is not worth generated code).
 */
export function compileRuleList(rules: readonly RuleSource[], otherwise: Decision | undefined, checked = false): Decide {
  if (checked || !codegen.enabled) return closures(rules, otherwise, checked);
  if (rules.length <= RULES_PER_FUNCTION) return generate(rules, otherwise);
  const parts: Decide[] = [];
  for (let i = 0; i < rules.length; i += RULES_PER_FUNCTION) parts.push(generate(rules.slice(i, i + RULES_PER_FUNCTION), undefined));
  const n = parts.length;
  return function actraRuleChain(a, c, s) {
    for (let i = 0; i < n; i++) {
      const decision = (parts[i] as Decide)(a, c, s);
      if (decision !== undefined) return decision;
    }
    return otherwise;
  };
}
