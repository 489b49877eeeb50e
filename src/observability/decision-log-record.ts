/** The decision log's record: its shape, how a decision becomes one, redaction, the shared write-failure warning. */
import { z } from 'zod';
import type { Effect, EvaluationInput } from '../core/types.js';
import type { DecisionDetail, DecisionEvent, DecisionObserver, Mode } from '../runtime/types.js';

/** The value written in place of a redacted field. Replay never evaluates a rule over it (see `actra replay`). */
export const REDACTED = '[redacted]';

/** Version of the record format; written as `v` on every record. */
export const DECISION_LOG_VERSION = 1;

/** One recorded decision, as written to the log (a JSON line, or a row of the SQLite table). */
export interface DecisionLogRecord {
  readonly v: 1;
  readonly decisionId: string;
  /** ISO 8601. */
  readonly time: string;
  readonly mode: Mode;
  readonly policyHash: string;
  /** What the policy said; absent when the decision failed (see `error`). */
  readonly effect?: Effect;
  readonly enforcedEffect: Effect;
  readonly rule?: string;
  readonly reason?: string;
  readonly route?: string;
  readonly method?: string;
  readonly requestId?: string;
  readonly actorId?: string;
  readonly approvalId?: string;
  /** The error code when the decision failed (loader, input, store). */
  readonly error?: string;
  /** Paths replaced by {@link REDACTED} in `input`, e.g. `['actor.email']`. */
  readonly redacted?: readonly string[];
  /** The evaluation input; absent when the decision failed before the policy could be evaluated. */
  readonly input?: EvaluationInput;
}

/** A decision observer that writes to a log, and can be closed. */
export interface DecisionLog extends DecisionObserver {
  /** Flushes and releases the file or database the log opened itself. Idempotent. */
  close(): Promise<void>;
  /** Number of records written since the log was created. */
  readonly written: number;
}

const domainPath = /^(action|actor|snapshot)\.[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/;

/** Zod schema of a redaction path list (shared with the SQLite log). */
export const redactPathsSchema = z
  .array(
    z
      .string()
      .regex(domainPath, 'must be "<action|actor|snapshot>.<field>[.<field>...]"')
      .refine((p) => p !== 'action.type', 'action.type cannot be redacted: replay needs it'),
  )
  .optional();

/** Builds the record for one decision: the event's fields plus the (redacted) input. */
export function toDecisionLogRecord(event: DecisionEvent, detail: DecisionDetail | undefined, redact: readonly string[]): DecisionLogRecord {
  const record: Record<string, unknown> = {
    v: DECISION_LOG_VERSION,
    decisionId: event.decisionId,
    time: event.time,
    mode: event.mode,
    policyHash: event.policyHash,
    effect: event.effect,
    enforcedEffect: event.enforcedEffect,
    rule: event.rule,
    reason: event.reason,
    route: event.route,
    method: event.method,
    requestId: event.requestId,
    actorId: event.actorId,
    approvalId: event.approvalId,
    error: event.error?.code,
  };
  const input = detail?.input;
  if (input !== undefined) {
    const copy = { action: { ...input.action }, actor: { ...input.actor }, snapshot: { ...input.snapshot } };
    const done = redact.length > 0 ? redactInput(copy, redact) : [];
    if (done.length > 0) record.redacted = done;
    record.input = copy;
  }
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record as unknown as DecisionLogRecord;
}

/** Replaces each present path by the marker, copying nested objects on the way; returns the paths replaced. */
function redactInput(input: Record<string, Record<string, unknown>>, paths: readonly string[]): string[] {
  const replaced: string[] = [];
  for (const path of paths) {
    const [domain, ...keys] = path.split('.');
    let holder = input[domain as string];
    for (let i = 0; holder !== undefined && i < keys.length - 1; i++) {
      const key = keys[i] as string;
      const next = Object.hasOwn(holder, key) ? holder[key] : undefined;
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        holder = undefined;
        break;
      }
      const copy = { ...(next as Record<string, unknown>) };
      holder[key] = copy;
      holder = copy;
    }
    const last = keys[keys.length - 1] as string;
    if (holder !== undefined && Object.hasOwn(holder, last)) {
      holder[last] = REDACTED;
      replaced.push(path);
    }
  }
  return replaced;
}

/** The default `onError`: one process warning per log, naming the error code only. */
export function warnOnce(name: string): (error: unknown) => void {
  let warned = false;
  return function warnDecisionLogFailure(error: unknown) {
    if (warned) return;
    warned = true;
    const code = error !== null && typeof error === 'object' && 'code' in error ? String((error as { code: unknown }).code) : 'unknown';
    process.emitWarning(`${name}: a decision could not be written (${code}); further failures are not reported`, 'ActraDecisionLogWarning');
  };
}


/**
 * Wraps a record writer into a `DecisionLog`: counts writes, isolates every failure (the writer's
 * and the error handler's) from the decision, and closes once.
 */
export function decisionLogObserver(
  name: string,
  redact: readonly string[],
  onError: (error: unknown) => void,
  write: (record: DecisionLogRecord) => void,
  close: () => void,
): DecisionLog {
  let open = true;
  let written = 0;
  const log = {
    [name](event: DecisionEvent, detail: DecisionDetail): void {
      if (!open) return;
      try {
        write(toDecisionLogRecord(event, detail, redact));
        written++;
      } catch (error) {
        try {
          onError(error);
        } catch {
          // an error handler that throws must not reach the decision either
        }
      }
    },
  }[name] as DecisionLog;
  Object.defineProperty(log, 'written', { get: () => written, enumerable: true });
  Object.defineProperty(log, 'close', {
    enumerable: true,
    value: async function closeDecisionLog(): Promise<void> {
      if (!open) return;
      open = false;
      close();
    },
  });
  return log;
}
