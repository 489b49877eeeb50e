/** Snapshot loading: per action type, call exactly the loaders whose fields reachable rules read, concurrently, with timeouts. */
import { ActraOptionsError, ActraResolverError } from '../errors.js';
import type { ActionInput, Policy } from '../core/types.js';
import { inheritedName } from '../core/compile.js';
import { codegen } from '../core/codegen.js';
import type { Actor, SnapshotLoader } from './types.js';

/** Which loaders one action type needs. Computed once per action type. */
export interface SnapshotPlan {
  /** The snapshot fields the rules reachable for the action can read. */
  readonly fields: readonly string[];
  /** The loaders declaring at least one of `fields`, in declaration order. */
  readonly loaders: readonly SnapshotLoader<never>[];
  /** Per loader, in the same order: the fields it declares that the plan reads (each field has one loader). */
  readonly copies: readonly (readonly string[])[];
  /** Per loader, in the same order: copies those fields from what it returned (see {@link fieldCopier}). */
  readonly copiers: readonly FieldCopier[];
  /**
   * True when a field is a name plain objects inherit (`__proto__`, `constructor`, …): the snapshot
   * is then built without a prototype, so that writing such a field sets an own property. Otherwise
   * it is a plain object, which V8 keeps in fast mode (an object without a prototype is a hash table).
   */
  readonly nullPrototype: boolean;
}

/** The plan key shared by every action type the schema does not declare. */
const UNDECLARED = Symbol('undeclared action type');

/**
 * Checks loaders against the policy's snapshot schema.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) when a loader has no name or fields, declares a field
 *   the schema does not have, or declares a field another loader already declares.
 */
export function validateLoaders(policy: Pick<Policy, 'schema'>, loaders: readonly SnapshotLoader<never>[]): void {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  for (const [index, loader] of loaders.entries()) {
    if (typeof loader !== 'object' || loader === null || typeof loader.load !== 'function') {
      throw new ActraOptionsError(`loaders[${index}] must be an object with a load() function`);
    }
    if (typeof loader.name !== 'string' || loader.name.length === 0) {
      throw new ActraOptionsError(`loaders[${index}].name must be a non-empty string`);
    }
    if (names.has(loader.name)) throw new ActraOptionsError(`loaders: two loaders are named "${loader.name}"`);
    names.add(loader.name);
    if (!Array.isArray(loader.fields) || loader.fields.length === 0) {
      throw new ActraOptionsError(`loader "${loader.name}": fields must be a non-empty array of snapshot field names`);
    }
    if (loader.timeoutMs !== undefined && !(Number.isInteger(loader.timeoutMs) && loader.timeoutMs > 0)) {
      throw new ActraOptionsError(`loader "${loader.name}": timeoutMs must be a positive integer`);
    }
    for (const field of loader.fields) {
      if (typeof field !== 'string' || !policy.schema.snapshot.has(field)) {
        throw new ActraOptionsError(`loader "${loader.name}": snapshot field "${String(field)}" is not declared in the schema`);
      }
      const previous = owner.get(field);
      if (previous !== undefined) {
        throw new ActraOptionsError(`loaders "${previous}" and "${loader.name}" both declare snapshot field "${field}"`);
      }
      owner.set(field, loader.name);
    }
  }
}

/** Plans and runs snapshot loaders for one policy. */
export class SnapshotLoading {
  readonly #policy: Policy;
  readonly #loaders: readonly SnapshotLoader<never>[];
  readonly #defaultTimeoutMs: number;
  readonly #plans = new Map<string | typeof UNDECLARED, SnapshotPlan>();

