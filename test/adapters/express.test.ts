import express, { type Request, type Response } from 'express';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { actraMiddleware, captureRawBody, guard } from '../../adapters/express.js';
import { loadControllers } from './decorated.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ActraRequestDecision } from '../../src/http/index.js';
import { contractSuite, ROUTES, type Factory, type Res, type SendInit } from './contract.js';
import { AUDIENCE, compilePolicy, HS_SECRET, hsToken, ISSUER } from './fixtures.js';

function reply(name: string, calls: string[]) {
  return function handler(req: Request, res: Response): void {
    calls.push(name);
    res.json({ route: name, decisionId: req.actra?.decisionId ?? null, effect: req.actra?.decision?.effect ?? null, mode: req.actra?.mode ?? null });
  };
}

const factory: Factory = async (options, calls) => {
  const { ExpressRefunds } = await loadControllers();
  const controller = new ExpressRefunds(calls);
  const app = express();
  app.use(express.json({ verify: captureRawBody }));
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
  app.post('/controller/:id', (req, res, next) => controller.create(req, res, next));
  app.post('/misconfigured/:id', (req, res, next) => controller.misconfigured(req, res, next));
  app.get('/health', reply('health', calls));
  const api = express.Router();
  api.post('/refunds/:id', reply('mounted', calls));
  api.post('/guarded/:id', guard('refund'), reply('mounted-guard', calls));
  app.use('/api/v1', api);
  const tenant = express.Router({ mergeParams: true });
  tenant.post('/refunds/:id', guard('refund'), reply('tenant-guard', calls));
  app.use('/tenants/:tenant', tenant);

  return {
    protoKeys: 'kept',
    // Express routes case-insensitively and ignores a trailing slash by default; Actra sees every request.
    routing: { caseSensitive: false, exactSlashes: false },
    async send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      let req = request(app)[method.toLowerCase() as 'get'](path);
      for (const [name, value] of Object.entries(init.headers ?? {})) req = req.set(name, value);
      if (init.rawBody !== undefined) req = req.set('content-type', init.contentType ?? 'application/json').send(init.rawBody);
      else if (init.body !== undefined) req = req.send(init.body as object);
      const res = await req;
      const text = res.text ?? '';
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers as Record<string, string>, text, json };
    },
    async close() {},
  };
};

contractSuite('Express', factory);

describe('Express start-up notice', () => {
  it('logs the routes no guard covers, once, on the first request', async () => {
    const warnings: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.use(actraMiddleware({ policy: compilePolicy(), routes: ROUTES, logger: { info() {}, warn: (obj: unknown) => warnings.push(obj) } }));
    app.post('/refunds/:id', (_req, res) => void res.end());
    app.post('/guarded/:id', guard('refund'), (_req, res) => void res.end());
    app.get('/health', (_req, res) => void res.end('ok'));
    const admin = express.Router();
    admin.delete('/users/:id', (_req, res) => void res.end());
    app.use('/admin', admin);
    await request(app).get('/health');
    await request(app).get('/health');
    expect(warnings).toEqual([{ unguarded: ['GET /health', 'DELETE /admin/users/:id'] }]);
  });
});

describe('Express route patterns', () => {
  it('records a guard inside a sub-app mounted under a parameter by its pattern', async () => {
    const routes: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), loaders: [{ name: 'fraud', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }], observers: [(event) => void routes.push(event.route)], logger: { info() {}, warn() {} } }));
    const tenantApp = express();
    tenantApp.post('/refunds/:id', guard('refund'), (req, res) => void res.json({ effect: req.actra?.decision?.effect }));
    app.use('/tenant-apps/:tenant', tenantApp);
    const res = await request(app).post('/tenant-apps/acme-99/refunds/r1').send({ amount: 5, currency: 'EUR' });
    expect(res.body).toEqual({ effect: 'allow' });
    expect(routes).toEqual(['/tenant-apps/:tenant/refunds/:id']);
  });
});

