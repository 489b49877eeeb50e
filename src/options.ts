/** Option parsing shared by every factory: zod schemas whose failures become `ActraOptionsError`. */
import { z } from 'zod';
import { ActraOptionsError } from './errors.js';

/** A zod schema accepting any function (zod 4 has no function schema for plain values). */
export function fn<T>(what = 'a function'): z.ZodType<T> {
  return z.custom<T>(function isFunction(value) {
    return typeof value === 'function';
  }, { message: `must be ${what}` });
}

/**
 * Parses `value` with `schema`, or throws naming the first offending option and why. Zod's messages
 * say what was expected and never echo the value given (options may hold secrets).
 * @throws ActraOptionsError (`ACTRA_OPTIONS`)
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, owner: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? '' : ` "${issue.path.map(String).join('.')}"`;
  const message = issue === undefined ? 'invalid' : issue.message;
  throw new ActraOptionsError(`${owner}: option${path} ${message}`);
}
