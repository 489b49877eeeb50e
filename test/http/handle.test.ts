import { describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/approvals.js';
import { MemoryApprovalStore } from '../../src/approvals/stores/memory-store.js';
import { createActraHttp } from '../../src/http/create.js';
import { pooledIdGenerator } from '../../src/http/ids.js';
import type { NeutralRequest } from '../../src/http/types.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { DecisionEvent } from '../../src/runtime/types.js';
import { compilePolicy, HS_SECRET, hsToken, ISSUER, AUDIENCE, SUBJECT } from '../adapters/fixtures.js';

const silent = { info() {}, warn() {} };

function request(parts: Partial<NeutralRequest> & { headers?: Record<string, string> }): NeutralRequest {
  const headers = parts.headers ?? {};
  return { method: parts.method ?? 'POST', path: parts.path ?? '/refunds/r1', params: parts.params ?? {}, query: parts.query ?? {}, body: parts.body, header: (name) => headers[name.toLowerCase()] };
}

describe('ActraHttp.handle', () => {
  it('passes the actor, HEAD as GET, the route pattern, the request id and the approval id to the runtime', async () => {
    const events: DecisionEvent[] = [];
    const http = createActraHttp(
      { policy: compilePolicy(), observers: [(e) => void events.push(e)], jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, routes: { 'GET /refunds/:id': 'read_refund' }, decisionHeaders: true, logger: silent, loaders: [{ name: 'tier', fields: ['account_tier', 'fraud_flag'], load: () => ({ account_tier: 'x', fraud_flag: false }) }] },
      { caseSensitive: true },
      'test',
    );
    const token = await hsToken();
    const match = http.table.match('HEAD', '/refunds/r7');
    expect(match?.route.pattern).toBe('/refunds/:id');
    const outcome = await http.handle(request({ method: 'HEAD', params: match?.params ?? {}, headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-77' } }), match!.route.value, match!.route.pattern);
    expect(outcome.kind).toBe('next');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: 'GET', route: '/refunds/:id', requestId: 'req-77', actorId: SUBJECT, action: { type: 'read_refund', fields: { id: 'r7' } } });
    if (outcome.kind === 'next') expect(outcome.headers).toEqual({ 'actra-decision-id': events[0]?.decisionId, 'x-request-id': 'req-77' });
  });

  it('reads the request id from a configured header', async () => {
    const http = createActraHttp({ policy: compilePolicy(), requestIdHeader: 'X-Correlation-Id', routes: { 'GET /refunds/:id': 'read_refund' }, logger: silent, actorResolver: () => ({ id: 'a', role: 'intern' }) }, { caseSensitive: true }, 'test');
    const route = http.table.routes[0]!;
    const outcome = await http.handle(request({ method: 'GET', params: { id: 'r1' }, headers: { 'x-correlation-id': 'corr-1' } }), route.value, route.pattern);
    expect(outcome.kind).toBe('respond');
    if (outcome.kind === 'respond') {
      expect(outcome.response.status).toBe(403);
      expect(outcome.response.headers['x-correlation-id']).toBe('corr-1');
      expect(outcome.response.body).toMatchObject({ requestId: 'corr-1', rule: 'interns_read_nothing' });
    }
  });

  it('works with a runtime built by the caller', async () => {
    const runtime = new ActraRuntime<NeutralRequest>(compilePolicy(), { actorResolver: (req) => ({ id: req.header('x-user') ?? 'anon', role: 'intern' }) });
    const http = createActraHttp({ runtime, mode: 'monitor', routes: { 'GET /refunds/:id': 'read_refund' }, logger: silent }, { caseSensitive: false }, 'test');
    const route = http.table.routes[0]!;
    const outcome = await http.handle(request({ method: 'GET', params: { id: 'r1' }, headers: { 'x-user': 'u1' } }), route.value, route.pattern);
    expect(outcome.kind).toBe('next');
    if (outcome.kind === 'next') expect(outcome.result).toMatchObject({ mode: 'monitor', actor: { id: 'u1' }, decision: { effect: 'block' } });
  });
});

describe('createActraHttp options', () => {
  it('needs exactly one of runtime and policy', () => {
    expect(() => createActraHttp({ logger: silent } as never, { caseSensitive: true }, 'actraMiddleware')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'actraMiddleware: give exactly one of option "runtime" or "policy"' }));
    const policy = compilePolicy();
    expect(() => createActraHttp({ policy, runtime: new ActraRuntime(policy) } as never, { caseSensitive: true }, 'actraMiddleware')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'actraMiddleware: give exactly one of option "runtime" or "policy"' }));
  });

  it('names a bad option', () => {
    expect(() => createActraHttp({ policy: compilePolicy(), approvalsPrefix: 'actra/' }, { caseSensitive: true }, 'x')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'actra: option "approvalsPrefix" must be a path such as /actra (no trailing slash)' }));
    expect(() => createActraHttp({ policy: compilePolicy(), unmatched: 'block' as never }, { caseSensitive: true }, 'x')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS' }));
    expect(() => createActraHttp({ runtime: new ActraRuntime(compilePolicy()), loaders: [] } as never, { caseSensitive: true }, 'x')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'x: unknown option "loaders" (set it on the runtime)' }));
  });

  it('refuses approvals that no approver could decide, at creation rather than on the first request', () => {
    const policy = compilePolicy();
    const approvals = new Approvals({ policy, store: new MemoryApprovalStore() });
    expect(() => createActraHttp({ policy, approvals, actorResolver: () => ({ id: 'a', role: 'clerk' }), logger: silent }, { caseSensitive: true }, 'x')).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: expect.stringContaining('approvalRoutes: option "resolveApprover" is required') }),
    );
  });

  it('rejects a route field mapped from an undeclared field', () => {
    expect(() => createActraHttp({ policy: compilePolicy(), routes: { 'POST /r': { action: 'refund', fields: { total: 'body.t' } } } }, { caseSensitive: true }, 'x')).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'routes["POST /r"]: field "total" is not declared for action "refund"' }),
    );
  });
});

