/** HTTP benchmark: each framework's bare route against the same route behind Actra (token cache on and off), and the 202 pending-approval path. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { Actra } from '../src/core/actra.js';
import type { ActraHttpOptions } from '../src/http/index.js';
import { Approvals } from '../src/approvals/approvals.js';
import { SqliteApprovalStore } from '../src/approvals/stores/sqlite-store.js';

export type Framework = 'express' | 'fastify' | 'hono';
/**
 * `floor`: the bare route plus the least any admission layer adds — one middleware / hook that
 * reads the `Authorization` header and passes the request on — so the table separates the
 * framework's cost of running a hook from Actra's own work.
 *
 * `handwritten`: the floor plus the least a correct admission does on the cached path, written by
 * hand for this one route — the verified token's actor from a `Map` (the token is verified with jose
 * at start-up), the action's two fields checked and copied from the body, the loader's value, the
 * same compiled policy's `evaluate`, a decision handed to the handler — so that the table shows how
 * close Actra comes to a hand-written equivalent, as the engine benchmark does for `evaluate`.
 */
export type Variant = 'bare' | 'floor' | 'handwritten' | 'actra-cached' | 'actra-uncached' | 'actra-202';

let floorSeen = 0;
/** What the floor hook does with the request: notes that it carries a token. */
function floorRead(authorization: string | undefined): void {
  if (authorization !== undefined && authorization.length > 7) floorSeen++;
}

const SCHEMA = `
version: 1
actions:
  refund:
    fields: { amount: number, currency: string }
actor:
  fields: { role: string }
snapshot:
  fields: { fraud_flag: boolean }
`;
const POLICY = `
version: 1
rules:
  - id: block_fraud
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
    reason: refund.fraud
  - id: approve_large
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: require_approval
    reason: refund.large
  - id: support_only
    scope: { action: refund }
    when: { subject: { domain: actor, field: role }, operator: not_equals, value: { literal: support } }
    effect: block
    reason: refund.role
`;
const SECRET = 'benchmark-secret-benchmark-secret-benchmark!';
const ISSUER = 'https://id.bench/';
const AUDIENCE = 'refunds-api';
export const BODY = JSON.stringify({ amount: 49, currency: 'EUR' });
/** Over the approval limit: the same pending request again answers 202 with the same approval (SQLite store). */
const BODY_202 = JSON.stringify({ amount: 2500, currency: 'EUR' });

/** The request body a variant is loaded with: over the approval limit for `actra-202`. */
function bodyOf(variant: Variant): string {
  return variant === 'actra-202' ? BODY_202 : BODY;
}

/** The hand-written admission of the `handwritten` variant. */
interface HandWritten {
  /** The decision for a request, or the status to refuse it with. */
  decide(authorization: string | undefined, body: unknown): { readonly decisionId: string; readonly effect: string } | number;
}

async function handWritten(): Promise<HandWritten> {
  const policy = Actra.fromStrings(SCHEMA, POLICY);
  const fraud = new Map<string, boolean>([['r1', false]]);
  const token = process.env['ACTRA_BENCH_TOKEN'] ?? '';
  const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
  const actors = new Map([[`Bearer ${token}`, { actor: Object.freeze({ id: payload.sub as string, role: payload['role'] as string }), expiresAt: (payload.exp as number) * 1000 }]]);
  let decisions = 0;
  return {
    decide(authorization, body) {
      const known = authorization === undefined ? undefined : actors.get(authorization);
      if (known === undefined || !(known.expiresAt > Date.now())) return 401;
      if (typeof body !== 'object' || body === null) return 400;
      const { amount, currency } = body as { amount?: unknown; currency?: unknown };
      if (typeof amount !== 'number' || typeof currency !== 'string') return 400;
      const actor = known.actor;
      const decision = policy.evaluate({ action: { type: 'refund', amount, currency }, actor, snapshot: { fraud_flag: fraud.get(actor.id) ?? false } });
      if (decision.effect !== 'allow') return 403;
      decisions += 1;
      return { decisionId: `dec_${decisions}`, effect: decision.effect };
    },
  };
}

