/** A decision observer writing one structured log line per decision to a pino-compatible logger. */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { fn, parseOptions } from '../options.js';
import type { DecisionEvent, DecisionObserver } from '../runtime/types.js';

/** The slice of a pino (or bunyan-style) logger the log observer uses. */
export interface StructuredLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  debug?(object: object, message?: string): void;
}

/** A log level the observer may use. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * How the log observer writes the actor: `ref` (default) a keyed pseudonym `actorRef`, `plain` the
 * actor id itself as `actorId`, `omit` nothing.
 */
export type ActorIdLogging = 'ref' | 'plain' | 'omit';

/** Options of {@link logObserver}. */
export interface LogObserverOptions {
  /** The log message (`actra decision`). */
  readonly message?: string;
  /** The key the event is nested under, so it never collides with the logger's own keys (`decision`). */
  readonly key?: string;
  /** Level per outcome. Defaults: allow and require_approval → info, block → warn, a failure → error. */
  readonly levels?: Partial<Record<'allow' | 'block' | 'require_approval' | 'error', LogLevel>>;
  /** Log the action fields (already redacted by the runtime's `redact` option). Default true. */
  readonly includeFields?: boolean;
  /**
   * How the actor appears (default `ref`). An actor id is often a claim (a JWT's `sub`), so the plain
   * id is only written with `'plain'`, an explicit opt-in.
   * - `ref`: `actorRef`, the first 16 bytes of HMAC-SHA-256(`actorRefKey`, actor id), base64url (22 characters);
   * - `plain`: `actorId`, the id as is;
   * - `omit`: neither.
   */
  readonly actorId?: ActorIdLogging;
  /**
   * The HMAC key of `actorRef` (string or bytes, at least 32 bytes). The same key gives the same
   * ref across processes and restarts. Without it, a random key is drawn once per process: refs
   * then correlate lines of one process only. Only with `actorId: 'ref'`.
   */
  readonly actorRefKey?: string | Uint8Array;
}

/** Bytes of the HMAC kept in `actorRef`: 128 bits, 22 base64url characters. */
const REF_BYTES = 16;
const MIN_KEY_BYTES = 32;
/** Refs remembered per observer, so a busy actor costs one HMAC, not one per decision. */
const REF_CACHE_SIZE = 1024;

const level = z.enum(['debug', 'info', 'warn', 'error']);
const refKey = z.union([z.string(), z.instanceof(Uint8Array)], { message: 'must be a string or a Uint8Array' }).refine(function longEnough(key) {
  return (typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength) >= MIN_KEY_BYTES;
}, `must be at least ${MIN_KEY_BYTES} bytes`);
const optionsSchema = z
  .object({
    message: z.string().min(1).default('actra decision'),
    key: z.string().min(1).default('decision'),
    levels: z.object({ allow: level, block: level, require_approval: level, error: level }).partial().strict().default({}),
    includeFields: z.boolean().default(true),
    actorId: z.enum(['ref', 'plain', 'omit'], { message: "must be 'ref', 'plain' or 'omit'" }).default('ref'),
    actorRefKey: refKey.optional(),
  })
  .strict()
  .superRefine(function keyOnlyWithRefs(options, context) {
    if (options.actorRefKey !== undefined && options.actorId !== 'ref') {
      context.addIssue({ code: 'custom', path: ['actorRefKey'], message: "only applies with actorId: 'ref'" });
    }
  });

const loggerSchema = z.looseObject({
  info: fn<StructuredLogger['info']>(),
  warn: fn<StructuredLogger['warn']>(),
  error: fn<StructuredLogger['error']>(),
});

let processKey: Buffer | undefined;

/** The key used when `actorRefKey` is not given: random, drawn once per process, never written anywhere. */
function processRefKey(): Buffer {
  processKey ??= randomBytes(MIN_KEY_BYTES);
  return processKey;
}

