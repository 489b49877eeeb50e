/** Reads and type-checks `policy.yaml`: scopes, conditions, operators, metadata and approvals. */
import type { Node } from 'yaml';
import type { Domain, Effect, FieldSpec, Risk, RuleScope, SchemaInfo } from './types.js';
import type { Path, YamlFile } from './parse.js';
import { OPERATORS, fieldName } from './ast.js';
import type { ApprovalDef, AtomNode, CondNode, FieldRef, LiteralValue, Operand, Operator, PolicyDef, RuleDef } from './ast.js';
import { ACTION_TYPE_SPEC, ACTOR_TYPE_SPEC } from './schema.js';
import { didYouMean } from './suggest.js';

const RULE_KEYS = ['id', 'scope', 'when', 'effect', 'reason', 'message', 'risk', 'description', 'approval'] as const;
const EFFECTS: readonly Effect[] = ['allow', 'block', 'require_approval'];
const RISKS: readonly Risk[] = ['low', 'medium', 'high', 'critical'];
const DOMAINS: readonly Domain[] = ['action', 'actor', 'snapshot'];
const CONDITION_KEYS = ['subject', 'operator', 'value', 'all', 'any', 'not'] as const;
const REASON_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/** Default time to live of an approval, in seconds. */
export const DEFAULT_APPROVAL_TTL_SECONDS = 3600;
const DURATION_PATTERN = /^([0-9]+)(s|m|h|d)$/;
const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** What a condition may read where it appears. */
interface Context {
  readonly file: YamlFile;
  /** Undefined when schema.yaml could not be read: fields, actions and types go unchecked. */
  readonly schema: SchemaInfo | undefined;
  readonly ruleId: string | undefined;
  /** The action a rule is scoped to (its fields are readable). */
  readonly action: string | undefined;
  /** True inside `approval.approvers` (actor fields only). */
  readonly approvers: boolean;
}

function resolveSubject(ctx: Context, node: Node | null, path: Path): { subject: { domain: string; field: string }; ref?: FieldRef } | undefined {
  const { file, ruleId } = ctx;
  const entries = file.map(node, path, 'subject', ['domain', 'field'], ruleId);
  if (entries === undefined) return undefined;
  const domainEntry = file.require(entries, 'domain', node, path, 'subject', ruleId);
  const fieldEntry = file.require(entries, 'field', node, path, 'subject', ruleId);
  if (domainEntry === undefined || fieldEntry === undefined) return undefined;
  const domain = file.string(domainEntry.value, [...path, 'domain'], 'domain', ruleId);
  const field = file.string(fieldEntry.value, [...path, 'field'], 'field', ruleId);
  if (domain === undefined || field === undefined) return undefined;
  const subject = { domain, field };
  const at = file.resolve(fieldEntry.value);
  if (!DOMAINS.includes(domain as Domain)) {
    file.issue('UNKNOWN_DOMAIN', `unknown domain "${domain}"${didYouMean(domain, DOMAINS)}; expected action, actor or snapshot`, file.resolve(domainEntry.value), [...path, 'domain'], ruleId);
    return { subject };
  }
  if (ctx.approvers && domain !== 'actor') {
    file.issue('INVALID_APPROVAL', `approval.approvers can only read actor fields (the approver), not ${domain}.${field}`, file.resolve(domainEntry.value), [...path, 'domain'], ruleId);
    return { subject };
  }
  const schema = ctx.schema;
  if (schema === undefined) return { subject };
  let spec: FieldSpec | undefined;
  if (domain === 'action') {
    const declared = ctx.action === undefined ? undefined : schema.actions.get(ctx.action);
    spec = declared?.get(field) ?? (field === 'type' ? ACTION_TYPE_SPEC : undefined);
    if (spec === undefined) {
      if (ctx.action === undefined) {
        file.issue('ACTION_FIELD_OUT_OF_SCOPE', `action.${field} can only be read by a rule scoped to an action (scope: { action: ... })`, at, [...path, 'field'], ruleId);
      } else {
        const names = declared === undefined ? [] : [...declared.keys()];
        file.issue('UNKNOWN_FIELD', `action "${ctx.action}" has no field "${field}"${didYouMean(field, names)}`, at, [...path, 'field'], ruleId);
      }
      return { subject };
    }
  } else {
    const fields = domain === 'actor' ? schema.actor : schema.snapshot;
    spec = fields.get(field) ?? (domain === 'actor' && field === 'type' ? ACTOR_TYPE_SPEC : undefined);
    if (spec === undefined) {
      file.issue('UNKNOWN_FIELD', `${domain} has no field "${field}"${didYouMean(field, fields.keys())}`, at, [...path, 'field'], ruleId);
      return { subject };
    }
  }
  return { subject, ref: Object.freeze({ domain: domain as Domain, field, spec }) };
}

