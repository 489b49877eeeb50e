/** The one adapter contract suite: the same app and the same cases on Express, Fastify and Hono. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActraHttpOptions } from '../../src/http/index.js';
import type { Policy } from '../../src/core/types.js';
import type { DecisionEvent } from '../../src/runtime/types.js';
import {
  AUDIENCE, closedStoreApprovals, compilePolicy, confusedToken, failingEngine, fraudLoader, HS_SECRET, hsToken, ISSUER, newApprovals, noneToken, rsToken,
  SECRET_ROLE, signWebhook, SNAPSHOT_VALUE, startJwks, SUBJECT, tamperPayload, tamperSignature, type JwksServer, type LoaderControl,
} from './fixtures.js';

/** A response, normalised across frameworks. */
export interface Res {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly json: any;
}

export interface SendInit {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as is, with `content-type: application/json` unless `contentType` says otherwise. */
  readonly rawBody?: string;
  /** The content type of `rawBody`. */
  readonly contentType?: string;
}

export interface Harness {
  send(method: string, path: string, init?: SendInit): Promise<Res>;
  /** How the framework's own JSON parser treats `__proto__` / `constructor` keys: kept as plain keys, or refused (400). */
  readonly protoKeys: 'kept' | 'refused';
  /**
   * How the framework's own router treats path variants (its documented defaults): whether static
   * segments compare case-sensitively, and whether trailing and duplicate slashes make another path.
   * A variant the router does not route is its 404; every variant it routes is guarded.
   */
  readonly routing: { readonly caseSensitive: boolean; readonly exactSlashes: boolean };
  close(): Promise<void>;
}

/**
 * Builds the contract app on one framework. Routes (handlers push their name to `calls` and answer
 * `{ route, decisionId, effect, mode }` from the framework's decision idiom):
 * - POST /refunds/:id 'table', GET /refunds/:id 'read', POST /monitored/:id 'monitored',
 *   POST /warned/:id 'warned', POST /mapped/:refundId 'mapped', POST /computed/:id 'computed',
 *   GET /export 'export', POST /transfers 'transfer' — guarded by `options.routes`;
 * - POST /api/v1/refunds/:id 'mounted' — in a sub-app / router / prefix mounted at /api/v1, and
 *   POST /api/v1/guarded/:id 'mounted-guard' — `guard('refund')` in that sub-app;
 * - POST /tenants/:tenant/refunds/:id 'tenant-guard' — `guard('refund')` in a sub-app / router /
 *   prefix mounted under a path parameter;
 * - POST /guarded/:id 'guard' — `guard('refund')`; POST /guarded-warn/:id 'guard-warn' —
 *   `guard('refund', { mode: 'warn' })`; POST /double/:id 'double' — `guard('refund')` and a table entry;
 * - POST /controller/:id 'decorator' — `@Guard('refund')`; POST /misconfigured/:id 'misconfigured' —
 *   `@Guard('payout')` (an undeclared action), both methods reached through a wrapper;
 * - GET /health 'health' — unguarded.
 */
export type Factory = (options: ActraHttpOptions, calls: string[]) => Promise<Harness>;

export const ROUTES: NonNullable<ActraHttpOptions['routes']> = {
  'POST /refunds/:id': 'refund',
  'GET /refunds/:id': 'read_refund',
  'POST /monitored/:id': { action: 'refund', mode: 'monitor' },
  'POST /warned/:id': { action: 'refund', mode: 'warn' },
  'POST /api/v1/refunds/:id': 'refund',
  'POST /mapped/:refundId': { action: 'refund', fields: { amount: 'body.amount_cents', id: 'params.refundId' } },
  'POST /computed/:id': {
    action: 'refund',
    mapper: (req) => {
      const body = req.body as { total?: unknown } | undefined;
      return { amount: body?.total, id: req.params['id'], currency: 'EUR', undeclared: 'dropped' };
    },
  },
  'GET /export': 'export',
  'POST /transfers': 'transfer',
  'POST /double/:id': 'refund',
};

const silent = { info() {}, warn() {} };
const PROBLEM = 'application/problem+json';

