/** No log line carries the token, a claim value or a snapshot value: real requests through Express, Fastify and Hono. */
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actraMiddleware as expressActra } from '../../adapters/express.js';
import { actraPlugin } from '../../adapters/fastify.js';
import { actraMiddleware as honoActra } from '../../adapters/hono.js';
import type { ActraHttpOptions } from '../../src/http/index.js';
import { logObserver } from '../../src/observability/log-observer.js';
import { jwtActor } from '../../src/runtime/jwt-actor.js';
import {
  AUDIENCE, compilePolicy, fraudLoader, HS_SECRET, hsToken, ISSUER, newApprovals, SECRET_ROLE, SNAPSHOT_VALUE, SUBJECT, tamperSignature,
  type LoaderControl,
} from '../adapters/fixtures.js';

/** Claims that the default mapping leaves out of the actor; they must not surface anywhere either. */
const EXTRA_CLAIMS = { email: 'marker-email-5k2@example.test', name: 'Marker Name Qv81', scope: 'marker-scope-refunds-w3' };

const ROUTES: NonNullable<ActraHttpOptions['routes']> = {
  'POST /refunds/:id': 'refund',
  'GET /refunds/:id': 'read_refund',
  'POST /warned/:id': { action: 'refund', mode: 'warn' },
};

interface Res {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

interface Send {
  (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: object): Promise<Res>;
}

/** Captured lines of one pino instance (raw text, as a log shipper would see it). */
function capture(): { logger: pino.Logger; raw: string[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug', base: null }, {
    write(chunk: string) {
      raw.push(chunk);
    },
  });
  return { logger, raw };
}

type Build = (options: ActraHttpOptions) => Promise<Send>;