function literalText(value: LiteralValue): string {
  return JSON.stringify(value);
}

function kindName(spec: FieldSpec): string {
  return spec.kind === 'enum' ? `enum [${(spec.values ?? []).join(', ')}]` : spec.kind;
}

/** Reads `value: { literal } | { subject }` without type checks. */
function readValue(ctx: Context, node: Node | null, path: Path): Operand | undefined | null {
  const { file, ruleId } = ctx;
  const entries = file.map(node, path, 'value', ['literal', 'subject'], ruleId);
  if (entries === undefined) return undefined;
  const literal = entries.get('literal');
  const subject = entries.get('subject');
  if ((literal === undefined) === (subject === undefined)) {
    file.issue('INVALID_VALUE', 'value must have exactly one of "literal" or "subject"', file.resolve(node), path, ruleId);
    return undefined;
  }
  if (subject !== undefined) {
    const resolved = resolveSubject(ctx, subject.value, [...path, 'subject']);
    if (resolved?.ref === undefined) return null;
    return { kind: 'field', ref: resolved.ref };
  }
  const entry = literal as { key: Node; value: Node | null };
  const at = file.resolve(entry.value) ?? entry.key;
  if (file.isSeq(entry.value)) {
    const items = file.seq(entry.value, [...path, 'literal'], 'literal list', ruleId) ?? [];
    const values: (string | number)[] = [];
    let ok = true;
    items.forEach((item, index) => {
      const value = file.scalar(item);
      if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) values.push(value);
      else {
        file.issue('INVALID_VALUE', 'list literal items must be strings or finite numbers', file.resolve(item) ?? at, [...path, 'literal', index], ruleId);
        ok = false;
      }
    });
    if (!ok) return null;
    const kinds = new Set(values.map((v) => typeof v));
    if (kinds.size > 1) {
      file.issue('TYPE_MISMATCH', 'list literal mixes strings and numbers', at, [...path, 'literal'], ruleId);
      return null;
    }
    return { kind: 'literal', value: Object.freeze(values) as readonly string[] | readonly number[] };
  }
  const value = file.scalar(entry.value);
  if (typeof value === 'string' || typeof value === 'boolean') return { kind: 'literal', value };
  if (typeof value === 'number' && Number.isFinite(value)) return { kind: 'literal', value: Object.is(value, -0) ? 0 : value };
  if (typeof value === 'number') {
    // Refused on purpose: NaN never equals anything (so equals is always false, not_equals always true),
    // and a number too large for a double (1e309) would silently become Infinity.
    file.issue('INVALID_VALUE', 'literal must be a finite number: .inf, -.inf, .nan and numbers too large for a double (such as 1e309) are refused', at, [...path, 'literal'], ruleId);
    return null;
  }
  file.issue('INVALID_VALUE', 'literal must be a string, a finite number, a boolean, or a list (for in / not_in)', at, [...path, 'literal'], ruleId);
  return null;
}

