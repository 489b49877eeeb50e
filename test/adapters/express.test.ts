import express, { type Request, type Response } from 'express';
import request from 'supertest';
import { actraMiddleware, captureRawBody, guard } from '../../adapters/express.js';
import { loadControllers } from './decorated.js';
import { describe, expect, it } from 'vitest';
import { contractSuite, ROUTES, type Factory, type Res, type SendInit } from './contract.js';
import { compilePolicy } from './fixtures.js';

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
  app.post('/controller/:id', (req, res, next) => controller.create(req, res, next));
  app.get('/health', reply('health', calls));
  const api = express.Router();
  api.post('/refunds/:id', reply('mounted', calls));
  app.use('/api/v1', api);

  return {
    protoKeys: 'kept',
    async send(method: string, path: string, init: SendInit = {}): Promise<Res> {
      let req = request(app)[method.toLowerCase() as 'get'](path);
      for (const [name, value] of Object.entries(init.headers ?? {})) req = req.set(name, value);
      if (init.rawBody !== undefined) req = req.set('content-type', 'application/json').send(init.rawBody);
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
