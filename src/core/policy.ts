/** The compiled policy: an index of rule closures by action and actor type, and the `Policy` API. */
import { ActraAssertionError, ActraError, ActraInputError } from '../errors.js';
import type { ConditionTrace, Decision, EvaluationInput, ActionInput, ExpectedOutcome, Explanation, Policy, ReadSet, RuleInfo, SchemaInfo } from './types.js';
import type { PolicyDef, RuleDef } from './ast.js';
import { compileCondition, fieldsRead } from './compile.js';
import type { Fields, Test } from './compile.js';
import { compileRuleList } from './codegen.js';
import type { Decide, RuleSource } from './codegen.js';
import { buildExplanation, traceCondition } from './explain.js';

/** Global rules up to this many are compiled into each action's function; more are shared and chained. */
const INLINE_GLOBAL_RULES = 16;

const hasOwn = Object.hasOwn;
const getPrototypeOf = Object.getPrototypeOf;
const OBJECT_PROTO = Object.prototype as unknown as Record<string, unknown>;

/*
 * Only own properties of caller objects are read. An object whose prototype is `Object.prototype`
 * or `null` (object literals, JSON.parse, Object.create(null)) is read with plain property loads: a
 * property found there is own or Object.prototype's, and a value equal to Object.prototype's (a
 * polluted prototype) is confirmed with Object.hasOwn. Any other object (a class instance,
 * Object.create(proto)) is read through Object.hasOwn, before any getter runs.
 *
 * The test reads `__proto__` (which V8 inlines) rather than calling Object.getPrototypeOf (a call
 * costing about 12 ns, four times per decision). Through the inherited accessor it gives the
 * prototype; an own `__proto__` key (JSON.parse makes one from `"__proto__"`) gives its value, which
 * only code could make equal to Object.prototype, so such objects go the checked way. `undefined`
 * means no accessor on the chain: the prototype is then confirmed to be `null`.
 */
function plainObject(obj: object): boolean {
  const proto = (obj as { __proto__?: unknown }).__proto__;
  return proto === OBJECT_PROTO || (proto === undefined && getPrototypeOf(obj) === null);
}
function ownProperty(obj: object, key: string): unknown {
  return hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}
// Written out per key (not `obj[key]`) so that each read stays a monomorphic property load.
function ownAction(input: object): unknown {
  const value = (input as { action?: unknown }).action;
  return value !== undefined && value === OBJECT_PROTO.action && !hasOwn(input, 'action') ? undefined : value;
}
function ownActor(input: object): unknown {
  const value = (input as { actor?: unknown }).actor;
  return value !== undefined && value === OBJECT_PROTO.actor && !hasOwn(input, 'actor') ? undefined : value;
}
function ownSnapshot(input: object): unknown {
  const value = (input as { snapshot?: unknown }).snapshot;
  return value !== undefined && value === OBJECT_PROTO.snapshot && !hasOwn(input, 'snapshot') ? undefined : value;
}
function ownType(obj: object, plain: boolean): unknown {
  if (!plain) return ownProperty(obj, 'type');
  const value = (obj as { type?: unknown }).type;
  return value !== undefined && value === OBJECT_PROTO.type && !hasOwn(obj, 'type') ? undefined : value;
}
/** The three domains of an input, own properties only. */
function domainsOf(input: object): [unknown, unknown, unknown] {
  if (plainObject(input)) return [ownAction(input), ownActor(input), ownSnapshot(input)];
  return [ownProperty(input, 'action'), ownProperty(input, 'actor'), ownProperty(input, 'snapshot')];
}
const NO_FIELDS: Fields = Object.freeze(Object.create(null) as Fields);

function notAnObject(value: unknown): boolean {
  return typeof value !== 'object' || value === null || Array.isArray(value);
}

/**
 * What a throw during evaluation becomes: our own errors as they are, anything else (a getter or a
 * Proxy trap in the input threw) an input error whose message says nothing of what was thrown, so
 * the decision fails closed.
 */
function failClosed(error: unknown): ActraError {
  if (error instanceof ActraError) return error;
  return new ActraInputError('evaluation input could not be read (a property access threw)');
}

function actionTypeError(): ActraInputError {
  return new ActraInputError('input field action.type must be a string naming the action', { field: 'action.type' });
}

