/** A decision observer writing one structured log line per decision to a pino-compatible logger. */
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
}

const level = z.enum(['debug', 'info', 'warn', 'error']);
const optionsSchema = z
  .object({
    message: z.string().min(1).default('actra decision'),
    key: z.string().min(1).default('decision'),
    levels: z.object({ allow: level, block: level, require_approval: level, error: level }).partial().strict().default({}),
    includeFields: z.boolean().default(true),
  })
  .strict();

const loggerSchema = z.looseObject({
  info: fn<StructuredLogger['info']>(),
  warn: fn<StructuredLogger['warn']>(),
  error: fn<StructuredLogger['error']>(),
});

/**
 * Logs every decision event as one structured line: `{ decision: { decisionId, mode, action,
 * actorId, effect, enforcedEffect, rule, reason, … } }`. The level follows what the policy said
 * (a block seen in monitor mode still logs at `warn`). Never logs the decision detail: no claim and
 * no snapshot value reaches the log.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) when `logger` lacks info/warn/error or an option is invalid.
 * @example
 * ```ts
 * import pino from 'pino';
 * runtime.addDecisionObserver(logObserver(pino()));
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
  const { key, message, includeFields } = parsed;

  return function logDecision(event: DecisionEvent): void {
    const outcome = event.error !== undefined ? 'error' : (event.effect ?? event.enforcedEffect);
    const line = { [key]: includeFields ? event : { ...event, action: { type: event.action.type } } };
    const chosen = levels[outcome];
    if (chosen === 'debug') {
      if (typeof logger.debug === 'function') logger.debug(line, message);
      return;
    }
    logger[chosen](line, message);
  };
}
