/** Reads `governance.yaml` and checks a policy's rules against it (Actra v1 semantics). */
import type { Node } from 'yaml';
import type { Effect, SchemaInfo } from './types.js';
import type { Path, YamlFile } from './parse.js';
import type { ReadRule } from './rules.js';
import { didYouMean } from './suggest.js';

const EFFECTS: readonly Effect[] = ['allow', 'block', 'require_approval'];
const DOMAINS = ['action', 'actor', 'snapshot'];
const CONSTRAINTS = ['exists', 'min_count', 'max_count', 'forbid', 'allowed_fields'] as const;

/** A governance selector (`select.where`); every present part must match (conjunctive). */
export interface GovernanceWhere {
  readonly id?: string;
  readonly effect?: Effect;
  readonly scope?: { readonly global?: boolean; readonly action?: string; readonly actor?: string };
  readonly when?: { readonly subject?: { readonly domain?: string; readonly field?: string } };
}

/** A governance constraint (`must`). */
export type GovernanceMust =
  | { readonly exists: boolean }
  | { readonly min_count: number }
  | { readonly max_count: number }
  | { readonly forbid: boolean }
  | { readonly allowed_fields: readonly string[] };

/** One checked governance rule. */
export interface GovernanceRuleDef {
  readonly id: string;
  readonly appliesTo?: readonly string[];
  readonly where: GovernanceWhere;
  readonly must: GovernanceMust;
  readonly error: string;
  /** The rule's node, for the position of its violations. */
  readonly node: Node | null;
}

function readWhere(file: YamlFile, schema: SchemaInfo | undefined, node: Node | null, path: Path, ruleId: string | undefined): GovernanceWhere | undefined {
  if (file.scalar(node) === null) return {};
  const entries = file.map(node, path, 'select.where', ['id', 'effect', 'scope', 'when'], ruleId);
  if (entries === undefined) return undefined;
  const where: { -readonly [K in keyof GovernanceWhere]: GovernanceWhere[K] } = {};
  let ok = true;
  const id = entries.get('id');
  if (id !== undefined) {
    const value = file.text(id.value, [...path, 'id'], 'select.where.id', ruleId);
    if (value === undefined) ok = false;
    else where.id = value;
  }
  const effect = entries.get('effect');
  if (effect !== undefined) {
    const value = file.text(effect.value, [...path, 'effect'], 'select.where.effect', ruleId);
    if (value !== undefined && !EFFECTS.includes(value as Effect)) {
      file.issue('INVALID_VALUE', `select.where.effect must be one of ${EFFECTS.join(', ')}, not "${value}"${didYouMean(value, EFFECTS)}`, file.resolve(effect.value), [...path, 'effect'], ruleId);
      ok = false;
    } else if (value === undefined) ok = false;
    else where.effect = value as Effect;
  }
  const scope = entries.get('scope');
  if (scope !== undefined) {
    const scopeEntries = file.map(scope.value, [...path, 'scope'], 'select.where.scope', ['global', 'action', 'actor'], ruleId);
    if (scopeEntries === undefined) ok = false;
    else {
      const out: { global?: boolean; action?: string; actor?: string } = {};
      const global = scopeEntries.get('global');
      if (global !== undefined) {
        const value = file.boolean(global.value, [...path, 'scope', 'global'], 'select.where.scope.global', ruleId);
        if (value === undefined) ok = false;
        else out.global = value;
      }
      for (const key of ['action', 'actor'] as const) {
        const entry = scopeEntries.get(key);
        if (entry === undefined) continue;
        const value = file.text(entry.value, [...path, 'scope', key], `select.where.scope.${key}`, ruleId);
        if (value === undefined) ok = false;
        else if (key === 'action' && schema !== undefined && !schema.actions.has(value)) {
          file.issue('UNKNOWN_ACTION', `unknown action "${value}"${didYouMean(value, schema.actions.keys())}`, file.resolve(entry.value), [...path, 'scope', key], ruleId);
          ok = false;
        } else out[key] = value;
      }
      where.scope = out;
    }
  }
  const when = entries.get('when');
  if (when !== undefined) {
    const whenEntries = file.map(when.value, [...path, 'when'], 'select.where.when', ['subject'], ruleId);
    if (whenEntries === undefined) ok = false;
    else {
      const subject = whenEntries.get('subject');
      if (subject === undefined) where.when = {};
      else {
        const subjectEntries = file.map(subject.value, [...path, 'when', 'subject'], 'select.where.when.subject', ['domain', 'field'], ruleId);
        if (subjectEntries === undefined) ok = false;
        else {
          const out: { domain?: string; field?: string } = {};
          for (const key of ['domain', 'field'] as const) {
            const entry = subjectEntries.get(key);
            if (entry === undefined) continue;
            const value = file.text(entry.value, [...path, 'when', 'subject', key], `select.where.when.subject.${key}`, ruleId);
            if (value === undefined) ok = false;
            else if (key === 'domain' && !DOMAINS.includes(value)) {
              file.issue('UNKNOWN_DOMAIN', `unknown domain "${value}"${didYouMean(value, DOMAINS)}`, file.resolve(entry.value), [...path, 'when', 'subject', key], ruleId);
              ok = false;
            } else out[key] = value;
          }
          where.when = { subject: out };
        }
      }
    }
  }
  return ok ? where : undefined;
}

