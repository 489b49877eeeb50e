/** Re-evaluates recorded decisions against a candidate policy and counts what would change. */
import { isActraError } from '../errors.js';
import type { Effect, Policy } from '../core/types.js';
import type { DecisionLogEntry } from './decision-log-reader.js';
import type { DecisionLogRecord } from './decision-log-record.js';

/** A recorded outcome: an effect, or `error` when the recorded decision failed. */
export type ReplayOutcome = Effect | 'error';

/** One decision whose outcome differs under the candidate. */
export interface ReplayChange {
  readonly decisionId: string;
  /** Line (JSON lines) or row (SQLite) of the record. */
  readonly position: number;
  readonly actionType: string;
  readonly from: { readonly effect: ReplayOutcome; readonly rule: string | null };
  readonly to: { readonly effect: Effect; readonly rule: string | null };
}

/** A transition and how many decisions took it. */
export interface ReplayCount<T> {
  readonly from: T;
  readonly to: T;
  readonly count: number;
}

/** What `replayDecisions` found. */
export interface ReplayReport {
  readonly candidatePolicyHash: string;
  /** Policy hashes the log was recorded under, with their record counts. */
  readonly recordedPolicyHashes: readonly { readonly policyHash: string; readonly count: number }[];
  /** Records read (malformed entries excluded): unchanged + changed + inputErrors + skipped. */
  readonly total: number;
  readonly unchanged: number;
  /** Effect or matched rule differs. */
  readonly changed: number;
  /** The candidate could not evaluate the recorded input (it would fail closed). */
  readonly inputErrors: number;
  readonly skipped: {
    /** The decision failed before the policy ran (e.g. a loader failed): nothing to replay. */
    readonly noInput: number;
    /** The candidate reads a field that was redacted in the log. */
    readonly redacted: number;
  };
  /** Changes by effect (recorded → candidate), most frequent first. */
  readonly byEffect: readonly ReplayCount<ReplayOutcome>[];
  /** Changes by matched rule (recorded → candidate; `null` when no rule matched), most frequent first. */
  readonly byRule: readonly ReplayCount<string | null>[];
  /** The first N changes. */
  readonly examples: readonly ReplayChange[];
  /** The first N input errors under the candidate: code and message (which name the field and rule, never a value). */
  readonly inputErrorExamples: readonly { readonly decisionId: string; readonly position: number; readonly code: string; readonly message: string }[];
  /** Entries that are not decision records. */
  readonly malformed: number;
  readonly malformedExamples: readonly { readonly position: number; readonly message: string }[];
}

/** Options of {@link replayDecisions}. */
export interface ReplayOptions {
  /** How many examples of each kind to keep. Default 5. */
  readonly examples?: number;
  /** Called after each entry. */
  readonly onEntry?: () => void;
}

/** True when the candidate reads a field the log redacted (for the record's action type). */
function readsRedacted(policy: Policy, record: DecisionLogRecord): boolean {
  const redacted = record.redacted;
  if (redacted === undefined || redacted.length === 0 || record.input === undefined) return false;
  let reads;
  try {
    reads = policy.readsFor(record.input.action.type);
  } catch {
    return false;
  }
  return redacted.some(function isRead(path) {
    const [domain, field] = path.split('.') as [keyof typeof reads, string];
    return reads[domain]?.includes(field) ?? false;
  });
}

function bump<T>(counts: Map<string, ReplayCount<T>>, from: T, to: T): void {
  const key = JSON.stringify([from, to]);
  const seen = counts.get(key);
  counts.set(key, { from, to, count: (seen?.count ?? 0) + 1 });
}

function sorted<T>(counts: Map<string, ReplayCount<T>>): ReplayCount<T>[] {
  return [...counts.values()].sort((a, b) => b.count - a.count || JSON.stringify([a.from, a.to]).localeCompare(JSON.stringify([b.from, b.to])));
}

/**
 * Re-evaluates every recorded input with `policy` and compares effect and matched rule with the
 * recorded ones. Never throws for a bad record: malformed entries and inputs the candidate
 * cannot evaluate are counted and reported.
 * @example
 * ```ts
 * const source = openDecisionLog('.actra-data/decisions.jsonl', 'jsonl');
 * const report = await replayDecisions(Actra.fromDirectory('policies/refunds'), source.entries);
 * console.log(report.changed);
 * ```
 */
export async function replayDecisions(policy: Policy, entries: AsyncIterable<DecisionLogEntry> | Iterable<DecisionLogEntry>, options: ReplayOptions = {}): Promise<ReplayReport> {
  const keep = options.examples ?? 5;
  const byEffect = new Map<string, ReplayCount<ReplayOutcome>>();
  const byRule = new Map<string, ReplayCount<string | null>>();
  const hashes = new Map<string, number>();
  const examples: ReplayChange[] = [];
  const inputErrorExamples: { decisionId: string; position: number; code: string; message: string }[] = [];
  const malformedExamples: { position: number; message: string }[] = [];
  let total = 0, unchanged = 0, changed = 0, inputErrors = 0, noInput = 0, redacted = 0, malformed = 0;

  for await (const entry of entries) {
    options.onEntry?.();
    if (entry.record === undefined) {
      malformed++;
      if (malformedExamples.length < keep) malformedExamples.push({ position: entry.position, message: entry.error });
      continue;
    }
    const record = entry.record;
    total++;
    hashes.set(record.policyHash, (hashes.get(record.policyHash) ?? 0) + 1);
    if (record.input === undefined) {
      noInput++;
      continue;
    }
    if (readsRedacted(policy, record)) {
      redacted++;
      continue;
    }
    let effect: Effect;
    let rule: string | null;
    try {
      const decision = policy.evaluate(record.input);
      effect = decision.effect;
      rule = decision.matchedRule ?? null;
    } catch (error) {
      inputErrors++;
      if (inputErrorExamples.length < keep) {
        inputErrorExamples.push({
          decisionId: record.decisionId,
          position: entry.position,
          code: isActraError(error) ? error.code : 'ACTRA_ENGINE',
          message: isActraError(error) ? error.message : 'the candidate policy failed to evaluate this input',
        });
      }
      continue;
    }
    const from = { effect: record.effect ?? ('error' as const), rule: record.rule ?? null };
    if (from.effect === effect && from.rule === rule) {
      unchanged++;
      continue;
    }
    changed++;
    bump(byEffect, from.effect, effect);
    bump(byRule, from.rule, rule);
    if (examples.length < keep) {
      examples.push({ decisionId: record.decisionId, position: entry.position, actionType: record.input.action.type, from, to: { effect, rule } });
    }
  }

  return {
    candidatePolicyHash: policy.policyHash(),
    recordedPolicyHashes: [...hashes].map(([policyHash, count]) => ({ policyHash, count })).sort((a, b) => b.count - a.count),
    total,
    unchanged,
    changed,
    inputErrors,
    skipped: { noInput, redacted },
    byEffect: sorted(byEffect),
    byRule: sorted(byRule),
    examples,
    inputErrorExamples,
    malformed,
    malformedExamples,
  };
}