  constructor(policy: Policy, loaders: readonly SnapshotLoader<never>[], defaultTimeoutMs: number) {
    validateLoaders(policy, loaders);
    this.#policy = policy;
    this.#loaders = loaders;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /**
   * The loaders to call for `actionType`, computed once and cached. Action types the schema does
   * not declare share one plan (what global and actor-scoped rules read), so junk types cannot
   * grow the cache.
   */
  plan(actionType: string): SnapshotPlan {
    // Declared types are kept under their own name: a known type takes one lookup.
    return this.#plans.get(actionType) ?? this.#newPlan(actionType);
  }

  #newPlan(actionType: string): SnapshotPlan {
    const key = this.#policy.hasAction(actionType) ? actionType : UNDECLARED;
    const cached = this.#plans.get(key);
    if (cached !== undefined) return cached;
    const fields = [...this.#policy.readsFor(actionType).snapshot];
    const wanted = new Set(fields);
    const loaders = this.#loaders.filter(function readsAny(loader) {
      return loader.fields.some(function isWanted(field) {
        return wanted.has(field);
      });
    });
    const copies = loaders.map(function planned(loader) {
      return Object.freeze(loader.fields.filter(function isWanted(field) {
        return wanted.has(field);
      }));
    });
    const nullPrototype = fields.some(inheritedName);
    const copiers = Object.freeze(copies.map(fieldCopier));
    const plan: SnapshotPlan = Object.freeze({ fields: Object.freeze(fields), loaders: Object.freeze(loaders), copies: Object.freeze(copies), copiers, nullPrototype });
    this.#plans.set(key, plan);
    return plan;
  }

  /**
   * Loads the snapshot for one check. Fields in `provided` (from a whole-snapshot resolver) win;
   * a loader is skipped when every field it could contribute is provided already. Returns the
   * snapshot itself (no promise, no timer, no abort controller) when every loader returns synchronously.
   * @throws ActraResolverError (`ACTRA_LOADER_FAILED`, `ACTRA_LOADER_TIMEOUT`) naming the loader.
   */
  load<Ctx>(plan: SnapshotPlan, action: ActionInput, actor: Actor, ctx: Ctx, provided?: Readonly<Record<string, unknown>>): Record<string, unknown> | Promise<Record<string, unknown>> {
    const snapshot: Record<string, unknown> = plan.nullPrototype ? (Object.create(null) as Record<string, unknown>) : {};
    if (provided !== undefined) return this.#loadMissing(plan, snapshot, provided, action, actor, ctx);
    return this.#loadAll(plan.loaders, plan.copiers, snapshot, action, actor, ctx);
  }

  /** `load` with a resolver's fields in `provided`: only the loaders of fields still missing run. */
  #loadMissing<Ctx>(plan: SnapshotPlan, snapshot: Record<string, unknown>, provided: Readonly<Record<string, unknown>>, action: ActionInput, actor: Actor, ctx: Ctx): Record<string, unknown> | Promise<Record<string, unknown>> {
    copyFields(snapshot, provided, plan.fields);
    const loaders: SnapshotLoader<never>[] = [];
    const copiers: FieldCopier[] = [];
    plan.loaders.forEach(function stillNeeded(loader, index) {
      const missing = (plan.copies[index] as readonly string[]).filter(function missing(field) {
        return !Object.hasOwn(snapshot, field);
      });
      if (missing.length === 0) return;
      loaders.push(loader);
      copiers.push(function copyMissing(target, source) {
        copyFields(target, source, missing);
      });
    });
    return this.#loadAll(loaders, copiers, snapshot, action, actor, ctx);
  }

  /** Starts every loader first (they run concurrently), then looks at what each returned. */
  #loadAll<Ctx>(loaders: readonly SnapshotLoader<never>[], copiers: readonly FieldCopier[], snapshot: Record<string, unknown>, action: ActionInput, actor: Actor, ctx: Ctx): Record<string, unknown> | Promise<Record<string, unknown>> {
    const count = loaders.length;
    if (count === 0) return snapshot;
    const calls = new Array<LoaderCall<Ctx>>(count);
    const values = new Array<unknown>(count);
    let failure: ActraResolverError | undefined;
    let async = false;
    for (let index = 0; index < count; index++) {
      const loader = loaders[index] as SnapshotLoader<Ctx>;
      const call = new LoaderCall(action, actor, ctx);
      calls[index] = call;
      try {
        const value = loader.load(call);
        values[index] = value;
        if (isThenable(value)) async = true;
      } catch (cause) {
        failure ??= loaderFailed(loader.name, cause);
      }
    }
    if (failure === undefined && !async) {
      for (let index = 0; index < count; index++) {
        const value = values[index];
        if (!isPlainRecord(value)) {
          failure = notAnObject((loaders[index] as SnapshotLoader<never>).name, value);
          break;
        }
        (copiers[index] as FieldCopier)(snapshot, value);
      }
      if (failure === undefined) return snapshot;
    }
    if (failure !== undefined) {
      abortAll(calls, values, failure);
      throw failure;
    }
    return this.#settle(loaders, copiers, snapshot, calls, values);
  }

  /** Waits for the loaders that returned promises (each with its timeout), then copies every loader's fields. */
  #settle<Ctx>(loaders: readonly SnapshotLoader<never>[], copiers: readonly FieldCopier[], snapshot: Record<string, unknown>, calls: readonly LoaderCall<Ctx>[], values: readonly unknown[]): Promise<Record<string, unknown>> {
    const defaultTimeoutMs = this.#defaultTimeoutMs;
    const settling = values.map(function settleLoader(value, index) {
      const loader = loaders[index] as SnapshotLoader<never>;
      const source = loader.name;
      if (!isThenable(value)) return isPlainRecord(value) ? value : Promise.reject(notAnObject(source, value));
      return settle(value, loader.timeoutMs ?? defaultTimeoutMs, calls[index], source, `snapshot loader "${source}"`).then(function checkLoaded(loaded) {
        if (!isPlainRecord(loaded)) throw notAnObject(source, loaded);
        return loaded;
      });
    });
    return Promise.all(settling).then(
      function copyAll(results) {
        results.forEach(function copyOne(result, index) {
          (copiers[index] as FieldCopier)(snapshot, result);
        });
        return snapshot;
      },
      function abortOthers(error: unknown) {
        for (const call of calls) call.abort(error);
        throw error;
      },
    );
  }
}

/**
 * What a loader is called with. The abort signal is created only when the loader reads it, so a
 * synchronous loader costs no `AbortController`; a signal first read after the call was aborted
 * is aborted already.
 */