describe('ActraHttp.admit', () => {
  it('answers synchronously once the token is cached and the loaders are synchronous, with the outcome handle gives', async () => {
    const events: DecisionEvent[] = [];
    const http = createActraHttp(
      { policy: compilePolicy(), observers: [(e) => void events.push(e)], jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, routes: { 'GET /refunds/:id': 'read_refund' }, decisionHeaders: true, logger: silent, loaders: [{ name: 'tier', fields: ['account_tier', 'fraud_flag'], load: () => ({ account_tier: 'x', fraud_flag: false }) }] },
      { caseSensitive: true },
      'test',
    );
    const token = await hsToken();
    const route = http.table.routes[0]!;
    const req = () => request({ method: 'GET', params: { id: 'r1' }, headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-1' } });
    const first = http.admit(req(), route.value, route.pattern);
    expect(first).toBeInstanceOf(Promise);
    expect((await first).kind).toBe('next');
    const second = http.admit(req(), route.value, route.pattern);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toMatchObject({ kind: 'next', headers: { 'actra-decision-id': events[1]?.decisionId, 'x-request-id': 'req-1' } });
    expect(events[1]).toMatchObject({ requestId: 'req-1', actorId: SUBJECT, route: '/refunds/:id' });
  });

  it('answers a bad scheme with 401 without throwing', () => {
    const http = createActraHttp({ policy: compilePolicy(), jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, routes: { 'GET /refunds/:id': 'read_refund' }, logger: silent }, { caseSensitive: true }, 'test');
    const route = http.table.routes[0]!;
    const outcome = http.admit(request({ method: 'GET', params: { id: 'r1' }, headers: { authorization: 'Basic abc' } }), route.value, route.pattern);
    expect(outcome).toMatchObject({ kind: 'respond', response: { status: 401, body: { code: 'ACTRA_UNAUTHENTICATED', detail: 'unsupported authorization scheme (expected Bearer)' } } });
  });
});

describe('pooledIdGenerator', () => {
  it('gives distinct dec_ and req_ ids of 132 random bits, across pool refills', () => {
    const next = pooledIdGenerator();
    // 8,000 ids of each kind cross the pooled random text's refill several times.
    const decisions = new Set(Array.from({ length: 8000 }, () => next('decision')));
    const requests = new Set(Array.from({ length: 8000 }, () => next('request')));
    expect([decisions.size, requests.size]).toEqual([8000, 8000]);
    for (const id of decisions) expect(id).toMatch(/^dec_[A-Za-z0-9_-]{22}$/);
    for (const id of requests) expect(id).toMatch(/^req_[A-Za-z0-9_-]{22}$/);
    // Two generators never share their random text.
    expect(pooledIdGenerator()('decision')).not.toBe(pooledIdGenerator()('decision'));
  });
});
