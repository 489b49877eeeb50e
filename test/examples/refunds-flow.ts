/** The smoke test every refunds example passes: the full approval walkthrough and an order read, over real HTTP. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RefundsExampleOptions, RunningExample } from '../../examples/shared/setup.js';
import { ACTORS } from '../../examples/shared/refunds.js';
import { EXPECTED_STATUSES, LARGE_REFUND, runWalkthrough, type WalkthroughTokens } from '../../examples/shared/walkthrough.js';

/** Registers the smoke tests of one refunds example. */
export function refundsSmokeTest(start: (options: RefundsExampleOptions) => Promise<RunningExample>): void {
  let dir: string;
  let app: RunningExample;
  let tokens: WalkthroughTokens;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'actra-example-'));
    app = await start({ port: 0, dataDir: dir });
    tokens = {
      alice: await app.auth.sign('alice', ACTORS.alice),
      fran: await app.auth.sign('fran', ACTORS.fran),
      mallory: await app.auth.sign('mallory', ACTORS.mallory),
    };
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('walks through allowed, blocked, pending, approval and a single resume', async () => {
    const steps = await runWalkthrough(app.url, tokens, () => {});
    expect(steps.map((s) => s.status)).toEqual([...EXPECTED_STATUSES]);
    const [allowed, blocked, pending, self, approved, resumed, reused] = steps;
    expect(allowed?.body).toMatchObject({ refund: { orderId: 'ord_1001', amount: 40, currency: 'usd', issuedBy: 'alice' } });
    expect(blocked?.body).toMatchObject({ code: 'ACTRA_BLOCKED', reason: 'refund.fraud_flag', rule: 'block_fraud_flagged', detail: 'Refunds are blocked while the customer is flagged for fraud.' });
    expect(pending?.body).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/) });
    expect(self?.body).toMatchObject({ code: 'ACTRA_APPROVAL_FORBIDDEN' });
    expect(approved?.body).toMatchObject({ status: 'approved', verdict: 'approve', ruleId: 'approve_large_refund' });
    expect(resumed?.body).toMatchObject({ refund: { orderId: LARGE_REFUND.order_id, amount: LARGE_REFUND.amount, issuedBy: 'alice' } });
    expect(reused?.body).toMatchObject({ code: 'ACTRA_APPROVAL_CONSUMED' });
    // the handler ran exactly twice: the small refund and the approved one
    expect(app.desk.refunds.map((r) => r.amount)).toEqual([40, 2500]);
  });

  it('guards order reads and refuses requests without a token', async () => {
    const read = await fetch(`${app.url}/orders/ord_1001`, { headers: { authorization: `Bearer ${tokens.fran}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ order: { id: 'ord_1001', total: 120 } });
    const anonymous = await fetch(`${app.url}/refunds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order_id: 'ord_1001', amount: 1, currency: 'usd' }) });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const badAmount = await fetch(`${app.url}/refunds`, { method: 'POST', headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ order_id: 'ord_1001', amount: 'ten', currency: 'usd' }) });
    expect(badAmount.status).toBe(400);
  });

  it('sends the decision and request id headers on an allowed request over a real server', async () => {
    const read = await fetch(`${app.url}/orders/ord_1001`, { headers: { authorization: `Bearer ${tokens.fran}`, 'x-request-id': 'smoke-req-1' } });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-request-id')).toBe('smoke-req-1');
    expect(read.headers.get('actra-decision-id')).toMatch(/^dec_[\w-]{22}$/);
    expect(read.headers.get('content-type')).toMatch(/^application\/json/);
    const generated = await fetch(`${app.url}/orders/ord_1001`, { headers: { authorization: `Bearer ${tokens.fran}` } });
    expect(generated.headers.get('x-request-id')).toMatch(/\S{8,}/);
    expect(generated.headers.get('actra-decision-id')).not.toBe(read.headers.get('actra-decision-id'));
  });

  it('records every decision in the JSON-lines log', () => {
    const records = readFileSync(join(dir, 'decisions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { effect?: string; rule?: string });
    expect(records.length).toBeGreaterThanOrEqual(6);
    expect(records.some((r) => r.rule === 'block_fraud_flagged')).toBe(true);
    expect(records.filter((r) => r.rule === 'approve_large_refund').length).toBeGreaterThanOrEqual(3);
  });
}
