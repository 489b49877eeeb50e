/** `actra/testing`: registers a policy directory's YAML test cases as vitest tests, one `it` per case. */

import { describe, it } from 'vitest';
import { checkDirectory } from '../core/actra.js';
import { ActraAssertionError, ActraCompileError } from '../errors.js';
import { loadCases, runCase, runCases } from './cases.js';

export { loadCases, loadCaseFile, parseCases, runCase, runCases, caseInput } from './cases.js';
export type { CaseExpectation, CaseResult, CaseRunReport, LoadedCases, PolicyTestCase } from './cases.js';

/** Options of {@link definePolicyTests}. */
export interface PolicyTestsOptions {
  /** Name of the `describe` block (default: `policy <dir>`). */
  readonly name?: string;
  /** Adds a test that fails when a rule is matched by no case (default: false). */
  readonly requireCoverage?: boolean;
}

/**
 * Registers one vitest test per case in `<dir>/tests/*.yaml`, inside a `describe` block. A policy
 * that does not compile, a bad test file, or a directory without cases each become one failing
 * test that lists the problems (file:line:col), so nothing passes silently.
 *
 * Failing cases throw `ActraAssertionError` (`ACTRA_ASSERTION`) with what was expected and what happened.
 *
 * @example
 * // test/policies.test.ts
 * import { definePolicyTests } from 'actra/testing';
 * definePolicyTests('policies/refunds', { requireCoverage: true });
 */
export function definePolicyTests(dir: string, options: PolicyTestsOptions = {}): void {
  describe(options.name ?? `policy ${dir}`, function policyTests() {
    const { policy, issues } = checkDirectory(dir);
    if (policy === undefined || issues.length > 0) {
      it('compiles', function policyCompiles() {
        throw new ActraCompileError(issues);
      });
      return;
    }
    const loaded = loadCases(dir);
    if (loaded.issues.length > 0) {
      it('has valid test files', function testFilesAreValid() {
        const lines = loaded.issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.code} ${i.message}`);
        throw new ActraAssertionError(`test files have ${loaded.issues.length} problem(s):\n${lines.join('\n')}`, 'valid test files', loaded.issues);
      });
    }
    if (loaded.cases.length === 0 && loaded.issues.length === 0) {
      it('has test cases', function hasCases() {
        throw new ActraAssertionError(`no test cases found under ${dir}/tests`, 'at least one case', 0);
      });
    }
    for (const testCase of loaded.cases) {
      it(testCase.name, function policyCase() {
        const result = runCase(policy, testCase);
        if (!result.passed) {
          throw new ActraAssertionError(
            `${testCase.file}:${testCase.line}:${testCase.column} ${result.message}`,
            testCase.expect,
            result.decision ?? result.errorCode,
          );
        }
      });
    }
    if (options.requireCoverage === true && loaded.cases.length > 0) {
      it('exercises every rule', function everyRuleExercised() {
        const { uncoveredRules } = runCases(policy, loaded.cases);
        if (uncoveredRules.length > 0) {
          const ids = uncoveredRules.map((r) => `${r.id} (${r.location.file}:${r.location.line}:${r.location.column})`);
          throw new ActraAssertionError(`no case exercised: ${ids.join(', ')}`, [], ids);
        }
      });
    }
  });
}
