/** Snapshot loading: per action type, call exactly the loaders whose fields reachable rules read, concurrently, with timeouts. */
import { ActraOptionsError, ActraResolverError } from '../errors.js';
import type { ActionInput, Policy } from '../core/types.js';
import type { Actor, SnapshotLoader } from './types.js';

/** Which loaders one action type needs. Computed once per action type. */
export interface SnapshotPlan {
  /** The snapshot fields the rules reachable for the action can read. */
  readonly fields: readonly string[];
  /** The loaders declaring at least one of `fields`, in declaration order. */
  readonly loaders: readonly SnapshotLoader<never>[];
}

/** What a loader is called with, apart from its abort signal. */
export interface LoadScope<Ctx> {
  readonly action: ActionInput;
  readonly actor: Actor;
  readonly ctx: Ctx;
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
    const plan: SnapshotPlan = Object.freeze({ fields: Object.freeze(fields), loaders: Object.freeze(loaders) });
    this.#plans.set(key, plan);
    return plan;
  }

  /**
   * Loads the snapshot for one check. Fields in `provided` (from a whole-snapshot resolver) win;
   * a loader is skipped when every field it could contribute is provided already.
   * @throws ActraResolverError (`ACTRA_LOADER_FAILED`, `ACTRA_LOADER_TIMEOUT`) naming the loader.
   */
  async load<Ctx>(plan: SnapshotPlan, scope: LoadScope<Ctx>, provided?: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const snapshot: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    if (provided !== undefined) copyDeclared(snapshot, provided, plan.fields, undefined);
    const pending = plan.loaders.filter(function stillNeeded(loader) {
      return loader.fields.some(function missing(field) {
        return !Object.hasOwn(snapshot, field) && plan.fields.includes(field);
      });
    });
    if (pending.length === 0) return snapshot;

    const controllers = pending.map(function makeController() {
      return new AbortController();
    });
    const defaultTimeoutMs = this.#defaultTimeoutMs;
    try {
      const results = await Promise.all(
        pending.map(function startLoader(loader, index) {
          const controller = controllers[index] as AbortController;
          return runLoader(loader as SnapshotLoader<Ctx>, scope, controller, loader.timeoutMs ?? defaultTimeoutMs);
        }),
      );
      for (const [index, result] of results.entries()) {
        const loader = pending[index] as SnapshotLoader<never>;
        copyDeclared(snapshot, result, loader.fields.filter(isPlanned, plan.fields), snapshot);
      }
      return snapshot;
    } catch (error) {
      for (const controller of controllers) controller.abort();
      throw error;
    }
  }
}

/**
 * Runs a value-producing step with a timeout and an abort signal; wraps its failures.
 * @throws ActraResolverError with `timeoutCode` after `timeoutMs`, or `failCode` when `run` throws.
 */
export async function withTimeout<T>(
  source: string,
  timeoutMs: number,
  controller: AbortController,
  run: (signal: AbortSignal) => T | Promise<T>,
  describe: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>(function armTimer(_resolve, reject) {
    timer = setTimeout(function onTimeout() {
      const error = new ActraResolverError('ACTRA_LOADER_TIMEOUT', source, `${describe} timed out after ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const running = (async function invoke() {
    try {
      return await run(controller.signal);
    } catch (cause) {
      // The loader's own message may quote the data it was loading: keep it only as `cause`.
      throw new ActraResolverError('ACTRA_LOADER_FAILED', source, `${describe} failed`, { cause });
    }
  })();
  try {
    return await Promise.race([running, timedOut]);
  } finally {
    clearTimeout(timer);
    // The losing promise must not surface as an unhandled rejection.
    running.catch(ignore);
    timedOut.catch(ignore);
  }
}

async function runLoader<Ctx>(loader: SnapshotLoader<Ctx>, scope: LoadScope<Ctx>, controller: AbortController, timeoutMs: number): Promise<Readonly<Record<string, unknown>>> {
  const describe = `snapshot loader "${loader.name}"`;
  const value = await withTimeout(loader.name, timeoutMs, controller, function callLoader(signal) {
    return loader.load({ action: scope.action, actor: scope.actor, ctx: scope.ctx, signal });
  }, describe);
  if (!isPlainRecord(value)) {
    throw new ActraResolverError('ACTRA_LOADER_FAILED', loader.name, `${describe} returned ${describeKind(value)}, not an object`);
  }
  return value;
}

/** Copies own properties named in `fields` from `source`; skips any already present in `keep`. */
function copyDeclared(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>, fields: readonly string[], keep: Record<string, unknown> | undefined): void {
  for (const field of fields) {
    if (keep !== undefined && Object.hasOwn(keep, field)) continue;
    if (Object.hasOwn(source, field)) target[field] = source[field];
  }
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

/** `this` is the plan's field list: a loader's other fields are not needed for this action. */
function isPlanned(this: readonly string[], field: string): boolean {
  return this.includes(field);
}
