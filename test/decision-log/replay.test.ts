import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Actra } from '../../src/core/actra.js';
import { runReplay } from '../../src/cli/replay.js';
import { main } from '../../src/cli/cli.js';
import { jsonlDecisionLog, sqliteDecisionLog, type DecisionLog } from '../../src/observability/decision-log.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { Actor, SnapshotLoader } from '../../src/runtime/types.js';

const refundsDir = resolve('examples/policies/refunds');
let dir: string;
let jsonl: string;
let sqlite: string;
let redactedLog: string;
let tightened: string;
let newField: string;
let readsDepartment: string;

const alice: Actor = { id: 'alice', role: 'support_agent', department: 'support' };
const fran: Actor = { id: 'fran', role: 'finance_lead', department: 'finance' };
const mallory: Actor = { id: 'mallory', role: 'support_agent', department: 'support' };

/** (actor, amount, currency) → recorded under the bundled policy in monitor mode. */
const traffic: [Actor, number, string][] = [
  [alice, 50, 'usd'], // allow
  [alice, 300, 'eur'], // allow
  [alice, 600, 'usd'], // allow; approval under the candidate
  [fran, 800, 'gbp'], // allow; approval under the candidate
  [alice, 1000, 'usd'], // allow (not > 1000); approval under the candidate
  [alice, 1200, 'usd'], // require_approval either way
  [alice, 20_000, 'usd'], // block_too_large either way
  [mallory, 700, 'usd'], // block_fraud_flagged either way
  [alice, 20, 'jpy'], // block_unsupported_currency either way
];

const loaders: SnapshotLoader[] = [
  { name: 'fraud', fields: ['fraud_flag'], load: ({ actor }) => ({ fraud_flag: actor.id === 'mallory' }) },
  { name: 'accounts', fields: ['account_frozen'], load: () => ({ account_frozen: false }) },
];

async function record(log: DecisionLog): Promise<void> {
  const runtime = new ActraRuntime(Actra.fromDirectory(refundsDir), { mode: 'monitor', loaders, observers: [log] });
  for (const [actor, amount, currency] of traffic) {
    const result = await runtime.check({ action: { type: 'refund', amount, currency, order_id: 'ord_1' }, actor, method: 'POST', route: '/refunds' });
    expect(result.outcome).toBe('allow'); // monitor never blocks
  }
  await runtime.check({ action: { type: 'read_order', order_id: 'ord_1' }, actor: fran, method: 'GET', route: '/orders/:id' });
  await log.close();
}

function policyVariant(name: string, edit: (policy: string, schema: string) => { policy: string; schema?: string }): string {
  const target = join(dir, name);
  cpSync(refundsDir, target, { recursive: true });
  rmSync(join(target, 'tests'), { recursive: true, force: true });
  // the bundled governance forbids refund block rules over other fields than fraud flag, amount, currency
  if (name !== 'tightened') rmSync(join(target, 'governance.yaml'));
  const out = edit(readFileSync(join(target, 'policy.yaml'), 'utf8'), readFileSync(join(target, 'schema.yaml'), 'utf8'));
  writeFileSync(join(target, 'policy.yaml'), out.policy);
  if (out.schema !== undefined) writeFileSync(join(target, 'schema.yaml'), out.schema);
  return target;
}

