/** The framework-neutral runtime: resolves actor and snapshot, evaluates, applies modes and approvals, emits events. */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ActraApprovalError, ActraError, ActraInputError, ActraOptionsError, ActraResolverError, ActraStoreError } from '../errors.js';
import type { ActionInput, Decision, Effect, EvaluationInput, Explanation, Policy } from '../core/types.js';
import type { ApprovalGate, ApprovalRecord, ApprovalRequest, ConsumeRefusal } from '../approvals/types.js';
import type {
  Actor,
  ActorResolver,
  CheckRequest,
  CheckResult,
  DecisionDetail,
  DecisionEvent,
  DecisionObserver,
  Mode,
  SnapshotLoader,
  SnapshotResolver,
} from './types.js';
import { ActraApprovalRequiredError, ActraBlockedError } from './errors.js';
import { recordedMethod } from './method.js';
import { describeKind, isPlainRecord, isPromise, isThenable, SnapshotLoading, withTimeout } from './snapshot.js';
import { pooledIdGenerator } from './ids.js';
import { fn, parseOptions } from '../options.js';

/** Generates ids: `decision` ids (`dec_…`) and `request` ids (when the caller gave none). */
export type IdGenerator = (kind: 'decision' | 'request') => string;

/** Options of {@link ActraRuntime}. Validated once, at construction. */
export interface RuntimeOptions<Ctx = unknown> {
  /** `enforce` (default), `monitor` or `warn`; a request may override it. */
  readonly mode?: Mode;
  /** Snapshot loaders, one per field or group of fields; each field declared by at most one loader. */
  readonly loaders?: readonly SnapshotLoader<Ctx>[];
  /** Default loader timeout in milliseconds (2000). Also bounds the snapshot resolver. */
  readonly loaderTimeoutMs?: number;
  /** Resolves the actor from the call's context; see also `setActorResolver`. */
  readonly actorResolver?: ActorResolver<Ctx>;
  /** Whole-snapshot resolver; see `setSnapshotResolver`. */
  readonly snapshotResolver?: SnapshotResolver<Ctx>;
  /** Opens and resumes approvals for `require_approval` decisions (an `Approvals` instance). */
  readonly approvals?: ApprovalGate;
  /** Receive every decision event. */
  readonly observers?: readonly DecisionObserver[];
  /** Action field names whose values events show as `"[redacted]"`. */
  readonly redact?: readonly string[];
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  readonly now?: () => number;
  /** Id generator (default: `dec_` + 128 random bits; request ids are random UUIDs; both from a pooled random buffer). */
  readonly idGenerator?: IdGenerator;
  /** Told when an observer throws or rejects (default: one process warning per failing observer). Never changes a decision. */
  readonly onObserverError?: (error: unknown, event: DecisionEvent) => void;
}

/** Per-call options of `evaluate`, `admit`, `audit`, `explain` and friends. */
export interface CallOptions {
  /** The actor, when known already (skips the actor resolver). */
  readonly actor?: Actor;
  /** Overrides the runtime's mode for this call. */
  readonly mode?: Mode;
  readonly requestId?: string;
  /** Resume with this approval (after a human approved it). */
  readonly approvalId?: string;
  /** Stored with approvals and events (default: the action type). */
  readonly route?: string;
}

/** What an action builder is told besides the arguments. */
export interface CallContext {
  readonly actionType: string;
  /** The wrapped function's name (`anonymous` when it has none). */
  readonly functionName: string;
}

/** Builds the action fields of a wrapped function call from its arguments. */
export type ActionBuilder<A extends readonly unknown[]> = (args: A, call: CallContext) => Readonly<Record<string, unknown>>;

/**
 * Makes the check of `decide` from its parts, for what a {@link ActraRuntime.decider} hands on to
 * `decide` (an HTTP check reads its approval id from the request's header). @internal
 */
export type CheckMaker<Ctx> = (action: ActionInput, ctx: Ctx, actor: Actor | undefined, mode: Mode | undefined, method: string | undefined, route: string | undefined, requestId: string | undefined) => CheckRequest<Ctx>;

/** `decide` for one action type, taking the check's parts ({@link ActraRuntime.decider}). @internal */
export type DecideParts<Ctx> = (action: ActionInput, ctx: Ctx, actor: Actor | undefined, mode: Mode | undefined, method: string | undefined, route: string | undefined, requestId: string | undefined) => CheckResult | Promise<CheckResult>;

/** Options of the wrapping form of `admit` / `audit`. */
export interface WrapOptions<A extends readonly unknown[], Ctx = unknown> {
  /** The context handed to the actor resolver and loaders, derived from the call's arguments. */
  readonly ctx?: (args: A) => Ctx;
  /** The actor, derived from the call's arguments (skips the actor resolver). */
  readonly actor?: (args: A) => Actor;
  readonly mode?: Mode;
  readonly route?: string;
}

const MODES: readonly Mode[] = ['enforce', 'monitor', 'warn'];
const REDACTED = '[redacted]';

