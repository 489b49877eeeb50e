/** Append-only decision log: one JSON line per decision, with the full input, for `actra replay`. */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ActraOptionsError } from '../errors.js';
import { fn, parseOptions } from '../options.js';
import { decisionLogObserver, redactPathsSchema, warnOnce, type DecisionLog } from './decision-log-record.js';

export { REDACTED, DECISION_LOG_VERSION, toDecisionLogRecord, type DecisionLog, type DecisionLogRecord } from './decision-log-record.js';

const jsonlOptionsSchema = z
  .object({
    path: z.string().min(1),
    redact: redactPathsSchema,
    fsync: z.boolean().optional(),
    onError: fn<(error: unknown) => void>().optional(),
  })
  .strict();

/** Options of {@link jsonlDecisionLog}. */
export interface JsonlDecisionLogOptions {
  /** The log file; created (with its directory) when missing, appended to otherwise. */
  readonly path: string;
  /**
   * Input paths to replace by {@link REDACTED} before writing, e.g. `['actor.email', 'snapshot.iban']`.
   * `action.type` cannot be redacted.
   */
  readonly redact?: readonly string[];
  /** Call `fsync` after every record: survives a power loss, at the cost of one disk flush per decision. Default false. */
  readonly fsync?: boolean;
  /** Called when a record cannot be written. The decision is never affected. Default: one process warning. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Creates a decision observer appending one JSON line per decision to `path`.
 *
 * Each record is written with one synchronous `write` on a file opened in append mode before
 * the observer returns: a record is in the operating system's hands as soon as the decision is
 * made, so a crash of the process loses nothing; `fsync: true` also survives a power loss.
 * Several processes may append to one file (`O_APPEND`). A write failure never changes a decision.
 *
 * The input holds claims and snapshot values: keep the file private, and `redact` what the
 * log must not hold.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) on an invalid option or when the file cannot be opened.
 * @example
 * ```ts
 * const log = jsonlDecisionLog({ path: '.actra-data/decisions.jsonl', redact: ['actor.email'] });
 * runtime.setDecisionObserver(log);
 * // later: await log.close();
 * ```
 */
export function jsonlDecisionLog(options: JsonlDecisionLogOptions): DecisionLog {
  const opts = parseOptions(jsonlOptionsSchema, options, 'jsonlDecisionLog');
  const redact = opts.redact ?? [];
  const onError = opts.onError ?? warnOnce('jsonlDecisionLog');
  let fd: number;
  try {
    mkdirSync(dirname(opts.path), { recursive: true });
    fd = openSync(opts.path, 'a', 0o600);
  } catch (error) {
    throw new ActraOptionsError(`jsonlDecisionLog: option "path" names a file that cannot be opened for appending`, { cause: error });
  }
  const handle = fd;
  return decisionLogObserver(
    'writeDecisionLogLine',
    redact,
    onError,
    function appendLine(record) {
      writeSync(handle, JSON.stringify(record) + '\n');
      if (opts.fsync === true) fsyncSync(handle);
    },
    function closeFile() {
      try {
        fsyncSync(handle);
      } finally {
        closeSync(handle);
      }
    },
  );
}

export { sqliteDecisionLog, type SqliteDecisionLogOptions } from './decision-log-sqlite.js';
