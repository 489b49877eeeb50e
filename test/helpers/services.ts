/** Test access to the real PostgreSQL and Redis on 127.0.0.1: availability, isolated namespaces, throw-away servers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';

/** PostgreSQL URL of the tests: `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`. */
export function databaseUrl(): string {
  return process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** Redis URL of the tests: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export function redisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

/** A random lower-case name for an isolated namespace, e.g. `actra_test_k3j9…`. */
export function uniqueName(prefix = 'actra_test_'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/** True when PostgreSQL at `url` answers a query within a few seconds. */
export async function pgAvailable(url = databaseUrl()): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when Redis at `url` answers PING within a few seconds. */
export async function redisAvailable(url = redisUrl()): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Returns the service's URL when it is reachable. When it is not: throws if
 * `ACTRA_REQUIRE_SERVICES=1` (CI), otherwise prints a loud warning and returns `undefined`, so the
 * file can use `describe.skipIf(!url)`.
 *
 * @example
 * ```ts
 * const pgUrl = await requireService('postgres');
 * describe.skipIf(!pgUrl)('postgres store', () => { ... });
 * ```
 */
export async function requireService(name: 'postgres' | 'redis'): Promise<string | undefined> {
  const url = name === 'postgres' ? databaseUrl() : redisUrl();
  const up = name === 'postgres' ? await pgAvailable(url) : await redisAvailable(url);
  if (up) return url;
  const safeUrl = url.replace(/\/\/[^@/]*@/, '//***@');
  if (process.env['ACTRA_REQUIRE_SERVICES'] === '1') {
    throw new Error(`${name} is required (ACTRA_REQUIRE_SERVICES=1) but unreachable at ${safeUrl}`);
  }
  const line = '!'.repeat(78);
  console.warn(`\n${line}\n!! ${name.toUpperCase()} UNREACHABLE at ${safeUrl}: its tests are SKIPPED.\n!! Start it, or set ACTRA_REQUIRE_SERVICES=1 to make this a failure.\n${line}\n`);
  return undefined;
}

/** A PostgreSQL schema created for one test file; `drop()` removes it with everything inside. */
export interface PgSchema {
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates an empty, uniquely named schema (`actra_test_<random>`). */
export async function createPgSchema(url = databaseUrl()): Promise<PgSchema> {
  const name = uniqueName();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${name}"`);
  } finally {
    await client.end();
  }
  return {
    name,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A unique Redis key prefix for one test, `actra:test:<random>:`. */
export function redisTestPrefix(): string {
  return `actra:test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix`. */
export async function cleanRedisPrefix(prefix: string, url = redisUrl()): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A throw-away `redis-server` child process (no persistence) that a test can kill and restart. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server with SIGKILL and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
}

/** Starts `redis-server` on a free port and waits until it answers PING. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    await waitUntil(() => redisAvailable(`redis://127.0.0.1:${chosen}`), 'redis-server did not start');
  }
  await start();
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    async kill() {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
    restart: start,
  };
}

/** A TCP proxy to `target` that a test can cut (close every connection, stop listening) and restore on the same port. */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a TCP proxy on a free port forwarding to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const listenPort = await freePort();
  const sockets = new Set<Socket>();
  let server: ReturnType<typeof createServer> | undefined;
  async function listen(): Promise<void> {
    const s = createServer(function proxyConnection(inbound) {
      const outbound = new Socket();
      sockets.add(inbound).add(outbound);
      const drop = (): void => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(inbound);
        sockets.delete(outbound);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
      outbound.connect(port, host, () => {
        inbound.pipe(outbound);
        outbound.pipe(inbound);
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(listenPort, '127.0.0.1', () => resolve());
    });
    server = s;
  }
  async function cut(): Promise<void> {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await listen();
  return { port: listenPort, cut, restore: listen, close: cut };
}

/** Polls `check` until it answers true; throws `message` after about 20 seconds. */
export async function waitUntil(check: () => Promise<boolean> | boolean, message: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(message);
}