const optionsSchema = z
  .object({
    mode: z.enum(['enforce', 'monitor', 'warn']).default('enforce'),
    loaders: z.array(z.custom<SnapshotLoader<never>>(isPlainRecord, { message: 'must be an array of loader objects' })).default([]),
    loaderTimeoutMs: z.number().int().positive().default(2000),
    actorResolver: fn<ActorResolver<never>>().optional(),
    snapshotResolver: fn<SnapshotResolver<never>>().optional(),
    approvals: z
      .custom<ApprovalGate>(function isGate(value) {
        return isPlainRecord(value) && typeof value['open'] === 'function' && typeof value['resume'] === 'function';
      }, { message: 'must have open() and resume() (an Approvals instance)' })
      .optional(),
    observers: z.array(fn<DecisionObserver>()).default([]),
    redact: z.array(z.string().min(1)).default([]),
    now: fn<() => number>().optional(),
    idGenerator: fn<IdGenerator>().optional(),
    onObserverError: fn<(error: unknown, event: DecisionEvent) => void>().optional(),
  })
  .strict();

/** What the first half of the pipeline produces: the evaluated decision and its input. */
interface Evaluated {
  readonly actor: Actor;
  readonly input: EvaluationInput;
  readonly decision: Decision;
}

/** What is known about a check while it runs, for its event. */
/** `Trace.time` / `Trace.started` of a decision that began with no observer registered. */
const UNTIMED = -1;

interface Trace {
  readonly decisionId: string;
  readonly requestId: string;
  readonly mode: Mode;
  readonly time: number;
  readonly started: number;
  readonly action: ActionInput | undefined;
  readonly method: string | undefined;
  readonly route: string | undefined;
}

/**
 * Admission control outside HTTP, and the engine behind the HTTP middleware: resolves the actor,
 * loads the snapshot fields the action's rules read, evaluates the compiled policy, applies the
 * mode, opens or resumes approvals, and tells observers.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) at construction for invalid options, two loaders
 *   declaring one field, or a loader field the schema does not declare.
 * @example
 * ```ts
 * const runtime = new ActraRuntime(policy, {
 *   actorResolver: () => ({ id: 'agent-7', role: 'support' }),
 *   loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: async ({ actor }) => ({ fraud_flag: await fraud.check(actor.id) }) }],
 * });
 * const refund = await runtime.admit({ type: 'refund', amount: 4900 }, () => payments.refund(4900));
 * ```
 */
export class ActraRuntime<Ctx = unknown> {
  /** The compiled policy this runtime enforces. */
  readonly policy: Policy;
  /** The default mode. */
  readonly mode: Mode;

  readonly #loading: SnapshotLoading;
  readonly #loaderTimeoutMs: number;
  readonly #approvals: ApprovalGate | undefined;
  readonly #redact: ReadonlySet<string>;
  readonly #now: () => number;
  readonly #newId: IdGenerator;
  readonly #onObserverError: (error: unknown, event: DecisionEvent, observer: DecisionObserver) => void;
  #actorResolver: ActorResolver<Ctx> | undefined;
  #snapshotResolver: SnapshotResolver<Ctx> | undefined;
  #observers: readonly DecisionObserver[];

  constructor(policy: Policy, options?: RuntimeOptions<Ctx>) {
    if (!isPlainRecord(policy) || typeof (policy as Partial<Policy>).evaluate !== 'function') {
      throw new ActraOptionsError('ActraRuntime: policy must be a compiled Policy (Actra.fromStrings / fromFiles / fromDirectory)');
    }
    const parsed = parseOptions(optionsSchema, options, 'ActraRuntime');
    this.policy = policy;
    this.mode = parsed.mode;
    this.#loaderTimeoutMs = parsed.loaderTimeoutMs;
    this.#loading = new SnapshotLoading(policy, parsed.loaders, parsed.loaderTimeoutMs);
    this.#actorResolver = parsed.actorResolver as ActorResolver<Ctx> | undefined;
    this.#snapshotResolver = parsed.snapshotResolver as SnapshotResolver<Ctx> | undefined;
    this.#approvals = parsed.approvals;
    this.#observers = [...parsed.observers];
    this.#redact = new Set(parsed.redact);
    this.#now = parsed.now ?? currentTime;
    this.#newId = parsed.idGenerator ?? pooledIdGenerator();
    this.#onObserverError = parsed.onObserverError ?? warnOncePerObserver();
  }

  /** Sets the actor resolver (Actra's name). @throws ActraOptionsError unless `resolver` is a function. */
  setActorResolver(resolver: ActorResolver<Ctx>): void {
    assertFunction(resolver, 'setActorResolver');
    this.#actorResolver = resolver;
  }

  /**
   * Sets a whole-snapshot resolver (Actra's name). The fields it returns are used; loaders fill the
   * fields it leaves out. It is called only for actions whose rules read the snapshot.
   * @throws ActraOptionsError unless `resolver` is a function.
   */
  setSnapshotResolver(resolver: SnapshotResolver<Ctx>): void {
    assertFunction(resolver, 'setSnapshotResolver');
    this.#snapshotResolver = resolver;
  }

  /** Replaces every observer by `observer` (Actra's name). @throws ActraOptionsError unless a function. */
  setDecisionObserver(observer: DecisionObserver): void {
    assertFunction(observer, 'setDecisionObserver');
    this.#observers = [observer];
  }

