import { Hono, type Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { actraMiddleware, guard } from '../../adapters/hono.js';
import { contractSuite, ROUTES, type Factory, type Res, type SendInit } from './contract.js';
import { loadControllers } from './decorated.js';
import { compilePolicy } from './fixtures.js';

function reply(name: string, calls: string[]) {
  return function handler(c: Context): Response {
    calls.push(name);
    const actra = c.get('actra') as ReturnType<Context['get']> | undefined;
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
  app.post('/controller/:id', (c) => controller.create(c));
  app.get('/health', reply('health', calls));
  const api = new Hono();
  api.post('/refunds/:id', reply('mounted', calls));
  app.route('/api/v1', api);

  return {
    protoKeys: 'kept',
    async send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | undefined;
      if (init.rawBody !== undefined) body = init.rawBody;
      else if (init.body !== undefined) body = JSON.stringify(init.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
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