const frameworks: [string, Build][] = [
  [
    'Express',
    async (options) => {
      const app = express();
      app.use(express.json());
      app.use(expressActra(options));
      app.post('/refunds/:id', (_req, res) => void res.json({ ok: true }));
      app.get('/refunds/:id', (_req, res) => void res.json({ ok: true }));
      app.post('/warned/:id', (_req, res) => void res.json({ ok: true }));
      app.get('/health', (_req, res) => void res.end('ok'));
      return async (method, path, headers, body) => {
        let req = request(app)[method === 'GET' ? 'get' : 'post'](path);
        for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
        const res = body === undefined ? await req : await req.send(body);
        return { status: res.status, headers: res.headers as Record<string, string>, text: res.text ?? '' };
      };
    },
  ],
  [
    'Fastify',
    async (options) => {
      const app = Fastify();
      await app.register(actraPlugin, options);
      app.post('/refunds/:id', async () => ({ ok: true }));
      app.get('/refunds/:id', async () => ({ ok: true }));
      app.post('/warned/:id', async () => ({ ok: true }));
      app.get('/health', async () => 'ok');
      await app.ready();
      closers.push(() => app.close());
      return async (method, path, headers, body) => {
        const res = await app.inject({
          method,
          url: path,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
        return { status: res.statusCode, headers: res.headers as Record<string, string>, text: res.body };
      };
    },
  ],
  [
    'Hono',
    async (options) => {
      const app = new Hono();
      const middleware = honoActra(options);
      app.use(middleware);
      app.post('/refunds/:id', (c) => c.json({ ok: true }));
      app.get('/refunds/:id', (c) => c.json({ ok: true }));
      app.post('/warned/:id', (c) => c.json({ ok: true }));
      app.get('/health', (c) => c.text('ok'));
      middleware.report(app);
      return async (method, path, headers, body) => {
        const res = await app.request(path, {
          method,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const out: Record<string, string> = {};
        res.headers.forEach((value, name) => {
          out[name] = value;
        });
        return { status: res.status, headers: out, text: await res.text() };
      };
    },
  ],
];

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** Every marker: the token and its parts, each claim value (mapped or not), the snapshot value. */
function markersOf(token: string): string[] {
  return [token, ...token.split('.'), SUBJECT, SECRET_ROLE, SNAPSHOT_VALUE, ...Object.values(EXTRA_CLAIMS)];
}

const jwtOptions = { algorithms: ['HS256' as const], secret: HS_SECRET, issuer: ISSUER, audience: AUDIENCE };

/** The decision line of `requestId` among `raw`, parsed; exactly one. */
function lineFor(raw: readonly string[], requestId: string): { level: number; decision: Record<string, unknown> } {
  const found = raw.filter((line) => line.includes(`"requestId":"${requestId}"`));
  expect(found).toHaveLength(1);
  return JSON.parse(found[0] as string) as { level: number; decision: Record<string, unknown> };
}

/** Asserts that no text holds any marker (the failure message names only the marker's start). */
function expectNoMarker(texts: readonly string[], markers: readonly string[]): void {
  for (const marker of markers) {
    for (const text of texts) expect(text, `a line contains ${marker.slice(0, 12)}…`).not.toContain(marker);
  }
}

for (const [framework, build] of frameworks) {
  describe(`${framework}: logs hold no token, claim or snapshot value`, () => {
    const decisions = capture();
    const http = capture();
    const loader: LoaderControl = { mode: 'ok', calls: 0 };
    const responses: Res[] = [];
    let token: string;
    let markers: string[];
    let send: Send;

    beforeAll(async () => {
      token = await hsToken(EXTRA_CLAIMS);
      markers = markersOf(token);
      const policy = compilePolicy();
      send = await build({
        policy,
        loaders: [fraudLoader(loader)],
        approvals: await newApprovals(policy),
        jwt: jwtOptions,
        routes: ROUTES,
        decisionHeaders: true,
        logger: http.logger,
        observers: [logObserver(decisions.logger)],
      });
    });

    async function call(method: 'GET' | 'POST', path: string, requestId: string, body?: object, bearer = token): Promise<Res> {
      const res = await send(method, path, { authorization: `Bearer ${bearer}`, 'x-request-id': requestId }, body);
      responses.push(res);
      return res;
    }

    it('logs an allow with its decision id and an actor ref', async () => {
      const res = await call('POST', '/refunds/r1', 'leak-allow', { amount: 50, currency: 'EUR' });
      expect(res.status).toBe(200);
      const line = lineFor(decisions.raw, 'leak-allow');
      expect(line.decision).toMatchObject({ decisionId: res.headers['actra-decision-id'], enforcedEffect: 'allow', route: '/refunds/:id' });
      expect(line.decision['actorRef']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    });

    it('logs an allow by a rule that compares the snapshot value', async () => {
      const res = await call('GET', '/refunds/r9', 'leak-read');
      expect(res.status).toBe(200);
      expect(lineFor(decisions.raw, 'leak-read').decision).toMatchObject({ decisionId: res.headers['actra-decision-id'], rule: 'tier_reads_ok' });
    });

    it('logs a block at warn', async () => {
      const res = await call('POST', '/refunds/fraud-1', 'leak-block', { amount: 50 });
      expect(res.status).toBe(403);
      const line = lineFor(decisions.raw, 'leak-block');
      expect(line.level).toBe(40);
      expect(line.decision).toMatchObject({ decisionId: (JSON.parse(res.text) as { decisionId: string }).decisionId, rule: 'block_fraud', reason: 'refund.fraud' });
    });

    it('logs a 202 pending approval with the approval id', async () => {
      const res = await call('POST', '/refunds/r2', 'leak-pending', { amount: 5000 });
      expect(res.status).toBe(202);
      const approvalId = (JSON.parse(res.text) as { approvalId: string }).approvalId;
      expect(lineFor(decisions.raw, 'leak-pending').decision).toMatchObject({ decisionId: res.headers['actra-decision-id'], approvalId, enforcedEffect: 'require_approval' });
    });

    it('answers 401 for a tampered token', async () => {
      const bad = tamperSignature(token);
      markers.push(bad, ...bad.split('.'));
      const res = await call('POST', '/refunds/r3', 'leak-401', { amount: 50 }, bad);
      expect(res.status).toBe(401);
    });

    it('logs a 503 loader failure by code and loader name, not by its message', async () => {
      loader.mode = 'throw';
      const res = await call('POST', '/refunds/r4', 'leak-503', { amount: 50 });
      loader.mode = 'ok';
      expect(res.status).toBe(503);
      const line = lineFor(decisions.raw, 'leak-503');
      expect(line.level).toBe(50);
      expect(line.decision).toMatchObject({ decisionId: expect.stringMatching(/^dec_/), error: { code: 'ACTRA_LOADER_FAILED', source: 'fraud' } });
    });

    it('logs a warn-mode block at warn, while the handler runs', async () => {
      const res = await call('POST', '/warned/fraud-2', 'leak-warn', { amount: 50 });
      expect(res.status).toBe(200);
      expect(res.headers['actra-warning']).toContain('block');
      const line = lineFor(decisions.raw, 'leak-warn');
      expect(line.level).toBe(40);
      expect(line.decision).toMatchObject({ decisionId: res.headers['actra-decision-id'], mode: 'warn', effect: 'block', enforcedEffect: 'allow' });
    });

    it('wrote no marker in any decision line, HTTP log line or response', async () => {
      await send('GET', '/health', {});
      expect(decisions.raw.length).toBeGreaterThanOrEqual(6);
      expect(http.raw.join('')).toContain('actra: route table compiled');
      expect(http.raw.join('')).toContain('GET /health');
      expectNoMarker([...decisions.raw, ...http.raw, ...responses.map((r) => r.text + JSON.stringify(r.headers))], markers);
    });
  });

  describe(`${framework}: a 401 decided by the runtime's actor resolver is logged without the token`, () => {
    it('logs the failure code and no actor, and no marker anywhere', async () => {
      const decisions = capture();
      const http = capture();
      const policy = compilePolicy();
      const resolver = jwtActor({ ...jwtOptions, policy });
      const send = await build({
        policy,
        loaders: [fraudLoader({ mode: 'ok', calls: 0 })],
        actorResolver: (req) => resolver.fromRequest(req),
        routes: ROUTES,
        logger: http.logger,
        observers: [logObserver(decisions.logger)],
      });
      const token = await hsToken(EXTRA_CLAIMS, { exp: Math.floor(Date.now() / 1000) - 3600 });
      const res = await send('POST', '/refunds/r5', { authorization: `Bearer ${token}`, 'x-request-id': 'leak-401-runtime' }, { amount: 50 });
      expect(res.status).toBe(401);
      const line = lineFor(decisions.raw, 'leak-401-runtime');
      expect(line.decision).toMatchObject({ decisionId: expect.stringMatching(/^dec_/), enforcedEffect: 'block', error: { code: 'ACTRA_UNAUTHENTICATED' } });
      expect(line.decision).not.toHaveProperty('actorRef');
      expectNoMarker([...decisions.raw, ...http.raw, res.text + JSON.stringify(res.headers)], markersOf(token));
    });
  });
}