  /**
   * Adds an observer; returns a function that removes it again.
   * @throws ActraOptionsError unless `observer` is a function.
   * @example `const stop = runtime.addDecisionObserver((event) => console.log(event.effect)); stop();`
   */
  addDecisionObserver(observer: DecisionObserver): () => void {
    assertFunction(observer, 'addDecisionObserver');
    this.#observers = [...this.#observers, observer];
    const runtime = this;
    return function removeDecisionObserver() {
      runtime.#observers = runtime.#observers.filter(function keep(other) {
        return other !== observer;
      });
    };
  }

  /**
   * The whole admission pipeline, used by the HTTP middleware: actor, snapshot, policy, mode,
   * approvals, event. A `block` is a result (`outcome: 'block'`), not an error.
   *
   * In enforce mode a `require_approval` decision opens an approval (`pending`) or consumes the one
   * given in `request.approvalId` (`allow`, or `refused` / `pending`). Without an approval gate it
   * fails closed: `outcome: 'block'`. Monitor and warn always `allow` and never open approvals.
   *
   * @throws ActraAuthError (`ACTRA_UNAUTHENTICATED`) from the actor resolver, in every mode.
   * @throws ActraResolverError (`ACTRA_RESOLVER_FAILED`) when the actor cannot be resolved, in every mode.
   * @throws ActraResolverError (`ACTRA_LOADER_FAILED` / `ACTRA_LOADER_TIMEOUT`), ActraInputError
   *   (`ACTRA_INPUT`), ActraStoreError (`ACTRA_STORE_FAILED`), ActraError (`ACTRA_ENGINE`) — in
   *   enforce mode only; monitor and warn report them in `result.error` and allow.
   */
  async check(request: CheckRequest<Ctx>): Promise<CheckResult> {
    return this.decide(request);
  }

  /**
   * `check`, answering synchronously when every step is synchronous (the actor is given or
   * resolved synchronously, every loader returns a value, no approval store is involved), and with
   * a promise otherwise. Same outcomes, same errors (thrown, or as the promise's rejection).
   * @throws the same errors as {@link ActraRuntime.check}.
   */
  decide(request: CheckRequest<Ctx>): CheckResult | Promise<CheckResult> {
    const mode = request.mode ?? this.mode;
    if (mode !== 'enforce' && mode !== 'monitor' && mode !== 'warn') throw new ActraOptionsError(`check: mode must be one of ${MODES.join(', ')}`);
    const trace = this.#trace(request, mode);
    const actor = this.#actorFor(trace, request.actor, request.ctx as Ctx);
    if (isPromise(actor)) {
      const runtime = this;
      return actor.then(function actorResolved(resolved) {
        return runtime.#afterActor(trace, request, resolved);
      });
    }
    return this.#afterActor(trace, request, actor);
  }

  /**
   * `decide` for the requests of one action type, prepared once (its loaders looked up): what a
   * guarded HTTP route calls on every request, with the check's parts one by one. A decision in
   * enforce mode with nothing observing it, for an action of that type and an actor given, is made
   * here in one pass, with no check object and no trace; `check(…)` makes the check only for what
   * goes on through `decide`'s own steps: every other request, and whatever this pass stops at (a
   * loader's promise or failure, an effect other than `allow`), taken up with what it has — no loader
   * is called twice.
   * @internal
   */
  decider(actionType: string, check: CheckMaker<Ctx>): DecideParts<Ctx> {
    const runtime = this;
    const plan = this.#loading.plan(actionType);
    return function decideAction(action, ctx, actor, mode, method, route, requestId) {
      if (
        runtime.#observers.length !== 0 ||
        runtime.#snapshotResolver !== undefined ||
        (mode ?? runtime.mode) !== 'enforce' ||
        !isPlainRecord(action) ||
        action.type !== actionType ||
        !isActor(actor)
      ) {
        return runtime.decide(check(action, ctx, actor, mode, method, route, requestId));
      }
      let snapshot: Record<string, unknown> | Promise<Record<string, unknown>>;
      let decision: Decision | undefined;
      try {
        snapshot = runtime.#loading.load(plan, action, actor, ctx);
        if (!isPromise(snapshot)) decision = runtime.policy.evaluateAction(action, actor, snapshot);
      } catch (caught) {
        return runtime.#failed(runtime.#trace(check(action, ctx, actor, mode, method, route, requestId), 'enforce'), actor, caught);
      }
      // Goes on through `decide`'s steps: for a loader's promise, an effect other than `allow`, or an
      // observer added meanwhile (by a loader, say), which is told as `decide` would tell it.
      if (decision === undefined || decision.effect !== 'allow' || runtime.#observers.length !== 0) {
        const request = check(action, ctx, actor, mode, method, route, requestId);
        const trace = runtime.#trace(request, 'enforce');
        return decision === undefined ? runtime.#afterSnapshot(trace, request, actor, snapshot) : runtime.#applied(trace, request, actor, snapshot as Record<string, unknown>, decision);
      }
      // The ids in the order `decide` makes them: the decision's, then the request's when none is given.
      return { decisionId: runtime.#newId('decision'), mode: 'enforce', requestId: requestId ?? runtime.#newId('request'), outcome: 'allow', enforcedEffect: 'allow', actor, decision };
    };
  }

  /** What is known of a check for its events; the clocks are read only when something observes it. */
  #trace(request: CheckRequest<Ctx>, mode: Mode): Trace {
    const action = request.action;
    const observed = this.#observers.length > 0;
    return {
      decisionId: this.#newId('decision'),
      requestId: request.requestId ?? this.#newId('request'),
      mode,
      time: observed ? this.#now() : UNTIMED,
      started: observed ? performance.now() : UNTIMED,
      action: isPlainRecord(action) ? action : undefined,
      method: request.method === undefined ? undefined : recordedMethod(request.method),
      route: request.route,
    };
  }

  #afterActor(trace: Trace, request: CheckRequest<Ctx>, actor: Actor): CheckResult | Promise<CheckResult> {
    let snapshot: Record<string, unknown> | Promise<Record<string, unknown>>;
    try {
      snapshot = this.#snapshot(trace.action, actor, request.ctx as Ctx);
    } catch (caught) {
      return this.#failed(trace, actor, caught);
    }
    return this.#afterSnapshot(trace, request, actor, snapshot);
  }

  /** Decides once the snapshot is there: at once for a snapshot, when it settles for a promise of one. */
  #afterSnapshot(trace: Trace, request: CheckRequest<Ctx>, actor: Actor, snapshot: Record<string, unknown> | Promise<Record<string, unknown>>): CheckResult | Promise<CheckResult> {
    if (isPromise(snapshot)) {
      const runtime = this;
      return snapshot.then(
        function snapshotLoaded(loaded) {
          return runtime.#decided(trace, request, actor, loaded);
        },
        function snapshotFailed(caught: unknown) {
          return runtime.#failed(trace, actor, caught);
        },
      );
    }
    return this.#decided(trace, request, actor, snapshot);
  }

  /** The decision could not be made: enforce throws; monitor and warn allow and say why. */
  #failed(trace: Trace, actor: Actor, caught: unknown): CheckResult {
    const error = asActraError(caught, 'ACTRA_ENGINE', 'policy evaluation failed');
    if (trace.mode === 'enforce') {
      this.#emit(trace, { actor, enforcedEffect: 'block', error });
      throw error;
    }
    this.#emit(trace, { actor, enforcedEffect: 'allow', error });
    return result(trace, { outcome: 'allow', enforcedEffect: 'allow', actor, error, ...(trace.mode === 'warn' ? { wouldHave: 'block' as const } : {}) });
  }

  /** `trace.action` is the checked action here (`#snapshot` refused anything else). */
  #decided(trace: Trace, request: CheckRequest<Ctx>, actor: Actor, snapshot: Readonly<Record<string, unknown>>): CheckResult | Promise<CheckResult> {
    const action = trace.action as ActionInput;
    let decision: Decision;
    try {
      decision = this.policy.evaluateAction(action, actor, snapshot);
    } catch (caught) {
      return this.#failed(trace, actor, caught);
    }
    return this.#applied(trace, request, actor, snapshot, decision);
  }

  /** Applies the mode, the approval gate and the observers to an evaluated decision. */
  #applied(trace: Trace, request: CheckRequest<Ctx>, actor: Actor, snapshot: Readonly<Record<string, unknown>>, decision: Decision): CheckResult | Promise<CheckResult> {
    const action = trace.action as ActionInput;
    const mode = trace.mode;
    if (mode === 'enforce' && decision.effect === 'allow') {
      if (this.#observers.length > 0) this.#emit(trace, { actor, decision, input: { action, actor, snapshot }, enforcedEffect: 'allow' });
      return { decisionId: trace.decisionId, mode, requestId: trace.requestId, outcome: 'allow', enforcedEffect: 'allow', actor, decision };
    }
    const input: EvaluationInput = { action, actor, snapshot };
    if (mode !== 'enforce') {
      this.#emit(trace, { actor, decision, input, enforcedEffect: 'allow' });
      const wouldHave = mode === 'warn' && decision.effect !== 'allow' ? { wouldHave: decision.effect } : {};
      return result(trace, { outcome: 'allow', enforcedEffect: 'allow', actor, decision, ...wouldHave });
    }
    if (decision.effect === 'block' || this.#approvals === undefined) {
      // A block is never overridden by an approval; without a gate an approval can never be given.
      this.#emit(trace, { actor, decision, input, enforcedEffect: 'block' });
      return result(trace, { outcome: 'block', enforcedEffect: 'block', actor, decision });
    }
    return this.#requireApproval(this.#approvals, trace, request, { actor, input, decision });
  }

  /**
   * Resolves actor and snapshot, evaluates, tells observers, and returns the decision.
   * @throws ActraAuthError, ActraResolverError, ActraInputError, ActraError (`ACTRA_ENGINE`) when it cannot decide.
   * @example `const decision = await runtime.evaluate({ type: 'refund', amount: 4900 });`
   */
  async evaluate(action: ActionInput, ctx?: Ctx, options?: CallOptions): Promise<Decision> {
    const mode = options?.mode ?? this.mode;
    const trace: Trace = {
      decisionId: this.#newId('decision'),
      requestId: options?.requestId ?? this.#newId('request'),
      mode,
      time: this.#now(),
      started: performance.now(),
      action: isPlainRecord(action) ? action : undefined,
      method: 'call',
      route: options?.route,
    };
    const actor = await this.#actorFor(trace, options?.actor, ctx as Ctx);
    try {
      const { decision, input } = await this.#evaluate(action, actor, ctx as Ctx);
      this.#emit(trace, { actor, decision, input, enforcedEffect: mode === 'enforce' ? decision.effect : 'allow' });
      return decision;
    } catch (caught) {
      const error = asActraError(caught, 'ACTRA_ENGINE', 'policy evaluation failed');
      this.#emit(trace, { actor, enforcedEffect: mode === 'enforce' ? 'block' : 'allow', error });
      throw error;
    }
  }

  /**
   * Runs `fn` only when the action is allowed. Two forms:
   * - `admit(action, fn, ctx?, options?)` checks now and resolves to `fn`'s result;
   * - `admit(actionType, fn, builder?, options?)` returns a wrapped function that checks on every
   *   call, building the action from the arguments (default: the first argument's fields).
   *
   * @throws ActraBlockedError (`ACTRA_BLOCKED`, carries `.decision`) when blocked.
   * @throws ActraApprovalRequiredError (`ACTRA_APPROVAL_REQUIRED`, carries `.decision`, `.approvalId`) when an approval is needed.
   * @throws ActraApprovalError (`ACTRA_APPROVAL_*`) when `options.approvalId` was refused.
   * @throws the errors of {@link ActraRuntime.check} in enforce mode.
   * @example
   * ```ts
   * await runtime.admit({ type: 'refund', amount: 4900 }, () => payments.refund(4900));
   * const transfer = runtime.admit('transfer', transferFunds, (args) => ({ amount: args[1] }));
   * await transfer('acct-1', 250);
   * ```
   */
  admit<T>(action: ActionInput, fn: () => T | Promise<T>, ctx?: Ctx, options?: CallOptions): Promise<Awaited<T>>;
  admit<A extends unknown[], R>(actionType: string, fn: (...args: A) => R, builder?: ActionBuilder<A>, options?: WrapOptions<A, Ctx>): (...args: A) => Promise<Awaited<R>>;
  admit(target: ActionInput | string, fn: (...args: never[]) => unknown, third?: unknown, options?: unknown): unknown {
    return this.#guard('admit', target, fn, third, options);
  }

  /**
   * Same forms as `admit`, but always runs `fn` (monitor mode) and records what would have happened.
   * Loader or input failures never stop `fn`; they are recorded in the event.
   * @throws ActraAuthError / ActraResolverError when the actor cannot be resolved.
   */
  audit<T>(action: ActionInput, fn: () => T | Promise<T>, ctx?: Ctx, options?: Omit<CallOptions, 'mode' | 'approvalId'>): Promise<Awaited<T>>;
  audit<A extends unknown[], R>(actionType: string, fn: (...args: A) => R, builder?: ActionBuilder<A>, options?: Omit<WrapOptions<A, Ctx>, 'mode'>): (...args: A) => Promise<Awaited<R>>;
  audit(target: ActionInput | string, fn: (...args: never[]) => unknown, third?: unknown, options?: unknown): unknown {
    return this.#guard('audit', target, fn, third, options);
  }

  /**
   * Resolves actor and snapshot like `evaluate`, then returns the policy's explanation (a trace of
   * the rules tried, the closest non-matching rule, a text form). Emits no event.
   * @throws like `evaluate`.
   */
  async explain(action: ActionInput, ctx?: Ctx, options?: Pick<CallOptions, 'actor'>): Promise<Explanation> {
    const actor = await this.#resolveActor(options?.actor, ctx as Ctx);
    const snapshot = await this.#snapshot(isPlainRecord(action) ? action : undefined, actor, ctx as Ctx);
    return this.policy.explain({ action, actor, snapshot });
  }

  /**
   * Explains the call `fn(...args)` would make under `admit(actionType, fn, builder)`.
   * @throws like `evaluate`.
   * @example `(await runtime.explainCall('transfer', ['acct-1', 250], (a) => ({ amount: a[1] }))).text`
   */
  async explainCall<A extends unknown[]>(actionType: string, args: A, builder?: ActionBuilder<A>, ctx?: Ctx, options?: Pick<CallOptions, 'actor'>): Promise<Explanation> {
    const action = buildAction(actionType, args, builder, 'anonymous');
    return this.explain(action, ctx, options);
  }

  /** True when the policy allows the action (an event is emitted). @throws like `evaluate`. */
  async allow(action: ActionInput, ctx?: Ctx, options?: CallOptions): Promise<boolean> {
    return (await this.evaluate(action, ctx, options)).effect === 'allow';
  }

  /** True when the policy blocks the action (an event is emitted). @throws like `evaluate`. */
  async block(action: ActionInput, ctx?: Ctx, options?: CallOptions): Promise<boolean> {
    return (await this.evaluate(action, ctx, options)).effect === 'block';
  }

  /** True when the action needs an approval (an event is emitted). @throws like `evaluate`. */
  async requiresApproval(action: ActionInput, ctx?: Ctx, options?: CallOptions): Promise<boolean> {
    return (await this.evaluate(action, ctx, options)).effect === 'require_approval';
  }

  #guard(kind: 'admit' | 'audit', target: ActionInput | string, fn: (...args: never[]) => unknown, third: unknown, options: unknown): unknown {
    assertFunction(fn, kind);
    if (typeof target === 'string') {
      if (third !== undefined) assertFunction(third, `${kind} builder`);
      return this.#wrap(kind, target, fn as (...args: unknown[]) => unknown, third as ActionBuilder<unknown[]> | undefined, (options ?? {}) as WrapOptions<unknown[], Ctx>);
    }
    const call = (options ?? {}) as CallOptions;
    return this.#run(kind, target, third as Ctx, call, fn as () => unknown);
  }

  #wrap(kind: 'admit' | 'audit', actionType: string, fn: (...args: unknown[]) => unknown, builder: ActionBuilder<unknown[]> | undefined, options: WrapOptions<unknown[], Ctx>): (...args: unknown[]) => Promise<unknown> {
    const runtime = this;
    const functionName = fn.name === '' ? 'anonymous' : fn.name;
    return function admitted(this: unknown, ...args: unknown[]): Promise<unknown> {
      const self = this;
      return (async function admitCall() {
        const action = buildAction(actionType, args, builder, functionName);
        const call: CallOptions = {
          ...(options.actor === undefined ? {} : { actor: options.actor(args) }),
          ...(options.mode === undefined ? {} : { mode: options.mode }),
          route: options.route ?? functionName,
        };
        const ctx = options.ctx === undefined ? undefined : options.ctx(args);
        return runtime.#run(kind, action, ctx as Ctx, call, function callWrapped() {
          return fn.apply(self, args);
        });
      })();
    };
  }

  async #run(kind: 'admit' | 'audit', action: ActionInput, ctx: Ctx, call: CallOptions, fn: () => unknown): Promise<unknown> {
    const checked = await this.check({
      action,
      ctx,
      method: 'call',
      route: call.route ?? (isPlainRecord(action) && typeof action.type === 'string' ? action.type : 'call'),
      ...(call.actor === undefined ? {} : { actor: call.actor }),
      ...(kind === 'audit' ? { mode: 'monitor' as const } : call.mode === undefined ? {} : { mode: call.mode }),
      ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
      ...(kind === 'audit' || call.approvalId === undefined ? {} : { approvalId: call.approvalId }),
    });
    const actionType = action.type;
    switch (checked.outcome) {
      case 'allow':
        return await fn();
      case 'pending':
        throw new ActraApprovalRequiredError(actionType, checked.decision as Decision, checked.approval);
      case 'refused':
        throw checked.refusal ?? new ActraApprovalError('ACTRA_APPROVAL_NOT_FOUND', 'approval refused');
      case 'block': {
        const decision = checked.decision as Decision;
        if (decision.effect === 'require_approval') throw new ActraApprovalRequiredError(actionType, decision);
        throw new ActraBlockedError(actionType, decision);
      }
    }
  }

  async #requireApproval(gate: ApprovalGate, trace: Trace, request: CheckRequest<Ctx>, evaluated: Evaluated): Promise<CheckResult> {
    const { actor, decision, input } = evaluated;
    // Read once: an HTTP check reads it from the request's header.
    const approvalId = request.approvalId;
    const approvalRequest: ApprovalRequest = {
      decision,
      action: input.action,
      actorId: actor.id,
      method: trace.method ?? 'call',
      ...(trace.route === undefined ? {} : { route: trace.route }),
      requestId: trace.requestId,
    };
    try {
      if (approvalId === undefined) {
        const { record, created } = await openApproval(gate, approvalRequest);
        const approval = { ...approvalOf(record), ...(created === undefined ? {} : { created }) };
        this.#emit(trace, { actor, decision, input, enforcedEffect: 'require_approval', approvalId: record.id });
        return result(trace, { outcome: 'pending', enforcedEffect: 'require_approval', actor, decision, approval });
      }
      const consumed = await gate.resume(approvalId, approvalRequest);
      if (consumed.ok) {
        this.#emit(trace, { actor, decision, input, enforcedEffect: 'allow', approvalId: consumed.record.id });
        return result(trace, { outcome: 'allow', enforcedEffect: 'allow', actor, decision, approval: approvalOf(consumed.record) });
      }
      if (consumed.refusal === 'pending') {
        const approval = consumed.record === undefined ? {} : { approval: approvalOf(consumed.record) };
        this.#emit(trace, { actor, decision, input, enforcedEffect: 'require_approval', approvalId });
        return result(trace, { outcome: 'pending', enforcedEffect: 'require_approval', actor, decision, ...approval });
      }
      // A refused approval may belong to someone else (mismatch): say why, show nothing of it.
      const refusal = refusalError(consumed.refusal);
      this.#emit(trace, { actor, decision, input, enforcedEffect: 'block', approvalId, error: refusal });
      return result(trace, { outcome: 'refused', enforcedEffect: 'block', actor, decision, refusal });
    } catch (caught) {
      const error = caught instanceof ActraError ? caught : new ActraStoreError('approval gate failed', { cause: caught });
      this.#emit(trace, { actor, decision, input, enforcedEffect: 'block', error });
      throw error;
    }
  }

  /** Actor step: the given actor or the resolver's; failures are emitted and thrown in every mode. */
  #actorFor(trace: Trace, given: Actor | undefined, ctx: Ctx): Actor | Promise<Actor> {
    let actor: Actor | Promise<Actor>;
    try {
      actor = this.#resolveActor(given, ctx);
    } catch (caught) {
      throw this.#actorFailed(trace, caught);
    }
    if (!isPromise(actor)) return actor;
    const runtime = this;
    return actor.then(undefined, function actorRejected(caught: unknown) {
      throw runtime.#actorFailed(trace, caught);
    });
  }

  #actorFailed(trace: Trace, caught: unknown): ActraError {
    const error = asActraError(caught, 'ACTRA_RESOLVER_FAILED', 'actor resolver failed');
    this.#emit(trace, { enforcedEffect: 'block', error });
    return error;
  }

  #resolveActor(given: Actor | undefined, ctx: Ctx): Actor | Promise<Actor> {
    if (given !== undefined) return checkActor(given);
    const resolver = this.#actorResolver;
    if (resolver === undefined) {
      throw new ActraResolverError('ACTRA_RESOLVER_FAILED', 'actorResolver', 'no actor given and no actor resolver configured');
    }
    let resolved: unknown;
    try {
      resolved = resolver(ctx);
    } catch (cause) {
      throw resolverFailed(cause);
    }
    if (!isThenable(resolved)) return checkActor(resolved);
    return Promise.resolve(resolved).then(checkActor, function resolverRejected(cause: unknown) {
      throw resolverFailed(cause);
    });
  }

  /**
   * The snapshot the action's rules read: the resolver's fields, then the loaders'.
   * @throws ActraInputError when `action` (a plain record or `undefined`) has no non-empty string type.
   */
  #snapshot(action: ActionInput | undefined, actor: Actor, ctx: Ctx): Record<string, unknown> | Promise<Record<string, unknown>> {
    const type = action?.type;
    if (action === undefined || typeof type !== 'string' || type.length === 0) {
      throw new ActraInputError('action must be an object with a non-empty string "type"', { field: 'type' });
    }
    const plan = this.#loading.plan(type);
    const resolver = this.#snapshotResolver;
    if (resolver === undefined || plan.fields.length === 0) return this.#loading.load(plan, action, actor, ctx);
    const provided = withTimeout('snapshotResolver', this.#loaderTimeoutMs, function callSnapshotResolver() {
      return resolver(ctx);
    }, 'snapshot resolver');
    const loading = this.#loading;
    if (!isPromise(provided)) return loading.load(plan, action, actor, ctx, checkProvided(provided));
    return provided.then(function snapshotResolved(value) {
      return loading.load(plan, action, actor, ctx, checkProvided(value));
    });
  }

  async #evaluate(action: ActionInput, actor: Actor, ctx: Ctx): Promise<Evaluated> {
    const snapshot = await this.#snapshot(isPlainRecord(action) ? action : undefined, actor, ctx);
    return { actor, input: { action, actor, snapshot }, decision: this.policy.evaluateAction(action, actor, snapshot) };
  }

  #emit(
    trace: Trace,
    outcome: { actor?: Actor; decision?: Decision; input?: EvaluationInput; enforcedEffect: Effect; approvalId?: string; error?: ActraError },
  ): void {
    const observers = this.#observers;
    if (observers.length === 0) return;
    const event = this.#event(trace, outcome);
    const detail: DecisionDetail = outcome.input === undefined ? {} : { input: outcome.input };
    const report = this.#onObserverError;
    for (const observer of observers) {
      try {
        const returned = observer(event, detail);
        if (returned !== undefined && typeof (returned as Promise<void>).then === 'function') {
          (returned as Promise<void>).then(undefined, function observerRejected(error: unknown) {
            safeReport(report, error, event, observer);
          });
        }
      } catch (error) {
        safeReport(report, error, event, observer);
      }
    }
  }

  #event(
    trace: Trace,
    outcome: { actor?: Actor; decision?: Decision; enforcedEffect: Effect; approvalId?: string; error?: ActraError },
  ): DecisionEvent {
    const { decision, error } = outcome;
    const actionType = trace.action !== undefined && typeof trace.action.type === 'string' ? trace.action.type : '';
    const event: Record<string, unknown> = {
      decisionId: trace.decisionId,
      time: new Date(trace.time === UNTIMED ? this.#now() : trace.time).toISOString(),
      mode: trace.mode,
      action: { type: actionType, fields: this.#eventFields(trace.action) },
      enforcedEffect: outcome.enforcedEffect,
      policyHash: decision?.policyHash ?? this.policy.policyHash(),
      durationMs: trace.started === UNTIMED ? 0 : Math.round((performance.now() - trace.started) * 1000) / 1000,
      requestId: trace.requestId,
    };
    if (outcome.actor !== undefined) event['actorId'] = outcome.actor.id;
    if (decision !== undefined) {
      event['effect'] = decision.effect;
      if (decision.matchedRule !== undefined) event['rule'] = decision.matchedRule;
      if (decision.reason !== undefined) event['reason'] = decision.reason;
      if (decision.risk !== undefined) event['risk'] = decision.risk;
    }
    if (trace.route !== undefined) event['route'] = trace.route;
    if (trace.method !== undefined) event['method'] = trace.method;
    if (outcome.approvalId !== undefined) event['approvalId'] = outcome.approvalId;
    if (error !== undefined) {
      event['error'] = error instanceof ActraResolverError ? { code: error.code, source: error.source } : { code: error.code };
    }
    return Object.freeze(event) as unknown as DecisionEvent;
  }

  /** The action's schema-declared fields, redacted; undeclared fields and unknown actions show nothing. */
  #eventFields(action: ActionInput | undefined): Readonly<Record<string, unknown>> {
    const fields: Record<string, unknown> = {};
    if (action === undefined || typeof action.type !== 'string') return fields;
    const declared = this.policy.schema.actions.get(action.type);
    if (declared === undefined) return fields;
    for (const name of declared.keys()) {
      if (!Object.hasOwn(action, name)) continue;
      fields[name] = this.#redact.has(name) ? REDACTED : action[name];
    }
    return Object.freeze(fields);
  }
}

