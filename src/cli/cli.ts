/** The `actra` command line: check, test, explain, hash and replay a policy directory. */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkDirectory } from '../core/actra.js';
import type { EvaluationInput, Policy } from '../core/types.js';
import { isActraError, type CompileIssue } from '../errors.js';
import { evaluationInputSchema, loadCases, runCases, caseInput } from '../testing/cases.js';
import type { CliIo } from './io.js';

export type { CliIo } from './io.js';

/** Exit code: success. */
export const EXIT_OK = 0;
/** Exit code: problems found, tests failed, or the input could not be evaluated. */
export const EXIT_FAILURE = 1;
/** Exit code: the command line itself is wrong (unknown command, missing argument). */
export const EXIT_USAGE = 2;

/** Top-level usage text. */
export const USAGE = `Usage: actra <command> [options]

Commands:
  check <dir>                      compile a policy directory and run its governance checks
  test <dir>                       run the test cases in <dir>/tests and report rule coverage
  explain <dir> --input <file>     explain the decision for one input ({ action, actor, snapshot } as JSON)
  hash <dir>                       print the policy hash (SHA-256, hex)
  replay <dir> --log <file>        re-evaluate a decision log against the policy in <dir>

Options:
  -h, --help                       show help; \`actra <command> --help\` shows a command's options
  -v, --version                    print the version

Exit codes: 0 success, 1 problems found or tests failed, 2 usage error.`;

const CHECK_USAGE = `Usage: actra check <dir>

Compiles schema.yaml, policy.yaml and governance.yaml (when present) in <dir> and runs the
governance checks. Prints every problem as \`file:line:col CODE message\` and exits 1, or prints
\`ok <policy hash>\` and exits 0.`;

const TEST_USAGE = `Usage: actra test <dir> [options]

Runs every case in <dir>/tests/*.yaml against the policy in <dir>. Prints one line per failed
case, then the rules no case exercised, then \`N passed, M failed\`. Exits 1 when a case failed,
a test file or the policy has a problem, or no case was found. When the policy does not compile,
prints its problems and \`0 passed, M failed\` (M: the cases that could not run, at least 1).

Options:
  --verbose                        also print one line per passing case
  --require-coverage               also exit 1 when a rule is exercised by no case`;

const EXPLAIN_USAGE = `Usage: actra explain <dir> --input <file> [--json]
       actra explain <dir> --case <name> [--json]

Evaluates one input and prints the explanation: every rule considered, in order, the values
compared, and the closest rule that did not match.

Options:
  --input <file>                   a JSON file holding { "action": { "type": ... }, "actor": {...}, "snapshot": {...} }
  --case <name>                    the input of the test case with this name (from <dir>/tests)
  --json                           print the structured explanation as JSON`;

const HASH_USAGE = `Usage: actra hash <dir>

Prints the policy hash: SHA-256 (hex) over the canonical schema, policy and governance. The same
meaning gives the same hash, whatever the key order, comments or formatting.`;

/** A command's handler: the arguments after the command name. */
type Command = (args: string[], io: CliIo) => Promise<number>;

const commands: Record<string, { run: Command; usage: string }> = {
  check: { run: runCheck, usage: CHECK_USAGE },
  test: { run: runTest, usage: TEST_USAGE },
  explain: { run: runExplain, usage: EXPLAIN_USAGE },
  hash: { run: runHash, usage: HASH_USAGE },
};

/**
 * Runs the `actra` command line in-process and returns its exit code.
 *
 * @param argv the arguments after the program name (`process.argv.slice(2)`).
 * @param io where to write.
 * @returns 0 on success, 1 when problems were found or tests failed, 2 on a usage error.
 * @example
 * const code = await main(['test', 'policies/refunds'], { stdout: console.log, stderr: console.error });
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(USAGE);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic === 'replay') return runReplayCommand(['--help'], io);
    const command = topic === undefined || !Object.hasOwn(commands, topic) ? undefined : commands[topic];
    io.stdout(command ? command.usage : USAGE);
    return EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(readVersion());
    return EXIT_OK;
  }
  if (name === 'replay') return runReplayCommand(rest, io);
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr(`actra: unknown command "${name}"\n`);
    io.stderr(USAGE);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // A bug or an unexpected failure: say so without a stack, and never exit 0.
    const message = error instanceof Error ? error.message : String(error);
    const code = isActraError(error) ? `${error.code} ` : '';
    io.stderr(`actra ${name}: ${code}${message}`);
    return EXIT_FAILURE;
  }
}

/** Parses a command's arguments; on a usage error writes it and returns the exit code instead. */
function parseCommandArgs(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string,
  io: CliIo,
): { values: Record<string, string | boolean | undefined>; dir: string } | number {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`actra: ${error instanceof Error ? error.message : String(error)}\n`);
    io.stderr(usage);
    return EXIT_USAGE;
  }
  if (parsed.positionals.length !== 1) {
    io.stderr(parsed.positionals.length === 0 ? 'actra: missing <dir>\n' : `actra: expected one <dir>, got ${parsed.positionals.length}\n`);
    io.stderr(usage);
    return EXIT_USAGE;
  }
  const dir = parsed.positionals[0]!;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    io.stderr(`actra: policy directory not found: ${dir}`);
    return EXIT_USAGE;
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, dir };
}

/** One issue as `file:line:col CODE message`, followed by ` (rule <id>)` whenever the issue belongs to a rule. */
export function formatIssue(issue: CompileIssue): string {
  const rule = issue.ruleId === undefined ? '' : ` (rule ${issue.ruleId})`;
  return `${issue.file}:${issue.line}:${issue.column} ${issue.code} ${issue.message}${rule}`;
}