function domainError(name: string): ActraInputError {
  return new ActraInputError(`evaluation input ${name} must be an object`, { field: name });
}

function decisionFor(rule: RuleDef | undefined, effect: Decision['effect'], policyHash: string): Decision {
  const decision: { -readonly [K in keyof Decision]: Decision[K] } = { effect, policyHash };
  if (rule !== undefined) {
    decision.matchedRule = rule.id;
    if (rule.reason !== undefined) decision.reason = rule.reason;
    if (rule.message !== undefined) decision.message = rule.message;
    if (rule.risk !== undefined) decision.risk = rule.risk;
  }
  return Object.freeze(decision);
}

function ruleInfo(rule: RuleDef): RuleInfo {
  const info: { -readonly [K in keyof RuleInfo]: RuleInfo[K] } = { id: rule.id, scope: rule.scope, effect: rule.effect, location: rule.location };
  if (rule.reason !== undefined) info.reason = rule.reason;
  if (rule.message !== undefined) info.message = rule.message;
  if (rule.risk !== undefined) info.risk = rule.risk;
  if (rule.description !== undefined) info.description = rule.description;
  if (rule.approval !== undefined) info.approval = Object.freeze({ ttlSeconds: rule.approval.ttlSeconds, restricted: rule.approval.approvers !== undefined });
  return Object.freeze(info);
}

function toReadSet(fields: Set<string>): ReadSet {
  const out = { action: [] as string[], actor: [] as string[], snapshot: [] as string[] };
  for (const name of fields) {
    const dot = name.indexOf('.');
    const domain = name.slice(0, dot) as keyof typeof out;
    out[domain].push(name.slice(dot + 1));
  }
  return Object.freeze({ action: Object.freeze(out.action.sort()), actor: Object.freeze(out.actor.sort()), snapshot: Object.freeze(out.snapshot.sort()) });
}

function outcomeText(effect: string, rule: string | null | undefined, reason?: string): string {
  const parts = [effect];
  if (rule !== undefined) parts.push(rule === null ? 'no rule matched' : `rule ${rule}`);
  if (reason !== undefined) parts.push(`reason ${reason}`);
  return parts.join(', ');
}

/**
 * The `actor.type` that selects actor-scoped rules: absent or null selects none; anything but a
 * string is ACTRA_INPUT.
 */
function actorTypeOf(actor: Fields, plain: boolean): string | undefined {
  const actorType = ownType(actor, plain);
  if (actorType === undefined || actorType === null) return undefined;
  if (typeof actorType !== 'string') throw new ActraInputError('input field actor.type must be a string when present', { field: 'actor.type' });
  return actorType;
}

/** The rule lists of a policy: global, per action type, per actor type. */
type RuleSources = { readonly global: readonly RuleSource[]; readonly byAction: ReadonlyMap<string, readonly RuleSource[]>; readonly byActor: ReadonlyMap<string, readonly RuleSource[]> };

/**
 * The rules compiled for inputs with a domain object that is not a plain object (a class instance,
 * `Object.create(proto)`): every field read is confirmed own with `Object.hasOwn` before it runs.
 * Same order and semantics as the plain path: action rules, actor-scoped rules, global rules, default.
 */
class CheckedRules {
  readonly #byAction = new Map<string, Decide>();
  readonly #byActor = new Map<string, Decide>();
  readonly #global: Decide;

  constructor(sources: RuleSources, fallback: Decision) {
    for (const [name, list] of sources.byAction) this.#byAction.set(name, compileRuleList(list, undefined, true));
    for (const [name, list] of sources.byActor) this.#byActor.set(name, compileRuleList(list, undefined, true));
    this.#global = compileRuleList(sources.global, fallback, true);
  }

  decide(type: string, action: Fields, actor: Fields, snapshot: Fields): Decision {
    const own = this.#byAction.get(type)?.(action, actor, snapshot);
    if (own !== undefined) return own;
    if (this.#byActor.size > 0) {
      const actorType = actorTypeOf(actor, false);
      const byActor = actorType === undefined ? undefined : this.#byActor.get(actorType)?.(action, actor, snapshot);
      if (byActor !== undefined) return byActor;
    }
    return this.#global(action, actor, snapshot) as Decision;
  }
}