function result(trace: Trace, rest: Omit<CheckResult, 'decisionId' | 'mode' | 'requestId'>): CheckResult {
  return { decisionId: trace.decisionId, mode: trace.mode, requestId: trace.requestId, ...rest };
}

/** Opens through `openRequest` when the gate has it (an `Approvals` instance), to learn whether the approval is new. */
async function openApproval(gate: ApprovalGate, request: ApprovalRequest): Promise<{ record: ApprovalRecord; created?: boolean }> {
  const withCreated = gate as ApprovalGate & { openRequest?: (request: ApprovalRequest) => Promise<{ record: ApprovalRecord; created: boolean }> };
  if (typeof withCreated.openRequest === 'function') return withCreated.openRequest(request);
  return { record: await gate.open(request) };
}

function approvalOf(record: ApprovalRecord): NonNullable<CheckResult['approval']> {
  return { id: record.id, status: record.status, expiresAt: record.expiresAt };
}

const refusalMessages: Record<Exclude<ConsumeRefusal, 'pending'>, [ActraApprovalError['code'], string]> = {
  not_found: ['ACTRA_APPROVAL_NOT_FOUND', 'approval not found'],
  denied: ['ACTRA_APPROVAL_DENIED', 'approval was denied'],
  expired: ['ACTRA_APPROVAL_EXPIRED', 'approval expired'],
  consumed: ['ACTRA_APPROVAL_CONSUMED', 'approval was already used'],
  mismatch: ['ACTRA_APPROVAL_MISMATCH', 'approval was granted for another request'],
};