function readMust(file: YamlFile, node: Node | null, path: Path, ruleId: string | undefined): GovernanceMust | undefined {
  const entries = file.map(node, path, 'must', CONSTRAINTS, ruleId);
  if (entries === undefined) return undefined;
  if (entries.size !== 1) {
    file.issue('INVALID_VALUE', `must needs exactly one of ${CONSTRAINTS.join(', ')}`, file.resolve(node), path, ruleId);
    return undefined;
  }
  const [key, entry] = [...entries][0] as [(typeof CONSTRAINTS)[number], { key: Node; value: Node | null }];
  const at = [...path, key];
  switch (key) {
    case 'exists':
    case 'forbid': {
      const value = file.boolean(entry.value, at, `must.${key}`, ruleId);
      return value === undefined ? undefined : key === 'exists' ? { exists: value } : { forbid: value };
    }
    case 'min_count':
    case 'max_count': {
      const value = file.count(entry.value, at, `must.${key}`, ruleId);
      return value === undefined ? undefined : key === 'min_count' ? { min_count: value } : { max_count: value };
    }
    case 'allowed_fields': {
      const items = file.seq(entry.value, at, 'must.allowed_fields', ruleId);
      if (items === undefined) return undefined;
      const fields: string[] = [];
      let ok = true;
      items.forEach((item, index) => {
        const value = file.string(item, [...at, index], 'an allowed field', ruleId);
        if (value === undefined) ok = false;
        else if (!/^(action|actor|snapshot)\.[^.]+/.test(value)) {
          file.issue('INVALID_VALUE', `allowed field "${value}" must be written domain.field (e.g. snapshot.fraud_flag)`, file.resolve(item), [...at, index], ruleId);
          ok = false;
        } else fields.push(value);
      });
      return ok ? { allowed_fields: fields } : undefined;
    }
  }
}

/** A governance rule's `error`: any scalar's text, empty included (Actra v1 accepts `error: ""`). */
function errorText(file: YamlFile, node: Node | null, path: Path, ruleId: string | undefined): string | undefined {
  const text = file.scalarText(node) ?? (file.scalar(node) === null ? '' : undefined);
  if (text === undefined) file.issue('INVALID_TYPE', 'error must be a string', file.resolve(node) ?? node, path, ruleId);
  return text;
}

/**
 * Reads governance.yaml; issues go to the file's sink. Returns undefined when it has problems.
 * Without a schema (schema.yaml could not be read) action names go unchecked.
 */
