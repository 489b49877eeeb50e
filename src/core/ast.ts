/** The checked, internal form of a policy: rules with typed condition trees. */
import type { Domain, Effect, FieldSpec, Risk, RuleScope, SourceLocation } from './types.js';

/** Every operator of the language. */
export const OPERATORS = [
  'equals',
  'not_equals',
  'greater_than',
  'less_than',
  'greater_than_or_equal',
  'less_than_or_equal',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'ends_with',
  'exists',
] as const;

/** An operator name. */
export type Operator = (typeof OPERATORS)[number];

/** A resolved field reference: where to read and what type to expect. */
export interface FieldRef {
  readonly domain: Domain;
  readonly field: string;
  readonly spec: FieldSpec;
}

/** A literal right-hand side. Lists only appear with `in` / `not_in`. */
export type LiteralValue = string | number | boolean | readonly string[] | readonly number[];

/** The right-hand side of a comparison. */
export type Operand = { readonly kind: 'literal'; readonly value: LiteralValue } | { readonly kind: 'field'; readonly ref: FieldRef };

/** One comparison. `subject` keeps the raw names (governance reads them even when typing failed). */
export interface AtomNode {
  readonly kind: 'atom';
  readonly subject: { readonly domain: string; readonly field: string };
  readonly left: FieldRef;
  readonly operator: Operator;
  readonly right?: Operand;
  /** Readable form, e.g. `action.amount greater_than 1000`. */
  readonly text: string;
}

/** A condition tree. */
export type CondNode =
  | AtomNode
  | { readonly kind: 'all' | 'any'; readonly children: readonly CondNode[]; readonly text: string }
  | { readonly kind: 'not'; readonly child: CondNode; readonly text: string };

/** The checked `approval` block. */
export interface ApprovalDef {
  readonly ttlSeconds: number;
  readonly approvers?: CondNode;
}

/** One checked rule, in file order. */
export interface RuleDef {
  readonly id: string;
  readonly scope: RuleScope;
  readonly effect: Effect;
  readonly when: CondNode;
  readonly reason?: string;
  readonly message?: string;
  readonly risk?: Risk;
  readonly description?: string;
  readonly approval?: ApprovalDef;
  readonly location: SourceLocation;
}

/** The checked policy document. */
export interface PolicyDef {
  readonly defaultEffect: 'allow' | 'block';
  readonly rules: readonly RuleDef[];
}

/** Readable `domain.field`. */
export function fieldName(ref: { readonly domain: string; readonly field: string }): string {
  return `${ref.domain}.${ref.field}`;
}

/** Every atom of a condition tree, depth first, in order. */
export function atomsOf(node: CondNode): AtomNode[] {
  const out: AtomNode[] = [];
  const stack: CondNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop() as CondNode;
    if (current.kind === 'atom') out.push(current);
    else if (current.kind === 'not') stack.push(current.child);
    else for (let i = current.children.length - 1; i >= 0; i--) stack.push(current.children[i] as CondNode);
  }
  return out;
}