async function actraOptions(variant: Exclude<Variant, 'bare' | 'floor' | 'handwritten'>): Promise<ActraHttpOptions> {
  const fraud = new Map<string, boolean>([['r1', false]]);
  const cache = variant !== 'actra-uncached';
  const policy = Actra.fromStrings(SCHEMA, POLICY);
  let approvals = {};
  if (variant === 'actra-202') {
    const store = new SqliteApprovalStore({ path: join(mkdtempSync(join(tmpdir(), 'actra-bench-')), 'approvals.db') });
    await store.init();
    approvals = { approvals: new Approvals({ policy, store }) };
  }
  return {
    policy,
    ...approvals,
    loaders: [{ name: 'fraud', fields: ['fraud_flag'], load: ({ actor }) => ({ fraud_flag: fraud.get(actor.id) ?? false }) }],
    jwt: { algorithms: ['HS256'], secret: SECRET, issuer: ISSUER, audience: AUDIENCE, ...(cache ? {} : { cache: false }) },
    routes: { 'POST /refunds/:id': 'refund' },
    logger: { info() {}, warn() {} },
  };
}

/** Starts one server in this (child) process and prints `ready <port>`. */
async function serve(framework: Framework, variant: Variant): Promise<void> {
  const actra = variant === 'bare' || variant === 'floor' || variant === 'handwritten' ? undefined : await actraOptions(variant);
  const hand = variant === 'handwritten' ? await handWritten() : undefined;
  let server: Server;
  if (framework === 'express') {
    const app = express();
    app.use(express.json());
    if (variant === 'floor') {
      app.use(function floor(req, _res, next) {
        floorRead(req.headers.authorization);
        next();
      });
    }
    if (hand) {
      app.use(function handwritten(req, res, next) {
        const decided = hand.decide(req.headers.authorization, req.body);
        if (typeof decided === 'number') return void res.status(decided).end();
        res.locals['decision'] = decided;
        next();
      });
    }
    if (actra) app.use((await import('../adapters/express.js')).actraMiddleware(actra));
    app.post('/refunds/:id', function refund(req, res) {
      res.json({ ok: true, id: req.params.id, decision: req.actra?.decisionId ?? (res.locals['decision'] as { decisionId?: string } | undefined)?.decisionId ?? null });
    });
    server = app.listen(0, '127.0.0.1');
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    if (variant === 'floor') {
      app.addHook('preHandler', function floor(request, _reply, done) {
        floorRead(request.headers.authorization);
        done();
      });
    }
    if (hand) {
      app.decorateRequest('decision', null);
      app.addHook('preHandler', function handwritten(request, reply, done) {
        const decided = hand.decide(request.headers.authorization, request.body);
        if (typeof decided === 'number') return void reply.code(decided).send();
        (request as unknown as { decision: unknown }).decision = decided;
        done();
      });
    }
    if (actra) await app.register((await import('../adapters/fastify.js')).actraPlugin, actra);
    app.post('/refunds/:id', async function refund(request) {
      const decision = request.actra?.decisionId ?? (request as unknown as { decision: { decisionId: string } | null }).decision?.decisionId ?? null;
      return { ok: true, id: (request.params as { id: string }).id, decision };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    server = app.server;
  } else {
    const { Hono } = await import('hono');
    const { serve: serveHono } = await import('@hono/node-server');
    const app = new Hono<{ Bindings: { incoming: { headers: Record<string, string | undefined> } }; Variables: { decision: { readonly decisionId: string } } }>();
    if (variant === 'floor') {
      app.use(async function floor(c, next) {
        // Node's own headers, as Actra reads them: `c.req.header()` would build a WHATWG Headers.
        floorRead(c.env.incoming.headers['authorization']);
        await next();
      });
    }
    if (hand) {
      app.use(async function handwritten(c, next) {
        // Reads the body as Actra does (the text, parsed, left in Hono's body cache for the handler).
        const body = await c.req.json<unknown>();
        const decided = hand.decide(c.env.incoming.headers['authorization'], body);
        if (typeof decided === 'number') return c.body(null, decided as 400);
        c.set('decision', decided);
        await next();
        return undefined;
      });
    }
    if (actra) app.use((await import('../adapters/hono.js')).actraMiddleware(actra));
    app.post('/refunds/:id', async function refund(c) {
      await c.req.json();
      return c.json({ ok: true, id: c.req.param('id'), decision: c.get('actra')?.decisionId ?? c.get('decision')?.decisionId ?? null });
    });
    server = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  }
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  process.once('SIGINT', function stop() {
    process.exit(0);
  });
  process.on('message', function reportCpu() {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpu: user + system });
  });
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
}

