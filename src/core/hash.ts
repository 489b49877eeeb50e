/** The stable policy hash: SHA-256 over a canonical form of what schema, policy and governance mean. */
import type { FieldSpec, SchemaInfo } from './types.js';
import type { CondNode, Operand, PolicyDef } from './ast.js';
import { fieldName } from './ast.js';
import type { GovernanceRuleDef } from './governance.js';
import { canonicalJson, sha256Hex } from './canonical.js';

/** Version tag inside the hashed form; changes only if the canonical form itself changes. */
export const HASH_FORMAT = 'actra-policy-hash/1';

function sortedUnique<T extends string | number>(values: readonly T[]): T[] {
  const unique = [...new Set(values)];
  return unique.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

function fieldType(spec: FieldSpec): unknown {
  return spec.kind === 'enum' ? { kind: 'enum', optional: spec.optional, values: sortedUnique(spec.values ?? []) } : { kind: spec.kind, optional: spec.optional };
}

function fieldsOf(fields: ReadonlyMap<string, FieldSpec>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, spec] of fields) out[name] = fieldType(spec);
  return out;
}

function operand(value: Operand): unknown {
  if (value.kind === 'field') return { subject: fieldName(value.ref) };
  return { literal: Array.isArray(value.value) ? sortedUnique(value.value as readonly (string | number)[]) : value.value };
}

function condition(node: CondNode): unknown {
  switch (node.kind) {
    case 'atom':
      return node.right === undefined ? { subject: fieldName(node.left), operator: node.operator } : { subject: fieldName(node.left), operator: node.operator, value: operand(node.right) };
    case 'not':
      return { not: condition(node.child) };
    default:
      return { [node.kind]: node.children.map(condition) };
  }
}

/** The canonical, JSON-ready form that the hash covers (exported for tests and `actra hash`). */
export function canonicalForm(schema: SchemaInfo, policy: PolicyDef, governance: readonly GovernanceRuleDef[] | undefined): unknown {
  const actions: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, fields] of schema.actions) actions[name] = fieldsOf(fields);
  return {
    format: HASH_FORMAT,
    schema: { actions, actor: fieldsOf(schema.actor), snapshot: fieldsOf(schema.snapshot) },
    policy: {
      default_effect: policy.defaultEffect,
      rules: policy.rules.map((rule) => ({
        id: rule.id,
        scope: rule.scope,
        effect: rule.effect,
        when: condition(rule.when),
        reason: rule.reason,
        message: rule.message,
        risk: rule.risk,
        description: rule.description,
        approval: rule.approval === undefined ? undefined : { ttl_seconds: rule.approval.ttlSeconds, approvers: rule.approval.approvers === undefined ? undefined : condition(rule.approval.approvers) },
      })),
    },
    governance:
      governance === undefined
        ? null
        : governance.map((rule) => ({
            id: rule.id,
            applies_to: rule.appliesTo === undefined ? undefined : sortedUnique(rule.appliesTo),
            where: rule.where,
            must: 'allowed_fields' in rule.must ? { allowed_fields: sortedUnique(rule.must.allowed_fields) } : rule.must,
            error: rule.error,
          })),
  };
}

/** SHA-256 hex of the canonical form. */
export function policyHashOf(schema: SchemaInfo, policy: PolicyDef, governance: readonly GovernanceRuleDef[] | undefined): string {
  return sha256Hex(canonicalJson(canonicalForm(schema, policy, governance)));
}