/** Compiles a directory; on problems prints them and returns undefined. */
async function compileOrReport(dir: string, io: CliIo): Promise<Policy | undefined> {
  const { policy, issues } = await checkDirectory(dir);
  if (issues.length > 0 || policy === undefined) {
    for (const issue of issues) io.stdout(formatIssue(issue));
    io.stdout(`${issues.length} problem(s) in ${dir}`);
    return undefined;
  }
  return policy;
}

async function runCheck(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, {}, CHECK_USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const policy = await compileOrReport(parsed.dir, io);
  if (policy === undefined) return EXIT_FAILURE;
  io.stdout(`ok ${policy.policyHash()}`);
  return EXIT_OK;
}

async function runHash(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, {}, HASH_USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const policy = await compileOrReport(parsed.dir, io);
  if (policy === undefined) return EXIT_FAILURE;
  io.stdout(policy.policyHash());
  return EXIT_OK;
}

async function runTest(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    { verbose: { type: 'boolean' }, 'require-coverage': { type: 'boolean' } },
    TEST_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { dir, values } = parsed;
  const policy = await compileOrReport(dir, io);
  const loaded = loadCases(dir);
  for (const issue of loaded.issues) io.stdout(formatIssue(issue));
  if (policy === undefined) {
    // No case can run: each one counts as failed (one failure when there are none), so the last line
    // is still `N passed, M failed`.
    if (loaded.issues.length > 0) io.stdout(`${loaded.issues.length} problem(s) in test files`);
    io.stdout(`0 passed, ${Math.max(loaded.cases.length, 1)} failed`);
    return EXIT_FAILURE;
  }
  if (loaded.cases.length === 0 && loaded.issues.length === 0) {
    io.stdout(`no test cases found in ${join(dir, 'tests')}`);
    io.stdout('0 passed, 0 failed');
    return EXIT_FAILURE;
  }
  const report = runCases(policy, loaded.cases);
  for (const result of report.results) {
    const where = `${result.case.file}:${result.case.line}:${result.case.column}`;
    if (!result.passed) io.stdout(`FAIL ${where} ${result.case.name}: ${result.message}`);
    else if (values.verbose === true) io.stdout(`PASS ${where} ${result.case.name}`);
  }
  const total = policy.rules.length;
  if (report.uncoveredRules.length === 0) {
    io.stdout(`coverage: every rule exercised (${total} of ${total})`);
  } else {
    io.stdout(`coverage: ${total - report.uncoveredRules.length} of ${total} rules exercised; no case exercised:`);
    for (const rule of report.uncoveredRules) {
      io.stdout(`  ${rule.id} (${rule.location.file}:${rule.location.line}:${rule.location.column})`);
    }
  }
  if (loaded.issues.length > 0) io.stdout(`${loaded.issues.length} problem(s) in test files`);
  io.stdout(`${report.passed} passed, ${report.failed} failed`);
  const coverageFailed = values['require-coverage'] === true && report.uncoveredRules.length > 0;
  return report.failed > 0 || loaded.issues.length > 0 || coverageFailed ? EXIT_FAILURE : EXIT_OK;
}

async function runExplain(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    { input: { type: 'string' }, case: { type: 'string' }, json: { type: 'boolean' } },
    EXPLAIN_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { dir, values } = parsed;
  const inputFile = typeof values.input === 'string' ? values.input : undefined;
  const caseName = typeof values.case === 'string' ? values.case : undefined;
  if ((inputFile === undefined) === (caseName === undefined)) {
    io.stderr('actra: explain needs exactly one of --input <file> or --case <name>\n');
    io.stderr(EXPLAIN_USAGE);
    return EXIT_USAGE;
  }
  const input = inputFile !== undefined ? readInputFile(inputFile, io) : readCaseInput(dir, caseName!, io);
  if (input === undefined) return EXIT_FAILURE;
  const policy = await compileOrReport(dir, io);
  if (policy === undefined) return EXIT_FAILURE;
  try {
    const explanation = policy.explain(input);
    io.stdout(values.json === true ? JSON.stringify(explanation, null, 2) : explanation.text);
    return EXIT_OK;
  } catch (error) {
    if (!isActraError(error)) throw error;
    if (values.json === true) io.stdout(JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2));
    else io.stderr(`${error.code} ${error.message}`);
    return EXIT_FAILURE;
  }
}

function readInputFile(file: string, io: CliIo): EvaluationInput | undefined {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    io.stderr(`actra: input file ${file} ${why}`);
    return undefined;
  }
  const parsed = evaluationInputSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      io.stderr(`actra: input file ${file}: ${path === '' ? '' : `${path}: `}${issue.message}${keys}`);
    }
    return undefined;
  }
  return { action: parsed.data.action as EvaluationInput['action'], actor: parsed.data.actor ?? {}, snapshot: parsed.data.snapshot ?? {} };
}

function readCaseInput(dir: string, name: string, io: CliIo): EvaluationInput | undefined {
  const loaded = loadCases(dir);
  const found = loaded.cases.find((c) => c.name === name);
  if (found === undefined) {
    io.stderr(`actra: no test case named "${name}" in ${join(dir, 'tests')}`);
    return undefined;
  }
  return caseInput(found);
}

async function runReplayCommand(args: string[], io: CliIo): Promise<number> {
  let replay: { runReplay?: (args: string[], io: CliIo) => Promise<number> };
  try {
    replay = await import('./replay.js');
  } catch {
    io.stderr('actra: the replay command is not available in this build');
    return EXIT_USAGE;
  }
  if (typeof replay.runReplay !== 'function') {
    io.stderr('actra: the replay command is not available in this build');
    return EXIT_USAGE;
  }
  return replay.runReplay(args, io);
}

/** The package version, read from the nearest package.json named `actra`. */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'actra' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