function refusalError(refusal: Exclude<ConsumeRefusal, 'pending'>): ActraApprovalError {
  const [code, message] = refusalMessages[refusal] ?? refusalMessages.not_found;
  return new ActraApprovalError(code as ConstructorParameters<typeof ActraApprovalError>[0], message);
}

/** Builds a wrapped call's action: the builder's fields (or the first argument's), typed `actionType`. */
function buildAction<A extends readonly unknown[]>(actionType: string, args: A, builder: ActionBuilder<A> | undefined, functionName: string): ActionInput {
  const fields = builder === undefined ? (isPlainRecord(args[0]) ? args[0] : {}) : builder(args, { actionType, functionName });
  if (!isPlainRecord(fields)) {
    throw new ActraInputError(`action builder for "${actionType}" returned ${describeKind(fields)}, not an object`);
  }
  return { ...fields, type: actionType };
}

/** True for what {@link checkActor} accepts. */
function isActor(actor: unknown): actor is Actor {
  return isPlainRecord(actor) && typeof actor['id'] === 'string' && actor['id'].length > 0;
}

function checkActor(actor: unknown): Actor {
  if (!isPlainRecord(actor)) {
    throw new ActraResolverError('ACTRA_RESOLVER_FAILED', 'actorResolver', `actor must be an object, got ${describeKind(actor)}`);
  }
  if (typeof actor['id'] !== 'string' || actor['id'].length === 0) {
    throw new ActraResolverError('ACTRA_RESOLVER_FAILED', 'actorResolver', 'actor must have a non-empty string id');
  }
  return actor as Actor;
}

