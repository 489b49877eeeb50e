/** The one adapter contract suite: the same app and the same cases on Express, Fastify and Hono. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActraHttpOptions } from '../../src/http/index.js';
import type { Policy } from '../../src/core/types.js';
import {
  AUDIENCE, compilePolicy, confusedToken, fraudLoader, HS_SECRET, hsToken, ISSUER, newApprovals, noneToken, rsToken, SECRET_ROLE,
  signWebhook, SNAPSHOT_VALUE, startJwks, SUBJECT, tamperPayload, tamperSignature, type JwksServer, type LoaderControl,
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
  /** Sent as is, with `content-type: application/json`. */
  readonly rawBody?: string;
}

export interface Harness {
  send(method: string, path: string, init?: SendInit): Promise<Res>;
  /** How the framework's own JSON parser treats `__proto__` / `constructor` keys: kept as plain keys, or refused (400). */
  readonly protoKeys: 'kept' | 'refused';
  close(): Promise<void>;
}

/**
 * Builds the contract app on one framework. Routes (handlers push their name to `calls` and answer
 * `{ route, decisionId, effect, mode }` from the framework's decision idiom):
 * - POST /refunds/:id 'table', GET /refunds/:id 'read', POST /monitored/:id 'monitored',
 *   POST /warned/:id 'warned', POST /mapped/:refundId 'mapped' — guarded by `options.routes`;
 * - POST /api/v1/refunds/:id 'mounted' — in a sub-app / router / prefix mounted at /api/v1;
 * - POST /guarded/:id 'guard' — `guard('refund')`; POST /controller/:id 'decorator' — `@Guard('refund')`;
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
          logger: silent,
        },
        calls,
      );
    });
    afterAll(async () => {
      await app.close();
    });

    function reset(): void {
      calls.length = 0;
      loader.mode = 'ok';
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

    const variants = ['/refunds/fraud-9/', '/REFUNDS/fraud-9', '/Refunds/fraud-9', '//refunds/fraud-9', '/refunds//fraud-9', '/refund%73/fraud-9', '/%72efunds/fraud-9', '/refunds/%66raud-9', '/refunds/fraud-9?amount=1', '/refunds/fraud-9/?x=1'];
    for (const variant of variants) {
      it(`never runs the handler unguarded for the path variant ${variant}`, async () => {
        reset();
        const res = await send('POST', variant, { headers: auth(), body: { amount: 5 } });
        expect([403, 404]).toContain(res.status);
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
      expect([400, 413]).toContain(res.status);
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
      expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
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

    it('does not storm the JWKS endpoint under 50 concurrent unknown kids', async () => {
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
      } finally {
        await fresh.close();
        await server.close();
      }
    });
  });
}
