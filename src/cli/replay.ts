/** `actra replay <policy-dir> --log <file>`: what a candidate policy would change on recorded decisions. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Actra } from '../core/actra.js';
import type { Policy } from '../core/types.js';
import { isActraError, type ActraCompileError } from '../errors.js';
import { formatOf, openDecisionLog, type DecisionLogFormat, type DecisionLogSource } from '../observability/decision-log-reader.js';
import { replayDecisions, type ReplayCount, type ReplayReport } from '../observability/decision-log-replay.js';

/** Where the command writes. `stderrIsTTY` defaults to `process.stderr.isTTY`. */
export interface ReplayIO {
  stdout(s: string): void;
  stderr(s: string): void;
  readonly stderrIsTTY?: boolean;
}

/** Usage text of `actra replay`. */
export const REPLAY_USAGE = `Usage: actra replay <policy-dir> --log <file> [options]

Re-evaluates the decisions recorded in a decision log against the policy in <policy-dir>
and prints what would change.

Options:
  --log <file>          decision log to replay (required)
  --format <format>     jsonl | sqlite (default: from the file name; .db/.sqlite → sqlite)
  --table <name>        SQLite table (default: actra_decisions)
  --examples <n>        how many example changes to print (default: 5)
  --json                print the report as JSON
  --fail-on-change      exit 1 when any decision changed or failed under the candidate
  --progress            always show the progress bar on stderr
  --no-progress         never show the progress bar
  -h, --help            show this help

Exit codes: 0 replayed (changes or not), 1 changes with --fail-on-change, 2 usage or load error.
`;

/** Logs at least this big (bytes of JSON lines, or rows) get a progress bar on a terminal. */
const LARGE_LOG = { jsonl: 1 << 20, sqlite: 10_000 } as const;

/**
 * Runs `actra replay`. Never throws: problems are printed on stderr with exit code 2.
 * @returns the exit code.
 * @example
 * ```ts
 * const code = await runReplay(['policies/refunds', '--log', 'decisions.jsonl'], { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
 * ```
 */
export async function runReplay(args: string[], io: ReplayIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        log: { type: 'string' },
        format: { type: 'string' },
        table: { type: 'string' },
        examples: { type: 'string' },
        json: { type: 'boolean', default: false },
        'fail-on-change': { type: 'boolean', default: false },
        progress: { type: 'boolean', default: false },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`actra replay: ${(error as Error).message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(REPLAY_USAGE);
    return 0;
  }
  const usage = (message: string): number => {
    io.stderr(`actra replay: ${message}\n\n${REPLAY_USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) return usage(positionals.length === 0 ? 'missing <policy-dir>' : 'expected exactly one <policy-dir>');
  const policyDir = positionals[0] as string;
  if (values.log === undefined) return usage('missing --log <file>');
  const logPath = values.log;
  if (values.format !== undefined && values.format !== 'jsonl' && values.format !== 'sqlite') return usage('--format must be jsonl or sqlite');
  const format: DecisionLogFormat = (values.format as DecisionLogFormat | undefined) ?? formatOf(logPath);
  const examples = values.examples === undefined ? 5 : Number(values.examples);
  if (!Number.isInteger(examples) || examples < 0) return usage('--examples must be a whole number ≥ 0');

  let policy: Policy;
  try {
    policy = Actra.fromDirectory(policyDir);
  } catch (error) {
    io.stderr(describeLoadError(policyDir, error));
    return 2;
  }
  if (!existsSync(logPath)) {
    io.stderr(`actra replay: log file not found: ${logPath}\n`);
    return 2;
  }
  let source: DecisionLogSource;
  try {
    source = openDecisionLog(logPath, format, values.table === undefined ? {} : { table: values.table });
  } catch (error) {
    io.stderr(`actra replay: cannot read ${logPath} as ${format}: ${(error as Error).message}\n`);
    return 2;
  }

  const large = source.size >= LARGE_LOG[format];
  const showProgress = !values['no-progress'] && (values.progress || (large && (io.stderrIsTTY ?? process.stderr.isTTY === true)));
  const bar = showProgress ? progressBar(io, source) : undefined;
  let report: ReplayReport;
  try {
    report = await replayDecisions(policy, source.entries, { examples, ...(bar ? { onEntry: bar.tick } : {}) });
  } catch (error) {
    io.stderr(`actra replay: reading ${logPath} failed: ${(error as Error).message}\n`);
    return 2;
  } finally {
    source.close();
  }
  bar?.end();

  if (values.json) io.stdout(JSON.stringify({ policyDir, log: logPath, format, ...report }, null, 2) + '\n');
  else io.stdout(formatReport(report, policyDir, logPath, format));
  const anyChange = report.changed > 0 || report.inputErrors > 0;
  return values['fail-on-change'] && anyChange ? 1 : 0;
}