function resolverFailed(cause: unknown): ActraError {
  if (cause instanceof ActraError) return cause;
  return new ActraResolverError('ACTRA_RESOLVER_FAILED', 'actorResolver', 'actor resolver failed', { cause });
}

function checkProvided(provided: unknown): Readonly<Record<string, unknown>> {
  if (!isPlainRecord(provided)) {
    throw new ActraResolverError('ACTRA_LOADER_FAILED', 'snapshotResolver', `snapshot resolver returned ${describeKind(provided)}, not an object`);
  }
  return provided;
}

function asActraError(caught: unknown, code: 'ACTRA_ENGINE' | 'ACTRA_RESOLVER_FAILED', message: string): ActraError {
  if (caught instanceof ActraError) return caught;
  if (code === 'ACTRA_RESOLVER_FAILED') return new ActraResolverError(code, 'actorResolver', message, { cause: caught });
  return new ActraError(code, message, { cause: caught });
}

function assertFunction(value: unknown, where: string): void {
  if (typeof value !== 'function') throw new ActraOptionsError(`${where}: expected a function, got ${describeKind(value)}`);
}

function safeReport(
  report: (error: unknown, event: DecisionEvent, observer: DecisionObserver) => void,
  error: unknown,
  event: DecisionEvent,
  observer: DecisionObserver,
): void {
  try {
    report(error, event, observer);
  } catch {
    // The error reporter itself failed; a decision must not depend on it.
  }
}

/** The default reporter: one process warning per failing observer, so a broken observer cannot flood stderr. */
function warnOncePerObserver(): (error: unknown, event: DecisionEvent, observer: DecisionObserver) => void {
  const warned = new WeakSet<DecisionObserver>();
  return function warnObserverFailed(_error, event, observer) {
    if (warned.has(observer)) return;
    warned.add(observer);
    // The observer's message may quote event data; name the decision only.
    process.emitWarning(`a decision observer failed for decision ${event.decisionId}`, { code: 'ACTRA_OBSERVER' });
  };
}


/** Reads the clock at call time (so a replaced global `Date` is honoured). */
function currentTime(): number {
  return Date.now();
}