/**
 * Pins the load generator (this process) to the last CPU and returns the `taskset` prefix that
 * starts each server on CPU 0, so that the two never take turns on one core and every run of every
 * variant gets the same split. `undefined` (no pinning) with `ACTRA_BENCH_PIN=0`, on a machine with
 * one CPU, or without `taskset`.
 */
function pinning(cpus: number): string[] | undefined {
  if (process.env['ACTRA_BENCH_PIN'] === '0' || cpus < 2) return undefined;
  const pinned = spawnSync('taskset', ['-p', '-c', String(cpus - 1), String(process.pid)], { stdio: 'ignore' });
  return pinned.status === 0 ? ['taskset', '-c', '0'] : undefined;
}

/**
 * Starts a server child; `token` is what the `handwritten` variant verifies at start-up. `prefix` is
 * a command the server runs under (`taskset` for pinning, `valgrind`), `nodeArgs` go to Node itself.
 */
export async function start(framework: Framework, variant: Variant, prefix: readonly string[] | undefined, token: string, nodeArgs: readonly string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const args = [...nodeArgs, fileURLToPath(import.meta.url), '--serve', framework, variant];
  const options = { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] as ('ignore' | 'pipe' | 'inherit' | 'ipc')[], env: { ...process.env, ACTRA_BENCH_TOKEN: token } };
  const child = prefix === undefined ? spawn(process.execPath, args, options) : spawn(prefix[0] as string, [...prefix.slice(1), process.execPath, ...args], options);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, port };
}

/** The server's CPU time so far, in microseconds. */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message: { cpu: number }) => resolve(message.cpu));
    child.send('cpu');
  });
}

