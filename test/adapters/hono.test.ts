import { Hono, type Context, type ContextVariableMap } from 'hono';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { actraMiddleware, guard } from '../../adapters/hono.js';
import type { ActraRequestDecision } from '../../src/http/index.js';
import { contractSuite, ROUTES, type Factory, type Res, type SendInit } from './contract.js';
import { loadControllers } from './decorated.js';
import { compilePolicy } from './fixtures.js';

function reply(name: string, calls: string[]) {
  return function handler(c: Context): Response {
    calls.push(name);
    const actra = c.get('actra');
    return c.json({ route: name, decisionId: actra?.decisionId ?? null, effect: actra?.decision?.effect ?? null, mode: actra?.mode ?? null });
  };
}

const factory: Factory = async (options, calls) => {
  const { HonoRefunds } = await loadControllers();
  const controller = new HonoRefunds(calls);
  const app = new Hono();
  app.use(actraMiddleware(options));
  app.post('/refunds/:id', reply('table', calls));
  app.get('/refunds/:id', reply('read', calls));
  app.post('/monitored/:id', reply('monitored', calls));
  app.post('/warned/:id', reply('warned', calls));
  app.post('/mapped/:refundId', reply('mapped', calls));
  app.post('/guarded/:id', guard('refund'), reply('guard', calls));
  app.post('/guarded-warn/:id', guard('refund', { mode: 'warn' }), reply('guard-warn', calls));
  app.post('/double/:id', guard('refund'), reply('double', calls));
  app.post('/computed/:id', reply('computed', calls));
  app.get('/export', reply('export', calls));
  app.post('/transfers', reply('transfer', calls));
  app.post('/controller/:id', (c) => controller.create(c));
  app.post('/misconfigured/:id', (c) => controller.misconfigured(c));
  app.get('/health', reply('health', calls));
  const api = new Hono();
  api.post('/refunds/:id', reply('mounted', calls));
  api.post('/guarded/:id', guard('refund'), reply('mounted-guard', calls));
  app.route('/api/v1', api);
  const tenant = new Hono();
  tenant.post('/refunds/:id', guard('refund'), reply('tenant-guard', calls));
  app.route('/tenants/:tenant', tenant);

  return {
    protoKeys: 'kept',
    // Hono's router is case-sensitive; Actra sees every request and matches slashes leniently.
    routing: { caseSensitive: true, exactSlashes: false },
    async send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | undefined;
      if (init.rawBody !== undefined) body = init.rawBody;
      else if (init.body !== undefined) body = JSON.stringify(init.body);
      if (body !== undefined) headers['content-type'] = (init.rawBody !== undefined ? init.contentType : undefined) ?? 'application/json';
      const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      const out: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        out[name] = value;
      });
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: out, text, json };
    },
    async close() {},
  };
};

contractSuite('Hono', factory);

describe('Hono body reading', () => {
  it('answers 400 ACTRA_BAD_REQUEST for malformed JSON on a guarded route, and never runs the handler', async () => {
    const calls: string[] = [];
    const app = new Hono();
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), routes: ROUTES, logger: { info() {}, warn() {} } }));
    app.post('/refunds/:id', reply('table', calls));
    const res = await app.request('/refunds/r1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount": 5,' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'ACTRA_BAD_REQUEST', detail: 'the request body is not valid JSON' });
    expect(calls).toEqual([]);
  });
});

describe('Hono route params as action fields', () => {
  it('reads a param from routes with a pattern or an optional param, and nothing from a route without it', async () => {
    const seen: unknown[] = [];
    const app = new Hono();
    app.use(
      actraMiddleware({
        policy: compilePolicy(),
        actorResolver: () => ({ id: 'a', role: 'support' }),
        routes: { 'POST /named/:identifier': 'refund' },
        loaders: [{ name: 'account', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }],
        observers: [(event) => void seen.push(event.action.fields['id'] ?? null)],
        logger: { info() {}, warn() {} },
      }),
    );
    app.post('/pattern/:id{[a-z0-9]+}', guard('refund'), (c) => c.text('pattern'));
    app.post('/optional/:id?', guard('refund'), (c) => c.text('optional'));
    app.post('/named/:identifier', (c) => c.text('named'));
    const send = (path: string) => app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 5 }) });
    expect((await send('/pattern/r7')).status).toBe(200);
    expect((await send('/optional/r8')).status).toBe(200);
    expect((await send('/optional')).status).toBe(200);
    expect((await send('/named/r9')).status).toBe(200);
    expect(seen).toEqual(['r7', 'r8', null, null]);
  });
});

describe('Hono middleware options', () => {
  it('reports the routes no guard covers', () => {
    const warnings: unknown[] = [];
    const middleware = actraMiddleware({ policy: compilePolicy(), routes: ROUTES, logger: { info() {}, warn: (obj: unknown) => warnings.push(obj) } });
    const app = new Hono();
    app.use(middleware);
    app.post('/refunds/:id', (c) => c.text('x'));
    app.post('/guarded/:id', guard('refund'), (c) => c.text('x'));
    app.get('/health', (c) => c.text('ok'));
    const admin = new Hono();
    admin.delete('/users/:id', (c) => c.text('x'));
    app.route('/admin', admin);
    expect(middleware.report(app)).toEqual(['GET /health', 'DELETE /admin/users/:id']);
    expect(warnings).toEqual([{ unguarded: ['GET /health', 'DELETE /admin/users/:id'] }]);
  });

  it('fails at creation with ACTRA_OPTIONS for an undeclared action in the route table', () => {
    expect(() => actraMiddleware({ policy: compilePolicy(), routes: { 'POST /x': 'payout' }, logger: { info() {}, warn() {} } })).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'routes["POST /x"]: action "payout" is not declared in the schema' }),
    );
  });

  it('fails at creation with ACTRA_OPTIONS for an unknown option', () => {
    expect(() => actraMiddleware({ policy: compilePolicy(), unmatch: 'deny' } as never)).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'actraMiddleware: unknown option "unmatch"' }));
  });
});