/**
 * Logs every decision event as one structured line: `{ decision: { decisionId, time, mode, action,
 * actorRef, effect, enforcedEffect, rule, reason, risk, policyHash, durationMs, route, method,
 * requestId, approvalId, error } }` (fields absent from the event are left out). The level follows
 * what the policy said (a block seen in monitor mode still logs at `warn`).
 *
 * What reaches the log: the action type and the action fields the schema declares, after the
 * runtime's `redact` (or only the type, with `includeFields: false`); the actor as a keyed
 * pseudonym (see `actorId`); the rule's id, reason code and risk; the route pattern, method and
 * request id; on a failure, the error code and the loader's name. Never the decision detail: no
 * token, no claim and no snapshot value, and no error message.
 *
 * @param logger a pino-compatible logger (`info`, `warn`, `error`, optionally `debug`).
 * @param options see {@link LogObserverOptions}.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) when `logger` lacks info/warn/error or an option is
 *   invalid (the message names the option and never echoes its value).
 * @example
 * ```ts
 * import pino from 'pino';
 * runtime.addDecisionObserver(logObserver(pino(), { actorRefKey: process.env.ACTRA_LOG_KEY }));
 * ```
 */
export function logObserver(logger: StructuredLogger, options?: LogObserverOptions): DecisionObserver {
  parseOptions(loggerSchema, logger ?? null, 'logObserver (logger)');
  const parsed = parseOptions(optionsSchema, options, 'logObserver');
  const levels: Record<'allow' | 'block' | 'require_approval' | 'error', LogLevel> = {
    allow: parsed.levels.allow ?? 'info',
    block: parsed.levels.block ?? 'warn',
    require_approval: parsed.levels.require_approval ?? 'info',
    error: parsed.levels.error ?? 'error',
  };
  const { key, message, includeFields, actorId } = parsed;
  const refOf = actorId === 'ref' ? actorRefs(parsed.actorRefKey === undefined ? processRefKey() : Buffer.from(parsed.actorRefKey)) : undefined;

  return function logDecision(event: DecisionEvent): void {
    const outcome = event.error !== undefined ? 'error' : (event.effect ?? event.enforcedEffect);
    // Built field by field, never spread: a field added to the event later is not logged until it is vetted here.
    const entry: Record<string, unknown> = {
      decisionId: event.decisionId,
      time: event.time,
      mode: event.mode,
      action: includeFields ? { type: event.action.type, fields: event.action.fields } : { type: event.action.type },
    };
    if (event.actorId !== undefined) {
      if (refOf !== undefined) entry['actorRef'] = refOf(event.actorId);
      else if (actorId === 'plain') entry['actorId'] = event.actorId;
    }
    if (event.effect !== undefined) entry['effect'] = event.effect;
    entry['enforcedEffect'] = event.enforcedEffect;
    if (event.rule !== undefined) entry['rule'] = event.rule;
    if (event.reason !== undefined) entry['reason'] = event.reason;
    if (event.risk !== undefined) entry['risk'] = event.risk;
    entry['policyHash'] = event.policyHash;
    entry['durationMs'] = event.durationMs;
    if (event.route !== undefined) entry['route'] = event.route;
    if (event.method !== undefined) entry['method'] = event.method;
    if (event.requestId !== undefined) entry['requestId'] = event.requestId;
    if (event.approvalId !== undefined) entry['approvalId'] = event.approvalId;
    if (event.error !== undefined) entry['error'] = event.error.source === undefined ? { code: event.error.code } : { code: event.error.code, source: event.error.source };
    const line = { [key]: entry };
    const chosen = levels[outcome];
    if (chosen === 'debug') {
      if (typeof logger.debug === 'function') logger.debug(line, message);
      return;
    }
    logger[chosen](line, message);
  };
}

/** `actorRef` for one key: HMAC-SHA-256 truncated to {@link REF_BYTES}, base64url; recent refs cached. */
function actorRefs(key: Buffer): (actorId: string) => string {
  const cache = new Map<string, string>();
  return function actorRef(actorId) {
    let ref = cache.get(actorId);
    if (ref === undefined) {
      ref = createHmac('sha256', key).update(actorId, 'utf8').digest().subarray(0, REF_BYTES).toString('base64url');
      if (cache.size >= REF_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(actorId, ref);
    }
    return ref;
  };
}