/** Which operators each left-hand type supports. */
const OPERATORS_FOR: Record<string, readonly Operator[]> = {
  string: ['equals', 'not_equals', 'in', 'not_in', 'starts_with', 'ends_with'],
  enum: ['equals', 'not_equals', 'in', 'not_in'],
  number: ['equals', 'not_equals', 'greater_than', 'less_than', 'greater_than_or_equal', 'less_than_or_equal', 'in', 'not_in'],
  boolean: ['equals', 'not_equals'],
  'string[]': ['contains'],
  'number[]': ['contains'],
};

/** The scalar kind a right-hand side must have, given the left kind and operator. */
function scalarOf(kind: string, operator: Operator): 'string' | 'number' | 'boolean' {
  if (operator === 'contains') return kind === 'number[]' ? 'number' : 'string';
  if (kind === 'enum') return 'string';
  return kind as 'string' | 'number' | 'boolean';
}

/** Type-checks one comparison. Reports and returns false on a problem. */
function checkTypes(ctx: Context, left: FieldRef, operator: Operator, right: Operand | undefined, valueNode: Node | null, opNode: Node | null, path: Path): boolean {
  const { file, ruleId } = ctx;
  const name = fieldName(left);
  const kind = left.spec.kind;
  const valueAt = file.resolve(valueNode);
  if (operator === 'exists') {
    if (!left.spec.optional) {
      file.issue('OPERATOR_NOT_FOR_TYPE', `exists only applies to optional fields (type ending in ?); ${name} is required`, file.resolve(opNode), [...path, 'operator'], ruleId);
      return false;
    }
    return true;
  }
  if (!(OPERATORS_FOR[kind] ?? []).includes(operator)) {
    file.issue('OPERATOR_NOT_FOR_TYPE', `operator ${operator} does not apply to ${name} of type ${kindName(left.spec)}; allowed: ${(OPERATORS_FOR[kind] ?? []).join(', ')}${left.spec.optional ? ', exists' : ''}`, file.resolve(opNode), [...path, 'operator'], ruleId);
    return false;
  }
  if (right === undefined) return false;
  const wanted = scalarOf(kind, operator);
  const list = operator === 'in' || operator === 'not_in';
  if (right.kind === 'field') {
    if (list) {
      file.issue('INVALID_VALUE', `${operator} needs a list literal (value: { literal: [...] })`, valueAt, [...path, 'value'], ruleId);
      return false;
    }
    const rk = right.ref.spec.kind;
    const rightScalar = rk === 'enum' ? 'string' : rk;
    if (rightScalar !== wanted) {
      file.issue('TYPE_MISMATCH', `${name} (${kindName(left.spec)}) cannot be compared with ${fieldName(right.ref)} (${kindName(right.ref.spec)}) by ${operator}`, valueAt, [...path, 'value'], ruleId);
      return false;
    }
    return true;
  }
  const value = right.value;
  const literalAt = file.resolve(file.peek(valueNode, 'literal') ?? null) ?? valueAt;
  if (list !== Array.isArray(value)) {
    const message = list ? `${operator} needs a list literal (value: { literal: [...] })` : `a list literal is only valid with in / not_in`;
    file.issue(list ? 'INVALID_VALUE' : 'TYPE_MISMATCH', message, literalAt, [...path, 'value', 'literal'], ruleId);
    return false;
  }
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (typeof item !== wanted) {
      file.issue('TYPE_MISMATCH', `${name} (${kindName(left.spec)}) ${operator} needs a ${wanted} literal, got a ${typeof item}`, literalAt, [...path, 'value', 'literal'], ruleId);
      return false;
    }
  }
  if (kind === 'enum') {
    const members = left.spec.values ?? [];
    for (const item of items) {
      if (!members.includes(item as string)) {
        file.issue('INVALID_VALUE', `"${String(item)}" is not a value of enum ${name} [${members.join(', ')}]${didYouMean(String(item), members)}`, literalAt, [...path, 'value', 'literal'], ruleId);
        return false;
      }
    }
  }
  return true;
}