/** A compiled, immutable policy. Created by `Actra.fromStrings / fromFiles / fromDirectory`. */
export class CompiledPolicy implements Policy {
  readonly schema: SchemaInfo;
  readonly rules: readonly RuleInfo[];
  readonly #hash: string;
  /** Per action type: its rules (then, without actor-scoped rules, the global rules and the default). */
  readonly #byAction = new Map<string, Decide>();
  readonly #byActor = new Map<string, Decide>();
  /** The global rules, then the default effect. */
  readonly #global: Decide;
  readonly #hasActorRules: boolean;
  /**
   * The last action type looked up and its function. Traffic tends to repeat an action type (one
   * route, one tool), and a string comparison is cheaper than a `Map` lookup, which grows with the
   * number of action types. Writing it does not change any result.
   */
  #lastType: string | undefined;
  #lastDecide: Decide;
  readonly #default: Decision;
  readonly #defs: readonly RuleDef[];
  readonly #infos = new Map<string, RuleInfo>();
  /** Per require_approval rule: its approvers condition for plain objects and for any object (null when it has none). */
  readonly #approvers = new Map<string, { readonly plain: Test; readonly checked: Test } | null>();
  /** The rule lists, to build the checked evaluator from when an input first needs it. */
  readonly #sources: RuleSources;
  /** The evaluator for inputs that are not plain objects (every property confirmed own), built on first use. */
  #checked: CheckedRules | undefined;
  readonly #reads = new Map<string, ReadSet>();
  readonly #defaultReads: ReadSet;

  constructor(schema: SchemaInfo, policy: PolicyDef, hash: string) {
    this.schema = schema;
    this.#hash = hash;
    this.#defs = policy.rules;
    this.#default = decisionFor(undefined, policy.defaultEffect, hash);
    const global: RuleSource[] = [];
    const byAction = new Map<string, RuleSource[]>();
    const byActor = new Map<string, RuleSource[]>();
    const actionReads = new Map<string, Set<string>>();
    const sharedReads = new Set<string>();
    for (const def of policy.rules) {
      const source: RuleSource = { id: def.id, when: def.when, decision: decisionFor(def, def.effect, hash) };
      const scope = def.scope;
      if ('action' in scope) {
        const list = byAction.get(scope.action) ?? [];
        list.push(source);
        byAction.set(scope.action, list);
        const reads = actionReads.get(scope.action) ?? new Set<string>();
        fieldsRead(def.when, reads);
        actionReads.set(scope.action, reads);
      } else if ('actor' in scope) {
        const list = byActor.get(scope.actor) ?? [];
        list.push(source);
        byActor.set(scope.actor, list);
        fieldsRead(def.when, sharedReads);
      } else {
        global.push(source);
        fieldsRead(def.when, sharedReads);
      }
      const info = ruleInfo(def);
      this.#infos.set(def.id, info);
      if (def.effect === 'require_approval') {
        const approvers = def.approval?.approvers;
        this.#approvers.set(def.id, approvers === undefined ? null : { plain: compileCondition(approvers, def.id), checked: compileCondition(approvers, def.id, true) });
      }
    }
    this.#hasActorRules = byActor.size > 0;
    this.#sources = { global, byAction, byActor };
    this.#checked = undefined;
    this.#global = compileRuleList(global, this.#default);
    this.#lastType = undefined;
    this.#lastDecide = this.#global;
    for (const [name, list] of byActor) this.#byActor.set(name, compileRuleList(list, undefined));
    for (const [name, list] of byAction) this.#byAction.set(name, this.#hasActorRules ? compileRuleList(list, undefined) : this.#reachable(list, global));
    if (byActor.size > 0) sharedReads.add('actor.type');
    this.#defaultReads = toReadSet(sharedReads);
    for (const name of schema.actions.keys()) this.#reads.set(name, toReadSet(new Set([...sharedReads, ...(actionReads.get(name) ?? [])])));
    this.rules = Object.freeze(policy.rules.map((def) => this.#infos.get(def.id) as RuleInfo));
    Object.freeze(this);
  }

  /**
   * Evaluates one input: rules scoped to `action.type` in file order, then rules scoped to
   * `actor.type`, then global rules; the first match decides; otherwise the default effect.
   * Synchronous, pure, allocation-free on success.
   * @throws ActraInputError (`ACTRA_INPUT`) when the input is malformed or a reached rule reads a
   *   missing, null or wrongly typed required field.
   * @example
   * policy.evaluate({ action: { type: 'refund', amount: 4900 }, actor: { role: 'agent' }, snapshot: { fraud_flag: false } })
   * // { effect: 'block', matchedRule: 'block_large_refund', policyHash: '…' }
   */
  evaluate(input: EvaluationInput): Decision {
    // The try/catch lives one call down: with it in `evaluate` itself, a decision measured about
    // 15 ns slower in the benchmark (V8 optimises callers of try/catch methods less well).
    return this.#evaluate(input);
  }

  #evaluate(input: EvaluationInput): Decision {
    try {
      if (notAnObject(input)) throw new ActraInputError('evaluation input must be an object with action, actor and snapshot');
      if (!plainObject(input)) return this.#evaluateOther(input);
      return this.#run(ownAction(input) as Fields, ownActor(input) as Fields, ownSnapshot(input) as Fields);
    } catch (error) {
      throw failClosed(error);
    }
  }

  /** `evaluate` for an input that is not a plain object (kept out of the hot path). */
  #evaluateOther(input: object): Decision {
    const [action, actor, snapshot] = domainsOf(input) as [Fields, Fields, Fields];
    return this.#run(action, actor, snapshot);
  }

