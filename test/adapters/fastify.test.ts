import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { actraPlugin, guard } from '../../adapters/fastify.js';
import type { ActraRequestDecision } from '../../src/http/index.js';
import { contractSuite, ROUTES, type Factory, type Res, type SendInit } from './contract.js';
import { loadControllers } from './decorated.js';
import { AUDIENCE, compilePolicy, fraudLoader, HS_SECRET, hsToken, ISSUER } from './fixtures.js';

function reply(name: string, calls: string[]) {
  return async function handler(request: FastifyRequest, _reply: FastifyReply): Promise<unknown> {
    calls.push(name);
    return { route: name, decisionId: request.actra?.decisionId ?? null, effect: request.actra?.decision?.effect ?? null, mode: request.actra?.mode ?? null };
  };
}

const factory: Factory = async (options, calls) => {
  const { FastifyRefunds } = await loadControllers();
  const controller = new FastifyRefunds(calls);
  const app = Fastify();
  await app.register(actraPlugin, options);
  app.post('/refunds/:id', reply('table', calls));
  app.get('/refunds/:id', reply('read', calls));
  app.post('/monitored/:id', reply('monitored', calls));
  app.post('/warned/:id', reply('warned', calls));
  app.post('/mapped/:refundId', reply('mapped', calls));
  app.post('/guarded/:id', { preHandler: guard('refund') }, reply('guard', calls));
  app.post('/guarded-warn/:id', { preHandler: guard('refund', { mode: 'warn' }) }, reply('guard-warn', calls));
  app.post('/double/:id', { preHandler: guard('refund') }, reply('double', calls));
  app.post('/computed/:id', reply('computed', calls));
  app.get('/export', reply('export', calls));
  app.post('/transfers', reply('transfer', calls));
  app.post('/controller/:id', controller.create.bind(controller));
  app.post('/misconfigured/:id', controller.misconfigured.bind(controller));
  app.get('/health', reply('health', calls));
  await app.register(
    async function api(scope) {
      scope.post('/refunds/:id', reply('mounted', calls));
      scope.post('/guarded/:id', { preHandler: guard('refund') }, reply('mounted-guard', calls));
    },
    { prefix: '/api/v1' },
  );
  await app.register(
    async function tenant(scope) {
      scope.post('/refunds/:id', { preHandler: guard('refund') }, reply('tenant-guard', calls));
    },
    { prefix: '/tenants/:tenant' },
  );
  await app.ready();

  return {
    protoKeys: 'refused',
    // find-my-way (Fastify's router) is case-sensitive and keeps trailing and duplicate slashes
    // significant by default; Actra only sees requests the router matched.
    routing: { caseSensitive: true, exactSlashes: true },
    async send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      const headers: Record<string, string> = { ...init.headers };
      let payload: string | undefined;
      if (init.rawBody !== undefined) payload = init.rawBody;
      else if (init.body !== undefined) payload = JSON.stringify(init.body);
      if (payload !== undefined) headers['content-type'] = (init.rawBody !== undefined ? init.contentType : undefined) ?? 'application/json';
      const res = await app.inject({ method: method as 'GET', url: path, headers, ...(payload === undefined ? {} : { payload }) });
      let json: unknown;
      try {
        json = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers as Record<string, string>, text: res.body, json };
    },
    async close() {
      await app.close();
    },
  };
};

contractSuite('Fastify', factory);

describe('Fastify route config', () => {
  it('guards a route declared with config.actra, after schema validation', async () => {
    const calls: string[] = [];
    const app = Fastify();
    await app.register(actraPlugin, {
      policy: compilePolicy(),
      loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
      jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE },
      logger: { info() {}, warn() {} },
    });
    app.post(
      '/configured/:id',
      { config: { actra: { action: 'refund', fields: { amount: 'body.cents' } } }, schema: { body: { type: 'object', required: ['cents'], properties: { cents: { type: 'number' } } } } },
      async (request) => {
        calls.push('configured');
        return { effect: request.actra?.decision?.effect };
      },
    );
    await app.ready();
    const authorization = `Bearer ${await hsToken()}`;
    const invalid = await app.inject({ method: 'POST', url: '/configured/r1', headers: { authorization }, payload: { other: 1 } });
    expect(invalid.statusCode).toBe(400);
    const noGate = await app.inject({ method: 'POST', url: '/configured/r1', headers: { authorization }, payload: { cents: 5000 } });
    expect(noGate.statusCode).toBe(403);
    expect(noGate.json()).toMatchObject({ rule: 'approve_large', code: 'ACTRA_BLOCKED' });
    const blocked = await app.inject({ method: 'POST', url: '/configured/fraud-1', headers: { authorization }, payload: { cents: 5 } });
    expect(blocked.statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/configured/r1', headers: { authorization }, payload: { cents: 5 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ effect: 'allow' });
    expect(calls).toEqual(['configured']);
    await app.close();
  });

  it('fails registration with ACTRA_OPTIONS for an undeclared action in a route config', async () => {
    const app = Fastify();
    await app.register(actraPlugin, { policy: compilePolicy(), logger: { info() {}, warn() {} } });
    expect(() => app.post('/x', { config: { actra: 'payout' } }, async () => 'x')).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'route POST /x config.actra: action "payout" is not declared in the schema' }),
    );
    await app.close();
  });

  it('logs the unguarded routes at start-up', async () => {
    const warnings: unknown[] = [];
    const app = Fastify();
    await app.register(actraPlugin, { policy: compilePolicy(), routes: ROUTES, logger: { info() {}, warn: (obj: unknown) => warnings.push(obj) } });
    app.post('/refunds/:id', async () => 'x');
    app.get('/health', async () => 'ok');
    await app.ready();
    expect(warnings).toEqual([{ unguarded: ['GET /health'] }]);
    await app.close();
  });
});