describe('Express req.actra', () => {
  it('reads the decision on guarded routes, undefined elsewhere, and keeps a value the app assigns', async () => {
    const app = express();
    app.use(express.json());
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn() {} } }));
    app.get('/export', guard('export'), (req, res) => void res.json({ effect: req.actra?.decision?.effect, own: Object.hasOwn(req, 'actra') }));
    app.get('/plain', (req, res) => void res.json({ before: req.actra === undefined, after: ((req.actra = { decisionId: 'mine' } as unknown as ActraRequestDecision), req.actra?.decisionId) }));
    expect((await request(app).get('/export?rows=5')).body).toEqual({ effect: 'allow', own: false });
    expect((await request(app).get('/plain')).body).toEqual({ before: true, after: 'mine' });
    expect((await request(app).get('/export?rows=5')).body).toEqual({ effect: 'allow', own: false });
  });
});

describe('Express per-request state', () => {
  it('survives an app middleware that replaces res.locals between actraMiddleware and a guard', async () => {
    const app = express();
    app.use(express.json());
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn() {} } }));
    app.use((_req, res, next) => {
      res.locals = { user: 'from-app' };
      next();
    });
    app.get('/export', guard('export'), (req, res) => void res.json({ effect: req.actra?.decision?.effect, user: res.locals['user'] }));
    const res = await request(app).get('/export?rows=5');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ effect: 'allow', user: 'from-app' });
  });
});

describe('Express guards checked on the first request', () => {
  it('logs a guard of an undeclared action on the first request, and refuses only its route with a generic 500', async () => {
    const warnings: { obj: unknown; msg: string | undefined }[] = [];
    const calls: string[] = [];
    const app = express();
    app.use(express.json());
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn: (obj: unknown, msg?: string) => void warnings.push({ obj, msg }) } }));
    app.post('/payouts/:id', guard('payout'), (_req, res) => void (calls.push('payout'), res.end()));
    app.get('/health', (_req, res) => void res.end('ok'));
    const health = await request(app).get('/health');
    expect(health.status).toBe(200);
    const misconfigured = { obj: { code: 'ACTRA_OPTIONS', error: 'guard("payout"): action "payout" is not declared in the schema' }, msg: 'actra: misconfigured; affected requests are refused with 500' };
    expect(warnings.filter((w) => w.msg === misconfigured.msg)).toEqual([misconfigured]);
    const payout = await request(app).post('/payouts/p1').send({ amount: 5 });
    expect(payout.status).toBe(500);
    expect(payout.body).toMatchObject({ code: 'ACTRA_OPTIONS', detail: 'Actra is misconfigured.' });
    expect(warnings.filter((w) => w.msg === misconfigured.msg)).toEqual([misconfigured]);
    expect(calls).toEqual([]);
  });
});

describe('Express bodies no parser read', () => {
  it('refuses a JSON body on a route reading the body when no JSON parser is installed: 500, logged', async () => {
    const warnings: unknown[] = [];
    const calls: string[] = [];
    const app = express();
    app.use(actraMiddleware({ policy: compilePolicy(), jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE }, routes: { 'POST /transfers': 'transfer' }, logger: { info() {}, warn: (obj: unknown) => void warnings.push(obj) } }));
    app.post('/transfers', (_req, res) => void (calls.push('transfer'), res.end()));
    const authorization = `Bearer ${await hsToken()}`;
    const json = await request(app).post('/transfers').set('authorization', authorization).set('content-type', 'application/json').send('{"amount":5000}');
    expect(json.status).toBe(500);
    expect(json.body).toMatchObject({ code: 'ACTRA_OPTIONS', detail: 'Actra is misconfigured.' });
    expect(warnings).toEqual([{ code: 'ACTRA_OPTIONS', error: 'a JSON request body was not parsed: install a JSON body parser (express.json()) before Actra' }]);
    const text = await request(app).post('/transfers').set('authorization', authorization).set('content-type', 'text/plain').send('{"amount":5000}');
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'ACTRA_BAD_REQUEST', detail: 'the request body must be application/json' });
    const none = await request(app).post('/transfers').set('authorization', authorization);
    expect(none.status).toBe(200);
    expect(calls).toEqual(['transfer']);
  });
});

