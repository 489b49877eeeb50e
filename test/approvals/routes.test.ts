/** The neutral approval routes: status and decision, with real JWTs (jose) and real webhook signatures. */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, jwtVerify } from 'jose';
import { Webhook } from 'standardwebhooks';
import { Approvals, newApprovalId } from '../../src/approvals/approvals.js';
import { approvalRoutes } from '../../src/approvals/routes.js';
import { ActraAuthError } from '../../src/errors.js';
import type { Policy } from '../../src/core/types.js';
import type { NeutralRequest, NeutralResponse } from '../../src/http/types.js';
import type { Actor } from '../../src/runtime/types.js';
import { CLERK, MANAGER, OTHER_CLERK, loadPolicy, requestFor } from './fixtures/policy.js';
import { PROTOCOL_STORES, type ProtocolStore } from './fixtures/stores.js';

const JWT_KEY = new TextEncoder().encode('a-test-signing-key-of-at-least-32-bytes!!');
const INBOUND = 'whsec_' + randomBytes(32).toString('base64');

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy();
});

async function tokenFor(actor: Actor, options: { expired?: boolean } = {}): Promise<string> {
  const jwt = new SignJWT({ role: actor['role'] as string }).setProtectedHeader({ alg: 'HS256' }).setSubject(actor.id).setIssuer('https://issuer.test').setAudience('actra-tests');
  if (options.expired) jwt.setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600);
  else jwt.setIssuedAt().setExpirationTime('5m');
  return jwt.sign(JWT_KEY);
}

async function resolveFromJwt(req: NeutralRequest): Promise<Actor | undefined> {
  const header = req.header('authorization');
  if (header === undefined) return undefined;
  const token = header.replace(/^Bearer /, '');
  try {
    const { payload } = await jwtVerify(token, JWT_KEY, { algorithms: ['HS256'], issuer: 'https://issuer.test', audience: 'actra-tests' });
    return { id: String(payload.sub), role: payload['role'] };
  } catch (cause) {
    throw new ActraAuthError('the bearer token did not verify', { cause });
  }
}

interface RequestInit {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
}

function neutral(init: RequestInit): NeutralRequest {
  const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const rawBody = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return {
    method: init.method ?? 'GET',
    path: init.path,
    params: {},
    query: {},
    body: init.body ?? (rawBody === undefined ? undefined : JSON.parse(rawBody)),
    ...(rawBody === undefined ? {} : { rawBody }),
    header: (name) => headers.get(name.toLowerCase()),
  };
}

function signedHeaders(body: string, options: { key?: string; id?: string } = {}): Record<string, string> {
  const id = options.id ?? 'msg_' + randomBytes(12).toString('base64url');
  const at = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(options.key ?? INBOUND).sign(id, at, body),
  };
}

