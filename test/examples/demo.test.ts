import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoInstructions, runDemoWalkthrough, startDemo, type RunningDemo } from '../../examples/demo/server.js';
import { runReplay } from '../../src/cli/replay.js';

let dir: string;
let demo: RunningDemo;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actra-demo-'));
  demo = await startDemo({ port: 0, dataDir: join(dir, '.actra-data'), quiet: true });
});
afterAll(async () => {
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runReplay(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stderrIsTTY: false });
  return { code, stdout, stderr };
}

describe('the demo', () => {
  it('runs the seven-step walkthrough with the expected status at every step', async () => {
    const printed: string[] = [];
    const steps = await runDemoWalkthrough(demo.url, demo.tokens, (line) => printed.push(line));
    expect(steps.map((s) => s.status)).toEqual([201, 403, 202, 403, 200, 201, 403]);
    expect(steps[0]?.body).toMatchObject({ refund: { amount: 40, issuedBy: 'alice' } });
    expect(steps[1]?.body).toMatchObject({ status: 403, code: 'ACTRA_BLOCKED', reason: 'refund.fraud_flag', rule: 'block_fraud_flagged' });
    expect(steps[2]?.body).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_[A-Za-z0-9_-]{22,}$/) });
    expect(steps[3]?.body).toMatchObject({ code: 'ACTRA_APPROVAL_FORBIDDEN', detail: 'the requester cannot decide their own approval' });
    expect(steps[4]?.body).toMatchObject({ status: 'approved', id: steps[2]?.body.approvalId });
    expect(steps[5]?.body).toMatchObject({ refund: { amount: 2500, currency: 'eur', issuedBy: 'alice' } });
    expect(steps[6]?.body).toMatchObject({ code: 'ACTRA_APPROVAL_CONSUMED' });
    expect(printed).toHaveLength(7);
    expect(printed[1]).toContain('→ 403  refund.fraud_flag ACTRA_BLOCKED');
    expect(printed[2]).toContain(`→ 202  approvalId=${String(steps[2]?.body.approvalId)}`);
  });

  it('prints tokens for the three actors and never the signing key', () => {
    const text = demo.instructions;
    for (const [name, token] of [['ALICE', demo.tokens.alice], ['FRAN', demo.tokens.fran], ['MALLORY', demo.tokens.mallory]] as const) {
      expect(text).toContain(`export ${name}=${token}\n`);
    }
    const secret = demo.auth.jwt.secret as Uint8Array;
    expect(text).not.toContain(Buffer.from(secret).toString('hex'));
    expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    expect(text).not.toContain(Buffer.from(secret).toString('base64url'));
  });

  it('prints shell commands that, pasted into sh, walk through the same seven steps', async () => {
    for (const jq of [true, false]) {
      const text = demoInstructions(demo.url, demo.tokens, demo.dataDir, 'enforce', jq);
      const script = text.slice(text.indexOf('export API='), text.indexOf('Then see what'));
      const file = join(dir, `walkthrough-${jq}.sh`);
      writeFileSync(file, `set -e\n${script}`);
      // asynchronous: the server answering curl runs in this very process
      const run = await promisify(execFile)('sh', [file], { encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      const statuses = [...run.stdout.matchAll(/→ HTTP (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([201, 403, 403, 200, 201, 403]);
      expect(run.stdout).toMatch(/^APPROVAL_ID=apr_[A-Za-z0-9_-]+$/m);
    }
  });

  it('picks a free port when the one asked for is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', () => ok()));
    const taken = (blocker.address() as { port: number }).port;
    const other = await startDemo({ port: taken, dataDir: join(dir, 'other'), quiet: true });
    try {
      expect(other.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(other.url).not.toBe(`http://127.0.0.1:${taken}`);
      const health = await fetch(`${other.url}/orders/ord_1001`, { headers: { authorization: `Bearer ${other.tokens.fran}` } });
      expect(health.status).toBe(200);
    } finally {
      await other.close();
      await new Promise<void>((ok) => blocker.close(() => ok()));
    }
  });

  it('leaves a decision log that actra replay reads', async () => {
    const log = join(demo.dataDir, 'decisions.jsonl');
    const records = readFileSync(log, 'utf8').trim().split('\n');
    const same = await replay([resolve('examples/policies/refunds'), '--log', log, '--json']);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    const report = JSON.parse(same.stdout);
    expect(report.total).toBe(records.length);
    expect(report).toMatchObject({ changed: 0, inputErrors: 0, malformed: 0 });
    expect(report.unchanged + report.skipped.noInput).toBe(records.length);
    const text = await replay([resolve('examples/policies/refunds'), '--log', log]);
    expect(text.stdout).toContain('No decision would change.');
  });
});
