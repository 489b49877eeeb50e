import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAgent, SCRIPT } from '../../examples/agent-tools/agent.js';

const dir = mkdtempSync(join(tmpdir(), 'actra-agent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/agent-tools', () => {
  it('runs, blocks or holds each scripted tool call, then resumes the approved one exactly once', async () => {
    const lines: string[] = [];
    const run = await runAgent({ dataDir: dir, print: (l) => lines.push(l) });
    expect(run.results.map((r) => r.result.status)).toEqual(['ran', 'ran', 'needs_approval', 'blocked', 'blocked']);
    expect(run.results[0]?.result).toMatchObject({ status: 'ran', output: { id: 'ord_1002', total: 2500 } });
    expect(run.results[2]?.result).toMatchObject({ rule: 'approve_large_refund', approvalId: expect.stringMatching(/^apr_/) });
    expect(run.results[3]?.result).toMatchObject({ rule: 'block_unsupported_currency', reason: 'refund.unsupported_currency' });
    expect(run.results[4]?.result).toMatchObject({ rule: 'delete_account_admin_only', reason: 'account.delete_requires_admin' });
    expect(run.resumed).toHaveLength(1);
    expect(run.resumed[0]?.result).toMatchObject({ status: 'ran', output: { orderId: 'ord_1002', amount: 2500 } });
    // the refund tool ran for the small refund and, once, for the approved one
    expect(run.desk.refunds.map((r) => r.amount)).toEqual([40, 2500]);
    expect(lines).toContain('  refused         the same approval a second time: ACTRA_APPROVAL_CONSUMED');
    expect(lines.filter((l) => l.startsWith('  ran '))).toHaveLength(3);
  });

  it('records the audited and the admitted calls in the decision log', () => {
    const records = readFileSync(join(dir, 'decisions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { mode: string; route?: string; effect?: string });
    // five calls, the resume and the refused second resume
    expect(records).toHaveLength(SCRIPT.length + 2);
    expect(records[0]).toMatchObject({ mode: 'monitor', route: 'lookup_order', effect: 'allow' });
    expect(records.filter((r) => r.mode === 'enforce')).toHaveLength(SCRIPT.length + 1);
  });
});