function readAtom(ctx: Context, entries: Map<string, { key: Node; value: Node | null }>, node: Node | null, path: Path): AtomNode | undefined {
  const { file, ruleId } = ctx;
  const subjectEntry = file.require(entries, 'subject', node, path, 'condition', ruleId);
  const operatorEntry = file.require(entries, 'operator', node, path, 'condition', ruleId);
  const resolved = subjectEntry === undefined ? undefined : resolveSubject(ctx, subjectEntry.value, [...path, 'subject']);
  let operator: Operator | undefined;
  if (operatorEntry !== undefined) {
    const raw = file.string(operatorEntry.value, [...path, 'operator'], 'operator', ruleId);
    if (raw !== undefined) {
      if ((OPERATORS as readonly string[]).includes(raw)) operator = raw as Operator;
      else file.issue('UNKNOWN_OPERATOR', `unknown operator "${raw}"${didYouMean(raw, OPERATORS)}`, file.resolve(operatorEntry.value), [...path, 'operator'], ruleId);
    }
  }
  const valueEntry = entries.get('value');
  let right: Operand | undefined;
  let valueOk = true;
  if (operator === 'exists') {
    if (valueEntry !== undefined) {
      file.issue('INVALID_VALUE', 'exists takes no value', valueEntry.key, [...path, 'value'], ruleId);
      valueOk = false;
    }
  } else if (valueEntry === undefined) {
    if (operator !== undefined) file.issue('MISSING_KEY', `condition is missing required key "value" (operator ${operator})`, file.resolve(node), path, ruleId);
    valueOk = false;
  } else {
    const read = readValue(ctx, valueEntry.value, [...path, 'value']);
    if (read === undefined || read === null) valueOk = false;
    else right = read;
  }
  if (resolved === undefined || resolved.ref === undefined || operator === undefined || !valueOk) return undefined;
  const left = resolved.ref;
  if (!checkTypes(ctx, left, operator, right, valueEntry?.value ?? null, operatorEntry?.value ?? null, path)) return undefined;
  const rightText = right === undefined ? '' : right.kind === 'field' ? ` ${fieldName(right.ref)}` : ` ${literalText(right.value)}`;
  const text = `${fieldName(left)} ${operator}${rightText}`;
  // Built directly rather than spread: a large policy has one atom per rule, and spreads are slow.
  const atom: AtomNode = right === undefined ? { kind: 'atom', subject: resolved.subject, left, operator, text } : { kind: 'atom', subject: resolved.subject, left, operator, text, right: Object.freeze(right) };
  return Object.freeze(atom);
}

/**
 * Reads a condition tree. Returns undefined when it has problems (already reported).
 * `subjects` collects the raw subjects of every atom even when typing fails (for governance).
 */