export function readGovernance(file: YamlFile, schema: SchemaInfo | undefined): GovernanceRuleDef[] | undefined {
  const root = file.rootMap('the governance document', ['version', 'governance']);
  if (root === undefined) return undefined;
  file.version(root, []);
  const block = file.require(root, 'governance', file.root, [], 'the governance document');
  if (block === undefined) return undefined;
  const blockEntries = file.map(block.value, ['governance'], 'governance', ['rules']);
  if (blockEntries === undefined) return undefined;
  const rulesEntry = file.require(blockEntries, 'rules', block.value, ['governance'], 'governance');
  if (rulesEntry === undefined) return undefined;
  const items = file.seq(rulesEntry.value, ['governance', 'rules'], 'governance.rules');
  if (items === undefined) return undefined;
  const rules: GovernanceRuleDef[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const path: Path = ['governance', 'rules', index];
    const entries = file.map(item, path, 'governance rule', ['id', 'applies_to', 'select', 'must', 'error']);
    if (entries === undefined) {
      ok = false;
      return;
    }
    const idEntry = file.require(entries, 'id', item, path, 'governance rule');
    // As in Actra v1, two governance rules may share an id: both are checked, and a violation's position tells them apart.
    const id = idEntry === undefined ? undefined : file.text(idEntry.value, [...path, 'id'], 'governance rule id');
    let appliesTo: string[] | undefined;
    const applies = entries.get('applies_to');
    if (applies !== undefined) {
      const appliesEntries = file.map(applies.value, [...path, 'applies_to'], 'applies_to', ['actions'], id);
      const actionsEntry = appliesEntries === undefined ? undefined : file.require(appliesEntries, 'actions', applies.value, [...path, 'applies_to'], 'applies_to', id);
      const list = actionsEntry === undefined ? undefined : file.seq(actionsEntry.value, [...path, 'applies_to', 'actions'], 'applies_to.actions', id);
      if (list === undefined) ok = false;
      else {
        appliesTo = [];
        list.forEach((node, i) => {
          const name = file.text(node, [...path, 'applies_to', 'actions', i], 'an action name', id);
          if (name === undefined) ok = false;
          else if (schema !== undefined && !schema.actions.has(name)) {
            file.issue('UNKNOWN_ACTION', `unknown action "${name}"${didYouMean(name, schema.actions.keys())}`, file.resolve(node), [...path, 'applies_to', 'actions', i], id);
            ok = false;
          } else appliesTo?.push(name);
        });
      }
    }
    const selectEntry = file.require(entries, 'select', item, path, 'governance rule', id);
    let where: GovernanceWhere | undefined;
    if (selectEntry !== undefined) {
      const selectEntries = file.map(selectEntry.value, [...path, 'select'], 'select', ['where'], id);
      const whereEntry = selectEntries === undefined ? undefined : file.require(selectEntries, 'where', selectEntry.value, [...path, 'select'], 'select', id);
      if (whereEntry !== undefined) where = readWhere(file, schema, whereEntry.value, [...path, 'select', 'where'], id);
    }
    const mustEntry = file.require(entries, 'must', item, path, 'governance rule', id);
    const must = mustEntry === undefined ? undefined : readMust(file, mustEntry.value, [...path, 'must'], id);
    const errorEntry = file.require(entries, 'error', item, path, 'governance rule', id);
    const error = errorEntry === undefined ? undefined : errorText(file, errorEntry.value, [...path, 'error'], id);
    if (id === undefined || where === undefined || must === undefined || error === undefined) {
      ok = false;
      return;
    }
    rules.push({ id, ...(appliesTo === undefined ? {} : { appliesTo }), where, must, error, node: file.resolve(item) });
  });
  return ok ? rules : undefined;
}

type Selectable = Required<Pick<ReadRule, 'id' | 'scope' | 'effect'>> & Pick<ReadRule, 'subjects'>;

function subjectMatches(subject: { domain: string; field: string }, filter: { domain?: string; field?: string }): boolean {
  return (filter.domain === undefined || subject.domain === filter.domain) && (filter.field === undefined || subject.field === filter.field);
}

function selects(rule: Selectable, where: GovernanceWhere): boolean {
  if (where.id !== undefined && rule.id !== where.id) return false;
  if (where.effect !== undefined && rule.effect !== where.effect) return false;
  const scope = where.scope;
  if (scope !== undefined) {
    const isGlobal = 'global' in rule.scope;
    // v1: global: true selects only global rules; global: false selects every non-global rule.
    if (scope.global !== undefined && isGlobal !== scope.global) return false;
    if (scope.action !== undefined && !('action' in rule.scope && rule.scope.action === scope.action)) return false;
    if (scope.actor !== undefined && !('actor' in rule.scope && rule.scope.actor === scope.actor)) return false;
  }
  const filter = where.when?.subject;
  if (filter !== undefined && !rule.subjects.some((subject) => subjectMatches(subject, filter))) return false;
  return true;
}

function satisfied(selected: readonly Selectable[], must: GovernanceMust): boolean {
  if ('exists' in must) return must.exists ? selected.length > 0 : selected.length === 0;
  if ('min_count' in must) return selected.length >= must.min_count;
  if ('max_count' in must) return selected.length <= must.max_count;
  if ('forbid' in must) return must.forbid ? selected.length === 0 : true;
  return selected.every((rule) => rule.subjects.every((subject) => must.allowed_fields.includes(`${subject.domain}.${subject.field}`)));
}

/**
 * Checks the policy rules against governance; reports one GOVERNANCE_VIOLATION per failed rule,
 * with the rule's `error` text, its id and its position in governance.yaml.
 */
export function checkGovernance(file: YamlFile, governance: readonly GovernanceRuleDef[], rules: readonly ReadRule[]): void {
  const selectable = rules.filter((rule): rule is ReadRule & Selectable => rule.id !== undefined && rule.scope !== undefined && rule.effect !== undefined);
  for (const rule of governance) {
    if (rule.appliesTo !== undefined) {
      const targets = rule.appliesTo;
      const applies = selectable.some((r) => 'action' in r.scope && targets.includes(r.scope.action));
      if (!applies) continue;
    }
    const selected = selectable.filter((r) => selects(r, rule.where));
    if (!satisfied(selected, rule.must)) {
      const index = governance.indexOf(rule);
      const message = rule.error.length > 0 ? rule.error : `governance rule "${rule.id}" is violated (it has no error text)`;
      file.issue('GOVERNANCE_VIOLATION', message, rule.node, ['governance', 'rules', index], rule.id);
    }
  }
}
