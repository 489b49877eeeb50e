/** Route-level guards (`guard()`, `@Guard`): declared before the middleware exists, compiled once per middleware. */
import { ACTRA_GUARD, type ActraHttp, type CompiledGuard } from './handle.js';
import type { RouteGuardOptions } from './options.js';

/** What a `guard()` handler or a `@Guard` method carries under `ACTRA_GUARD`. */
export interface DeferredGuard {
  /** The action type given to `guard()`. */
  readonly action: string;
  /**
   * The guard compiled for `http`, compiled on the first call; later calls give the same guard or
   * throw the same error, so a bad guard costs one compilation however many requests reach it.
   * @throws ActraOptionsError (`ACTRA_OPTIONS`) when the action or a mapped field is not declared.
   */
  compile(http: ActraHttp): CompiledGuard;
}

/**
 * A guard for `action`, compiled when an adapter first needs it: at start-up where the framework
 * shows its routes (Fastify `onRoute`, Hono `report(app)`, Express's first request), else on the
 * first request that reaches it.
 */
export function deferGuard(action: string, options: RouteGuardOptions = {}): DeferredGuard {
  const compiled = new WeakMap<ActraHttp, CompiledGuard | { readonly failed: unknown }>();
  return {
    action,
    compile: function compileFor(http) {
      let guard = compiled.get(http);
      if (guard === undefined) {
        try {
          guard = http.compileGuard(action, options);
        } catch (error) {
          guard = { failed: error };
        }
        compiled.set(http, guard);
      }
      if ('failed' in guard) throw guard.failed;
      return guard;
    },
  };
}

/** The deferred guard a route handler carries (`guard()`, a `@Guard` method), if any. */
export function guardOf(handler: unknown): DeferredGuard | undefined {
  if (typeof handler !== 'function') return undefined;
  const guard = (handler as { [ACTRA_GUARD]?: unknown })[ACTRA_GUARD];
  return typeof guard === 'object' && guard !== null && typeof (guard as DeferredGuard).compile === 'function' ? (guard as DeferredGuard) : undefined;
}

/**
 * Compiles the guards among `handlers` for `http` now, so that a bad one is found at start-up.
 * @param onError told of each guard that fails; without it the first failure is thrown.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) naming the guard, when `onError` is not given.
 */
export function compileGuards(http: ActraHttp, handlers: Iterable<unknown>, onError?: (error: unknown) => void): void {
  for (const handler of handlers) {
    const guard = guardOf(handler);
    if (guard === undefined) continue;
    try {
      guard.compile(http);
    } catch (error) {
      if (onError === undefined) throw error;
      onError(error);
    }
  }
}