for (const backend of PROTOCOL_STORES) {
  describe(`approval routes on the ${backend.name} store`, () => {
    let fixture: ProtocolStore;
    let approvals: Approvals;
    let routes: (req: NeutralRequest) => Promise<NeutralResponse | undefined>;
    let clock: number;
    let id: string;
    const refund = { type: 'refund', amount: 5000, currency: 'EUR' };

    async function call(init: RequestInit & { as?: Actor }): Promise<NeutralResponse> {
      const headers: Record<string, string> = { 'x-request-id': 'req-1', ...init.headers };
      if (init.as !== undefined) headers['authorization'] = `Bearer ${await tokenFor(init.as)}`;
      const response = await routes(neutral({ ...init, headers }));
      if (response === undefined) throw new Error('expected the routes to answer');
      return response;
    }

    beforeEach(async () => {
      fixture = await backend.create();
      clock = Date.now();
      approvals = new Approvals({ store: fixture.store, policy, now: () => clock, inboundSecrets: [{ name: 'chatops', secret: INBOUND }] });
      routes = approvalRoutes(approvals, { prefix: '/actra', resolveApprover: resolveFromJwt });
      id = (await approvals.open(requestFor(policy, refund, CLERK))).id;
    });
    afterEach(async () => {
      await approvals.close();
      await fixture.dispose();
    });

    it('ignores paths that are not approval routes', async () => {
      for (const path of ['/refunds/1', '/actra/approvals', '/actra/approvals/', `/approvals/${id}`, `/actra/approvals/${id}/other`, `/actra/approvals/${id}/decision/x`, `/actraapprovals/${id}`]) {
        expect(await routes(neutral({ path }))).toBeUndefined();
      }
    });

    describe('GET <prefix>/approvals/:id', () => {
      it('shows the status view to the requester', async () => {
        const response = await call({ path: `/actra/approvals/${id}`, as: CLERK });
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe('application/json');
        expect(response.headers['cache-control']).toBe('no-store');
        expect(response.body).toEqual({
          id,
          status: 'pending',
          actionType: 'refund',
          ruleId: 'refund_needs_approval',
          reason: 'refund.large',
          createdAt: new Date(clock).toISOString(),
          expiresAt: new Date(clock + 15 * 60_000).toISOString(),
        });
      });

      it('shows it to an approver, also on HEAD and with a trailing slash', async () => {
        expect((await call({ path: `/actra/approvals/${id}`, as: MANAGER })).status).toBe(200);
        expect((await call({ method: 'HEAD', path: `/actra/approvals/${id}/`, as: MANAGER })).status).toBe(200);
      });

      it('answers anyone else exactly as for an id that does not exist', async () => {
        const stranger = await call({ path: `/actra/approvals/${id}`, as: OTHER_CLERK });
        const unknown = await call({ path: `/actra/approvals/${newApprovalId()}`, as: OTHER_CLERK });
        const malformed = await call({ path: '/actra/approvals/apr_x', as: OTHER_CLERK });
        expect(stranger.status).toBe(404);
        expect(stranger).toEqual(unknown);
        expect(malformed).toEqual(unknown);
        expect(unknown.headers['content-type']).toBe('application/problem+json');
        expect(unknown.body).toMatchObject({
          type: 'https://actra.dev/problems/approval-not-found',
          status: 404,
          code: 'ACTRA_APPROVAL_NOT_FOUND',
          detail: 'no approval with this id is visible to the caller',
          requestId: 'req-1',
        });
      });

      it('answers 401 with a Bearer challenge without credentials or with a bad token', async () => {
        const none = await call({ path: `/actra/approvals/${id}` });
        expect(none.status).toBe(401);
        expect(none.headers['www-authenticate']).toBe('Bearer realm="actra"');
        expect(none.body).toMatchObject({ code: 'ACTRA_UNAUTHENTICATED' });
        const expiredToken = await tokenFor(MANAGER, { expired: true });
        const bad = await call({ path: `/actra/approvals/${id}`, headers: { authorization: `Bearer ${expiredToken}` } });
        expect(bad.status).toBe(401);
        expect(bad.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
        expect(bad.body).toMatchObject({ code: 'ACTRA_UNAUTHENTICATED', detail: 'the bearer token did not verify' });
        expect(JSON.stringify(bad)).not.toContain(expiredToken);
      });

      it('answers 405 with Allow for other methods', async () => {
        const response = await call({ method: 'DELETE', path: `/actra/approvals/${id}`, as: MANAGER });
        expect(response.status).toBe(405);
        expect(response.headers['allow']).toBe('GET, HEAD');
        const decision = await call({ method: 'GET', path: `/actra/approvals/${id}/decision`, as: MANAGER });
        expect(decision.status).toBe(405);
        expect(decision.headers['allow']).toBe('POST');
      });
    });

    describe('POST <prefix>/approvals/:id/decision with an approver JWT', () => {
      it('approves, and the same decision again is idempotent', async () => {
        const first = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body: { decision: 'approve', note: 'ok' } });
        expect(first.status).toBe(200);
        expect(first.body).toMatchObject({ id, status: 'approved', verdict: 'approve', decidedAt: new Date(clock).toISOString() });
        const again = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body: { decision: 'approve' } });
        expect(again.status).toBe(200);
        expect(again.body).toEqual(first.body);
        expect((await fixture.store.get(id))?.decidedBy).toBe('user-manager');
      });

      it('answers 409 to a contradicting decision', async () => {
        await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body: { decision: 'deny' } });
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body: { decision: 'approve' } });
        expect(response.status).toBe(409);
        expect(response.body).toMatchObject({ code: 'ACTRA_APPROVAL_CONFLICT', detail: 'the approval was already denied; a decision is final' });
      });

      it('answers 403 when the requester decides their own request', async () => {
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: CLERK, body: { decision: 'approve' } });
        expect(response.status).toBe(403);
        expect(response.body).toMatchObject({ code: 'ACTRA_APPROVAL_FORBIDDEN', detail: 'the requester cannot decide their own approval' });
        expect((await fixture.store.get(id))?.status).toBe('pending');
      });

      it('answers 404, as for an unknown id, to an actor who does not satisfy the approval condition', async () => {
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: OTHER_CLERK, body: { decision: 'approve' } });
        const unknown = await call({ method: 'POST', path: `/actra/approvals/${newApprovalId()}/decision`, as: OTHER_CLERK, body: { decision: 'approve' } });
        expect(response.status).toBe(404);
        expect(response).toEqual(unknown);
        expect((await fixture.store.get(id))?.status).toBe('pending');
      });

      it('answers 403 ACTRA_APPROVAL_EXPIRED once the approval expired', async () => {
        clock += 15 * 60_000;
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body: { decision: 'approve' } });
        expect(response.status).toBe(403);
        expect(response.body).toMatchObject({ code: 'ACTRA_APPROVAL_EXPIRED', title: 'Approval expired', detail: 'the approval expired before it was decided' });
      });

      it('answers 400 to a malformed body and 401 without credentials', async () => {
        for (const body of [{ decision: 'maybe' }, {}, { decision: 'approve', extra: 1 }, { decision: 'approve', approver: 'someone' }]) {
          const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, as: MANAGER, body });
          expect(response.status).toBe(400);
          expect(response.body).toMatchObject({ code: 'ACTRA_BAD_REQUEST' });
        }
        const none = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, body: { decision: 'approve' } });
        expect(none.status).toBe(401);
        expect((await fixture.store.get(id))?.status).toBe('pending');
      });
    });

    describe('POST <prefix>/approvals/:id/decision as a signed webhook', () => {
      it('records the decision of a verified webhook, naming its source and the person behind it', async () => {
        const raw = JSON.stringify({ decision: 'approve', approver: 'alice@chat', note: 'via chat' });
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers: signedHeaders(raw), rawBody: raw });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ id, status: 'approved' });
        expect(await fixture.store.get(id)).toMatchObject({ decidedBy: 'webhook:chatops:alice@chat', note: 'via chat' });
      });

      it('refuses a forged signature, a replayed webhook-id and a missing raw body with 401', async () => {
        const raw = JSON.stringify({ decision: 'approve' });
        const forged = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers: signedHeaders(raw, { key: 'whsec_' + randomBytes(32).toString('base64') }), rawBody: raw });
        expect(forged.status).toBe(401);
        expect(forged.body).toMatchObject({ code: 'ACTRA_WEBHOOK_SIGNATURE', detail: 'webhook signature does not verify' });

        const headers = signedHeaders(raw);
        expect((await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers, rawBody: raw })).status).toBe(200);
        const replay = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers, rawBody: raw });
        expect(replay.status).toBe(401);
        expect(replay.body).toMatchObject({ code: 'ACTRA_WEBHOOK_SIGNATURE', detail: 'webhook-id was already used (replay refused)' });

        const noRaw = await routes({ ...neutral({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers: signedHeaders(raw), body: { decision: 'approve' } }), rawBody: undefined } as unknown as NeutralRequest);
        expect(noRaw?.status).toBe(401);
      });

      it('does not fall back to the Bearer token when a signature is present but wrong', async () => {
        const raw = JSON.stringify({ decision: 'approve' });
        const headers = { ...signedHeaders(raw, { key: 'whsec_' + randomBytes(32).toString('base64') }), authorization: `Bearer ${await tokenFor(MANAGER)}` };
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers, rawBody: raw });
        expect(response.status).toBe(401);
        expect((await fixture.store.get(id))?.status).toBe('pending');
      });

      it('refuses a webhook decision made on behalf of the requester with 403', async () => {
        const raw = JSON.stringify({ decision: 'approve', approver: 'user-clerk' });
        const response = await call({ method: 'POST', path: `/actra/approvals/${id}/decision`, headers: signedHeaders(raw), rawBody: raw });
        expect(response.status).toBe(403);
        expect(response.body).toMatchObject({ code: 'ACTRA_APPROVAL_FORBIDDEN' });
      });
    });
  });
}