function describeLoadError(dir: string, error: unknown): string {
  if (isActraError(error, 'ACTRA_COMPILE')) {
    const issues = (error as ActraCompileError).issues;
    return `actra replay: the policy in ${dir} does not compile (${issues.length} issue(s)):\n` + issues.map((i) => `  ${i.file}:${i.line}:${i.column} ${i.code} ${i.message}\n`).join('');
  }
  return `actra replay: cannot load the policy in ${dir}: ${isActraError(error) ? `${error.code} ${error.message}` : (error as Error)?.message ?? String(error)}\n`;
}

/**
 * A hand-written bar on stderr: one whole line per tenth of the log, so it reads the same on a
 * terminal and in a CI log.
 */
function progressBar(io: ReplayIO, source: DecisionLogSource): { tick: () => void; end: () => void } {
  const width = 20;
  let shown = -1;
  let count = 0;
  function draw(step: number): void {
    shown = step;
    io.stderr(`replaying [${'#'.repeat(step * 2)}${'.'.repeat(width - step * 2)}] ${String(step * 10).padStart(3)}%  ${n(count)} decisions\n`);
  }
  return {
    tick: function tickProgress() {
      count++;
      const step = source.size === 0 ? 10 : Math.min(10, Math.floor((source.done() / source.size) * 10));
      if (step > shown) draw(step);
    },
    end: function endProgress() {
      if (shown < 10) draw(10);
    },
  };
}

const n = (value: number): string => value.toLocaleString('en-US');
const ruleName = (rule: string | null): string => rule ?? '(no rule)';
const outcome = (effect: string, rule: string | null): string => `${effect} (${rule ?? 'no rule'})`;

function table<T>(rows: readonly ReplayCount<T>[], name: (value: T) => string): string {
  const cells = rows.map((r) => [`${name(r.from)} → ${name(r.to)}`, n(r.count)] as const);
  const left = Math.max(...cells.map((c) => c[0].length));
  const right = Math.max(...cells.map((c) => c[1].length));
  return cells.map(([a, b]) => `  ${a.padEnd(left)}  ${b.padStart(right)}\n`).join('');
}

/** The human-readable report. */
export function formatReport(report: ReplayReport, policyDir: string, logPath: string, format: DecisionLogFormat = 'jsonl'): string {
  const at = format === 'sqlite' ? 'row' : 'line';
  const hashes = report.recordedPolicyHashes.map((h) => `${h.policyHash.slice(0, 12)} (${n(h.count)})`).join(', ') || 'none';
  const lines: string[] = [];
  lines.push(`Replayed ${logPath} against ${policyDir}`);
  lines.push(`  candidate policy ${report.candidatePolicyHash.slice(0, 12)}; recorded under ${hashes}`);
  lines.push('');
  const rows: [string, number][] = [
    ['total', report.total],
    ['unchanged', report.unchanged],
    ['changed', report.changed],
    ['input errors', report.inputErrors],
    ['skipped (no input)', report.skipped.noInput],
    ['skipped (redacted)', report.skipped.redacted],
    ['malformed', report.malformed],
  ];
  const width = Math.max(...rows.map((r) => n(r[1]).length));
  for (const [label, value] of rows) lines.push(`  ${label.padEnd(20)}${n(value).padStart(width)}`);
  let out = lines.join('\n') + '\n';
  if (report.byEffect.length > 0) out += `\nBy effect (recorded → candidate):\n${table(report.byEffect, String)}`;
  if (report.byRule.length > 0) out += `\nBy rule (recorded → candidate):\n${table(report.byRule, ruleName)}`;
  if (report.examples.length > 0) {
    out += `\nExamples:\n`;
    for (const e of report.examples) {
      out += `  ${e.decisionId}  ${e.actionType}  ${outcome(e.from.effect, e.from.rule)} → ${outcome(e.to.effect, e.to.rule)}\n`;
    }
  }
  if (report.inputErrorExamples.length > 0) {
    out += `\nInput errors under the candidate (it would fail closed):\n`;
    for (const e of report.inputErrorExamples) out += `  ${e.decisionId}  ${at} ${e.position}  ${e.code} ${e.message}\n`;
  }
  if (report.malformedExamples.length > 0) {
    out += `\nMalformed entries:\n`;
    for (const m of report.malformedExamples) out += `  ${at} ${m.position}: ${m.message}\n`;
  }
  out += report.changed === 0 && report.inputErrors === 0 ? `\nNo decision would change.\n` : `\n${n(report.changed)} decision(s) would change, ${n(report.inputErrors)} would fail under the candidate.\n`;
  return out;
}