export function contractSuite(framework: string, factory: Factory): void {
  describe(`${framework} adapter contract`, () => {
    let policy: Policy;
    let app: Harness;
    const calls: string[] = [];
    const loader: LoaderControl = { mode: 'ok', calls: 0 };
    const seen: Res[] = [];
    const events: DecisionEvent[] = [];
    const warnings: { obj: unknown; msg: string | undefined }[] = [];
    let token: string;
    const secrets: string[] = [SECRET_ROLE, SUBJECT, SNAPSHOT_VALUE];

    async function send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      const res = await app.send(method, path, init);
      seen.push(res);
      return res;
    }
    const auth = (t = token) => ({ authorization: `Bearer ${t}` });

    beforeAll(async () => {
      policy = compilePolicy();
      token = await hsToken();
      secrets.push(token);
      const approvals = await newApprovals(policy);
      app = await factory(
        {
          policy,
          loaders: [fraudLoader(loader)],
          approvals,
          jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE },
          routes: ROUTES,
          decisionHeaders: true,
          observers: [(event) => void events.push(event)],
          logger: { info() {}, warn: (obj: unknown, msg?: string) => void warnings.push({ obj, msg }) },
        },
        calls,
      );
    });
    afterAll(async () => {
      await app.close();
    });

    function reset(): void {
      calls.length = 0;
      events.length = 0;
      loader.mode = 'ok';
      loader.calls = 0;
    }

    it('runs the handler on allow and gives it the typed decision', async () => {
      reset();
      const res = await send('POST', '/refunds/r1', { headers: auth(), body: { amount: 50, currency: 'EUR' } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ route: 'table', decisionId: res.headers['actra-decision-id'], effect: 'allow', mode: 'enforce' });
      expect(res.json.decisionId).toMatch(/^dec_/);
      expect(calls).toEqual(['table']);
    });

    it('answers 403 problem+json on block, without running the handler', async () => {
      reset();
      const res = await send('POST', '/refunds/fraud-1', { headers: { ...auth(), 'x-request-id': 'req-block-1' }, body: { amount: 50 } });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toContain(PROBLEM);
      expect(res.json).toEqual({
        type: 'https://actra.dev/problems/blocked',
        title: 'Blocked by policy',
        status: 403,
        detail: 'Refunds are blocked while the account is under fraud review.',
        reason: 'refund.fraud',
        rule: 'block_fraud',
        policyHash: policy.policyHash(),
        decisionId: res.headers['actra-decision-id'],
        requestId: 'req-block-1',
        code: 'ACTRA_BLOCKED',
      });
      expect(res.headers['x-request-id']).toBe('req-block-1');
      expect(calls).toEqual([]);
    });

    it('answers 202 with Location, Retry-After and the pending body on require_approval', async () => {
      reset();
      const res = await send('POST', '/refunds/r2', { headers: auth(), body: { amount: 5000 } });
      expect(res.status).toBe(202);
      const id = res.json.approvalId as string;
      expect(id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(res.json).toEqual({ status: 'pending_approval', approvalId: id, expiresAt: expect.any(String), statusUrl: `/actra/approvals/${id}` });
      expect(new Date(res.json.expiresAt).toISOString()).toBe(res.json.expiresAt);
      expect(res.headers['location']).toBe(`/actra/approvals/${id}`);
      expect(res.headers['retry-after']).toBe('5');
      expect(calls).toEqual([]);
    });

    it('reads the Actra-Approval header when a decision needs an approval: empty is absent, an unknown id is refused', async () => {
      reset();
      const empty = await send('POST', '/refunds/r2', { headers: { ...auth(), 'actra-approval': '' }, body: { amount: 5000 } });
      expect(empty.status).toBe(202);
      expect(empty.json).toMatchObject({ status: 'pending_approval' });
      const unknown = await send('POST', '/refunds/r2', { headers: { ...auth(), 'actra-approval': 'apr_unknown' }, body: { amount: 5000 } });
      expect(unknown.status).toBe(403);
      expect(unknown.json).toMatchObject({ code: 'ACTRA_APPROVAL_NOT_FOUND' });
      // On an allowed request the header is never looked at.
      const allowed = await send('POST', '/refunds/r2', { headers: { ...auth(), 'actra-approval': 'apr_unknown' }, body: { amount: 5 } });
      expect(allowed.status).toBe(200);
      expect(calls).toEqual(['table']);
    });

    it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
      reset();
      const res = await send('POST', '/refunds/r1', { body: { amount: 5 } });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="actra"');
      expect(res.json).toMatchObject({ status: 401, code: 'ACTRA_UNAUTHENTICATED', type: 'https://actra.dev/problems/unauthenticated' });
      expect(calls).toEqual([]);
    });

    it('answers 401 with error="invalid_token" for a bad token', async () => {
      reset();
      const res = await send('POST', '/refunds/r1', { headers: auth('not.a.jwt'), body: { amount: 5 } });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
      expect(res.json.code).toBe('ACTRA_UNAUTHENTICATED');
      expect(calls).toEqual([]);
    });

    it('answers 400 ACTRA_INPUT for a wrongly typed action field', async () => {
      reset();
      const res = await send('POST', '/refunds/r1', { headers: auth(), body: { amount: '5000' } });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ status: 400, code: 'ACTRA_INPUT', detail: 'action field "amount" (from body) must be a number' });
      expect(calls).toEqual([]);
    });

    it('answers 503 when a loader throws, naming no value', async () => {
      reset();
      loader.mode = 'throw';
      const res = await send('POST', '/refunds/r1', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json).toMatchObject({ status: 503, code: 'ACTRA_LOADER_FAILED', detail: 'A snapshot loader failed.' });
      expect(events.map((e) => ({ requestId: e.requestId, error: e.error?.code }))).toEqual([{ requestId: res.json.requestId, error: 'ACTRA_LOADER_FAILED' }]);
      expect(calls).toEqual([]);
    });

    it('answers 503 when a loader hangs past its timeout', async () => {
      reset();
      loader.mode = 'hang';
      const res = await send('POST', '/refunds/r1', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ code: 'ACTRA_LOADER_TIMEOUT', type: 'https://actra.dev/problems/loader-timeout' });
      expect(calls).toEqual([]);
    });

    it('never blocks a monitor route, and sends no warning', async () => {
      reset();
      const res = await send('POST', '/monitored/fraud-2', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'monitored', effect: 'block', mode: 'monitor' });
      expect(res.headers['actra-warning']).toBeUndefined();
      expect(calls).toEqual(['monitored']);
    });

    it('runs a warn route and says what enforce would have done', async () => {
      reset();
      const res = await send('POST', '/warned/fraud-3', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.headers['actra-warning']).toBe('block; rule=block_fraud; reason=refund.fraud');
      expect(calls).toEqual(['warned']);
    });

    it('does not fail a monitor route when its loader fails', async () => {
      reset();
      loader.mode = 'throw';
      const res = await send('POST', '/monitored/r1', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(calls).toEqual(['monitored']);
    });

    it('treats HEAD as GET: a blocked GET route is blocked for HEAD, with no handler run', async () => {
      reset();
      const intern = await hsToken({ role: 'intern' });
      const res = await send('HEAD', '/refunds/r1', { headers: auth(intern) });
      expect(res.status).toBe(403);
      expect(res.text).toBe('');
      expect(calls).toEqual([]);
      const ok = await send('HEAD', '/refunds/r1', { headers: auth() });
      expect(ok.status).toBe(200);
      expect(calls).toEqual(['read']);
    });

    // What makes each variant differ from `/refunds/fraud-9`: nothing the router sees ('same'), letter case, or slashes.
    const variants: readonly (readonly [string, 'same' | 'case' | 'slashes'])[] = [
      ['/refunds/fraud-9', 'same'],
      ['/refunds/fraud-9/', 'slashes'],
      ['/REFUNDS/fraud-9', 'case'],
      ['/Refunds/fraud-9', 'case'],
      ['//refunds/fraud-9', 'slashes'],
      ['/refunds//fraud-9', 'slashes'],
      ['/refund%73/fraud-9', 'same'],
      ['/%72efunds/fraud-9', 'same'],
      ['/refunds/%66raud-9', 'same'],
    ];
    function expectedStatus(kind: 'same' | 'case' | 'slashes'): 403 | 404 {
      if (kind === 'case' && app.routing.caseSensitive) return 404;
      if (kind === 'slashes' && app.routing.exactSlashes) return 404;
      return 403;
    }
    for (const [variant, kind] of variants) {
      it(`never runs the handler unguarded for the path variant ${variant}`, async () => {
        reset();
        const res = await send('POST', variant, { headers: auth(), body: { amount: 5 } });
        const status = expectedStatus(kind);
        expect(res.status).toBe(status);
        if (status === 403) expect(res.json).toMatchObject({ code: 'ACTRA_BLOCKED', rule: 'block_fraud' });
        else expect(res.headers['content-type'] ?? '').not.toContain(PROBLEM);
        expect(calls).toEqual([]);
      });
      it(`gives ${variant} with a query string exactly the outcome of ${variant}`, async () => {
        reset();
        const plain = await send('POST', variant, { headers: auth(), body: { amount: 5 } });
        const queried = await send('POST', `${variant}?amount=1&x=1`, { headers: auth(), body: { amount: 5 } });
        expect(queried.status).toBe(plain.status);
        expect(queried.status).toBe(expectedStatus(kind));
        expect(queried.json?.code).toBe(plain.json?.code);
        expect(queried.json?.rule).toBe(plain.json?.rule);
        expect(calls).toEqual([]);
      });
    }

    it('never reads __proto__ or constructor keys of JSON bodies', async () => {
      reset();
      const raw = '{"amount": 50, "currency": "EUR", "__proto__": {"amount": 999999, "polluted": true}, "constructor": {"prototype": {"polluted": true}}}';
      const res = await send('POST', '/refunds/r1', { headers: auth(), rawBody: raw });
      if (app.protoKeys === 'refused') {
        expect(res.status).toBe(400);
        expect(calls).toEqual([]);
      } else {
        expect(res.status).toBe(200);
        expect(res.json.effect).toBe('allow');
        expect(calls).toEqual(['table']);
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('fails closed when the only amount is hidden under __proto__', async () => {
      reset();
      const res = await send('POST', '/refunds/r1', { headers: auth(), rawBody: '{"__proto__": {"amount": 5}}' });
      expect(res.status).toBe(400);
      if (app.protoKeys === 'kept') expect(res.json).toMatchObject({ code: 'ACTRA_INPUT' });
      expect(calls).toEqual([]);
    });

    it('refuses an oversize body before the handler', async () => {
      reset();
      const raw = JSON.stringify({ amount: 5, pad: 'x'.repeat(2 * 1024 * 1024) });
      const res = await send('POST', '/refunds/r1', { headers: auth(), rawBody: raw });
      expect(res.status).toBe(413);
      expect(calls).toEqual([]);
    });

    it('guards routes under a mount prefix', async () => {
      reset();
      const blocked = await send('POST', '/api/v1/refunds/fraud-4', { headers: auth(), body: { amount: 5 } });
      expect(blocked.status).toBe(403);
      expect(blocked.json.rule).toBe('block_fraud');
      const ok = await send('POST', '/api/v1/refunds/r4', { headers: auth(), body: { amount: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json.route).toBe('mounted');
      expect(calls).toEqual(['mounted']);
    });

    it('maps fields whose names differ', async () => {
      reset();
      const res = await send('POST', '/mapped/r5', { headers: auth(), body: { amount_cents: 5000 } });
      expect(res.status).toBe(202);
      const fraud = await send('POST', '/mapped/fraud-5', { headers: auth(), body: { amount_cents: 1 } });
      expect(fraud.status).toBe(403);
      expect(calls).toEqual([]);
    });

    it('guards a route with guard()', async () => {
      reset();
      expect((await send('POST', '/guarded/fraud-6', { headers: auth(), body: { amount: 5 } })).status).toBe(403);
      const ok = await send('POST', '/guarded/r6', { headers: auth(), body: { amount: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'guard', effect: 'allow' });
      expect(calls).toEqual(['guard']);
    });

    it('guards a controller method with @Guard', async () => {
      reset();
      expect((await send('POST', '/controller/fraud-7', { headers: auth(), body: { amount: 5 } })).status).toBe(403);
      expect((await send('POST', '/controller/r7', { headers: auth() })).status).toBe(400);
      const ok = await send('POST', '/controller/r7', { headers: auth(), body: { amount: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'decorator', effect: 'allow' });
      expect(calls).toEqual(['decorator']);
    });

    it('lets unmatched routes through by default', async () => {
      reset();
      const res = await send('GET', '/health');
      expect(res.status).toBe(200);
      expect(calls).toEqual(['health']);
    });

    it('echoes a well-formed request id and generates one otherwise', async () => {
      reset();
      const given = await send('POST', '/refunds/r1', { headers: { ...auth(), 'x-request-id': 'req-abc-123' }, body: { amount: 5 } });
      expect(given.headers['x-request-id']).toBe('req-abc-123');
      const generated = await send('POST', '/refunds/r1', { headers: { ...auth(), 'x-request-id': 'bad id\u00e9' }, body: { amount: 5 } });
      expect(generated.headers['x-request-id']).toMatch(/^req_[\w-]{22}$/);
    });

    it('runs an approved request exactly once', async () => {
      reset();
      const requested = await send('POST', '/refunds/r8', { headers: auth(), body: { amount: 2500 } });
      expect(requested.status).toBe(202);
      const id = requested.json.approvalId as string;
      const status = await send('GET', requested.headers['location'] as string, { headers: auth() });
      expect(status.status).toBe(200);
      expect(status.json).toMatchObject({ id, status: 'pending', ruleId: 'approve_large' });
      const self = await send('POST', `/actra/approvals/${id}/decision`, { headers: auth(), body: { decision: 'approve' } });
      expect(self.status).toBe(403);
      const manager = await hsToken({ role: 'manager' }, { sub: 'manager-1' });
      const decided = await send('POST', `/actra/approvals/${id}/decision`, { headers: auth(manager), body: { decision: 'approve' } });
      expect(decided.status).toBe(200);
      expect(decided.json).toMatchObject({ id, status: 'approved', verdict: 'approve' });
      const early = await send('POST', '/refunds/r8', { headers: auth(), body: { amount: 2600 } });
      expect(early.status).toBe(202);
      const resumed = await send('POST', '/refunds/r8', { headers: { ...auth(), 'actra-approval': id }, body: { amount: 2500 } });
      expect(resumed.status).toBe(200);
      expect(calls).toEqual(['table']);
      const again = await send('POST', '/refunds/r8', { headers: { ...auth(), 'actra-approval': id }, body: { amount: 2500 } });
      expect(again.status).toBe(403);
      expect(again.json).toMatchObject({ code: 'ACTRA_APPROVAL_CONSUMED', type: 'https://actra.dev/problems/approval-consumed' });
      expect(calls).toEqual(['table']);
    });

    it('accepts a signed webhook decision on the raw body, and refuses a forged one', async () => {
      reset();
      const requested = await send('POST', '/refunds/r10', { headers: auth(), body: { amount: 3000 } });
      expect(requested.status).toBe(202);
      const id = requested.json.approvalId as string;
      const body = JSON.stringify({ decision: 'deny', note: 'too much' });
      const forged = await send('POST', `/actra/approvals/${id}/decision`, { headers: { ...signWebhook(body), 'webhook-signature': 'v1,AAAA' }, rawBody: body });
      expect(forged.status).toBe(401);
      expect(forged.json.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
      const signed = await send('POST', `/actra/approvals/${id}/decision`, { headers: signWebhook(body), rawBody: body });
      expect(signed.status).toBe(200);
      expect(signed.json).toMatchObject({ id, status: 'denied', verdict: 'deny' });
      const resumed = await send('POST', '/refunds/r10', { headers: { ...auth(), 'actra-approval': id }, body: { amount: 3000 } });
      expect(resumed.status).toBe(403);
      expect(resumed.json.code).toBe('ACTRA_APPROVAL_DENIED');
      expect(calls).toEqual([]);
    });

    it('reads number fields from the query string', async () => {
      reset();
      const ok = await send('GET', '/export?rows=5', { headers: auth() });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'export', effect: 'allow' });
      expect(events.map((e) => e.action)).toEqual([{ type: 'export', fields: { rows: 5 } }]);
      const big = await send('GET', '/export?rows=5000', { headers: auth() });
      expect(big.status).toBe(403);
      expect(big.json).toMatchObject({ code: 'ACTRA_BLOCKED', rule: 'block_big_export' });
      expect(calls).toEqual(['export']);
    });

    it('answers 400 ACTRA_INPUT for a repeated query key of a scalar field', async () => {
      reset();
      const res = await send('GET', '/export?rows=5&rows=5000', { headers: auth() });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ status: 400, code: 'ACTRA_INPUT', detail: 'action field "rows" (from query) must be a number' });
      expect(calls).toEqual([]);
    });

    it('answers 415 for a body that is not JSON on a route reading the body, before the handler', async () => {
      reset();
      const res = await send('POST', '/transfers', { headers: auth(), rawBody: '{"amount":5000}', contentType: 'text/plain' });
      expect(res.status).toBe(415);
      expect(res.headers['content-type']).toContain(PROBLEM);
      expect(res.json).toMatchObject({ status: 415, code: 'ACTRA_BAD_REQUEST', type: 'https://actra.dev/problems/bad-request', detail: 'the request body must be application/json' });
      expect(events).toEqual([]);
      expect(calls).toEqual([]);
      const json = await send('POST', '/transfers', { headers: auth(), rawBody: '{"amount":5000}' });
      expect(json.status).toBe(403);
      expect(json.json).toMatchObject({ rule: 'block_large_transfer' });
      expect(calls).toEqual([]);
      const none = await send('POST', '/transfers', { headers: auth() });
      expect(none.status).toBe(200);
      expect(calls).toEqual(['transfer']);
    });

    it('answers 400 for a JSON body that is not an object', async () => {
      reset();
      const res = await send('POST', '/transfers', { headers: auth(), rawBody: '[{"amount":5000}]' });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'ACTRA_BAD_REQUEST', detail: 'the request body must be a JSON object' });
      expect(calls).toEqual([]);
    });

    it('evaluates once when a route has a table entry and guard() for the same action', async () => {
      reset();
      const res = await send('POST', '/double/r11', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'double', effect: 'allow', decisionId: res.headers['actra-decision-id'] });
      expect(loader.calls).toBe(1);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ decisionId: res.headers['actra-decision-id'], route: '/double/:id', action: { type: 'refund' } });
      expect(calls).toEqual(['double']);
    });

    it('answers a guard of an undeclared action with a generic 500 problem, and logs it once', async () => {
      reset();
      warnings.length = 0;
      const output = [vi.spyOn(console, 'error'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'log')];
      try {
        for (const id of ['r12', 'r13']) {
          const res = await send('POST', `/misconfigured/${id}`, { headers: { ...auth(), 'x-request-id': `req-misconfigured-${id}` }, body: { amount: 5 } });
          expect(res.status).toBe(500);
          expect(res.headers['content-type']).toContain(PROBLEM);
          expect(res.json).toEqual({
            type: 'https://actra.dev/problems/internal',
            title: 'Internal error',
            status: 500,
            detail: 'Actra is misconfigured.',
            requestId: `req-misconfigured-${id}`,
            code: 'ACTRA_OPTIONS',
          });
          expect(res.text).not.toContain('payout');
        }
        for (const spy of output) expect(spy).not.toHaveBeenCalled();
      } finally {
        for (const spy of output) spy.mockRestore();
      }
      expect(warnings).toEqual([
        { obj: { code: 'ACTRA_OPTIONS', error: 'guard("payout"): action "payout" is not declared in the schema' }, msg: 'actra: misconfigured; affected requests are refused with 500' },
      ]);
      expect(events).toEqual([]);
      expect(calls).toEqual([]);
    });

    it('runs a warn route when its loader fails, and says the decision failed', async () => {
      reset();
      loader.mode = 'throw';
      const res = await send('POST', '/warned/r14', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'warned', effect: null, mode: 'warn' });
      expect(res.headers['actra-warning']).toBe('block; error=ACTRA_LOADER_FAILED');
      expect(calls).toEqual(['warned']);
    });

    it('runs a warn route when its loader hangs, and says the decision timed out', async () => {
      reset();
      loader.mode = 'hang';
      const res = await send('POST', '/warned/r15', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'warned', effect: null, mode: 'warn' });
      expect(res.headers['actra-warning']).toBe('block; error=ACTRA_LOADER_TIMEOUT');
      expect(calls).toEqual(['warned']);
    });

    it('runs a monitor route when its loader hangs, and sends no warning', async () => {
      reset();
      loader.mode = 'hang';
      const res = await send('POST', '/monitored/r16', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'monitored', effect: null, mode: 'monitor' });
      expect(res.headers['actra-warning']).toBeUndefined();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ mode: 'monitor', enforcedEffect: 'allow', error: { code: 'ACTRA_LOADER_TIMEOUT' } });
      expect(calls).toEqual(['monitored']);
    });

    it('applies the mode given to guard(action, { mode })', async () => {
      reset();
      const res = await send('POST', '/guarded-warn/fraud-17', { headers: auth(), body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ route: 'guard-warn', effect: 'block', mode: 'warn' });
      expect(res.headers['actra-warning']).toBe('block; rule=block_fraud; reason=refund.fraud');
      const enforced = await send('POST', '/guarded/fraud-17', { headers: auth(), body: { amount: 5 } });
      expect(enforced.status).toBe(403);
      expect(calls).toEqual(['guard-warn']);
    });

    it('builds the action with a route mapper, keeping only declared fields and checking their types', async () => {
      reset();
      const large = await send('POST', '/computed/r18', { headers: auth(), body: { total: 5000 } });
      expect(large.status).toBe(202);
      expect(events[0]?.action).toEqual({ type: 'refund', fields: { amount: 5000, currency: 'EUR', id: 'r18' } });
      const fraud = await send('POST', '/computed/fraud-18', { headers: auth(), body: { total: 5 } });
      expect(fraud.status).toBe(403);
      expect(fraud.json.rule).toBe('block_fraud');
      const wrong = await send('POST', '/computed/r18', { headers: auth(), body: { total: '5' } });
      expect(wrong.status).toBe(400);
      expect(wrong.json).toMatchObject({ code: 'ACTRA_INPUT', detail: 'action field "amount" (from mapper) must be a number' });
      expect(calls).toEqual([]);
      const ok = await send('POST', '/computed/r18', { headers: auth(), body: { total: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'computed', effect: 'allow' });
      expect(calls).toEqual(['computed']);
    });

    it('guards a route with guard() inside a sub-app, recording the full pattern', async () => {
      reset();
      const blocked = await send('POST', '/api/v1/guarded/fraud-19', { headers: auth(), body: { amount: 5 } });
      expect(blocked.status).toBe(403);
      expect(blocked.json.rule).toBe('block_fraud');
      const ok = await send('POST', '/api/v1/guarded/r19', { headers: auth(), body: { amount: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'mounted-guard', effect: 'allow' });
      expect(events.map((e) => e.route)).toEqual(['/api/v1/guarded/:id', '/api/v1/guarded/:id']);
      expect(calls).toEqual(['mounted-guard']);
    });

    it('records the pattern, never the concrete prefix, for guard() under a parameterised mount', async () => {
      reset();
      const ok = await send('POST', '/tenants/tenant-4711/refunds/r20', { headers: auth(), body: { amount: 5 } });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ route: 'tenant-guard', effect: 'allow' });
      const blocked = await send('POST', '/tenants/tenant-4711/refunds/fraud-20', { headers: auth(), body: { amount: 5 } });
      expect(blocked.status).toBe(403);
      expect(events.map((e) => e.route)).toEqual(['/tenants/:tenant/refunds/:id', '/tenants/:tenant/refunds/:id']);
      expect(JSON.stringify(events)).not.toContain('tenant-4711');
      expect(calls).toEqual(['tenant-guard']);
    });

    it('takes a field from the route params over the body, on table routes, guard() and mounted routes', async () => {
      reset();
      for (const [path, route] of [
        ['/refunds', 'table'],
        ['/guarded', 'guard'],
        ['/api/v1/refunds', 'mounted'],
        ['/api/v1/guarded', 'mounted-guard'],
        ['/tenants/t-1/refunds', 'tenant-guard'],
      ] as const) {
        const blocked = await send('POST', `${path}/fraud-31`, { headers: auth(), body: { amount: 5, id: 'r31' } });
        expect([path, blocked.status, blocked.json.rule]).toEqual([path, 403, 'block_fraud']);
        const ok = await send('POST', `${path}/r31`, { headers: auth(), body: { amount: 5, id: 'fraud-31' } });
        expect([path, ok.status, ok.json.route]).toEqual([path, 200, route]);
      }
      expect(calls).toEqual(['table', 'guard', 'mounted', 'mounted-guard', 'tenant-guard']);
    });

    it('carries the request id into the decision event, incoming or generated', async () => {
      reset();
      const given = await send('POST', '/refunds/r20', { headers: { ...auth(), 'x-request-id': 'req-event-20' }, body: { amount: 5 } });
      expect(given.headers['x-request-id']).toBe('req-event-20');
      const generated = await send('POST', '/refunds/r20', { headers: auth(), body: { amount: 5 } });
      const id = generated.headers['x-request-id'];
      expect(typeof id === 'string' && id.length > 0 && id !== 'req-event-20').toBe(true);
      expect(events.map((e) => [e.requestId, e.decisionId])).toEqual([
        ['req-event-20', given.headers['actra-decision-id']],
        [generated.headers['x-request-id'], generated.headers['actra-decision-id']],
      ]);
    });

    it('never puts the token, a claim value or a snapshot value in a response', () => {
      expect(seen.length).toBeGreaterThan(20);
      for (const res of seen) {
        const all = res.text + JSON.stringify(res.headers);
        for (const secret of secrets) expect(all).not.toContain(secret);
      }
    });
  });

  describe(`${framework} adapter with global modes and unmatched: deny`, () => {
    const loader: LoaderControl = { mode: 'ok', calls: 0 };
    let token: string;
    beforeAll(async () => {
      token = await hsToken();
    });
    const base = (policy: Policy): ActraHttpOptions => ({
      policy,
      loaders: [fraudLoader(loader)],
      jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE },
      routes: ROUTES,
      logger: silent,
    });

    it('never blocks in global monitor mode', async () => {
      const calls: string[] = [];
      const app = await factory({ ...base(compilePolicy()), mode: 'monitor' }, calls);
      try {
        const res = await app.send('POST', '/refunds/fraud-1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(res.status).toBe(200);
        expect(res.json).toMatchObject({ effect: 'block', mode: 'monitor' });
        expect(calls).toEqual(['table']);
      } finally {
        await app.close();
      }
    });

    it('warns in global warn mode', async () => {
      const calls: string[] = [];
      const app = await factory({ ...base(compilePolicy()), mode: 'warn' }, calls);
      try {
        const res = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5000 } });
        expect(res.status).toBe(200);
        expect(res.headers['actra-warning']).toBe('require_approval; rule=approve_large; reason=refund.large');
        expect(calls).toEqual(['table']);
      } finally {
        await app.close();
      }
    });

    it('refuses unmatched routes with 404 under unmatched: deny, and still runs guarded ones', async () => {
      const calls: string[] = [];
      const app = await factory({ ...base(compilePolicy()), unmatched: 'deny' }, calls);
      try {
        const res = await app.send('GET', '/health');
        expect(res.status).toBe(404);
        expect(res.json).toMatchObject({ status: 404, code: 'ACTRA_UNMATCHED_ROUTE', type: 'https://actra.dev/problems/unmatched-route' });
        const guarded = await app.send('POST', '/guarded/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(guarded.status).toBe(200);
        const table = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(table.status).toBe(200);
        expect(calls).toEqual(['guard', 'table']);
      } finally {
        await app.close();
      }
    });
  });

  describe(`${framework} adapter when a dependency fails`, () => {
    let token: string;
    beforeAll(async () => {
      token = await hsToken();
    });
    const jwt = { algorithms: ['HS256' as const], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE };

    it('answers 503 ACTRA_STORE_FAILED when the approval store fails, and never runs the handler', async () => {
      const calls: string[] = [];
      const policy = compilePolicy();
      const { approvals, cleanup } = await closedStoreApprovals(policy);
      const app = await factory({ policy, loaders: [fraudLoader({ mode: 'ok', calls: 0 })], approvals, jwt, routes: ROUTES, logger: silent }, calls);
      try {
        const res = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5000 } });
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toContain(PROBLEM);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.json).toMatchObject({ status: 503, code: 'ACTRA_STORE_FAILED', type: 'https://actra.dev/problems/store-failed', detail: 'The approval store failed.' });
        expect(res.text).not.toContain('database');
        expect(calls).toEqual([]);
        const allowed = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(allowed.status).toBe(200);
        expect(calls).toEqual(['table']);
      } finally {
        await app.close();
        cleanup();
      }
    });

    it('answers 503 ACTRA_ENGINE when the engine fails, naming nothing of the failure', async () => {
      const calls: string[] = [];
      const app = await factory({ policy: failingEngine(compilePolicy()), loaders: [fraudLoader({ mode: 'ok', calls: 0 })], jwt, routes: ROUTES, logger: silent }, calls);
      try {
        const res = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.json).toMatchObject({ status: 503, code: 'ACTRA_ENGINE', type: 'https://actra.dev/problems/engine-failure', detail: 'The policy engine failed.' });
        expect(res.text).not.toContain(SNAPSHOT_VALUE);
        expect(res.text).not.toContain('cannot read');
        expect(calls).toEqual([]);
      } finally {
        await app.close();
      }
    });
  });

  describe(`${framework} adapter with default response headers`, () => {
    it('adds no headers to an allowed response unless decisionHeaders is set; refusals and warn mode still carry theirs', async () => {
      const calls: string[] = [];
      const app = await factory({ policy: compilePolicy(), loaders: [fraudLoader({ mode: 'ok', calls: 0 })], jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, routes: ROUTES, logger: silent }, calls);
      try {
        const authorization = `Bearer ${await hsToken()}`;
        const allowed = await app.send('POST', '/refunds/r1', { headers: { authorization, 'x-request-id': 'req-default-1' }, body: { amount: 5 } });
        expect(allowed.status).toBe(200);
        expect(allowed.json.decisionId).toMatch(/^dec_/);
        expect(allowed.headers['actra-decision-id']).toBeUndefined();
        expect(allowed.headers['x-request-id']).toBeUndefined();
        const blocked = await app.send('POST', '/refunds/fraud-30', { headers: { authorization, 'x-request-id': 'req-default-2' }, body: { amount: 5 } });
        expect(blocked.status).toBe(403);
        expect(blocked.headers['actra-decision-id']).toBe(blocked.json.decisionId);
        expect(blocked.headers['x-request-id']).toBe('req-default-2');
        const warned = await app.send('POST', '/warned/fraud-31', { headers: { authorization }, body: { amount: 5 } });
        expect(warned.status).toBe(200);
        expect(warned.headers['actra-warning']).toBe('block; rule=block_fraud; reason=refund.fraud');
        expect(warned.headers['actra-decision-id']).toBeUndefined();
        expect(calls).toEqual(['table', 'warned']);
      } finally {
        await app.close();
      }
    });
  });

  describe(`${framework} adapter with JWT options`, () => {
    it('gives a request without a token the anonymous actor where configured, and still refuses an invalid token', async () => {
      const calls: string[] = [];
      const events: DecisionEvent[] = [];
      const app = await factory(
        {
          policy: compilePolicy(),
          loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
          jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE, anonymous: { id: 'anonymous-visitor', role: 'guest' } },
          routes: ROUTES,
          observers: [(event) => void events.push(event)],
          logger: silent,
        },
        calls,
      );
      try {
        const anonymous = await app.send('GET', '/refunds/r1');
        expect(anonymous.status).toBe(200);
        expect(anonymous.json).toMatchObject({ route: 'read', effect: 'allow' });
        expect(events.map((e) => e.actorId)).toEqual(['anonymous-visitor']);
        const invalid = await app.send('GET', '/refunds/r1', { headers: { authorization: 'Bearer not.a.jwt' } });
        expect(invalid.status).toBe(401);
        expect(invalid.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
        const signed = await app.send('GET', '/refunds/r1', { headers: { authorization: `Bearer ${await hsToken()}` } });
        expect(signed.status).toBe(200);
        expect(events.map((e) => e.actorId)).toEqual(['anonymous-visitor', SUBJECT]);
        expect(calls).toEqual(['read', 'read']);
      } finally {
        await app.close();
      }
    });

    it('accepts a token expired within the clock tolerance and refuses one expired beyond it', async () => {
      const calls: string[] = [];
      const now = Date.now();
      const seconds = Math.floor(now / 1000);
      const app = await factory(
        {
          policy: compilePolicy(),
          loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
          jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE, clockToleranceSec: 5, now: () => now },
          routes: ROUTES,
          logger: silent,
        },
        calls,
      );
      try {
        const recent = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await hsToken({}, { exp: seconds - 2 })}` }, body: { amount: 5 } });
        expect(recent.status).toBe(200);
        const old = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await hsToken({}, { exp: seconds - 60 })}` }, body: { amount: 5 } });
        expect(old.status).toBe(401);
        expect(old.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
        expect(old.json).toMatchObject({ code: 'ACTRA_UNAUTHENTICATED', detail: 'token expired' });
        expect(calls).toEqual(['table']);
      } finally {
        await app.close();
      }
    });
  });

  describe(`${framework} adapter against forged and invalid RS256 tokens (JWKS)`, () => {
    let jwks: JwksServer;
    let app: Harness;
    const calls: string[] = [];
    beforeAll(async () => {
      jwks = await startJwks();
      app = await factory(
        {
          policy: compilePolicy(),
          loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
          jwt: { algorithms: ['RS256'], jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, clockToleranceSec: 0 },
          routes: ROUTES,
          logger: silent,
        },
        calls,
      );
    });
    afterAll(async () => {
      await app.close();
      await jwks.close();
    });

    async function expectRejected(token: string): Promise<void> {
      calls.length = 0;
      const res = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
      expect(res.json.code).toBe('ACTRA_UNAUTHENTICATED');
      expect(res.text + JSON.stringify(res.headers)).not.toContain(token);
      expect(res.text).not.toContain(SECRET_ROLE);
      expect(calls).toEqual([]);
    }

    it('accepts a valid RS256 token', async () => {
      calls.length = 0;
      const res = await app.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await rsToken(jwks)}` }, body: { amount: 5 } });
      expect(res.status).toBe(200);
      expect(calls).toEqual(['table']);
    });
    it('rejects alg none', async () => expectRejected(noneToken()));
    it('rejects HS256 signed with the RS256 public key', async () => expectRejected(await confusedToken(jwks)));
    it('rejects an expired token', async () => expectRejected(await rsToken(jwks, { exp: Math.floor(Date.now() / 1000) - 60 })));
    it('rejects a token not yet valid', async () => expectRejected(await rsToken(jwks, { nbf: Math.floor(Date.now() / 1000) + 3600 })));
    it('rejects a wrong issuer', async () => expectRejected(await rsToken(jwks, { iss: 'https://evil.test/' })));
    it('rejects a wrong audience', async () => expectRejected(await rsToken(jwks, { aud: 'other-api' })));
    it('rejects a tampered payload', async () => expectRejected(tamperPayload(await rsToken(jwks))));
    it('rejects a tampered signature', async () => expectRejected(tamperSignature(await rsToken(jwks))));

    async function jwksApp(server: JwksServer, cooldownMs?: number): Promise<Harness> {
      return factory(
        {
          policy: compilePolicy(),
          loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
          jwt: { algorithms: ['RS256'], jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, ...(cooldownMs === undefined ? {} : { jwksCooldownMs: cooldownMs }) },
          routes: ROUTES,
          logger: silent,
        },
        calls,
      );
    }

    it('refetches the JWKS once for an unknown kid after the cooldown, then answers 401', async () => {
      const server = await startJwks();
      const fresh = await jwksApp(server, 0);
      try {
        const valid = await fresh.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await rsToken(server)}` }, body: { amount: 5 } });
        expect(valid.status).toBe(200);
        expect(server.fetches).toBe(1);
        const res = await fresh.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await rsToken(server, { kid: 'rotated-kid' })}` }, body: { amount: 5 } });
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="actra", error="invalid_token"');
        expect(server.fetches).toBe(2);
      } finally {
        await fresh.close();
        await server.close();
      }
    });

    it('does not storm the JWKS endpoint under 50 concurrent unknown kids, and refetches once after the cooldown', async () => {
      const server = await startJwks();
      const fresh = await jwksApp(server);
      try {
        const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => rsToken(server, { kid: `unknown-${i}` })));
        calls.length = 0;
        const results = await Promise.all(tokens.map((t) => fresh.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${t}` }, body: { amount: 5 } })));
        expect(results.map((r) => r.status)).toEqual(Array(50).fill(401));
        expect(server.fetches).toBe(1);
        expect(calls).toEqual([]);
        const valid = await fresh.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${await rsToken(server)}` }, body: { amount: 5 } });
        expect(valid.status).toBe(200);
        expect(server.fetches).toBe(1);
        // The clock (Date only, frozen) moves past the 30 s default cooldown: the next unknown kids may refetch, once.
        vi.setSystemTime(Date.now() + 31_000);
        const later = await Promise.all(Array.from({ length: 50 }, (_, i) => rsToken(server, { kid: `later-${i}` })));
        calls.length = 0;
        const again = await Promise.all(later.map((t) => fresh.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${t}` }, body: { amount: 5 } })));
        expect(again.map((r) => r.status)).toEqual(Array(50).fill(401));
        expect(again.map((r) => r.headers['www-authenticate'])).toEqual(Array(50).fill('Bearer realm="actra", error="invalid_token"'));
        expect(server.fetches).toBe(2);
        expect(calls).toEqual([]);
      } finally {
        vi.useRealTimers();
        await fresh.close();
        await server.close();
      }
    });

    it('answers 503 ACTRA_RESOLVER_FAILED when the JWKS endpoint is unreachable', async () => {
      const server = await startJwks();
      await server.close();
      const unreachable = await jwksApp(server);
      try {
        calls.length = 0;
        const token = await rsToken(server);
        const res = await unreachable.send('POST', '/refunds/r1', { headers: { authorization: `Bearer ${token}` }, body: { amount: 5 } });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.headers['www-authenticate']).toBeUndefined();
        expect(res.json).toMatchObject({ status: 503, code: 'ACTRA_RESOLVER_FAILED', type: 'https://actra.dev/problems/resolver-failed' });
        expect(res.text).not.toContain(token);
        expect(calls).toEqual([]);
      } finally {
        await unreachable.close();
      }
    });
  });
}