function readCondition(ctx: Context, node: Node | null, path: Path, subjects: { domain: string; field: string }[]): CondNode | undefined {
  const { file, ruleId } = ctx;
  const entries = file.map(node, path, 'condition', CONDITION_KEYS, ruleId);
  if (entries === undefined) return undefined;
  const hasAtom = entries.has('subject') || entries.has('operator') || entries.has('value');
  const logic = (['all', 'any', 'not'] as const).filter((key) => entries.has(key));
  if ((hasAtom && logic.length > 0) || logic.length > 1) {
    const found = [...entries.keys()].join(', ');
    file.issue('AMBIGUOUS_CONDITION', `a condition is either one comparison (subject, operator, value) or one of all / any / not; found ${found}`, file.resolve(node), path, ruleId);
    return undefined;
  }
  if (!hasAtom && logic.length === 0) {
    file.issue('EMPTY_CONDITION', 'condition is empty: expected subject/operator/value, all, any or not', file.resolve(node), path, ruleId);
    return undefined;
  }
  if (hasAtom) {
    const subjectNode = entries.get('subject')?.value ?? null;
    const domain = file.scalar(file.peek(subjectNode, 'domain') ?? null);
    const field = file.scalar(file.peek(subjectNode, 'field') ?? null);
    if (typeof domain === 'string' && typeof field === 'string') subjects.push({ domain, field });
    return readAtom(ctx, entries, node, path);
  }
  const key = logic[0] as 'all' | 'any' | 'not';
  const entry = entries.get(key) as { key: Node; value: Node | null };
  if (key === 'not') {
    const child = readCondition(ctx, entry.value, [...path, 'not'], subjects);
    return child === undefined ? undefined : Object.freeze({ kind: 'not', child, text: `not (${child.text})` });
  }
  const items = file.seq(entry.value, [...path, key], key, ruleId);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    file.issue('EMPTY_CONDITION', `${key} must list at least one condition`, file.resolve(entry.value) ?? entry.key, [...path, key], ruleId);
    return undefined;
  }
  const children: CondNode[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const child = readCondition(ctx, item, [...path, key, index], subjects);
    if (child === undefined) ok = false;
    else children.push(child);
  });
  if (!ok) return undefined;
  return Object.freeze({ kind: key, children: Object.freeze(children), text: `${key}(${children.map((c) => c.text).join(', ')})` });
}

function readScope(file: YamlFile, schema: SchemaInfo | undefined, node: Node | null, path: Path, ruleId: string | undefined): RuleScope | undefined {
  const entries = file.map(node, path, 'scope', ['action', 'global', 'actor'], ruleId);
  if (entries === undefined) return undefined;
  if (entries.size !== 1) {
    file.issue('INVALID_SCOPE', 'scope must have exactly one of action, actor or global: true', file.resolve(node), path, ruleId);
    return undefined;
  }
  const [key, entry] = entries.entries().next().value as [string, { key: Node; value: Node | null }];
  if (key === 'global') {
    const value = file.boolean(entry.value, [...path, 'global'], 'scope.global', ruleId);
    if (value === false) file.issue('INVALID_SCOPE', 'scope.global must be true (use action or actor to narrow a rule)', file.resolve(entry.value), [...path, 'global'], ruleId);
    return value === true ? Object.freeze({ global: true }) : undefined;
  }
  const name = file.string(entry.value, [...path, key], `scope.${key}`, ruleId);
  if (name === undefined) return undefined;
  if (key === 'action') {
    if (schema !== undefined && !schema.actions.has(name)) {
      file.issue('UNKNOWN_ACTION', `unknown action "${name}"${didYouMean(name, schema.actions.keys())}; declare it under actions in schema.yaml`, file.resolve(entry.value), [...path, 'action'], ruleId);
      return undefined;
    }
    return Object.freeze({ action: name });
  }
  return Object.freeze({ actor: name });
}

function readEnum<T extends string>(file: YamlFile, node: Node | null, path: Path, what: string, values: readonly T[], ruleId: string | undefined): T | undefined {
  const raw = file.string(node, path, what, ruleId);
  if (raw === undefined) return undefined;
  if (!values.includes(raw as T)) {
    file.issue('INVALID_VALUE', `${what} must be one of ${values.join(', ')}, not "${raw}"${didYouMean(raw, values)}`, file.resolve(node), path, ruleId);
    return undefined;
  }
  return raw as T;
}

/** Parses an approval time to live: seconds (a positive integer) or `30s`, `15m`, `1h`, `2d`. */
export function parseTtl(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value);
  if (match === null) return undefined;
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