  /** Same as `evaluate({ action, actor, snapshot })`. */
  evaluateAction(action: ActionInput, actor: Readonly<Record<string, unknown>>, snapshot: Readonly<Record<string, unknown>>): Decision {
    try {
      return this.#run(action as Fields, actor, snapshot);
    } catch (error) {
      throw failClosed(error);
    }
  }

  /** One function for everything an action type reaches without actor-scoped rules: its rules, the global rules, the default. */
  #reachable(rules: readonly RuleSource[], global: readonly RuleSource[]): Decide {
    if (global.length <= INLINE_GLOBAL_RULES) return compileRuleList([...rules, ...global], this.#default);
    const own = compileRuleList(rules, undefined);
    const shared = this.#global;
    return function actraActionThenGlobal(a, c, s) {
      return own(a, c, s) ?? shared(a, c, s);
    };
  }

  /** Decides for checked domains; throws ACTRA_INPUT, or whatever a getter or Proxy trap throws (callers fail closed). */
  #run(action: Fields, actor: Fields, snapshot: Fields): Decision {
    if (notAnObject(action)) throw domainError('action');
    if (notAnObject(actor)) throw domainError('actor');
    if (notAnObject(snapshot)) throw domainError('snapshot');
    if (!plainObject(action) || !plainObject(actor) || !plainObject(snapshot)) return this.#runChecked(action, actor, snapshot);
    const type = ownType(action, true);
    if (typeof type !== 'string') throw actionTypeError();
    if (this.#hasActorRules) return this.#runWithActorRules(type, action, actor, snapshot);
    let decide = this.#lastDecide;
    if (type !== this.#lastType) {
      decide = this.#byAction.get(type) ?? this.#global;
      this.#lastType = type;
      this.#lastDecide = decide;
    }
    return decide(action, actor, snapshot) as Decision;
  }

  #runWithActorRules(type: string, action: Fields, actor: Fields, snapshot: Fields): Decision {
    const own = this.#byAction.get(type)?.(action, actor, snapshot);
    if (own !== undefined) return own;
    const actorType = actorTypeOf(actor, true);
    const byActor = actorType === undefined ? undefined : this.#byActor.get(actorType)?.(action, actor, snapshot);
    return byActor ?? (this.#global(action, actor, snapshot) as Decision);
  }