async function load(port: number, token: string, seconds: number, body = BODY, connections = 10): Promise<{ rps: number; total: number; non2xx: number; errors: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/refunds/r1`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  return { rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors };
}

/** A difference with its sign (`+3.2`, `−0.4`). */
function signed(value: number): string {
  return (value < 0 ? '−' : '+') + Math.abs(value).toFixed(1);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Each round's req/s of `variant` divided by `baseline`'s in the same round, sorted. */
function sameRoundRatios(samples: ReadonlyMap<Variant, readonly number[]>, variant: Variant, baseline: Variant): number[] {
  const base = samples.get(baseline) ?? [];
  return (samples.get(variant) ?? []).map((rps, round) => rps / (base[round] as number)).sort((a, b) => a - b);
}

/**
 * The median over rounds of `variant`'s req/s divided by `baseline`'s in the same round: a slow
 * spell of the machine lowers both runs of its round, and drops out of the ratio.
 */
function pairedRatio(samples: ReadonlyMap<Variant, readonly number[]>, variant: Variant, baseline: Variant): number {
  return median(sameRoundRatios(samples, variant, baseline));
}

/** The lower and upper quartiles of the same-round ratios of `variant` to `baseline` (how much the rounds agree). */
function ratioSpread(samples: ReadonlyMap<Variant, readonly number[]>, variant: Variant, baseline: Variant): string {
  const ratios = sameRoundRatios(samples, variant, baseline);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))] as number;
  return `${at(0.25).toFixed(2)}–${at(0.75).toFixed(2)}`;
}

/** The HS256 token every variant's requests carry (role `support`, subject `r1`, valid for 2 h). */
export function benchToken(): Promise<string> {
  return new SignJWT({ role: 'support' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('r1')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(SECRET));
}

async function main(): Promise<void> {
  const seconds = Number(process.env['ACTRA_BENCH_SECONDS'] ?? 2);
  const slices = Number(process.env['ACTRA_BENCH_ROUNDS'] ?? 6);
  const processes = Number(process.env['ACTRA_BENCH_PROCESSES'] ?? 3);
  const frameworks = (process.env['ACTRA_BENCH_FRAMEWORKS']?.split(',') ?? ['express', 'fastify', 'hono']) as Framework[];
  const all: Variant[] = ['bare', 'floor', 'handwritten', 'actra-cached', 'actra-uncached', 'actra-202'];
  const chosen = process.env['ACTRA_BENCH_VARIANTS']?.split(',');
  const variants = chosen === undefined ? all : all.filter((v) => v === 'bare' || chosen.includes(v));
  const cpus = availableParallelism();
  const pin = pinning(cpus);
  const token = await benchToken();

  const placement = pin === undefined ? 'servers and load generator unpinned' : `servers pinned to CPU 0, load generator to CPU ${cpus - 1}`;
  console.log(
    `HTTP benchmark: autocannon, 10 connections, 127.0.0.1 (${placement}); per framework, ${processes} sets of server processes (one per variant, each warmed for 2 s), ` +
      `each set measured in ${slices} rounds of ${seconds} s per variant, interleaved (every other round reversed); ratios are medians of same-round ratios`,
  );
  const rows: string[][] = [];
  // `ACTRA_BENCH_PROCESSES=0` runs the concurrent table alone.
  for (const framework of processes > 0 && slices > 0 ? frameworks : []) {
    const samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    const cpu = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    /** The share of one CPU the server used during the run: near 100 % means the server, not the load generator, set the pace. */
    const busy = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    for (let set = 0; set < processes; set++) {
      // One long-lived server per variant: a round then takes seconds, not a start-up, so that a slow spell of the machine falls on every variant of the round alike.
      const servers = new Map<Variant, { child: ChildProcess; port: number }>();
      try {
        for (const variant of variants) {
          const server = await start(framework, variant, pin, token);
          servers.set(variant, server);
          const body = bodyOf(variant);
          const probe = await fetch(`http://127.0.0.1:${server.port}/refunds/r1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
          const expected = variant === 'actra-202' ? 202 : 200;
          if (probe.status !== expected) throw new Error(`${framework} ${variant}: expected ${expected}, got ${probe.status}`);
          await load(server.port, token, 2, body);
        }
        for (let slice = 0; slice < slices; slice++) {
          // Every other round runs the variants in reverse, so no variant always runs first or last in a round.
          for (const variant of (set * slices + slice) % 2 === 0 ? variants : [...variants].reverse()) {
            const { child, port } = servers.get(variant) as { child: ChildProcess; port: number };
            const cpuBefore = await serverCpu(child);
            const run = await load(port, token, seconds, bodyOf(variant));
            const cpuAfter = await serverCpu(child);
            if (run.non2xx > 0 || run.errors > 0) throw new Error(`${framework} ${variant}: ${run.non2xx} non-2xx responses, ${run.errors} errors`);
            samples.get(variant)?.push(run.rps);
            cpu.get(variant)?.push((cpuAfter - cpuBefore) / run.total);
            busy.get(variant)?.push((cpuAfter - cpuBefore) / (seconds * 1e6));
          }
        }
      } finally {
        for (const server of servers.values()) server.child.kill();
      }
    }
    const bareCpu = median(cpu.get('bare') ?? []);
    for (const variant of variants) {
      const rps = median(samples.get(variant) ?? []);
      const us = median(cpu.get(variant) ?? []);
      const own = samples.get(variant) ?? [];
      rows.push([
        framework,
        variant,
        Math.round(rps).toString(),
        pairedRatio(samples, variant, 'bare').toFixed(3) + 'x',
        variant === 'bare' || variant === 'floor' || !variants.includes('floor') ? '' : pairedRatio(samples, variant, 'floor').toFixed(3) + 'x',
        us.toFixed(1),
        variant === 'bare' ? '' : signed(us - bareCpu),
        (median(busy.get(variant) ?? []) * 100).toFixed(0) + ' %',
        variant === 'bare' ? `${Math.round(Math.min(...own))}–${Math.round(Math.max(...own))}` : ratioSpread(samples, variant, 'bare'),
      ]);
    }
  }
  if (rows.length > 0) printTable(['framework', 'variant', 'req/s (median)', 'vs bare', 'vs floor', 'server CPU µs/req', 'added µs/req', 'server CPU busy', 'bare req/s range; rounds\' ratios, quartiles'], rows);

  const concurrentRounds = Number(process.env['ACTRA_BENCH_CONCURRENT_ROUNDS'] ?? 3);
  const concurrentSeconds = Number(process.env['ACTRA_BENCH_CONCURRENT_SECONDS'] ?? 8);
  const concurrentWarmup = Number(process.env['ACTRA_BENCH_CONCURRENT_WARMUP'] ?? 8);
  const together = variants.filter((v) => v === 'bare' || v === 'handwritten' || v === 'actra-cached');
  if (concurrentRounds > 0 && together.length > 1) {
    console.log(`\nServer CPU per request with the variants served at once: one server per variant, all on ${pin === undefined ? 'the same CPUs' : 'CPU 0'}, each loaded by 5 connections for ${concurrentSeconds} s at the same time, ${concurrentRounds} rounds; added µs are medians of same-round differences from bare`);
    const concurrentRows: string[][] = [];
    for (const framework of frameworks) concurrentRows.push(...(await concurrent(framework, together, pin, token, concurrentRounds, concurrentSeconds, concurrentWarmup)));
    printTable(['framework', 'variant', 'server CPU µs/req (median)', 'added µs/req', 'per round'], concurrentRows);
  }
}