function readApproval(ctx: Context, node: Node | null, path: Path): ApprovalDef | undefined {
  const { file, ruleId } = ctx;
  const entries = file.map(node, path, 'approval', ['ttl', 'approvers'], ruleId);
  if (entries === undefined) return undefined;
  let ttlSeconds = DEFAULT_APPROVAL_TTL_SECONDS;
  let ok = true;
  const ttl = entries.get('ttl');
  if (ttl !== undefined) {
    const parsed = parseTtl(file.scalar(ttl.value));
    if (parsed === undefined) {
      file.issue('INVALID_APPROVAL', 'approval.ttl must be a positive number of seconds or a duration such as 30s, 15m, 1h, 2d', file.resolve(ttl.value) ?? ttl.key, [...path, 'ttl'], ruleId);
      ok = false;
    } else ttlSeconds = parsed;
  }
  let approvers: CondNode | undefined;
  const approversEntry = entries.get('approvers');
  if (approversEntry !== undefined) {
    approvers = readCondition({ ...ctx, action: undefined, approvers: true }, approversEntry.value, [...path, 'approvers'], []);
    if (approvers === undefined) ok = false;
  }
  if (!ok) return undefined;
  return Object.freeze(approvers === undefined ? { ttlSeconds } : { ttlSeconds, approvers });
}

/** A rule as far as it could be read; `def` only when fully valid. `subjects` feed governance. */
export interface ReadRule {
  readonly id?: string;
  readonly scope?: RuleScope;
  readonly effect?: Effect;
  readonly subjects: readonly { domain: string; field: string }[];
  readonly def?: RuleDef;
}

/** The result of reading policy.yaml. */
export interface ReadPolicy {
  readonly policy?: PolicyDef;
  readonly rules: readonly ReadRule[];
}

function readRule(file: YamlFile, schema: SchemaInfo | undefined, node: Node | null, path: Path): ReadRule {
  const peekedId = file.scalarText(file.peek(node, 'id') ?? null);
  const entries = file.map(node, path, 'rule', RULE_KEYS, peekedId === undefined || peekedId.length === 0 ? undefined : peekedId);
  if (entries === undefined) return { subjects: [] };
  const idEntry = file.require(entries, 'id', node, path, 'rule');
  const id = idEntry === undefined ? undefined : file.text(idEntry.value, [...path, 'id'], 'rule id');
  const scopeEntry = file.require(entries, 'scope', node, path, 'rule', id);
  const whenEntry = file.require(entries, 'when', node, path, 'rule', id);
  const effectEntry = file.require(entries, 'effect', node, path, 'rule', id);
  const scope = scopeEntry === undefined ? undefined : readScope(file, schema, scopeEntry.value, [...path, 'scope'], id);
  const effect = effectEntry === undefined ? undefined : readEnum(file, effectEntry.value, [...path, 'effect'], 'effect', EFFECTS, id);
  const subjects: { domain: string; field: string }[] = [];
  let when: CondNode | undefined;
  if (whenEntry !== undefined) {
    const ctx: Context = { file, schema, ruleId: id, action: scope !== undefined && 'action' in scope ? scope.action : undefined, approvers: false };
    if (scope === undefined && scopeEntry !== undefined) {
      // The scope is broken: still check the condition, allowing action fields only if the raw scope names an action.
      const rawAction = file.scalar(file.peek(scopeEntry.value, 'action') ?? null);
      const loose: Context = { ...ctx, action: typeof rawAction === 'string' && (schema === undefined || schema.actions.has(rawAction)) ? rawAction : undefined };
      when = readCondition(loose, whenEntry.value, [...path, 'when'], subjects);
    } else {
      when = readCondition(ctx, whenEntry.value, [...path, 'when'], subjects);
    }
  }
  const meta: { reason?: string; message?: string; risk?: Risk; description?: string } = {};
  let ok = true;
  const reasonEntry = entries.get('reason');
  if (reasonEntry !== undefined) {
    const reason = file.string(reasonEntry.value, [...path, 'reason'], 'reason', id);
    if (reason !== undefined && !REASON_PATTERN.test(reason)) {
      file.issue('INVALID_VALUE', 'reason must be a machine-readable code: letters, digits and _ . : - (e.g. refund.too_large)', file.resolve(reasonEntry.value), [...path, 'reason'], id);
      ok = false;
    } else if (reason === undefined) ok = false;
    else meta.reason = reason;
  }
  for (const key of ['message', 'description'] as const) {
    const entry = entries.get(key);
    if (entry === undefined) continue;
    const text = file.string(entry.value, [...path, key], key, id);
    if (text === undefined) ok = false;
    else meta[key] = text;
  }
  const riskEntry = entries.get('risk');
  if (riskEntry !== undefined) {
    const risk = readEnum(file, riskEntry.value, [...path, 'risk'], 'risk', RISKS, id);
    if (risk === undefined) ok = false;
    else meta.risk = risk;
  }
  let approval: ApprovalDef | undefined;
  const approvalEntry = entries.get('approval');
  if (approvalEntry !== undefined) {
    if (effect !== undefined && effect !== 'require_approval') {
      file.issue('INVALID_APPROVAL', `approval is only allowed on require_approval rules (this rule's effect is ${effect})`, approvalEntry.key, [...path, 'approval'], id);
      ok = false;
    } else {
      approval = readApproval({ file, schema, ruleId: id, action: undefined, approvers: true }, approvalEntry.value, [...path, 'approval']);
      if (approval === undefined) ok = false;
    }
  }
  // Objects are filled in place (same keys, same order) rather than spread: this runs once per rule.
  const base: { -readonly [K in keyof ReadRule]: ReadRule[K] } = {} as ReadRule;
  if (id !== undefined) base.id = id;
  if (scope !== undefined) base.scope = scope;
  if (effect !== undefined) base.effect = effect;
  base.subjects = subjects;
  if (!ok || id === undefined || scope === undefined || effect === undefined || when === undefined) return base;
  const pos = file.position(file.resolve(node));
  const def: { -readonly [K in keyof RuleDef]: RuleDef[K] } = Object.assign({ id, scope, effect, when }, meta) as RuleDef;
  if (approval !== undefined) def.approval = approval;
  def.location = Object.freeze({ file: file.file, line: pos.line, column: pos.column });
  base.def = Object.freeze(def);
  return base;
}