  /** `#run` for domains that are not all plain objects: the same rules, in the same order, every read checked own. */
  #runChecked(action: Fields, actor: Fields, snapshot: Fields): Decision {
    const type = ownType(action, plainObject(action));
    if (typeof type !== 'string') throw actionTypeError();
    this.#checked ??= new CheckedRules(this.#sources, this.#default);
    return this.#checked.decide(type, action, actor, snapshot);
  }

  /**
   * Evaluates like `evaluate` and explains: each rule tried in order with each comparison and the
   * values compared, the closest rule that did not match (and the condition that stopped it), and
   * a text form.
   * @throws ActraInputError (`ACTRA_INPUT`) exactly when `evaluate` would.
   */
  explain(input: EvaluationInput): Explanation {
    try {
      if (notAnObject(input)) throw new ActraInputError('evaluation input must be an object with action, actor and snapshot');
      // The domains are read once, so the explanation is of exactly what was decided on.
      const [action, actor, snapshot] = domainsOf(input) as [Fields, Fields, Fields];
      return this.#explain(this.#run(action, actor, snapshot), action, actor, snapshot);
    } catch (error) {
      throw failClosed(error);
    }
  }

  #explain(decision: Decision, action: Fields, actor: Fields, snapshot: Fields): Explanation {
    const type = ownType(action, plainObject(action)) as string;
    const considered: { def: RuleDef; trace: ConditionTrace }[] = [];
    // The rules in evaluation order, read as evaluation reads them: actor.type only past the action's rules.
    const tryRules = (inScope: (scope: RuleDef['scope']) => boolean): boolean => {
      for (const def of this.#defs) {
        if (!inScope(def.scope)) continue;
        const trace = traceCondition(def.when, action, actor, snapshot, def.id);
        considered.push({ def, trace });
        if (trace.result) return true;
      }
      return false;
    };
    let matched = tryRules((scope) => 'action' in scope && scope.action === type);
    if (!matched && this.#hasActorRules) {
      const actorType = actorTypeOf(actor, plainObject(actor));
      if (actorType !== undefined) matched = tryRules((scope) => 'actor' in scope && scope.actor === actorType);
    }
    if (!matched) tryRules((scope) => 'global' in scope);
    return buildExplanation(decision, considered, action, actor, snapshot, type);
  }

  /** SHA-256 hex over the canonical schema + policy + governance. */
  policyHash(): string {
    return this.#hash;
  }

  /**
   * Returns the decision when the input gives the expected outcome.
   * @throws ActraAssertionError (`ACTRA_ASSERTION`) naming the expected and actual effect, rule and reason.
   * @throws ActraInputError (`ACTRA_INPUT`) when evaluation fails.
   */
  assertEffect(input: EvaluationInput, expected: ExpectedOutcome): Decision {
    const decision = this.evaluate(input);
    const want = typeof expected === 'string' ? { effect: expected } : expected;
    const ruleOk = want.rule === undefined || (want.rule === null ? decision.matchedRule === undefined : decision.matchedRule === want.rule);
    const reasonOk = want.reason === undefined || decision.reason === want.reason;
    if (decision.effect !== want.effect || !ruleOk || !reasonOk) {
      const expectedText = outcomeText(want.effect, want.rule, want.reason);
      const actualText = outcomeText(decision.effect, decision.matchedRule ?? null, decision.reason);
      throw new ActraAssertionError(`expected ${expectedText}; got ${actualText}`, expected, decision);
    }
    return decision;
  }

  /** The fields the rules reachable for `actionType` can read (its action rules, every actor-scoped rule, every global rule). */
  readsFor(actionType: string): ReadSet {
    return this.#reads.get(actionType) ?? this.#defaultReads;
  }

  /** True when `actionType` is declared in the schema. */
  hasAction(actionType: string): boolean {
    return this.schema.actions.has(actionType);
  }

  /** One rule by id. */
  rule(id: string): RuleInfo | undefined {
    return this.#infos.get(id);
  }

  /**
   * Whether `approver` satisfies rule `ruleId`'s `approval.approvers` condition. True when the rule
   * has none; false when the rule does not exist or is not `require_approval`. Never throws.
   */
  canApprove(ruleId: string, approver: Readonly<Record<string, unknown>>): boolean {
    const tests = this.#approvers.get(ruleId);
    if (tests === undefined) return false;
    if (tests === null) return true;
    try {
      if (notAnObject(approver)) return false;
      const test = plainObject(approver) ? tests.plain : tests.checked;
      return test(NO_FIELDS, approver, NO_FIELDS) === true;
    } catch {
      return false;
    }
  }
}
