/**
 * A slow, obviously correct reference interpreter of the policy language, working directly on the
 * parsed YAML (plain objects). The compiled evaluator must agree with it (see differential.test.ts).
 * It assumes the policy compiled; it does not re-check the documents. It reads only own properties
 * of the input (Object.hasOwn, whatever the prototype), each field once per comparison; a read that
 * throws (a getter, a Proxy trap) is an input error naming no field.
 */

type Obj = Record<string, unknown>;

/** The outcome: a decision, or an input error naming the field. */
export type ReferenceOutcome = { effect: string; rule: string | undefined } | { error: 'ACTRA_INPUT'; field: string | undefined };

interface Spec {
  kind: string;
  optional: boolean;
  values: string[];
}

class InputProblem {
  constructor(readonly field: string | undefined) {}
}

const ABSENT = Symbol('absent');

/** Reads a property; one that throws (a getter, a Proxy trap) is an input problem without a field. */
function get(obj: object, key: string): unknown {
  try {
    return (obj as Obj)[key];
  } catch {
    throw new InputProblem(undefined);
  }
}

/** An own property, or undefined (inherited ones never count). */
function own(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  let isOwn: boolean;
  try {
    isOwn = Object.hasOwn(obj, key);
  } catch {
    throw new InputProblem(undefined);
  }
  return isOwn ? get(obj, key) : undefined;
}

function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return !Array.isArray(value);
  } catch {
    throw new InputProblem(undefined);
  }
}

function specOf(type: unknown): Spec {
  if (typeof type === 'string') {
    const optional = type.endsWith('?');
    return { kind: optional ? type.slice(0, -1) : type, optional, values: [] };
  }
  const t = type as { enum: string[]; optional?: boolean };
  return { kind: 'enum', optional: t.optional === true, values: t.enum };
}

function fieldsOf(section: unknown): Obj {
  const fields = own(section, 'fields');
  return isPlainObject(fields) ? fields : {};
}

function lookupSpec(schema: Obj, domain: string, field: string, scopeAction: string | undefined): Spec {
  if (domain === 'action') {
    const actions = own(schema, 'actions') as Obj;
    const declared = fieldsOf(own(actions, scopeAction ?? ''));
    if (scopeAction !== undefined && Object.hasOwn(declared, field)) return specOf(declared[field]);
    if (field === 'type') return { kind: 'string', optional: false, values: [] };
  } else {
    const declared = fieldsOf(own(schema, domain));
    if (Object.hasOwn(declared, field)) return specOf(declared[field]);
    if (domain === 'actor' && field === 'type') return { kind: 'string', optional: true, values: [] };
  }
  throw new Error(`reference: unknown field ${domain}.${field}`);
}

function hasType(value: unknown, spec: Spec): boolean {
  const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return finite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value);
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'number[]':
      return Array.isArray(value) && value.every(finite);
    default:
      return false;
  }
}

function readField(input: Obj, domain: string, field: string, spec: Spec): unknown {
  const value = own(input[domain], field);
  if (value === undefined || value === null) {
    if (spec.optional) return ABSENT;
    throw new InputProblem(`${domain}.${field}`);
  }
  if (!hasType(value, spec)) throw new InputProblem(`${domain}.${field}`);
  return value;
}

function holds(cond: Obj, schema: Obj, input: Obj, scopeAction: string | undefined): boolean {
  if ('all' in cond) return (cond.all as Obj[]).every((c) => holds(c, schema, input, scopeAction));
  if ('any' in cond) return (cond.any as Obj[]).some((c) => holds(c, schema, input, scopeAction));
  if ('not' in cond) return !holds(cond.not as Obj, schema, input, scopeAction);
  const subject = cond.subject as { domain: string; field: string };
  const left = readField(input, subject.domain, subject.field, lookupSpec(schema, subject.domain, subject.field, scopeAction));
  const operator = cond.operator as string;
  if (operator === 'exists') return left !== ABSENT;
  const value = cond.value as Obj;
  let right: unknown;
  if ('literal' in value) right = value.literal;
  else {
    const s = value.subject as { domain: string; field: string };
    right = readField(input, s.domain, s.field, lookupSpec(schema, s.domain, s.field, scopeAction));
  }
  if (left === ABSENT || right === ABSENT) return false;
  switch (operator) {
    case 'equals':
      return left === right;
    case 'not_equals':
      return left !== right;
    case 'greater_than':
      return (left as number) > (right as number);
    case 'less_than':
      return (left as number) < (right as number);
    case 'greater_than_or_equal':
      return (left as number) >= (right as number);
    case 'less_than_or_equal':
      return (left as number) <= (right as number);
    case 'in':
      return (right as unknown[]).some((item) => item === left);
    case 'not_in':
      return !(right as unknown[]).some((item) => item === left);
    case 'contains':
      return (left as unknown[]).some((item) => item === right);
    case 'starts_with':
      return (left as string).startsWith(right as string);
    case 'ends_with':
      return (left as string).endsWith(right as string);
    default:
      throw new Error(`reference: unknown operator ${operator}`);
  }
}

/** Evaluates `input` against the parsed schema and policy documents. */
export function referenceEvaluate(schema: Obj, policy: Obj, input: unknown): ReferenceOutcome {
  try {
    if (!isPlainObject(input)) throw new InputProblem(undefined);
    for (const domain of ['action', 'actor', 'snapshot']) if (!isPlainObject(own(input, domain))) throw new InputProblem(domain);
    const domains: Obj = { action: own(input, 'action'), actor: own(input, 'actor'), snapshot: own(input, 'snapshot') };
    const actionType = own(domains.action, 'type');
    if (typeof actionType !== 'string') throw new InputProblem('action.type');
    const rules = (policy.rules as Obj[]) ?? [];
    const tryRules = (list: Obj[]): Obj | undefined =>
      list.find((rule) => holds(rule.when as Obj, schema, domains, own(rule.scope, 'action') as string | undefined));
    // 1. rules scoped to the action, in file order
    let hit = tryRules(rules.filter((r) => own(r.scope, 'action') === actionType));
    // 2. rules scoped to the actor's type (actor.type is only looked at when such rules exist)
    if (hit === undefined && rules.some((r) => own(r.scope, 'actor') !== undefined)) {
      const actorType = own(domains.actor, 'type');
      if (actorType !== undefined && actorType !== null) {
        if (typeof actorType !== 'string') throw new InputProblem('actor.type');
        hit = tryRules(rules.filter((r) => own(r.scope, 'actor') === actorType));
      }
    }
    // 3. global rules
    if (hit === undefined) hit = tryRules(rules.filter((r) => own(r.scope, 'global') === true));
    if (hit !== undefined) return { effect: hit.effect as string, rule: hit.id as string };
    return { effect: (policy.default_effect as string | undefined) ?? 'allow', rule: undefined };
  } catch (problem) {
    if (problem instanceof InputProblem) return { error: 'ACTRA_INPUT', field: problem.field };
    throw problem;
  }
}