/**
 * Reads policy.yaml against a schema. Issues go to the file's sink; `policy` is set only when every
 * rule is valid. Without a schema (schema.yaml could not be read) only the structure is checked —
 * keys, required keys, ids, scopes, operators, values, metadata — and no policy is returned.
 */
export function readPolicy(file: YamlFile, schema: SchemaInfo | undefined): ReadPolicy {
  const root = file.rootMap('the policy document', ['version', 'rules', 'default_effect']);
  if (root === undefined) return { rules: [] };
  file.version(root, []);
  let defaultEffect: 'allow' | 'block' = 'allow';
  let ok = true;
  const defaultEntry = root.get('default_effect');
  if (defaultEntry !== undefined) {
    const value = readEnum(file, defaultEntry.value, ['default_effect'], 'default_effect', ['allow', 'block'] as const, undefined);
    if (value === undefined) ok = false;
    else defaultEffect = value;
  }
  const rulesEntry = file.require(root, 'rules', file.root, [], 'the policy document');
  if (rulesEntry === undefined) return { rules: [] };
  const items = file.seq(rulesEntry.value, ['rules'], 'rules');
  if (items === undefined) return { rules: [] };
  const rules: ReadRule[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const rule = readRule(file, schema, item, ['rules', index]);
    rules.push(rule);
    if (rule.def === undefined) ok = false;
    if (rule.id !== undefined) {
      const first = seen.get(rule.id);
      if (first !== undefined) {
        const idNode = file.peek(item, 'id') ?? item;
        file.issue('DUPLICATE_RULE_ID', `rule id "${rule.id}" is already used by rule ${first + 1}; rule ids must be unique`, file.resolve(idNode), ['rules', index, 'id'], rule.id);
        ok = false;
      } else seen.set(rule.id, index);
    }
  });
  if (!ok) return { rules };
  return { rules, policy: Object.freeze({ defaultEffect, rules: Object.freeze(rules.map((r) => r.def as RuleDef)) }) };
}