async function run(args: string[], stderrIsTTY = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runReplay(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stderrIsTTY });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actra-replay-'));
  jsonl = join(dir, 'decisions.jsonl');
  sqlite = join(dir, 'decisions.db');
  redactedLog = join(dir, 'redacted.jsonl');
  await record(jsonlDecisionLog({ path: jsonl }));
  await record(sqliteDecisionLog({ path: sqlite }));
  await record(jsonlDecisionLog({ path: redactedLog, redact: ['actor.department'] }));

  // approve_large_refund from "> 1000" to "> 500"
  tightened = policyVariant('tightened', (policy) => {
    const marker = 'id: approve_large_refund';
    const at = policy.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const head = policy.slice(0, at);
    const tail = policy.slice(at).replace('value: { literal: 1000 }', 'value: { literal: 500 }');
    expect(tail).toContain('value: { literal: 500 }');
    return { policy: head + tail };
  });
  // a new required snapshot field that the log never recorded
  newField = policyVariant('new-field', (policy, schema) => ({
    schema: schema.replace('    fraud_flag: boolean\n', '    fraud_flag: boolean\n    chargebacks: number\n'),
    policy: policy.replace(
      'rules:\n',
      'rules:\n  - id: block_chargebacks\n    scope: { action: refund }\n    when: { subject: { domain: snapshot, field: chargebacks }, operator: greater_than, value: { literal: 2 } }\n    effect: block\n',
    ),
  }));
  // a rule over actor.department, which the redacted log does not hold
  readsDepartment = policyVariant('reads-department', (policy) => ({
    policy: policy.replace(
      'rules:\n',
      'rules:\n  - id: block_outside_support\n    scope: { action: refund }\n    when: { subject: { domain: actor, field: department }, operator: equals, value: { literal: sales } }\n    effect: block\n',
    ),
  }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('actra replay', () => {
  it('finds no change when the candidate is the recorded policy', async () => {
    const { code, stdout, stderr } = await run([refundsDir, '--log', jsonl, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ format: 'jsonl', total: 10, unchanged: 10, changed: 0, inputErrors: 0, malformed: 0, skipped: { noInput: 0, redacted: 0 }, byEffect: [], byRule: [], examples: [] });
    expect(report.recordedPolicyHashes).toEqual([{ policyHash: Actra.fromDirectory(refundsDir).policyHash(), count: 10 }]);
    expect(report.candidatePolicyHash).toBe(Actra.fromDirectory(refundsDir).policyHash());
  });

  it('counts exactly what a tightened limit changes, by effect and by rule, with examples', async () => {
    const { code, stdout } = await run([tightened, '--log', jsonl, '--json', '--examples', '2']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ total: 10, unchanged: 7, changed: 3, inputErrors: 0 });
    expect(report.byEffect).toEqual([{ from: 'allow', to: 'require_approval', count: 3 }]);
    expect(report.byRule).toEqual([{ from: null, to: 'approve_large_refund', count: 3 }]);
    expect(report.examples).toHaveLength(2);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(report.examples[0]).toEqual({
      decisionId: lines[2].decisionId,
      position: 3,
      actionType: 'refund',
      from: { effect: 'allow', rule: null },
      to: { effect: 'require_approval', rule: 'approve_large_refund' },
    });
    expect(report.examples[1].decisionId).toBe(lines[3].decisionId);
  });

  it('prints a readable report', async () => {
    const { code, stdout } = await run([tightened, '--log', jsonl]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}total +10$/m);
    expect(stdout).toMatch(/^ {2}unchanged +7$/m);
    expect(stdout).toMatch(/^ {2}changed +3$/m);
    expect(stdout).toContain('By effect (recorded → candidate):\n  allow → require_approval  3\n');
    expect(stdout).toContain('By rule (recorded → candidate):\n  (no rule) → approve_large_refund  3\n');
    expect(stdout).toMatch(/^ {2}dec_\S+ {2}refund {2}allow \(no rule\) → require_approval \(approve_large_refund\)$/m);
    expect(stdout).toContain('3 decision(s) would change, 0 would fail under the candidate.');
  });

  it('replays a SQLite log the same way', async () => {
    const { code, stdout } = await run([tightened, '--log', sqlite, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ format: 'sqlite', total: 10, unchanged: 7, changed: 3 });
    expect(report.byRule).toEqual([{ from: null, to: 'approve_large_refund', count: 3 }]);
  });

  it('exits 1 with --fail-on-change only when something changed', async () => {
    expect((await run([tightened, '--log', jsonl, '--fail-on-change'])).code).toBe(1);
    expect((await run([refundsDir, '--log', jsonl, '--fail-on-change'])).code).toBe(0);
  });

  it('counts inputs the candidate cannot evaluate separately, naming field and rule', async () => {
    const { code, stdout } = await run([newField, '--log', jsonl, '--json', '--examples', '1']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    // nine refunds lack snapshot.chargebacks; the order read does not reach the rule
    expect(report).toMatchObject({ total: 10, inputErrors: 9, unchanged: 1, changed: 0 });
    expect(report.inputErrorExamples).toHaveLength(1);
    expect(report.inputErrorExamples[0].code).toBe('ACTRA_INPUT');
    expect(report.inputErrorExamples[0].message).toContain('chargebacks');
    expect(report.inputErrorExamples[0].message).toContain('block_chargebacks');
    expect((await run([newField, '--log', jsonl, '--fail-on-change'])).code).toBe(1);
  });

  it('skips records whose redacted fields the candidate reads, and replays the others', async () => {
    const same = JSON.parse((await run([refundsDir, '--log', redactedLog, '--json'])).stdout);
    expect(same).toMatchObject({ total: 10, unchanged: 10, skipped: { redacted: 0, noInput: 0 } });
    const reads = JSON.parse((await run([readsDepartment, '--log', redactedLog, '--json'])).stdout);
    // the nine refunds had actor.department redacted and the candidate reads it for refunds
    expect(reads).toMatchObject({ total: 10, unchanged: 1, changed: 0, skipped: { redacted: 9, noInput: 0 } });
    const unredacted = JSON.parse((await run([readsDepartment, '--log', jsonl, '--json'])).stdout);
    expect(unredacted).toMatchObject({ total: 10, unchanged: 10, skipped: { redacted: 0 } });
  });

  it('reports a malformed line with its number and keeps going', async () => {
    const broken = join(dir, 'broken.jsonl');
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n');
    writeFileSync(broken, [...lines.slice(0, 4), '{"v":1,"decisionId":', ...lines.slice(4)].join('\n') + '\n');
    appendFileSync(broken, JSON.stringify({ hello: 'world' }) + '\n');
    const { code, stdout } = await run([tightened, '--log', broken]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}total +10$/m);
    expect(stdout).toMatch(/^ {2}changed +3$/m);
    expect(stdout).toMatch(/^ {2}malformed +2$/m);
    expect(stdout).toContain('Malformed entries:\n  line 5: not valid JSON\n  line 12: not a decision record: "v" ');
  });

  it('records a failed decision without input and skips it on replay', async () => {
    const path = join(dir, 'failed.jsonl');
    const log = jsonlDecisionLog({ path });
    const runtime = new ActraRuntime(Actra.fromDirectory(refundsDir), {
      mode: 'monitor',
      observers: [log],
      loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: () => Promise.reject(new Error('fraud service down')) }, loaders[1] as SnapshotLoader],
    });
    const result = await runtime.check({ action: { type: 'refund', amount: 10, currency: 'usd' }, actor: alice });
    expect(result.error?.code).toBe('ACTRA_LOADER_FAILED');
    await log.close();
    const report = JSON.parse((await run([refundsDir, '--log', path, '--json'])).stdout);
    expect(report).toMatchObject({ total: 1, unchanged: 0, changed: 0, skipped: { noInput: 1, redacted: 0 } });
  });

  it('draws a progress bar on stderr when asked, never on stdout', async () => {
    const { code, stdout, stderr } = await run([refundsDir, '--log', jsonl, '--json', '--progress']);
    expect(code).toBe(0);
    expect(() => JSON.parse(stdout)).not.toThrow();
    const bars = stderr.trim().split('\n');
    expect(bars.at(-1)).toBe('replaying [####################] 100%  10 decisions');
    expect(bars.every((l) => l.startsWith('replaying ['))).toBe(true);
    // small log on a terminal: no bar; --no-progress wins over everything
    expect((await run([refundsDir, '--log', jsonl], true)).stderr).toBe('');
    expect((await run([refundsDir, '--log', jsonl, '--progress', '--no-progress'])).stderr).toBe('');
  });

  it('shows the bar automatically for a large log on a terminal', async () => {
    const big = join(dir, 'big.jsonl');
    const lines = readFileSync(jsonl, 'utf8');
    writeFileSync(big, lines.repeat(Math.ceil((1 << 20) / lines.length) + 1));
    const { code, stderr, stdout } = await run([refundsDir, '--log', big], true);
    expect(code).toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(11); // 0%, 10%, ..., 100%
    expect(stdout).toMatch(/^ {2}changed +0$/m);
    expect((await run([refundsDir, '--log', big], false)).stderr).toBe('');
  });

  it('fails with exit 2 and a message on usage and load errors', async () => {
    const missingLog = await run([refundsDir]);
    expect(missingLog.code).toBe(2);
    expect(missingLog.stderr).toContain('actra replay: missing --log <file>');
    const noDir = await run(['--log', jsonl]);
    expect(noDir).toMatchObject({ code: 2 });
    expect(noDir.stderr).toContain('actra replay: missing <policy-dir>');
    const noFile = await run([refundsDir, '--log', join(dir, 'nope.jsonl')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe(`actra replay: log file not found: ${join(dir, 'nope.jsonl')}\n`);
    const badFormat = await run([refundsDir, '--log', jsonl, '--format', 'csv']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format must be jsonl or sqlite');
    const badPolicy = await run([join(dir, 'no-such-policy'), '--log', jsonl]);
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toMatch(/^actra replay: /);
    const unknown = await run([refundsDir, '--log', jsonl, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
  });

  it('is reachable through the actra command line', async () => {
    let stdout = '';
    const code = await main(['replay', tightened, '--log', jsonl, '--json'], { stdout: (s) => (stdout += s), stderr: () => {}, stderrIsTTY: false });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ total: 10, changed: 3 });
  });
});
