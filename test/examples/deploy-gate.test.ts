import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_ACTORS, start, type RunningDeployGate } from '../../examples/deploy-gate/server.js';

let dir: string;
let gate: RunningDeployGate;
let now = new Date('2026-03-03T10:30:00Z'); // a Tuesday
let erin: string;
let rita: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actra-deploy-'));
  gate = await start({ port: 0, dataDir: dir, clock: () => now });
  erin = await gate.auth.sign('erin', DEPLOY_ACTORS.erin);
  rita = await gate.auth.sign('rita', DEPLOY_ACTORS.rita);
});
afterAll(async () => {
  await gate?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(gate.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const staging = { service: 'billing', environment: 'staging', version: '1.4.2' };
const production = { service: 'billing', environment: 'production', version: '1.4.2' };

describe('examples/deploy-gate', () => {
  it('lets a staging deploy through in working hours', async () => {
    now = new Date('2026-03-03T10:30:00Z');
    const res = await post('/deploys', erin, staging);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ deployed: { service: 'billing', environment: 'staging', by: 'erin' } });
  });

  it('blocks a deploy before 09:00 and at the weekend, reading the injected clock', async () => {
    now = new Date('2026-03-03T08:59:00Z');
    const early = await post('/deploys', erin, staging);
    expect(early.status).toBe(403);
    expect(early.body).toMatchObject({ rule: 'block_outside_hours', reason: 'deploy.outside_hours', detail: 'Deploys are only allowed Monday to Friday, 09:00 to 17:00 UTC.' });
    now = new Date('2026-03-07T11:00:00Z'); // a Saturday
    const weekend = await post('/deploys', erin, staging);
    expect(weekend.status).toBe(403);
    expect(weekend.body).toMatchObject({ rule: 'block_outside_hours' });
    now = new Date('2026-03-06T16:59:00Z'); // Friday, last minute of the window
    expect((await post('/deploys', erin, { ...staging, version: '1.4.3' })).status).toBe(201);
  });

  it('holds a production deploy for a release manager, then runs it once', async () => {
    now = new Date('2026-03-04T14:00:00Z');
    const pending = await post('/deploys', erin, production);
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/) });
    const id = String(pending.body.approvalId);
    const byEngineer = await post(`/actra/approvals/${id}/decision`, erin, { decision: 'approve' });
    expect(byEngineer.status).toBe(403);
    const approved = await post(`/actra/approvals/${id}/decision`, rita, { decision: 'approve' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved' });
    const before = gate.deploys.length;
    const resumed = await post('/deploys', erin, production, { 'actra-approval': id });
    expect(resumed.status).toBe(201);
    expect(gate.deploys.length).toBe(before + 1);
    const again = await post('/deploys', erin, production, { 'actra-approval': id });
    expect(again.status).toBe(403);
    expect(again.body).toMatchObject({ code: 'ACTRA_APPROVAL_CONSUMED' });
    expect(gate.deploys.length).toBe(before + 1);
  });

  it('never lets an approval override the clock: production outside hours is blocked', async () => {
    now = new Date('2026-03-04T22:00:00Z');
    const res = await post('/deploys', rita, { ...production, version: '1.5.0' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ rule: 'block_outside_hours' });
  });

  it('blocks everything during a change freeze', async () => {
    now = new Date('2026-03-04T11:00:00Z');
    gate.state.changeFreeze = true;
    try {
      const res = await post('/deploys', erin, staging);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ rule: 'block_change_freeze', reason: 'deploy.change_freeze' });
    } finally {
      gate.state.changeFreeze = false;
    }
  });
});
