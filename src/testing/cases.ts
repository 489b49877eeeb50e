/** Policy test cases: load the YAML cases under `<policy-dir>/tests/`, run them, report rule coverage. */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { isActraError, type ActraErrorCode, type CompileIssue, type CompileIssueCode } from '../errors.js';
import type { ActionInput, Decision, Effect, EvaluationInput, Policy, RuleInfo } from '../core/types.js';
import { MAX_DOCUMENT_BYTES, parseLimited } from '../core/parse.js';

/** What a case expects: an outcome (effect, optionally the matched rule and reason), or an error code. */
export type CaseExpectation =
  | { readonly effect: Effect; readonly rule?: string | null; readonly reason?: string }
  | { readonly error: ActraErrorCode };

/** One test case, as loaded from a `tests/*.yaml` file. */
export interface PolicyTestCase {
  readonly name: string;
  readonly action: ActionInput;
  readonly actor: Readonly<Record<string, unknown>>;
  readonly snapshot: Readonly<Record<string, unknown>>;
  readonly expect: CaseExpectation;
  /** Where the case is written: the file as found, and the 1-based line and column of the case. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** The cases of a directory plus every problem found in its test files (all files are read). */
export interface LoadedCases {
  readonly cases: readonly PolicyTestCase[];
  /** Problems in the test files, in the same shape as compile issues (`file:line:col CODE message`). */
  readonly issues: readonly CompileIssue[];
  /** The test files read, in the order their cases appear. */
  readonly files: readonly string[];
}

/** The outcome of one case. */
export interface CaseResult {
  readonly case: PolicyTestCase;
  readonly passed: boolean;
  /** One line: `ok` when passed, otherwise what was expected and what happened. */
  readonly message: string;
  /** The decision, when evaluation returned one. */
  readonly decision?: Decision;
  /** The error code, when evaluation threw. */
  readonly errorCode?: string;
}

/** The outcome of a run: each case, the counts and the rules no case matched. */
export interface CaseRunReport {
  readonly results: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
  /** Rules that no case's decision matched, in file order. */
  readonly uncoveredRules: readonly RuleInfo[];
}


const ALL_ERROR_CODES: Record<ActraErrorCode, true> = {
  ACTRA_COMPILE: true,
  ACTRA_INPUT: true,
  ACTRA_ASSERTION: true,
  ACTRA_OPTIONS: true,
  ACTRA_BLOCKED: true,
  ACTRA_APPROVAL_REQUIRED: true,
  ACTRA_UNAUTHENTICATED: true,
  ACTRA_RESOLVER_FAILED: true,
  ACTRA_LOADER_FAILED: true,
  ACTRA_LOADER_TIMEOUT: true,
  ACTRA_STORE_FAILED: true,
  ACTRA_ENGINE: true,
  ACTRA_APPROVAL_NOT_FOUND: true,
  ACTRA_APPROVAL_CONFLICT: true,
  ACTRA_APPROVAL_EXPIRED: true,
  ACTRA_APPROVAL_DENIED: true,
  ACTRA_APPROVAL_CONSUMED: true,
  ACTRA_APPROVAL_MISMATCH: true,
  ACTRA_APPROVAL_PENDING: true,
  ACTRA_APPROVAL_FORBIDDEN: true,
  ACTRA_WEBHOOK_SIGNATURE: true,
  ACTRA_BAD_REQUEST: true,
  ACTRA_UNMATCHED_ROUTE: true,
  ACTRA_TIMEOUT: true,
};
const errorCodes = Object.keys(ALL_ERROR_CODES) as [ActraErrorCode, ...ActraErrorCode[]];

const fieldsSchema = z.record(z.string(), z.unknown());
const actionSchema = z.looseObject({ type: z.string().min(1, 'action.type must be a non-empty string') });

/** The evaluation input part of a case; also the shape `actra explain --input` reads. */
export const evaluationInputSchema = z.strictObject({
  action: actionSchema,
  actor: fieldsSchema.optional(),
  snapshot: fieldsSchema.optional(),
});

const caseSchema = z.strictObject({
  name: z.string().min(1, 'name must be a non-empty string'),
  action: actionSchema,
  actor: fieldsSchema.optional(),
  snapshot: fieldsSchema.optional(),
  expect: z.record(z.string(), z.unknown()),
});

const outcomeSchema = z.strictObject({
  effect: z.enum(['allow', 'block', 'require_approval']),
  rule: z.string().min(1).nullable().optional(),
  reason: z.string().min(1).optional(),
});

const errorExpectationSchema = z.strictObject({ error: z.enum(errorCodes) });

const fileSchema = z.strictObject({ cases: z.array(z.unknown()) });

/** Where issues of one file are collected, with the positions of the YAML nodes. */
interface FileContext {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly issues: CompileIssue[];
}

/**
 * Loads every test case under `<dir>/tests/` (`*.yaml` and `*.yml`, in name order).
 * Never throws for a bad file: every problem is returned in `issues` with its position, and the
 * valid cases of the other files are still returned. A directory without `tests/` has no cases.
 *
 * @example
 * const { cases, issues } = loadCases('policies/refunds');
 */
export function loadCases(dir: string): LoadedCases {
  const testsDir = join(dir, 'tests');
  let names: string[];
  try {
    if (!statSync(testsDir).isDirectory()) return { cases: [], issues: [], files: [] };
    names = readdirSync(testsDir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'));
  } catch {
    return { cases: [], issues: [], files: [] };
  }
  names.sort();
  const cases: PolicyTestCase[] = [];
  const issues: CompileIssue[] = [];
  const files: string[] = [];
  for (const name of names) {
    const file = join(testsDir, name);
    files.push(file);
    const loaded = loadCaseFile(file);
    cases.push(...loaded.cases);
    issues.push(...loaded.issues);
  }
  return { cases, issues, files };
}

/** Reads and validates one test file. */
export function loadCaseFile(file: string): { cases: PolicyTestCase[]; issues: CompileIssue[] } {
  let text: string;
  try {
    if (statSync(file).size > MAX_DOCUMENT_BYTES) {
      return { cases: [], issues: [issueAt(file, 'YAML_LIMIT', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 1, 1)] };
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return { cases: [], issues: [issueAt(file, 'FILE_NOT_FOUND', 'test file cannot be read')] };
  }
  return parseCases(text, file);
}

/**
 * Parses and validates the text of one test file; `file` is used for positions only. The YAML is
 * read as policy documents are, with the same limits (size, nesting, aliases: `YAML_LIMIT`).
 */
export function parseCases(text: string, file: string): { cases: PolicyTestCase[]; issues: CompileIssue[] } {
  const parsed = parseLimited(text);
  if ('problems' in parsed) {
    const issues = parsed.problems.map((problem): CompileIssue => {
      const message = problem.code === 'EMPTY_DOCUMENT' ? 'test file is empty; expected `cases:` or a list of cases' : problem.message;
      return { code: problem.code, message, file, line: problem.line, column: problem.column, path: [] };
    });
    return { cases: [], issues };
  }
  const { doc, lines } = parsed;
  const ctx: FileContext = { file, doc, lines, issues: [] };
  // parseLimited bounded what aliases expand to and ruled out cycles, so the conversion stays small;
  // the library's own alias budget (maxAliasCount) is off because it is quadratic in the document size.
  const data: unknown = doc.toJS({ maxAliasCount: -1 });
  let list: unknown[];
  let base: (string | number)[];
  if (Array.isArray(data)) {
    list = data;
    base = [];
  } else if (typeof data === 'object' && data !== null) {
    const top = fileSchema.safeParse(data);
    if (!top.success) {
      reportZod(ctx, top.error.issues, [], data);
      return { cases: [], issues: ctx.issues };
    }
    list = top.data.cases;
    base = ['cases'];
  } else {
    ctx.issues.push(issueAtPath(ctx, 'INVALID_DOCUMENT', 'a test file holds `cases: [...]` or a list of cases', []));
    return { cases: [], issues: ctx.issues };
  }
  const cases: PolicyTestCase[] = [];
  const seen = new Map<string, number>();
  list.forEach(function validateCase(raw, index) {
    const path = [...base, index];
    const parsed = caseSchema.safeParse(raw);
    if (!parsed.success) {
      reportZod(ctx, parsed.error.issues, path, raw);
      return;
    }
    const expectation = parseExpectation(ctx, parsed.data.expect, [...path, 'expect']);
    if (expectation === undefined) return;
    const name = parsed.data.name;
    if (seen.has(name)) {
      ctx.issues.push(issueAtPath(ctx, 'INVALID_VALUE', `duplicate case name "${name}" (first at case ${seen.get(name)})`, [...path, 'name']));
      return;
    }
    seen.set(name, index);
    const at = positionOf(ctx, path);
    // The validated shape is right; keep the parsed YAML values themselves (zod copies objects and
    // drops own `__proto__` keys, which a case may hold on purpose).
    const source = raw as { action: ActionInput; actor?: Record<string, unknown>; snapshot?: Record<string, unknown> };
    cases.push({
      name,
      action: source.action,
      actor: source.actor ?? {},
      snapshot: source.snapshot ?? {},
      expect: expectation,
      file,
      line: at.line,
      column: at.column,
    });
  });
  ctx.issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return { cases, issues: ctx.issues };
}

function parseExpectation(ctx: FileContext, raw: Record<string, unknown>, path: (string | number)[]): CaseExpectation | undefined {
  if ('error' in raw) {
    const parsed = errorExpectationSchema.safeParse(raw);
    if (parsed.success) return { error: parsed.data.error };
    reportZod(ctx, parsed.error.issues, path, raw);
    return undefined;
  }
  const parsed = outcomeSchema.safeParse(raw);
  if (!parsed.success) {
    reportZod(ctx, parsed.error.issues, path, raw);
    return undefined;
  }
  const { effect, rule, reason } = parsed.data;
  return {
    effect,
    ...(rule !== undefined ? { rule } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/**
 * Turns zod's issues on `input` (the value at `base`) into located issues: UNKNOWN_KEY with a
 * suggestion for an unknown key, MISSING_KEY for an absent one (whatever zod's code for it, e.g.
 * an enum's "invalid option"), INVALID_TYPE / INVALID_VALUE otherwise.
 */
function reportZod(ctx: FileContext, zodIssues: readonly z.core.$ZodIssue[], base: (string | number)[], input: unknown): void {
  for (const zi of zodIssues) {
    const inner = zi.path.filter((p): p is string | number => typeof p !== 'symbol');
    const path = [...base, ...inner];
    if (zi.code === 'unrecognized_keys') {
      for (const key of zi.keys) {
        ctx.issues.push(issueAtKey(ctx, path, key));
      }
      continue;
    }
    const missing = inner.length > 0 && isAbsent(input, inner);
    const code: CompileIssueCode = missing ? 'MISSING_KEY' : zi.code === 'invalid_type' ? 'INVALID_TYPE' : 'INVALID_VALUE';
    const where = path.length > 0 ? `${path.join('.')}: ` : '';
    const message = missing ? `missing required key "${String(path[path.length - 1])}"` : `${where}${zi.message}`;
    ctx.issues.push(issueAtPath(ctx, code, message, missing ? path.slice(0, -1) : path, path));
  }
}

/** True when the last key of `path` is not an own key of the object the rest of `path` leads to in `input`. */
function isAbsent(input: unknown, path: readonly (string | number)[]): boolean {
  let node = input;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !Object.hasOwn(node, path[path.length - 1] as string | number);
}

function issueAtKey(ctx: FileContext, path: (string | number)[], key: string): CompileIssue {
  const node = ctx.doc.getIn(path, true);
  let offset: number | undefined;
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
  }
  const pos = offset === undefined ? positionOf(ctx, path) : toPosition(ctx.lines, offset);
  const hint = suggestion(key);
  return {
    code: 'UNKNOWN_KEY',
    message: `unknown key "${key}"${path.length > 0 ? ` in ${path.join('.')}` : ''}${hint}`,
    file: ctx.file,
    line: pos.line,
    column: pos.column,
    path: [...path, key],
  };
}

const KNOWN_KEYS = ['cases', 'name', 'action', 'actor', 'snapshot', 'expect', 'effect', 'rule', 'reason', 'error'];

function suggestion(key: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of KNOWN_KEYS) {
    const distance = editDistance(known, key);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function issueAtPath(ctx: FileContext, code: CompileIssueCode, message: string, at: (string | number)[], path = at): CompileIssue {
  const pos = positionOf(ctx, at);
  return { code, message, file: ctx.file, line: pos.line, column: pos.column, path };
}

/** Position of the deepest existing node along `path` (1-based line and column). */
function positionOf(ctx: FileContext, path: readonly (string | number)[]): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? ctx.doc.contents : ctx.doc.getIn(path.slice(0, depth), true);
    const range = (node as YamlNode | null | undefined)?.range;
    if (range) return toPosition(ctx.lines, range[0]);
  }
  return { line: 1, column: 1 };
}

function toPosition(lines: LineCounter, offset: number): { line: number; column: number } {
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function issueAt(file: string, code: CompileIssueCode, message: string, line = 0, column = 0): CompileIssue {
  return { code, message, file, line, column, path: [] };
}

/** Builds the evaluation input of a case. */
export function caseInput(testCase: PolicyTestCase): EvaluationInput {
  return { action: testCase.action, actor: testCase.actor, snapshot: testCase.snapshot };
}

/**
 * Runs one case against a compiled policy. Never throws: an unexpected error is a failed case.
 *
 * @example
 * const result = runCase(policy, cases[0]);
 * if (!result.passed) console.log(result.message);
 */
export function runCase(policy: Policy, testCase: PolicyTestCase): CaseResult {
  let decision: Decision;
  try {
    decision = policy.evaluate(caseInput(testCase));
  } catch (error) {
    const code = isActraError(error) ? error.code : 'UNEXPECTED';
    const detail = error instanceof Error ? error.message : String(error);
    if ('error' in testCase.expect && testCase.expect.error === code) {
      return { case: testCase, passed: true, message: 'ok', errorCode: code };
    }
    const expected = describeExpectation(testCase.expect);
    return { case: testCase, passed: false, message: `expected ${expected}, got error ${code}: ${detail}`, errorCode: code };
  }
  const problem = compareOutcome(testCase.expect, decision);
  if (problem === undefined) return { case: testCase, passed: true, message: 'ok', decision };
  return { case: testCase, passed: false, message: problem, decision };
}

function compareOutcome(expect: CaseExpectation, decision: Decision): string | undefined {
  const got = describeDecision(decision);
  if ('error' in expect) return `expected error ${expect.error}, got ${got}`;
  const wrong =
    decision.effect !== expect.effect ||
    (expect.rule !== undefined && (decision.matchedRule ?? null) !== expect.rule) ||
    (expect.reason !== undefined && decision.reason !== expect.reason);
  return wrong ? `expected ${describeExpectation(expect)}, got ${got}` : undefined;
}

function describeExpectation(expect: CaseExpectation): string {
  if ('error' in expect) return `error ${expect.error}`;
  const parts: string[] = [];
  if (expect.rule !== undefined) parts.push(expect.rule === null ? 'no rule' : `rule ${expect.rule}`);
  if (expect.reason !== undefined) parts.push(`reason ${expect.reason}`);
  return parts.length > 0 ? `${expect.effect} (${parts.join(', ')})` : expect.effect;
}

function describeDecision(decision: Decision): string {
  const parts = [decision.matchedRule === undefined ? 'no rule' : `rule ${decision.matchedRule}`];
  if (decision.reason !== undefined) parts.push(`reason ${decision.reason}`);
  return `${decision.effect} (${parts.join(', ')})`;
}

/**
 * Runs every case and reports the results, the counts and the rules no case matched.
 *
 * @example
 * const report = runCases(Actra.fromDirectory('policies/refunds'), loadCases('policies/refunds').cases);
 * console.log(`${report.passed} passed, ${report.failed} failed`);
 */
export function runCases(policy: Policy, cases: readonly PolicyTestCase[]): CaseRunReport {
  const results = cases.map((c) => runCase(policy, c));
  const matched = new Set<string>();
  for (const r of results) {
    if (r.decision?.matchedRule !== undefined) matched.add(r.decision.matchedRule);
  }
  const passed = results.filter((r) => r.passed).length;
  return {
    results,
    passed,
    failed: results.length - passed,
    uncoveredRules: policy.rules.filter((rule) => !matched.has(rule.id)),
  };
}