describe('Express types', () => {
  it('types req.actra as the decision or undefined', async () => {
    expectTypeOf<Request['actra']>().toEqualTypeOf<ActraRequestDecision | undefined>();
    const app = express();
    app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn() {} } }));
    app.get('/export', guard('export'), (req, res) => {
      expectTypeOf(req.actra).toEqualTypeOf<ActraRequestDecision | undefined>();
      res.json({ guarded: req.actra?.decisionId !== undefined });
    });
    app.get('/health', (req, res) => void res.json({ guarded: req.actra !== undefined }));
    expect((await request(app).get('/export?rows=5')).body).toEqual({ guarded: true });
    expect((await request(app).get('/health')).body).toEqual({ guarded: false });
  });
});

/** Sends `target` as the request line's target (origin or absolute form), with a JSON body. */
function rawPost(port: number, target: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: target, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? (JSON.parse(data) as unknown) : undefined }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

function tableApp(name: string, routes: unknown[]): express.Express {
  const app = express();
  app.use(express.json());
  app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), loaders: [{ name: 'fraud', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }], observers: [(event) => void routes.push(`${name} ${event.route}`)], routes: { 'POST /refunds/:id': 'refund' }, unmatched: 'deny', logger: { info() {}, warn() {} } }));
  app.post('/refunds/:id', (req, res) => void res.json({ app: name, id: req.params['id'], effect: req.actra?.decision?.effect ?? null }));
  return app;
}