class LoaderCall<Ctx> {
  readonly action: ActionInput;
  readonly actor: Actor;
  readonly ctx: Ctx;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(action: ActionInput, actor: Actor, ctx: Ctx) {
    this.action = action;
    this.actor = actor;
    this.ctx = ctx;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** Aborts every started call and keeps the others' rejections from surfacing as unhandled. */
function abortAll(calls: readonly ({ abort(reason: unknown): void } | undefined)[], values: readonly unknown[], reason: unknown): void {
  for (const call of calls) call?.abort(reason);
  for (const value of values) if (isThenable(value)) Promise.resolve(value).catch(ignore);
}

/**
 * Waits for a step's promise with a timeout (one timer, no race of promises); wraps its failures.
 * On timeout, `call` is aborted with the timeout error.
 */
function settle<T>(value: PromiseLike<T>, timeoutMs: number, call: { abort(reason: unknown): void } | undefined, source: string, describe: string): Promise<T> {
  return new Promise<T>(function waitForStep(resolve, reject) {
    const timer = setTimeout(function onTimeout() {
      const error = new ActraResolverError('ACTRA_LOADER_TIMEOUT', source, `${describe} timed out after ${timeoutMs} ms`);
      call?.abort(error);
      reject(error);
    }, timeoutMs);
    Promise.resolve(value).then(
      function stepDone(result) {
        clearTimeout(timer);
        resolve(result);
      },
      function stepFailed(cause: unknown) {
        clearTimeout(timer);
        // The step's own message may quote the data it was loading: keep it only as `cause`.
        reject(new ActraResolverError('ACTRA_LOADER_FAILED', source, `${describe} failed`, { cause }));
      },
    );
  });
}

/**
 * Runs a value-producing step with a timeout; wraps its failures. Returns the value itself when
 * `run` returns synchronously (no timer is armed then).
 * @throws ActraResolverError with `ACTRA_LOADER_TIMEOUT` after `timeoutMs`, or `ACTRA_LOADER_FAILED` when `run` throws.
 */
export function withTimeout<T>(source: string, timeoutMs: number, run: () => T | PromiseLike<T>, describe: string): T | Promise<T> {
  let value: T | PromiseLike<T>;
  try {
    value = run();
  } catch (cause) {
    throw new ActraResolverError('ACTRA_LOADER_FAILED', source, `${describe} failed`, { cause });
  }
  if (!isThenable(value)) return value;
  return settle(value, timeoutMs, undefined, source, describe);
}

function loaderFailed(name: string, cause: unknown): ActraResolverError {
  // The loader's own message may quote the data it was loading: keep it only as `cause`.
  return new ActraResolverError('ACTRA_LOADER_FAILED', name, `snapshot loader "${name}" failed`, { cause });
}

function notAnObject(name: string, value: unknown): ActraResolverError {
  return new ActraResolverError('ACTRA_LOADER_FAILED', name, `snapshot loader "${name}" returned ${describeKind(value)}, not an object`);
}

/** Copies some own properties of `source` onto `target`. */
export type FieldCopier = (target: Record<string, unknown>, source: Readonly<Record<string, unknown>>) => void;

/**
 * The copier of one loader's planned fields: a generated function that names each field as a
 * literal (a keyed access with a variable name goes generic once a server reads many names through
 * it), or, where code generation is disabled, {@link copyFields} over the list. A literal
 * `__proto__` reads and writes the same own property as a keyed access: the read is guarded by
 * `hasOwn`, and the target of such a field has no prototype (`SnapshotPlan.nullPrototype`).
 */
export function fieldCopier(fields: readonly string[]): FieldCopier {
  if (!codegen.enabled) {
    return function copyListed(target, source) {
      copyFields(target, source, fields);
    };
  }
  const lines = fields.map(function copyLine(field) {
    const key = JSON.stringify(field);
    return `  if (hasOwn(s, ${key})) t[${key}] = s[${key}];`;
  });
  const source = `"use strict";\nreturn function actraCopyFields(t, s) {\n${lines.join('\n')}\n};`;
  return (new Function('hasOwn', source) as (hasOwn: typeof Object.hasOwn) => FieldCopier)(Object.hasOwn);
}

/** Copies the own properties of `source` named in `fields`. */
function copyFields(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>, fields: readonly string[]): void {
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index] as string;
    if (Object.hasOwn(source, field)) target[field] = source[field];
  }
}

/**
 * True for a native promise: how the pipeline tells its own steps' asynchronous answers (always
 * native promises) from their values. Values from user code (resolvers, loaders) may be any
 * thenable and go through {@link isThenable} instead. `instanceof` reads no property of `value`,
 * where the `then` read of `isThenable`, shared by every caller, sees so many kinds of object under
 * a server that V8 falls back to a generic (megamorphic) lookup for it.
 */
export function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/** True for a promise or any other thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** An object that is not an array, a function or null. */
export function isPlainRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names a value's kind for an error message without showing the value. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function ignore(): void {}
