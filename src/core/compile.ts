/** Compiles checked rules into closures with prebuilt, prototype-safe field readers. */
import { ActraInputError } from '../errors.js';
import type { FieldSpec } from './types.js';
import { fieldName } from './ast.js';
import type { AtomNode, CondNode, FieldRef } from './ast.js';

/** A domain object as given by the caller (already checked to be a non-array object). */
export type Fields = Readonly<Record<string, unknown>>;

/** A compiled condition: reads the three domains, returns whether it holds, or throws ACTRA_INPUT. */
export type Test = (action: Fields, actor: Fields, snapshot: Fields) => boolean;

const hasOwn = Object.hasOwn;

/** Whether a present value has the declared type. NaN and ±Infinity are not numbers here. */
export function typeChecker(spec: FieldSpec): (value: unknown) => boolean {
  switch (spec.kind) {
    case 'string':
      return function isString(v) {
        return typeof v === 'string';
      };
    case 'number':
      return function isFiniteNumber(v) {
        return typeof v === 'number' && v - v === 0;
      };
    case 'boolean':
      return function isBoolean(v) {
        return typeof v === 'boolean';
      };
    case 'enum': {
      const members = new Set(spec.values ?? []);
      return function isEnumMember(v) {
        return typeof v === 'string' && members.has(v);
      };
    }
    case 'string[]':
      return function isStringArray(v) {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
        return true;
      };
    case 'number[]':
      return function isNumberArray(v) {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (typeof item !== 'number' || item - item !== 0) return false;
        }
        return true;
      };
  }
}

/** Human name of an expected type, for error messages. */
export function expectedName(spec: FieldSpec): string {
  if (spec.kind === 'enum') return `one of the enum values [${(spec.values ?? []).join(', ')}]`;
  if (spec.kind === 'number') return 'a finite number';
  return `a ${spec.kind}`;
}

/** The ACTRA_INPUT error for a required field that is missing or null. */
export function missingField(name: string, ruleId: string): ActraInputError {
  return new ActraInputError(`input field ${name} is missing or null, and rule "${ruleId}" requires it`, { field: name, ruleId });
}

/** The ACTRA_INPUT error for a field of the wrong type. Never includes the value. */
export function wrongType(name: string, spec: FieldSpec, ruleId: string): ActraInputError {
  return new ActraInputError(`input field ${name} has the wrong type: rule "${ruleId}" expects ${expectedName(spec)}`, { field: name, ruleId });
}

/** Reads a field from its domain object: the value, `undefined` for an absent optional field, or throws. */
export type Reader = (obj: Fields) => unknown;

/** `Object.prototype`, to tell an inherited (possibly polluted) value from an own one cheaply. */
const OBJECT_PROTO = Object.prototype as unknown as Record<string, unknown>;

/** True for names that every plain object inherits (`constructor`, `__proto__`, `toString`...). */
export function inheritedName(field: string): boolean {
  return field === '__proto__' || field in OBJECT_PROTO;
}

/**
 * The complete reader of one field for one rule: own property only, type-checked, throwing for a
 * missing required field. The fast readers (and generated code) fall back to it.
 */
export function makeCheckedReader(ref: FieldRef, ruleId: string): Reader {
  const { field, spec } = ref;
  const name = fieldName(ref);
  const check = typeChecker(spec);
  const optional = spec.optional;
  return function readSlowly(obj: Fields): unknown {
    if (!hasOwn(obj, field)) {
      if (optional) return undefined;
      throw missingField(name, ruleId);
    }
    const value = obj[field];
    if (check(value)) return value;
    if (value === undefined || value === null) {
      if (optional) return undefined;
      throw missingField(name, ruleId);
    }
    throw wrongType(name, spec, ruleId);
  };
}

/**
 * Builds the fast reader of one field for one rule, for domain objects whose prototype is
 * `Object.prototype` or `null` (the evaluator checks that first; any other object is read with
 * `makeCheckedReader`). On such an object a property found by a plain read is own or
 * `Object.prototype`'s: a value equal to `Object.prototype`'s (a polluted prototype) is confirmed with
 * `Object.hasOwn`, and names every object inherits (`constructor`, `toString`...) always go through it.
 */
export function makeReader(ref: FieldRef, ruleId: string): Reader {
  const { field, spec } = ref;
  const readSlowly = makeCheckedReader(ref, ruleId);
  if (inheritedName(field)) return readSlowly;
  if (spec.kind === 'number') {
    return function readNumberField(obj) {
      const value = obj[field];
      if (typeof value === 'number' && value - value === 0 && value !== OBJECT_PROTO[field]) return value;
      return readSlowly(obj);
    };
  }
  if (spec.kind === 'string') {
    return function readStringField(obj) {
      const value = obj[field];
      if (typeof value === 'string' && value !== OBJECT_PROTO[field]) return value;
      return readSlowly(obj);
    };
  }
  if (spec.kind === 'boolean') {
    return function readBooleanField(obj) {
      const value = obj[field];
      if (typeof value === 'boolean' && value !== OBJECT_PROTO[field]) return value;
      return readSlowly(obj);
    };
  }
  return readSlowly;
}

/** Compares two present values. */
type Compare = (left: unknown, right: unknown) => boolean;