describe('Hono guards checked by report(app)', () => {
  it('throws ACTRA_OPTIONS from report(app) for guard() of an undeclared action, sub-apps included', () => {
    const middleware = actraMiddleware({ policy: compilePolicy(), routes: ROUTES, logger: { info() {}, warn() {} } });
    const app = new Hono();
    app.use(middleware);
    app.post('/guarded/:id', guard('refund'), (c) => c.text('x'));
    const admin = new Hono();
    admin.post('/payouts/:id', guard('payout'), (c) => c.text('x'));
    app.route('/admin', admin);
    expect(() => middleware.report(app)).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard("payout"): action "payout" is not declared in the schema' }));
  });
});

describe('Hono types', () => {
  it('types c.get(\'actra\') as the decision or undefined', async () => {
    expectTypeOf<ContextVariableMap['actra']>().toEqualTypeOf<ActraRequestDecision | undefined>();
    const app = new Hono();
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn() {} } }));
    app.get('/export', guard('export'), (c) => {
      expectTypeOf(c.get('actra')).toEqualTypeOf<ActraRequestDecision | undefined>();
      return c.json({ guarded: c.get('actra')?.decisionId !== undefined });
    });
    app.get('/health', (c) => c.json({ guarded: c.get('actra') !== undefined }));
    expect(await (await app.request('/export?rows=5')).json()).toEqual({ guarded: true });
    expect(await (await app.request('/health')).json()).toEqual({ guarded: false });
  });
});

describe('Hono decision headers on @hono/node-server', () => {
  it('adds Actra-Decision-Id and X-Request-Id to every kind of allowed response over real HTTP; a header the handler sets wins', async () => {
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), decisionHeaders: true, logger: { info() {}, warn() {} } }));
    app.get('/export', guard('export'), (c) => c.json({ decisionId: c.get('actra')?.decisionId }));
    app.get('/export/text', guard('export'), (c) => c.text('ok'));
    app.get('/export/own', guard('export'), (c) => c.json({ decisionId: c.get('actra')?.decisionId }, 200, { 'X-Request-Id': 'handler-chosen' }));
    app.get('/export/stream', guard('export'), () => new Response(new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode('streamed')); controller.close(); } })));
    app.get('/export/raw', guard('export'), (c) => new Response('raw', { headers: [['x-extra', '1']] }));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
    const { port } = server.address() as { port: number };
    try {
      const json = await fetch(`http://127.0.0.1:${port}/export?rows=5`, { headers: { 'x-request-id': 'incoming-1' } });
      const body = (await json.json()) as { decisionId: string };
      expect(json.headers.get('actra-decision-id')).toBe(body.decisionId);
      expect(body.decisionId).toMatch(/^dec_/);
      expect(json.headers.get('x-request-id')).toBe('incoming-1');
      for (const path of ['/export/text?rows=5', '/export/stream?rows=5', '/export/raw?rows=5']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('actra-decision-id')).toMatch(/^dec_/);
        expect(res.headers.get('x-request-id')).toMatch(/^req_/);
        await res.text();
      }
      const own = await fetch(`http://127.0.0.1:${port}/export/own?rows=5`);
      expect(own.headers.get('x-request-id')).toBe('handler-chosen');
      expect(own.headers.get('actra-decision-id')).toBe(((await own.json()) as { decisionId: string }).decisionId);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Hono JSON bodies on @hono/node-server', () => {
  it('reads a JSON body once for Actra and the handler, and refuses malformed, oversize, mistyped and non-JSON bodies before the handler', async () => {
    const { serve } = await import('@hono/node-server');
    const calls: unknown[] = [];
    const app = new Hono();
    const loaders = [{ name: 'account', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }];
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'support' }), routes: ROUTES, loaders, bodyLimit: 200, logger: { info() {}, warn() {} } }));
    app.post('/refunds/:id', async (c) => {
      const body = await c.req.json<Record<string, unknown>>();
      calls.push(body);
      return c.json({ amount: body['amount'], effect: c.get('actra')?.decision?.effect, polluted: ({} as Record<string, unknown>)['amount'] ?? null });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
    const { port } = server.address() as { port: number };
    const post = (body: string, type = 'application/json') => fetch(`http://127.0.0.1:${port}/refunds/r1`, { method: 'POST', headers: { 'content-type': type }, body });
    try {
      const ok = await post('{"amount": 5, "currency": "EUR"}');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ amount: 5, effect: 'allow', polluted: null });
      const proto = await post('{"__proto__": {"amount": 1}, "amount": 7}');
      expect(await proto.json()).toEqual({ amount: 7, effect: 'allow', polluted: null });
      const malformed = await post('{"amount": 5,');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ code: 'ACTRA_BAD_REQUEST', detail: 'the request body is not valid JSON' });
      const oversize = await post(JSON.stringify({ amount: 5, note: 'x'.repeat(300) }));
      expect(oversize.status).toBe(413);
      const mistyped = await post('{"amount": "5"}');
      expect(mistyped.status).toBe(400);
      expect(await mistyped.json()).toMatchObject({ code: 'ACTRA_INPUT' });
      const text = await post('amount=5', 'text/plain');
      expect(text.status).toBe(415);
      expect(calls).toHaveLength(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