describe('Express request paths', () => {
  it('guards a request whose target is in absolute form, or carries a query or a fragment, as its path', async () => {
    const routes: unknown[] = [];
    const server = tableApp('one', routes).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const targets = ['/refunds/r1', '/refunds/r1?amount=99999', `http://127.0.0.1:${port}/refunds/r1`, `http://127.0.0.1:${port}/refunds/r1?x=1`, '/refunds/r1#part', '/REFUNDS/r1/'];
      for (const target of targets) {
        expect(await rawPost(port, target, { amount: 5, currency: 'EUR' }), target).toEqual({ status: 200, json: { app: 'one', id: 'r1', effect: 'allow' } });
        // Over the approval limit, with no approval store: refused, so the guard saw this request.
        expect((await rawPost(port, target, { amount: 5000, currency: 'EUR' })).status, target).toBe(403);
      }
      // Not a declared route in any form: refused (unmatched: deny), the handler never runs.
      expect((await rawPost(port, `http://127.0.0.1:${port}/refundsX/r1`, { amount: 5 })).status).toBe(404);
      expect(routes).toEqual(targets.flatMap(() => ['one /refunds/:id', 'one /refunds/:id']));
    } finally {
      server.close();
    }
  });

  it('keeps two apps apart when their requests alternate: each is routed and decided by its own middleware', async () => {
    const routes: unknown[] = [];
    const one = tableApp('one', routes);
    const two = express();
    two.use(express.json());
    two.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'b', role: 'x' }), loaders: [{ name: 'fraud', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }], routes: { 'POST /payments/:id': 'refund' }, unmatched: 'deny', observers: [(event) => void routes.push(`two ${event.route}`)], logger: { info() {}, warn() {} } }));
    two.post('/payments/:id', (req, res) => void res.json({ app: 'two', id: req.params['id'], effect: req.actra?.decision?.effect ?? null }));
    two.post('/refunds/:id', (_req, res) => void res.json({ app: 'two', unguarded: true }));
    for (let round = 0; round < 3; round++) {
      expect((await request(one).post('/refunds/r1').send({ amount: 5 })).body).toEqual({ app: 'one', id: 'r1', effect: 'allow' });
      expect((await request(two).post('/payments/p1').send({ amount: 5 })).body).toEqual({ app: 'two', id: 'p1', effect: 'allow' });
      expect((await request(two).post('/refunds/r1').send({ amount: 5 })).status).toBe(404);
      expect((await request(one).post('/payments/p1').send({ amount: 5 })).status).toBe(404);
    }
    expect(routes).toEqual([0, 1, 2].flatMap(() => ['one /refunds/:id', 'two /payments/:id']));
  });

  it('decides a path two table routes match by the route Express dispatches to, and one only one matches without walking the router', async () => {
    /** Counts the `match` calls of the layers of `app`'s router whose route path is `path`. */
    function countMatches(app: express.Express, path: string): { calls: number } {
      const counter = { calls: 0 };
      const stack = (app as unknown as { router: { stack: { route?: { path: string }; match(p: string): unknown }[] } }).router.stack;
      for (const layer of stack.filter((l) => l.route?.path === path)) {
        const match = layer.match.bind(layer);
        layer.match = (p: string) => {
          counter.calls++;
          return match(p);
        };
      }
      return counter;
    }
    function overlapping(order: 'param first' | 'static first') {
      const seen: string[] = [];
      const app = express();
      app.use(express.json());
      app.use(actraMiddleware({ policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), loaders: [{ name: 'fraud', fields: ['fraud_flag', 'account_tier'], load: () => ({ fraud_flag: false, account_tier: 'gold' }) }], routes: { 'POST /refunds/:id': 'refund', 'POST /refunds/bulk': 'transfer', 'POST /exports/:id': 'export' }, observers: [(event) => void seen.push(`${event.action.type} ${event.route}`)], logger: { info() {}, warn() {} } }));
      const param = (_req: Request, res: Response) => void res.json({ handler: 'param' });
      const bulk = (_req: Request, res: Response) => void res.json({ handler: 'bulk' });
      if (order === 'param first') app.post('/refunds/:id', param).post('/refunds/bulk', bulk);
      else app.post('/refunds/bulk', bulk).post('/refunds/:id', param);
      // Declared in Express under another parameter name: the table's own route, not Express's pattern, is recorded.
      app.post('/exports/:exportId', (req, res) => void res.json({ handler: 'export', id: req.params['exportId'] }));
      return { app, seen };
    }
    const first = overlapping('param first');
    expect((await request(first.app).post('/refunds/bulk').send({ amount: 5 })).body).toEqual({ handler: 'param' });
    const second = overlapping('static first');
    expect((await request(second.app).post('/refunds/bulk').send({ amount: 5 })).body).toEqual({ handler: 'bulk' });
    expect((await request(second.app).post('/refunds/r1').send({ amount: 5 })).body).toEqual({ handler: 'param' });
    const exports = countMatches(second.app, '/exports/:exportId');
    const refunds = countMatches(second.app, '/refunds/:id');
    expect((await request(second.app).post('/exports/e%31').send({ rows: 3 })).body).toEqual({ handler: 'export', id: 'e1' });
    // Express's own dispatch matches the layer once; Actra does not walk the router for a route alone in the table.
    expect(exports.calls).toBe(1);
    refunds.calls = 0;
    expect((await request(second.app).post('/refunds/r2').send({ amount: 5 })).body).toEqual({ handler: 'param' });
    // `/refunds/:id` is not alone in the table (`/refunds/bulk` matches a path it matches): the router is walked, and the layer matched twice.
    expect(refunds.calls).toBe(2);
    expect((await request(second.app).post('/exports/e1').send({ rows: 'many' })).status).toBe(400);
    expect(first.seen).toEqual(['refund /refunds/:id']);
    expect(second.seen).toEqual(['transfer /refunds/bulk', 'refund /refunds/:id', 'export /exports/:id', 'refund /refunds/:id']);
  });
});
