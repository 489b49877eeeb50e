import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { definePolicyTests } from '../../src/testing/vitest.js';

// The helper on the bundled examples: every case is a passing test here.
definePolicyTests(join('examples', 'policies', 'refunds'), { requireCoverage: true });
definePolicyTests(join('examples', 'policies', 'deploy'), { name: 'deploy gate policy', requireCoverage: true });

const scratch = mkdtempSync(join(tmpdir(), 'actra-vitest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface JsonAssertion {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages: string[];
}

/** Runs the fixture in a child vitest (so its failing tests do not fail this run) and returns each test's outcome. */
async function runFixture(dirs: { dir: string; name: string; requireCoverage?: boolean }[]): Promise<JsonAssertion[]> {
  const outputFile = join(mkdtempSync(join(scratch, 'out-')), 'report.json');
  const args = ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/testing/fixtures/vitest.fixture.config.ts', '--reporter=json', `--outputFile=${outputFile}`];
  await promisify(execFile)(process.execPath, args, { env: { ...process.env, ACTRA_FIXTURE_DIRS: JSON.stringify(dirs) } }).catch(() => undefined);
  const report = JSON.parse(readFileSync(outputFile, 'utf8')) as { testResults: { assertionResults: JsonAssertion[] }[] };
  return report.testResults.flatMap((r) => r.assertionResults);
}

function copyOf(example: string): string {
  const dir = mkdtempSync(join(scratch, 'policy-'));
  cpSync(join('examples', 'policies', example), dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture text not found: ${from}`);
  writeFileSync(file, text.replace(from, to));
}

describe('definePolicyTests', () => {
  it('registers one test per case, fails the wrong ones with their reason, and checks coverage', async () => {
    const good = copyOf('refunds');
    const wrong = copyOf('refunds');
    edit(join(wrong, 'tests', 'refund.yaml'), 'expect: { effect: allow, rule: null }', 'expect: { effect: block }');
    unlinkSync(join(wrong, 'tests', 'accounts.yaml'));
    const results = await runFixture([
      { dir: good, name: 'good' },
      { dir: wrong, name: 'wrong', requireCoverage: true },
    ]);
    const good15 = results.filter((r) => r.ancestorTitles[0] === 'good');
    expect(good15).toHaveLength(15);
    expect(good15.every((r) => r.status === 'passed')).toBe(true);
    const wrongOnes = results.filter((r) => r.ancestorTitles[0] === 'wrong');
    expect(wrongOnes.map((r) => r.title)).toContain('exercises every rule');
    const failed = wrongOnes.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.title)).toEqual(['small refund is allowed', 'exercises every rule']);
    const casesFile = join(wrong, 'tests', 'refund.yaml');
    expect(failed[0]!.failureMessages[0]).toContain(`ActraAssertionError: ${casesFile}:3:5 expected block, got allow (no rule)`);
    expect(failed[1]!.failureMessages[0]).toContain('no case exercised: delete_account_admin_only (');
    expect(failed[1]!.failureMessages[0]).toContain('approve_account_deletion (');
  });

  it('turns a policy that does not compile, a bad test file and a missing tests folder into failing tests', async () => {
    const broken = copyOf('refunds');
    edit(join(broken, 'policy.yaml'), 'operator: not_in', 'operator: not_inside');
    const badFile = copyOf('refunds');
    edit(join(badFile, 'tests', 'accounts.yaml'), 'snapshot: { fraud_flag: false }', 'snapshots: { fraud_flag: false }');
    const noCases = copyOf('refunds');
    rmSync(join(noCases, 'tests'), { recursive: true });
    const results = await runFixture([
      { dir: broken, name: 'broken' },
      { dir: badFile, name: 'bad file' },
      { dir: noCases, name: 'no cases' },
    ]);
    const of = (name: string) => results.filter((r) => r.ancestorTitles[0] === name);
    expect(of('broken').map((r) => [r.title, r.status])).toEqual([['compiles', 'failed']]);
    expect(of('broken')[0]!.failureMessages[0]).toMatch(/ActraCompileError: policy failed to compile with 1 issue\(s\); first: .*UNKNOWN_OPERATOR/);
    const bad = of('bad file');
    expect(bad.find((r) => r.title === 'has valid test files')).toMatchObject({ status: 'failed' });
    expect(bad.find((r) => r.title === 'has valid test files')!.failureMessages[0]).toContain('UNKNOWN_KEY unknown key "snapshots" in cases.0');
    expect(bad.filter((r) => r.status === 'passed')).toHaveLength(14);
    expect(of('no cases').map((r) => [r.title, r.status])).toEqual([['has test cases', 'failed']]);
  });
});