describe('Fastify guards checked at registration', () => {
  it('fails registration with ACTRA_OPTIONS for guard() of an undeclared action in preHandler', async () => {
    const app = Fastify();
    await app.register(actraPlugin, { policy: compilePolicy(), logger: { info() {}, warn() {} } });
    const undeclared = expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard("payout"): action "payout" is not declared in the schema' });
    expect(() => app.post('/payouts/:id', { preHandler: guard('payout') }, async () => 'x')).toThrow(undeclared);
    expect(() => app.post('/limits/:id', { preHandler: [async () => undefined, guard('refund', { fields: { limit: 'body.limit' } })] }, async () => 'x')).toThrow(
      expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard("refund"): field "limit" is not declared for action "refund"' }),
    );
    await app.close();
  });

  it('evaluates a route with config.actra and guard() for the same action once', async () => {
    const events: unknown[] = [];
    const loader = { mode: 'ok' as const, calls: 0 };
    const app = Fastify();
    await app.register(actraPlugin, {
      policy: compilePolicy(),
      loaders: [fraudLoader(loader)],
      jwt: { algorithms: ['HS256'], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE },
      observers: [(event) => void events.push(event)],
      logger: { info() {}, warn() {} },
    });
    app.post('/configured/:id', { config: { actra: 'refund' }, preHandler: guard('refund') }, async (request) => ({ effect: request.actra?.decision?.effect }));
    await app.ready();
    const res = await app.inject({ method: 'POST', url: '/configured/r1', headers: { authorization: `Bearer ${await hsToken()}` }, payload: { amount: 5 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ effect: 'allow' });
    expect(loader.calls).toBe(1);
    expect(events).toHaveLength(1);
    await app.close();
  });
});

describe('Fastify routes registered before the plugin', () => {
  it('refuses a route with an undeclared config.actra action with a generic 500 problem, logged once', async () => {
    const warnings: unknown[] = [];
    const calls: string[] = [];
    const app = Fastify();
    app.post('/early/:id', { config: { actra: 'payout' } }, async () => {
      calls.push('early');
      return 'x';
    });
    await app.register(actraPlugin, { policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn: (obj: unknown) => void warnings.push(obj) } });
    await app.ready();
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/early/e1', payload: { amount: 5 } });
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'ACTRA_OPTIONS', detail: 'Actra is misconfigured.' });
      expect(res.body).not.toContain('payout');
    }
    expect(warnings).toEqual([{ code: 'ACTRA_OPTIONS', error: 'route POST /early/:id config.actra: action "payout" is not declared in the schema' }]);
    expect(calls).toEqual([]);
    await app.close();
  });
});

describe('Fastify types', () => {
  it('types request.actra as the decision or null', async () => {
    expectTypeOf<FastifyRequest['actra']>().toEqualTypeOf<ActraRequestDecision | null>();
    const app = Fastify();
    await app.register(actraPlugin, { policy: compilePolicy(), actorResolver: () => ({ id: 'a', role: 'x' }), logger: { info() {}, warn() {} } });
    app.get('/export', { preHandler: guard('export') }, async (request) => {
      expectTypeOf(request.actra).toEqualTypeOf<ActraRequestDecision | null>();
      return { guarded: request.actra?.decisionId !== undefined };
    });
    app.get('/health', async (request) => ({ guarded: request.actra !== null }));
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/export?rows=5' })).json()).toEqual({ guarded: true });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ guarded: false });
    await app.close();
  });
});