/**
 * Every variant's server at once, sharing one CPU, loaded at the same time: a slow spell of the
 * machine slows them all alike, so their differences in server CPU per request hold steady from
 * round to round where sequential runs' req/s do not. Sharing the CPU also makes every server's
 * code and data colder than in a run of its own, so the absolute figures are higher.
 */
async function concurrent(framework: Framework, variants: readonly Variant[], pin: string[] | undefined, token: string, rounds: number, seconds: number, warmup: number): Promise<string[][]> {
  const perRequest = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    const servers = await Promise.all(variants.map((variant) => start(framework, variant, pin, token)));
    try {
      await Promise.all(servers.map((server) => load(server.port, token, warmup, BODY, 5)));
      const before = await Promise.all(servers.map((server) => serverCpu(server.child)));
      const runs = await Promise.all(servers.map((server) => load(server.port, token, seconds, BODY, 5)));
      const after = await Promise.all(servers.map((server) => serverCpu(server.child)));
      runs.forEach((run, index) => {
        const variant = variants[index] as Variant;
        if (run.non2xx > 0 || run.errors > 0) throw new Error(`${framework} ${variant} (concurrent): ${run.non2xx} non-2xx responses, ${run.errors} errors`);
        perRequest.get(variant)?.push(((after[index] as number) - (before[index] as number)) / run.total);
      });
    } finally {
      for (const server of servers) server.child.kill();
    }
  }
  const bare = perRequest.get('bare') ?? [];
  return variants.map((variant) => {
    const own = perRequest.get(variant) ?? [];
    const added = own.map((us, round) => us - (bare[round] as number));
    return [framework, variant, median(own).toFixed(1), variant === 'bare' ? '' : signed(median(added)), variant === 'bare' ? own.map((us) => us.toFixed(1)).join(' / ') : added.map(signed).join(' / ')];
  });
}

export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of rows) console.log(line(row));
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as Framework, process.argv[4] as Variant);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
