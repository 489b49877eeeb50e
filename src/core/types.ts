/** Public types of the policy engine: decisions, inputs, schema and rule metadata. */

/** What a decision says should happen. */
export type Effect = 'allow' | 'block' | 'require_approval';

/** Risk tier a rule can declare. */
export type Risk = 'low' | 'medium' | 'high' | 'critical';

/** The three domains a condition can read. */
export type Domain = 'action' | 'actor' | 'snapshot';

/** A field type as declared in `schema.yaml`, normalized. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'string[]' | 'number[]' | 'enum';

/** One declared field. `optional` when the type ended in `?`. */
export interface FieldSpec {
  readonly kind: FieldKind;
  readonly optional: boolean;
  /** The allowed values of an `enum` field. */
  readonly values?: readonly string[];
}

/** The compiled schema: declared fields per action, for the actor and for the snapshot. */
export interface SchemaInfo {
  readonly actions: ReadonlyMap<string, ReadonlyMap<string, FieldSpec>>;
  readonly actor: ReadonlyMap<string, FieldSpec>;
  readonly snapshot: ReadonlyMap<string, FieldSpec>;
}

/** Where a rule applies. `actor` scope matches when the input actor's `type` equals it. */
export type RuleScope = { readonly action: string } | { readonly global: true } | { readonly actor: string };

/** A position in a policy file. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** The `approval` block of a `require_approval` rule. */
export interface ApprovalRequirement {
  /** How long an opened approval stays valid, in seconds (default 3600). */
  readonly ttlSeconds: number;
  /** True when the rule restricts who may approve (`approval.approvers`); see `Policy.canApprove`. */
  readonly restricted: boolean;
}

/** A compiled rule's public description. */
export interface RuleInfo {
  readonly id: string;
  readonly scope: RuleScope;
  readonly effect: Effect;
  readonly reason?: string;
  readonly message?: string;
  readonly risk?: Risk;
  readonly description?: string;
  readonly approval?: ApprovalRequirement;
  readonly location: SourceLocation;
}

/**
 * The outcome of one evaluation. A plain, frozen value; never an exception.
 * `matchedRule` is absent when no rule matched (the policy's default effect applied).
 */
export interface Decision {
  readonly effect: Effect;
  readonly matchedRule?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly risk?: Risk;
  readonly policyHash: string;
}

/** The action being attempted: its `type` plus its fields. */
export interface ActionInput {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Evaluation input: the three domains. */
export interface EvaluationInput {
  readonly action: ActionInput;
  readonly actor: Readonly<Record<string, unknown>>;
  readonly snapshot: Readonly<Record<string, unknown>>;
}

/** The fields that the rules reachable for one action type can read, per domain. */
export interface ReadSet {
  readonly action: readonly string[];
  readonly actor: readonly string[];
  readonly snapshot: readonly string[];
}

/** One compared value in an explanation. Values are included: explanations are for developers. */
export interface ConditionTrace {
  /** Readable form, e.g. `action.amount greater_than 1000`. */
  readonly text: string;
  readonly result: boolean;
  /** For atoms: the left and right values as read (absent when missing). */
  readonly left?: unknown;
  readonly right?: unknown;
  /** For `all` / `any` / `not`: the children, in order (evaluation may stop early; skipped ones are absent). */
  readonly children?: readonly ConditionTrace[];
}

/** One rule considered during an explanation, in evaluation order. */
export interface RuleTrace {
  readonly ruleId: string;
  readonly scope: RuleScope;
  readonly effect: Effect;
  readonly matched: boolean;
  readonly condition: ConditionTrace;
}

/** What `policy.explain` returns. */
export interface Explanation {
  readonly decision: Decision;
  /** The rules tried, in order, up to and including the matching one. */
  readonly trace: readonly RuleTrace[];
  /**
   * The closest rule that did not match and would have changed the outcome, with the first
   * condition that stopped it. Absent when no other rule could change the outcome.
   */
  readonly closest?: { readonly ruleId: string; readonly effect: Effect; readonly failedCondition: string };
  /** A readable, multi-line text form of all of the above. */
  readonly text: string;
}

/** Expected outcome for `assertEffect`: an effect, or an effect with the rule and/or reason. */
export type ExpectedOutcome = Effect | { readonly effect: Effect; readonly rule?: string | null; readonly reason?: string };

/** A compiled policy. Created by `Actra.fromStrings / fromFiles / fromDirectory`. */
export interface Policy {
  /**
   * Evaluates one input. Synchronous and pure.
   * @throws ActraInputError (`ACTRA_INPUT`) when the input is not an object of the three domains, or
   *   when a reached rule reads a missing, null or wrongly typed required field.
   */
  evaluate(input: EvaluationInput): Decision;
  /** Same as `evaluate({ action, actor, snapshot })`. */
  evaluateAction(action: ActionInput, actor: Readonly<Record<string, unknown>>, snapshot: Readonly<Record<string, unknown>>): Decision;
  /** Evaluates and explains: the trace, the closest non-matching rule, a text form. */
  explain(input: EvaluationInput): Explanation;
  /** SHA-256 hex over the canonical schema + policy + governance. */
  policyHash(): string;
  /**
   * Throws `ActraAssertionError` (`ACTRA_ASSERTION`) unless the input gives the expected outcome.
   * @returns the decision, when it matches.
   */
  assertEffect(input: EvaluationInput, expected: ExpectedOutcome): Decision;
  /** The fields the rules reachable for `actionType` can read (action-scoped, actor-scoped and global rules). */
  readsFor(actionType: string): ReadSet;
  /** True when `actionType` is declared in the schema. */
  hasAction(actionType: string): boolean;
  /** The compiled schema. */
  readonly schema: SchemaInfo;
  /** Every rule, in file order. */
  readonly rules: readonly RuleInfo[];
  /** One rule by id. */
  rule(id: string): RuleInfo | undefined;
  /**
   * Whether `approver` (actor fields) satisfies the `approval.approvers` condition of rule `ruleId`.
   * True when the rule has no such condition; false when the rule does not exist or is not
   * `require_approval`. Never throws: a missing or wrongly typed approver field means false.
   */
  canApprove(ruleId: string, approver: Readonly<Record<string, unknown>>): boolean;
}