const COMPARE: Record<string, Compare> = {
  equals: (l, r) => l === r,
  not_equals: (l, r) => l !== r,
  greater_than: (l, r) => (l as number) > (r as number),
  less_than: (l, r) => (l as number) < (r as number),
  greater_than_or_equal: (l, r) => (l as number) >= (r as number),
  less_than_or_equal: (l, r) => (l as number) <= (r as number),
  contains: (l, r) => (l as readonly unknown[]).includes(r),
  starts_with: (l, r) => (l as string).startsWith(r as string),
  ends_with: (l, r) => (l as string).endsWith(r as string),
};

/** The comparison an atom performs on present values (`in` / `not_in` get a Set). */
export function comparator(atom: AtomNode): Compare {
  if (atom.operator === 'in' || atom.operator === 'not_in') {
    const set = new Set<unknown>(atom.right?.kind === 'literal' ? (atom.right.value as readonly unknown[]) : []);
    return atom.operator === 'in' ? (l) => set.has(l) : (l) => !set.has(l);
  }
  const compare = COMPARE[atom.operator];
  if (compare === undefined) throw new Error(`no comparator for ${atom.operator}`);
  return compare;
}

function domainIndex(ref: FieldRef): 0 | 1 | 2 {
  return ref.domain === 'action' ? 0 : ref.domain === 'actor' ? 1 : 2;
}

/** Makes the reader of one field for one rule: `makeReader` (plain objects) or `makeCheckedReader` (any object). */
type ReaderFactory = (ref: FieldRef, ruleId: string) => Reader;

function compileAtom(atom: AtomNode, ruleId: string, makeRead: ReaderFactory): Test {
  const readLeft = makeRead(atom.left, ruleId);
  const dl = domainIndex(atom.left);
  if (atom.operator === 'exists') {
    return function existsTest(a, c, s) {
      return readLeft(dl === 0 ? a : dl === 1 ? c : s) !== undefined;
    };
  }
  const right = atom.right;
  if (right === undefined) throw new Error(`condition ${atom.text} has no value`);
  if (right.kind === 'field') {
    const readRight = makeRead(right.ref, ruleId);
    const dr = domainIndex(right.ref);
    const compare = comparator(atom);
    return function fieldCompareTest(a, c, s) {
      const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
      const r = readRight(dr === 0 ? a : dr === 1 ? c : s);
      return l !== undefined && r !== undefined && compare(l, r);
    };
  }
  const lit = right.value;
  switch (atom.operator) {
    case 'equals':
      return function equalsTest(a, c, s) {
        const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
        return l !== undefined && l === lit;
      };
    case 'not_equals':
      return function notEqualsTest(a, c, s) {
        const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
        return l !== undefined && l !== lit;
      };
    case 'greater_than':
      return function greaterThanTest(a, c, s) {
        const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
        return l !== undefined && (l as number) > (lit as number);
      };
    case 'less_than':
      return function lessThanTest(a, c, s) {
        const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
        return l !== undefined && (l as number) < (lit as number);
      };
    default: {
      const compare = comparator(atom);
      return function literalCompareTest(a, c, s) {
        const l = readLeft(dl === 0 ? a : dl === 1 ? c : s);
        return l !== undefined && compare(l, lit);
      };
    }
  }
}

/**
 * Compiles a condition tree to one closure: short-circuit, left to right. With `checked`, every read
 * confirms that the property is own (`Object.hasOwn`) and the closure reads any object; without it,
 * it reads only objects whose prototype is `Object.prototype` or `null` (see `makeReader`).
 */
export function compileCondition(node: CondNode, ruleId: string, checked = false): Test {
  return compileTree(node, ruleId, checked ? makeCheckedReader : makeReader);
}

function compileTree(node: CondNode, ruleId: string, makeRead: ReaderFactory): Test {
  switch (node.kind) {
    case 'atom':
      return compileAtom(node, ruleId, makeRead);
    case 'not': {
      const child = compileTree(node.child, ruleId, makeRead);
      return function notTest(a, c, s) {
        return !child(a, c, s);
      };
    }
    case 'all':
    case 'any': {
      const children = node.children.map((child) => compileTree(child, ruleId, makeRead));
      const [first, second] = children;
      if (children.length === 1 && first !== undefined) return first;
      if (children.length === 2 && first !== undefined && second !== undefined) {
        return node.kind === 'all'
          ? function allOfTwo(a, c, s) {
              return first(a, c, s) && second(a, c, s);
            }
          : function anyOfTwo(a, c, s) {
              return first(a, c, s) || second(a, c, s);
            };
      }
      const n = children.length;
      return node.kind === 'all'
        ? function allTest(a, c, s) {
            for (let i = 0; i < n; i++) if (!(children[i] as Test)(a, c, s)) return false;
            return true;
          }
        : function anyTest(a, c, s) {
            for (let i = 0; i < n; i++) if ((children[i] as Test)(a, c, s)) return true;
            return false;
          };
    }
  }
}

/** Every field a condition can read (both sides of every atom), as `[domain, field]`. */
export function fieldsRead(node: CondNode, into: Set<string>): void {
  const stack: CondNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop() as CondNode;
    if (current.kind === 'atom') {
      into.add(fieldName(current.left));
      if (current.right?.kind === 'field') into.add(fieldName(current.right.ref));
    } else if (current.kind === 'not') stack.push(current.child);
    else stack.push(...current.children);
  }
}
