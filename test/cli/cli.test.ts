import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { asLine, type CliIo } from '../../src/cli/io.js';
import { Actra } from '../../src/core/actra.js';

const REFUNDS = join('examples', 'policies', 'refunds');
const DEPLOY = join('examples', 'policies', 'deploy');
const scratch = mkdtempSync(join(tmpdir(), 'actra-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string; lines: string[] }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += asLine(s)), stderr: (s) => void (err += asLine(s)) };
  const code = await main(argv, io);
  return { code, out, err, lines: out.split('\n').filter((l) => l !== '') };
}

/** A copy of an example policy directory, to break on purpose. */
function copyOf(example: string): string {
  const dir = mkdtempSync(join(scratch, 'policy-'));
  cpSync(example, dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture text not found in ${file}: ${from}`);
  writeFileSync(file, text.replace(from, to));
}

function lineOf(file: string, needle: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('actra check', () => {
  it('prints ok and the policy hash for a valid directory', async () => {
    const { code, lines, err } = await run('check', REFUNDS);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(lines).toEqual([`ok ${Actra.fromDirectory(REFUNDS).policyHash()}`]);
    expect(lines[0]).toMatch(/^ok [0-9a-f]{64}$/);
  });

  it('prints every problem as file:line:col CODE message with the rule id, and exits 1', async () => {
    const dir = copyOf(REFUNDS);
    const policyFile = join(dir, 'policy.yaml');
    edit(policyFile, 'value: { literal: 10000 }\n    effect: block', 'value: { literal: 10000 }\n    efect: block');
    edit(policyFile, 'field: fraud_flag }', 'field: fraud_flg }');
    const { code, lines } = await run('check', dir);
    expect(code).toBe(1);
    const problems = lines.slice(0, -1);
    for (const line of problems) expect(line).toMatch(/^\S+:\d+:\d+ [A-Z_]+ .+$/);
    const efectLine = lineOf(policyFile, 'efect: block');
    const ruleLine = lineOf(policyFile, 'id: block_too_large');
    expect(problems.filter((l) => l.startsWith(`${policyFile}:`) && !l.includes('UNKNOWN_FIELD'))).toEqual([
      `${policyFile}:${efectLine}:5 UNKNOWN_KEY unknown key "efect" in rule (did you mean "effect"?) (rule block_too_large)`,
      `${policyFile}:${ruleLine}:5 MISSING_KEY rule is missing required key "effect" (rule block_too_large)`,
    ]);
    const typo = problems.find((l) => l.includes('UNKNOWN_FIELD'));
    expect(typo).toBe(`${policyFile}:${lineOf(policyFile, 'fraud_flg')}:43 UNKNOWN_FIELD snapshot has no field "fraud_flg" (did you mean "fraud_flag"?) (rule block_fraud_flagged)`);
    expect(problems.some((l) => l.startsWith(`${join(dir, 'governance.yaml')}:`) && l.includes('GOVERNANCE_VIOLATION'))).toBe(true);
    expect(lines.at(-1)).toBe(`${problems.length} problem(s) in ${dir}`);
  });

  it('prints the rule id even when the message already names it', async () => {
    const dir = copyOf(REFUNDS);
    const policyFile = join(dir, 'policy.yaml');
    edit(policyFile, 'id: block_too_large', 'id: block_fraud_flagged');
    const { code, lines } = await run('check', dir);
    expect(code).toBe(1);
    const line = lineOf(policyFile, 'id: block_fraud_flagged');
    const second = readFileSync(policyFile, 'utf8').split('\n').findIndex((l, i) => i + 1 > line && l.includes('id: block_fraud_flagged')) + 1;
    expect(lines).toContain(
      `${policyFile}:${second}:9 DUPLICATE_RULE_ID rule id "block_fraud_flagged" is already used by rule 1; rule ids must be unique (rule block_fraud_flagged)`,
    );
  });

  it('reports a missing policy file as FILE_NOT_FOUND', async () => {
    const dir = copyOf(REFUNDS);
    unlinkSync(join(dir, 'policy.yaml'));
    const { code, lines } = await run('check', dir);
    expect(code).toBe(1);
    expect(lines[0]).toBe(`${join(dir, 'policy.yaml')}:0:0 FILE_NOT_FOUND ${join(dir, 'policy.yaml')} does not exist`);
  });

  it('exits 2 on a missing, extra or nonexistent directory and on an unknown option', async () => {
    const missing = await run('check');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('actra: missing <dir>');
    expect(missing.err).toContain('Usage: actra check <dir>');
    expect((await run('check', REFUNDS, DEPLOY)).code).toBe(2);
    const absent = await run('check', join(scratch, 'nope'));
    expect(absent.code).toBe(2);
    expect(absent.err).toBe(`actra: policy directory not found: ${join(scratch, 'nope')}\n`);
    const option = await run('check', REFUNDS, '--fast');
    expect(option.code).toBe(2);
    expect(option.err).toMatch(/Unknown option '--fast'/);
  });
});

describe('actra test', () => {
  it('runs the bundled refund cases, reports full coverage and ends with N passed, M failed', async () => {
    const { code, lines } = await run('test', REFUNDS);
    expect(code).toBe(0);
    expect(lines).toEqual(['coverage: every rule exercised (7 of 7)', '15 passed, 0 failed']);
  });

  it('runs the bundled deploy cases', async () => {
    const { code, lines } = await run('test', DEPLOY, '--require-coverage');
    expect(code).toBe(0);
    expect(lines.at(-1)).toBe('12 passed, 0 failed');
  });

  it('prints PASS lines with --verbose', async () => {
    const { lines } = await run('test', REFUNDS, '--verbose');
    const casesFile = join(REFUNDS, 'tests', 'refund.yaml');
    expect(lines).toContain(`PASS ${casesFile}:${lineOf(casesFile, 'small refund is allowed')}:5 small refund is allowed`);
    expect(lines.filter((l) => l.startsWith('PASS '))).toHaveLength(15);
  });

  it('prints one line per failing case with its position and reason, and exits 1', async () => {
    const dir = copyOf(REFUNDS);
    const casesFile = join(dir, 'tests', 'refund.yaml');
    edit(casesFile, 'expect: { effect: block, rule: block_too_large, reason: refund.too_large }', 'expect: { effect: require_approval, rule: approve_large_refund }');
    edit(casesFile, 'snapshot: {}\n    expect: { error: ACTRA_INPUT }', 'snapshot: {}\n    expect: { effect: allow }');
    const { code, lines } = await run('test', dir);
    expect(code).toBe(1);
    const fails = lines.filter((l) => l.startsWith('FAIL '));
    expect(fails).toHaveLength(2);
    expect(fails[0]).toBe(
      `FAIL ${casesFile}:${lineOf(casesFile, 'refund over 10000 is blocked')}:5 refund over 10000 is blocked before the approval rule: expected require_approval (rule approve_large_refund), got block (rule block_too_large, reason refund.too_large)`,
    );
    const prefix = `FAIL ${casesFile}:${lineOf(casesFile, 'a missing fraud flag fails closed')}:5 a missing fraud flag fails closed: expected allow, got error ACTRA_INPUT: `;
    expect(fails[1]!.startsWith(prefix)).toBe(true);
    expect(fails[1]).toContain('snapshot.fraud_flag');
    expect(fails[1]).toContain('block_fraud_flagged');
    expect(lines.at(-1)).toBe('13 passed, 2 failed');
  });

  it('lists the rules no case exercised, and fails on them only with --require-coverage', async () => {
    const dir = copyOf(REFUNDS);
    unlinkSync(join(dir, 'tests', 'accounts.yaml'));
    const policyFile = join(dir, 'policy.yaml');
    const plain = await run('test', dir);
    expect(plain.code).toBe(0);
    expect(plain.lines).toEqual([
      'coverage: 5 of 7 rules exercised; no case exercised:',
      `  delete_account_admin_only (${policyFile}:${lineOf(policyFile, 'id: delete_account_admin_only')}:5)`,
      `  approve_account_deletion (${policyFile}:${lineOf(policyFile, 'id: approve_account_deletion')}:5)`,
      '11 passed, 0 failed',
    ]);
    const strict = await run('test', dir, '--require-coverage');
    expect(strict.code).toBe(1);
    expect(strict.lines.at(-1)).toBe('11 passed, 0 failed');
  });

  it('reports problems in test files and exits 1 while running the valid cases', async () => {
    const dir = copyOf(REFUNDS);
    const accounts = join(dir, 'tests', 'accounts.yaml');
    edit(accounts, 'expect: { effect: allow, rule: null }', 'expect: { effect: allow, rules: null }');
    const { code, lines } = await run('test', dir);
    expect(code).toBe(1);
    expect(lines[0]).toBe(`${accounts}:${lineOf(accounts, 'rules: null')}:30 UNKNOWN_KEY unknown key "rules" in cases.0.expect (did you mean "rule"?)`);
    expect(lines).toContain('1 problem(s) in test files');
    expect(lines.at(-1)).toBe('14 passed, 0 failed');
  });

  it('exits 1 when there are no cases', async () => {
    const dir = copyOf(REFUNDS);
    rmSync(join(dir, 'tests'), { recursive: true });
    const { code, lines } = await run('test', dir);
    expect(code).toBe(1);
    expect(lines).toEqual([`no test cases found in ${join(dir, 'tests')}`, '0 passed, 0 failed']);
  });

  it('prints the compile problems and counts every case as failed when the policy does not compile', async () => {
    const dir = copyOf(REFUNDS);
    const policyFile = join(dir, 'policy.yaml');
    edit(policyFile, 'operator: not_in', 'operator: not_inside');
    const { code, lines } = await run('test', dir);
    expect(code).toBe(1);
    const at = `${lineOf(policyFile, 'not_inside')}:${readFileSync(policyFile, 'utf8').split('\n')[lineOf(policyFile, 'not_inside') - 1]!.indexOf('not_inside') + 1}`;
    expect(lines).toEqual([
      `${policyFile}:${at} UNKNOWN_OPERATOR unknown operator "not_inside" (rule block_unsupported_currency)`,
      `1 problem(s) in ${dir}`,
      '0 passed, 15 failed',
    ]);
  });

  it('ends with 0 passed, 1 failed when the policy does not compile and there are no cases', async () => {
    const dir = copyOf(REFUNDS);
    rmSync(join(dir, 'tests'), { recursive: true });
    edit(join(dir, 'policy.yaml'), 'operator: not_in', 'operator: not_inside');
    const { code, lines } = await run('test', dir);
    expect(code).toBe(1);
    expect(lines.at(-1)).toBe('0 passed, 1 failed');
  });
});

describe('actra explain', () => {
  function inputFile(input: unknown): string {
    const file = join(mkdtempSync(join(scratch, 'input-')), 'case.json');
    writeFileSync(file, typeof input === 'string' ? input : JSON.stringify(input));
    return file;
  }

  it('prints the explanation text for an input file', async () => {
    const file = inputFile({ action: { type: 'refund', amount: 25000, currency: 'usd' }, actor: { role: 'admin' }, snapshot: { fraud_flag: false } });
    const { code, out } = await run('explain', REFUNDS, '--input', file);
    expect(code).toBe(0);
    const policy = Actra.fromDirectory(REFUNDS);
    const expected = policy.explain({ action: { type: 'refund', amount: 25000, currency: 'usd' }, actor: { role: 'admin' }, snapshot: { fraud_flag: false } });
    expect(out).toBe(asLine(expected.text));
    expect(out).toContain('block_too_large');
  });

  it('prints the structured explanation with --json', async () => {
    const file = inputFile({ action: { type: 'delete_account', account_id: 'a1' }, actor: { role: 'support_agent' }, snapshot: { fraud_flag: false } });
    const { code, out } = await run('explain', REFUNDS, '--input', file, '--json');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { decision: { effect: string; matchedRule: string }; trace: { ruleId: string; matched: boolean }[]; text: string };
    expect(parsed.decision).toMatchObject({ effect: 'block', matchedRule: 'delete_account_admin_only' });
    expect(parsed.trace.map((t) => [t.ruleId, t.matched])).toEqual([['delete_account_admin_only', true]]);
    expect(typeof parsed.text).toBe('string');
  });

  it('explains a test case by name', async () => {
    const { code, out } = await run('explain', DEPLOY, '--case', 'weekend deploy is blocked', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as { decision: { matchedRule: string } }).decision.matchedRule).toBe('block_outside_hours');
    const unknown = await run('explain', DEPLOY, '--case', 'no such case');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe(`actra: no test case named "no such case" in ${join(DEPLOY, 'tests')}\n`);
  });

  it('exits 2 unless exactly one of --input and --case is given', async () => {
    const file = inputFile({ action: { type: 'refund' } });
    expect((await run('explain', REFUNDS)).code).toBe(2);
    const both = await run('explain', REFUNDS, '--input', file, '--case', 'x');
    expect(both.code).toBe(2);
    expect(both.err).toContain('explain needs exactly one of --input <file> or --case <name>');
  });

  it('exits 1 on an input file that is not JSON, not readable or of the wrong shape', async () => {
    const notJson = inputFile('{ action: ');
    const r1 = await run('explain', REFUNDS, '--input', notJson);
    expect(r1.code).toBe(1);
    expect(r1.err).toBe(`actra: input file ${notJson} is not valid JSON\n`);
    const r2 = await run('explain', REFUNDS, '--input', join(scratch, 'absent.json'));
    expect(r2.code).toBe(1);
    expect(r2.err).toBe(`actra: input file ${join(scratch, 'absent.json')} cannot be read\n`);
    const shape = inputFile({ action: { amount: 3 }, actors: {} });
    const r3 = await run('explain', REFUNDS, '--input', shape);
    expect(r3.code).toBe(1);
    expect(r3.err).toContain(`actra: input file ${shape}: action.type: `);
    expect(r3.err).toContain('(actors)');
  });

  it('exits 1 with ACTRA_INPUT naming the field, never the value, when the input cannot be evaluated', async () => {
    const file = inputFile({ action: { type: 'refund', amount: 'SECRET-AMOUNT', currency: 'usd' }, actor: { role: 'support_agent' }, snapshot: { fraud_flag: false } });
    const { code, err, out } = await run('explain', REFUNDS, '--input', file);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^ACTRA_INPUT .*action\.amount/);
    expect(err).not.toContain('SECRET-AMOUNT');
    const json = await run('explain', REFUNDS, '--input', file, '--json');
    expect(json.code).toBe(1);
    expect((JSON.parse(json.out) as { error: { code: string } }).error.code).toBe('ACTRA_INPUT');
  });
});

describe('actra hash', () => {
  it('prints the policy hash, unchanged by comments and key order', async () => {
    const { code, lines } = await run('hash', REFUNDS);
    expect(code).toBe(0);
    expect(lines).toEqual([Actra.fromDirectory(REFUNDS).policyHash()]);
    const dir = copyOf(REFUNDS);
    edit(join(dir, 'policy.yaml'), 'version: 1\n', '# reformatted\nversion: 1 # still one\n');
    edit(join(dir, 'schema.yaml'), '      amount: number\n      currency: string\n', '      currency: string\n      amount: number\n');
    expect((await run('hash', dir)).lines).toEqual(lines);
  });

  it('changes when a rule changes, and exits 1 on problems', async () => {
    const dir = copyOf(REFUNDS);
    edit(join(dir, 'policy.yaml'), 'value: { literal: 10000 }', 'value: { literal: 20000 }');
    const changed = await run('hash', dir);
    expect(changed.code).toBe(0);
    expect(changed.lines[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(changed.lines[0]).not.toBe(Actra.fromDirectory(REFUNDS).policyHash());
    edit(join(dir, 'policy.yaml'), 'effect: require_approval', 'effect: maybe');
    const broken = await run('hash', dir);
    expect(broken.code).toBe(1);
    expect(broken.lines[0]).toMatch(/policy\.yaml:\d+:\d+ INVALID_VALUE /);
  });
});

describe('actra usage', () => {
  it('prints usage on --help, help <command> and <command> --help', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.out).toContain('Usage: actra <command> [options]');
    for (const command of ['check', 'test', 'explain', 'hash']) {
      const a = await run(command, '--help');
      const b = await run('help', command);
      expect(a.code).toBe(0);
      expect(a.out).toContain(`Usage: actra ${command} <dir>`);
      expect(b.out).toBe(a.out);
    }
  });

  it('exits 2 with the usage on stderr for no command and an unknown command', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: actra <command>');
    const unknown = await run('deploy', REFUNDS);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
    expect(unknown.err).toContain('actra: unknown command "deploy"');
    expect(unknown.err).toContain('Usage: actra <command>');
    expect((await run('__proto__')).code).toBe(2);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const { code, lines } = await run('--version');
    expect(code).toBe(0);
    expect(lines).toEqual([pkg.version]);
  });

  it('wires the replay command', async () => {
    const { code, out } = await run('replay', '--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage: actra replay <policy-dir> --log <file>');
  });
});

describe('the actra executable (built by npm run build)', () => {
  const bin = resolve('dist', 'src', 'cli', 'main.js');
  const exec = promisify(execFile);

  async function spawnBin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(process.execPath, [bin, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('is built with a node shebang', () => {
    expect(existsSync(bin), `${bin} is missing: run npm run build first`).toBe(true);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs the test command with real exit codes and streams', async () => {
    const ok = await spawnBin('test', REFUNDS);
    expect(ok).toEqual({ code: 0, stdout: 'coverage: every rule exercised (7 of 7)\n15 passed, 0 failed\n', stderr: '' });
    const dir = copyOf(REFUNDS);
    edit(join(dir, 'tests', 'refund.yaml'), 'expect: { effect: allow, rule: null }', 'expect: { effect: block }');
    const failed = await spawnBin('test', dir);
    expect(failed.code).toBe(1);
    expect(failed.stdout.endsWith('14 passed, 1 failed\n')).toBe(true);
    const usage = await spawnBin('frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('package scripts that run built code', () => {
  it('build first, so that they work from a fresh clone', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    const runsDist = Object.entries(scripts).filter(([, command]) => /\bnode\b[^&]*\bdist\//.test(command));
    expect(runsDist.map(([name]) => name)).toEqual(expect.arrayContaining(['bench', 'bench:http', 'bench:stores', 'bench:approvals', 'demo']));
    for (const [name, command] of runsDist) expect(`${name}: ${command}`).toMatch(new RegExp(`^${name}: npm run build --silent && `));
  });
});