describe('approvalRoutes options', () => {
  it('fails at construction without any way to resolve approvers, or with a bad prefix', async () => {
    const { MemoryApprovalStore } = await import('../../src/approvals/stores/memory-store.js');
    const approvals = new Approvals({ store: new MemoryApprovalStore(), policy });
    expect(() => approvalRoutes(approvals, { prefix: '/actra' })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'approvalRoutes: option "resolveApprover" is required when Approvals has no approverResolver' }),
    );
    expect(() => approvalRoutes(approvals, { prefix: 'no-slash', resolveApprover: resolveFromJwt })).toThrowError(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('"prefix"') }),
    );
  });

  it('uses the approverResolver of Approvals with the Bearer token when no resolver is given', async () => {
    const { MemoryApprovalStore } = await import('../../src/approvals/stores/memory-store.js');
    const store = new MemoryApprovalStore();
    const approvals = new Approvals({
      store,
      policy,
      approverResolver: async (token) => {
        const { payload } = await jwtVerify(token, JWT_KEY, { algorithms: ['HS256'], issuer: 'https://issuer.test', audience: 'actra-tests' });
        return { id: String(payload.sub), role: payload['role'] };
      },
    });
    const { id } = await approvals.open(requestFor(policy, { type: 'refund', amount: 5000, currency: 'EUR' }, CLERK));
    const routes = approvalRoutes(approvals);
    const response = await routes(neutral({ method: 'POST', path: `/approvals/${id}/decision`, headers: { authorization: `Bearer ${await tokenFor(MANAGER)}` }, body: { decision: 'deny' } }));
    expect(response?.status).toBe(200);
    expect(response?.body).toMatchObject({ status: 'denied' });
  });
});
