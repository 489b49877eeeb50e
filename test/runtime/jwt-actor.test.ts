import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { ActraAuthError, ActraOptionsError, ActraResolverError, isActraError } from '../../src/errors.js';
import { bearerToken, jwtActor, type JwtActorOptions, type JwtAlgorithm } from '../../src/runtime/jwt-actor.js';
import { refundPolicy } from './fixtures.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs512-verification-0123456789';
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'refunds-api';
const T0 = Date.UTC(2030, 0, 1) / 1000;

function clock(startSec = T0) {
  let ms = startSec * 1000;
  return {
    now: () => ms,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

interface SignOptions {
  alg: string;
  key: CryptoKey | Uint8Array;
  kid?: string;
  claims?: JWTPayload;
  iss?: string | null;
  aud?: string | null;
  sub?: string | null;
  iat?: number;
  exp?: number | null;
  nbf?: number;
}

async function sign(o: SignOptions): Promise<string> {
  const jwt = new SignJWT({ role: 'support', email: 'alice@example.test', ...o.claims });
  jwt.setProtectedHeader({ alg: o.alg, ...(o.kid === undefined ? {} : { kid: o.kid }) });
  if (o.iss !== null) jwt.setIssuer(o.iss ?? ISSUER);
  if (o.aud !== null) jwt.setAudience(o.aud ?? AUDIENCE);
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'user-alice-42');
  jwt.setIssuedAt(o.iat ?? T0);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? T0 + 600);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(o.key);
}

const secretBytes = new TextEncoder().encode(SECRET);

async function expectAuth(promise: Promise<unknown>, message: string): Promise<ActraAuthError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ActraAuthError);
  expect((error as ActraAuthError).code).toBe('ACTRA_UNAUTHENTICATED');
  expect((error as ActraAuthError).statusCode).toBe(401);
  expect((error as ActraAuthError).message).toBe(message);
  return error as ActraAuthError;
}

function base(extra: Partial<JwtActorOptions>): JwtActorOptions {
  return { algorithms: ['HS256'], secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: clock().now, ...extra } as JwtActorOptions;
}

/** Options with another key source than the shared secret. */
function keyed(extra: Partial<JwtActorOptions>): JwtActorOptions {
  const { secret: _secret, ...rest } = base(extra);
  return rest as JwtActorOptions;
}

describe('jwtActor options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no algorithms', { algorithms: undefined }, 'jwtActor: option "algorithms"'],
    ['an empty algorithm list', { algorithms: [] }, 'must list at least one algorithm'],
    ['alg none', { algorithms: ['none'] }, 'never none'],
    ['a secret with RS256', { algorithms: ['RS256'] }, 'option "secret" only works with HS256/HS384/HS512, not RS256'],
    ['a short secret', { secret: 'short' }, 'option "secret" must be at least 32 bytes'],
    ['no issuer', { issuer: undefined }, 'option "issuer" is required'],
    ['no audience', { audience: undefined }, 'option "audience" is required'],
    ['two key sources', { jwksUrl: 'https://id.example.test/jwks' }, 'give exactly one key source'],
    ['no key source', { secret: undefined }, 'give exactly one key source'],
    ['an unknown option', { algorithm: 'HS256' }, 'Unrecognized key'],
    ['a negative clock tolerance', { clockToleranceSec: -1 }, 'option "clockToleranceSec"'],
    ['a zero cache size', { cache: { max: 0 } }, 'option "cache.max"'],
  ];
  for (const [name, patch, message] of cases) {
    it(`refuses ${name} with ACTRA_OPTIONS`, () => {
      const options = { ...base({}), ...patch };
      let caught: unknown;
      try {
        jwtActor(options as unknown as JwtActorOptions);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ActraOptionsError);
      expect((caught as ActraOptionsError).code).toBe('ACTRA_OPTIONS');
      expect((caught as ActraOptionsError).message).toContain(message);
      expect((caught as ActraOptionsError).message).not.toContain(SECRET);
    });
  }

  it('refuses a public key with HS256 (no key confusion by configuration)', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    expect(() => jwtActor(keyed({ publicKey: pem, algorithms: ['RS256', 'HS256'] }))).toThrow(
      'HS256 need option "secret"',
    );
  });

  it('refuses a key that does not fit the algorithm', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportSPKI(publicKey);
        expect(() => jwtActor(keyed({ publicKey: pem, algorithms: ['RS256'] }))).toThrow('(ec key) does not fit algorithm RS256');
    expect(() => jwtActor(keyed({ publicKey: pem, algorithms: ['ES384'] }))).toThrow('(ec key) does not fit algorithm ES384');
  });

  it('refuses a malformed PEM', () => {
    expect(() => jwtActor(keyed({ publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----', algorithms: ['RS256'] }))).toThrow(
      'option "publicKey" is not a valid PEM public key',
    );
  });

  it('refuses a plain-http JWKS URL off loopback', () => {
    expect(() => jwtActor(keyed({ jwksUrl: 'http://id.example.test/jwks', algorithms: ['RS256'] }))).toThrow(
      'option "jwksUrl" must use https',
    );
  });
});

describe('jwtActor verification per algorithm family', () => {
  const asymmetric: JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    it(`verifies ${alg} with a shared secret`, async () => {
      const resolve = jwtActor(base({ algorithms: [alg] }));
      const actor = await resolve(await sign({ alg, key: secretBytes }));
      expect(actor.id).toBe('user-alice-42');
    });
  }
  for (const alg of asymmetric) {
    it(`verifies ${alg} with a PEM public key and with a JWK`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const token = await sign({ alg, key: privateKey });
      const fromPem = jwtActor(keyed({ algorithms: [alg], publicKey: await exportSPKI(publicKey) }));
      expect((await fromPem(token)).id).toBe('user-alice-42');
      const jwk = (await exportJWK(publicKey)) as JWK & { kty: string };
      const fromJwk = jwtActor(keyed({ algorithms: [alg], publicKey: jwk }));
      expect((await fromJwk(token)).id).toBe('user-alice-42');
    });
  }

  it('refuses a token signed by another key of the same algorithm', async () => {
    const a = await generateKeyPair('ES256', { extractable: true });
    const b = await generateKeyPair('ES256', { extractable: true });
    const resolve = jwtActor(keyed({ algorithms: ['ES256'], publicKey: await exportSPKI(a.publicKey) }));
    await expectAuth(resolve(await sign({ alg: 'ES256', key: b.privateKey })), 'signature verification failed');
  });
});

describe('jwtActor security', () => {
  let rsaPem: string;
  let rsaPrivate: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    rsaPem = await exportSPKI(pair.publicKey);
    rsaPrivate = pair.privateKey;
  });

  it('refuses alg none', async () => {
    const token = new UnsecuredJWT({ sub: 'user-alice-42', iss: ISSUER, aud: AUDIENCE }).setIssuedAt(T0).setExpirationTime(T0 + 600).encode();
    await expectAuth(jwtActor(base({}))(token), 'token algorithm not allowed');
  });

  it('refuses an HS256 token signed with the RS256 public key PEM (key confusion)', async () => {
    const token = await sign({ alg: 'HS256', key: new TextEncoder().encode(rsaPem) });
    const resolve = jwtActor(keyed({ algorithms: ['RS256'], publicKey: rsaPem }));
    await expectAuth(resolve(token), 'token algorithm not allowed');
    // The same verifier accepts the honest RS256 token, so the refusal above is about the algorithm.
    expect((await resolve(await sign({ alg: 'RS256', key: rsaPrivate }))).id).toBe('user-alice-42');
  });

  it('refuses an expired token, and accepts one within the clock tolerance', async () => {
    const c = clock(T0 + 603);
    const token = await sign({ alg: 'HS256', key: secretBytes, exp: T0 + 600 });
    expect((await jwtActor(base({ now: c.now }))(token)).id).toBe('user-alice-42');
    const strict = jwtActor(base({ now: c.now, clockToleranceSec: 0 }));
    const error = await expectAuth(strict(token), 'token expired');
    expect(error.cause).toBeUndefined();
  });

  it('refuses a token that is not yet valid (nbf)', async () => {
    const token = await sign({ alg: 'HS256', key: secretBytes, nbf: T0 + 60 });
    await expectAuth(jwtActor(base({}))(token), 'token not yet valid');
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    const resolve = jwtActor(base({}));
    await expectAuth(resolve(await sign({ alg: 'HS256', key: secretBytes, iss: 'https://evil.example.test/' })), 'unexpected issuer');
    await expectAuth(resolve(await sign({ alg: 'HS256', key: secretBytes, aud: 'other-api' })), 'unexpected audience');
    await expectAuth(resolve(await sign({ alg: 'HS256', key: secretBytes, iss: null })), 'unexpected issuer');
  });

  it('skips issuer and audience only when explicitly turned off', async () => {
    const resolve = jwtActor(base({ issuer: false, audience: false }));
    const token = await sign({ alg: 'HS256', key: secretBytes, iss: 'https://any.example.test/', aud: null });
    expect((await resolve(token)).id).toBe('user-alice-42');
  });

  it('accepts one of several issuers and audiences', async () => {
    const resolve = jwtActor(base({ issuer: ['https://a.example.test/', ISSUER], audience: ['x', AUDIENCE] }));
    expect((await resolve(await sign({ alg: 'HS256', key: secretBytes }))).id).toBe('user-alice-42');
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const resolve = jwtActor(base({}));
    await expectAuth(resolve(`${header}.${forged}.${signature}`), 'signature verification failed');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    await expectAuth(resolve(`${header}.${payload}.${flipped}`), 'signature verification failed');
    await expectAuth(resolve(`${header}.${payload}`), 'malformed token');
  });

  it('refuses a token without sub, and one without exp unless allowed', async () => {
    const resolve = jwtActor(base({}));
    await expectAuth(resolve(await sign({ alg: 'HS256', key: secretBytes, sub: null })), 'token has no subject (sub)');
    const noExp = await sign({ alg: 'HS256', key: secretBytes, exp: null });
    await expectAuth(resolve(noExp), 'token has no valid expiry (exp)');
    expect((await jwtActor(base({ requireExp: false }))(noExp)).id).toBe('user-alice-42');
  });

  it('never puts the token or a claim value in an error message', async () => {
    const resolve = jwtActor(base({ clockToleranceSec: 0 }));
    const tokens = [
      await sign({ alg: 'HS256', key: secretBytes, exp: T0 - 10, claims: { role: 'secret-role-value' } }),
      await sign({ alg: 'HS256', key: secretBytes, iss: 'https://leaky-issuer.example.test/' }),
      await sign({ alg: 'HS256', key: secretBytes, aud: 'leaky-audience' }),
      await sign({ alg: 'HS256', key: new TextEncoder().encode('x'.repeat(40)) }),
    ];
    for (const token of tokens) {
      const error = await resolve(token).catch((e: unknown) => e as Error);
      expect(isActraError(error, 'ACTRA_UNAUTHENTICATED')).toBe(true);
      const text = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).stack)}`;
      for (const secretish of [token, token.split('.')[1] as string, 'secret-role-value', 'leaky-issuer', 'leaky-audience', 'alice@example.test', 'user-alice-42']) {
        expect(text).not.toContain(secretish);
      }
    }
  });
});

describe('jwtActor claims mapping and anonymous actors', () => {
  const policy = { schema: { actor: new Map([['role', { kind: 'string', optional: false }], ['tier', { kind: 'enum', optional: true, values: ['gold'] }]]) } };

  it('maps sub to id, actor_type to type, and only the claims named by the schema actor fields', async () => {
    const resolve = jwtActor(base({ policy } as unknown as Partial<JwtActorOptions>));
    const actor = await resolve(await sign({ alg: 'HS256', key: secretBytes, claims: { tier: 'gold', actor_type: 'agent', id: 'spoofed' } }));
    expect(actor).toEqual({ id: 'user-alice-42', type: 'agent', role: 'support', tier: 'gold' });
    expect(Object.isFrozen(actor)).toBe(true);
  });

  it('takes the actor fields from a compiled policy', async () => {
    const resolve = jwtActor(base({ policy: refundPolicy() }));
    const actor = await resolve(await sign({ alg: 'HS256', key: secretBytes, claims: { name: 'Alice A.' } }));
    expect(actor).toEqual({ id: 'user-alice-42', role: 'support', email: 'alice@example.test' });
  });

  it('maps with only sub when no schema is given', async () => {
    const actor = await jwtActor(base({}))(await sign({ alg: 'HS256', key: secretBytes }));
    expect(actor).toEqual({ id: 'user-alice-42' });
  });

  it('uses a custom claims mapping', async () => {
    const resolve = jwtActor(base({ claims: (claims) => ({ id: `t1:${String(claims.sub)}`, role: claims['role'], scopes: ['refunds'] }) }));
    const actor = await resolve(await sign({ alg: 'HS256', key: secretBytes }));
    expect(actor).toEqual({ id: 't1:user-alice-42', role: 'support', scopes: ['refunds'] });
  });

  it('turns a throwing claims mapping into a 401 without the mapping error text', async () => {
    const resolve = jwtActor(base({ claims: () => { throw new Error('claim role=support missing tenant'); } }));
    await expectAuth(resolve(await sign({ alg: 'HS256', key: secretBytes })), 'claims mapping rejected the token');
  });

  it('uses the anonymous actor only when there is no Authorization header', async () => {
    const resolve = jwtActor(base({ anonymous: { id: 'anonymous', type: 'anonymous' } }));
    expect(await resolve.fromAuthorization(undefined)).toEqual({ id: 'anonymous', type: 'anonymous' });
    await expectAuth(resolve.fromAuthorization('Bearer not.a.jwt'), 'malformed token');
    await expectAuth(resolve.fromAuthorization(''), 'malformed bearer token');
    await expectAuth(resolve.fromAuthorization('Basic dXNlcjpwYXNz'), 'unsupported authorization scheme (expected Bearer)');
  });

  it('refuses a missing token when no anonymous actor is configured', async () => {
    await expectAuth(jwtActor(base({})).fromAuthorization(undefined), 'missing bearer token');
  });

  it('reads the bearer token from a request header, scheme case-insensitive', async () => {
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const resolve = jwtActor(base({}));
    const request = { header: (name: string) => (name.toLowerCase() === 'authorization' ? `bEaReR ${token}` : undefined) };
    expect((await resolve.fromRequest(request)).id).toBe('user-alice-42');
  });
});

describe('bearerToken', () => {
  it('extracts the token, scheme case-insensitive', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('BEARER  abc.def.ghi ')).toBe('abc.def.ghi');
    expect(bearerToken(undefined)).toBeUndefined();
  });
  it('refuses other schemes and malformed values with ACTRA_UNAUTHENTICATED', () => {
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow('unsupported authorization scheme (expected Bearer)');
    expect(() => bearerToken('Token abc')).toThrow('unsupported authorization scheme (expected Bearer)');
    expect(() => bearerToken('Bearer')).toThrow('malformed bearer token');
    expect(() => bearerToken('Bearer a b')).toThrow('malformed bearer token');
    expect(() => bearerToken('Bearer a"b')).toThrow('malformed bearer token');
  });
});

describe('jwtActor verified-token cache', () => {
  it('serves a second use of a token from the cache', async () => {
    const resolve = jwtActor(base({}));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const first = await resolve(token);
    const second = await resolve(token);
    expect(second).toBe(first);
    expect(resolve.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('verifies concurrent first uses of one token once', async () => {
    const resolve = jwtActor(base({}));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const actors = await Promise.all(Array.from({ length: 20 }, () => resolve(token)));
    expect(new Set(actors).size).toBe(1);
    expect(resolve.stats().size).toBe(1);
  });

  it('does not use an entry after the token expires', async () => {
    const c = clock();
    const resolve = jwtActor(base({ now: c.now, clockToleranceSec: 0 }));
    const token = await sign({ alg: 'HS256', key: secretBytes, exp: T0 + 60 });
    await resolve(token);
    c.advance(59);
    await resolve(token);
    expect(resolve.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
    c.advance(1);
    await expectAuth(resolve(token), 'token expired');
    expect(resolve.stats()).toEqual({ hits: 1, misses: 2, size: 0 });
  });

  it('keeps an entry no longer than maxAgeSec', async () => {
    const c = clock();
    const resolve = jwtActor(base({ now: c.now, cache: { maxAgeSec: 30 } }));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    await resolve(token);
    c.advance(31);
    await resolve(token);
    expect(resolve.stats()).toEqual({ hits: 0, misses: 2, size: 1 });
  });

  it('is bounded, evicting the least recently used entry', async () => {
    const resolve = jwtActor(base({ cache: { max: 2 } }));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ alg: 'HS256', key: secretBytes, sub })));
    await resolve(a as string);
    await resolve(b as string);
    await resolve(a as string); // a is now the most recent
    await resolve(c as string); // evicts b
    expect(resolve.stats()).toEqual({ hits: 1, misses: 3, size: 2 });
    await resolve(a as string);
    expect(resolve.stats().hits).toBe(2);
    await resolve(b as string);
    expect(resolve.stats()).toEqual({ hits: 2, misses: 4, size: 2 });
  });

  it('serves a hit only for the whole cached token, not another one ending in its signature', async () => {
    const resolve = jwtActor(base({}));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    expect((await resolve(token)).id).toBe('user-alice-42');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory', role: 'admin' })).toString('base64url')}.${signature}`;
    await expectAuth(resolve(forged), 'signature verification failed');
    await expectAuth(Promise.resolve().then(() => resolve.resolveRequest({ header: () => `Bearer ${forged}` })), 'signature verification failed');
    // The genuine token is still cached, and the forged one took nothing from it.
    expect(resolve.resolveRequest({ header: () => `Bearer ${token}` })).toMatchObject({ id: 'user-alice-42' });
    expect(resolve.stats()).toEqual({ hits: 1, misses: 3, size: 1 });
  });

  it('keeps the verified tokens of different actors apart', async () => {
    const resolve = jwtActor(base({}));
    const [alice, bob] = await Promise.all(['alice', 'bob'].map((sub) => sign({ alg: 'HS256', key: secretBytes, sub })));
    expect((await resolve(alice as string)).id).toBe('alice');
    expect((await resolve(bob as string)).id).toBe('bob');
    expect((await resolve(alice as string)).id).toBe('alice');
    expect((await resolve(bob as string)).id).toBe('bob');
    expect(resolve.stats()).toEqual({ hits: 2, misses: 2, size: 2 });
  });

  it('never caches failures', async () => {
    const resolve = jwtActor(base({}));
    const bad = await sign({ alg: 'HS256', key: secretBytes, aud: 'other' });
    await expectAuth(resolve(bad), 'unexpected audience');
    await expectAuth(resolve(bad), 'unexpected audience');
    expect(resolve.stats()).toEqual({ hits: 0, misses: 2, size: 0 });
  });

  it('verifies every time when the cache is off', async () => {
    const resolve = jwtActor(base({ cache: false }));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    await resolve(token);
    await resolve(token);
    expect(resolve.stats()).toEqual({ hits: 0, misses: 0, size: 0 });
  });
});

describe('jwtActor with a JWKS URL', () => {
  let server: Server;
  let url: string;
  let fetches = 0;
  let keys: JWK[] = [];
  let rsa1: CryptoKey;
  let rsa2: CryptoKey;
  let rsaPem: string;

  beforeAll(async () => {
    const k1 = await generateKeyPair('RS256', { extractable: true });
    const k2 = await generateKeyPair('RS256', { extractable: true });
    rsa1 = k1.privateKey;
    rsa2 = k2.privateKey;
    rsaPem = await exportSPKI(k1.publicKey);
    const jwk1 = { ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwk2 = { ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' };
    keys = [jwk1];
    server = createServer((req, res) => {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    (server as Server & { rotate?: () => void }).rotate = () => {
      keys = [jwk1, jwk2];
    };
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function jwks(extra: Partial<JwtActorOptions> = {}) {
    return jwtActor({ algorithms: ['RS256'], jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, now: clock().now, cache: false, ...extra } as JwtActorOptions);
  }

  it('verifies with a key from the JWKS and fetches it once', async () => {
    fetches = 0;
    const resolve = jwks();
    expect((await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1' }))).id).toBe('user-alice-42');
    expect((await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1', sub: 'bob' }))).id).toBe('bob');
    expect(fetches).toBe(1);
  });

  it('refetches once on an unknown kid after the cooldown, then answers 401', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(T0 * 1000));
    fetches = 0;
    const resolve = jwks();
    await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1' }));
    expect(fetches).toBe(1);
    const unknown = await sign({ alg: 'RS256', key: rsa2, kid: 'k-unknown' });
    // Within the cooldown, an unknown kid causes no fetch at all.
    await expectAuth(resolve(unknown), 'no matching key for the token (kid)');
    expect(fetches).toBe(1);
    vi.setSystemTime(new Date(T0 * 1000 + 31_000));
    await expectAuth(resolve(unknown), 'no matching key for the token (kid)');
    expect(fetches).toBe(2);
    await expectAuth(resolve(unknown), 'no matching key for the token (kid)');
    expect(fetches).toBe(2);
  });

  it('does not storm the JWKS endpoint under 50 concurrent unknown-kid requests', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(T0 * 1000));
    fetches = 0;
    const resolve = jwks();
    await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1' }));
    vi.setSystemTime(new Date(T0 * 1000 + 31_000));
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => sign({ alg: 'RS256', key: rsa2, kid: `unknown-${i}` })));
    const results = await Promise.allSettled(tokens.map((t) => resolve(t)));
    expect(results.every((r) => r.status === 'rejected' && isActraError(r.reason, 'ACTRA_UNAUTHENTICATED'))).toBe(true);
    expect(fetches).toBe(2);
  });

  it('picks up a rotated key on refetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(T0 * 1000));
    fetches = 0;
    const resolve = jwks();
    await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1' }));
    (server as Server & { rotate: () => void }).rotate();
    vi.setSystemTime(new Date(T0 * 1000 + 31_000));
    expect((await resolve(await sign({ alg: 'RS256', key: rsa2, kid: 'k2' }))).id).toBe('user-alice-42');
    expect(fetches).toBe(2);
  });

  it('refuses an HS256 token signed with the RSA public key PEM', async () => {
    const resolve = jwks();
    await expectAuth(resolve(await sign({ alg: 'HS256', key: new TextEncoder().encode(rsaPem), kid: 'k1' })), 'token algorithm not allowed');
  });

  it('answers 503 (ACTRA_RESOLVER_FAILED) when the JWKS cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const resolve = jwks({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    const error = await resolve(await sign({ alg: 'RS256', key: rsa1, kid: 'k1' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActraResolverError);
    expect((error as ActraResolverError).code).toBe('ACTRA_RESOLVER_FAILED');
    expect((error as ActraResolverError).statusCode).toBe(503);
    expect((error as ActraResolverError).message).toBe('JWKS could not be fetched');
    expect((error as ActraResolverError).source).toBe('jwks');
  });
});

describe('jwtActor resolveRequest (the middleware path)', () => {
  const withHeader = (value: string | undefined) => ({ header: (name: string) => (name === 'authorization' ? value : undefined) });

  it('returns a cached actor itself, not a promise', async () => {
    const resolve = jwtActor(base({}));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const first = resolve.resolveRequest(withHeader(`Bearer ${token}`));
    expect(first).toBeInstanceOf(Promise);
    const actor = await first;
    const second = resolve.resolveRequest(withHeader(`Bearer ${token}`));
    expect(second).toBe(actor);
    expect(resolve.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('takes the full path for a cached token under another header spelling', async () => {
    const resolve = jwtActor(base({}));
    const token = await sign({ alg: 'HS256', key: secretBytes });
    const actor = await resolve(token);
    expect(resolve.resolveRequest(withHeader(`bearer   ${token} `))).toBe(actor);
    expect(resolve.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('throws ActraAuthError synchronously for another scheme or a missing token', () => {
    const resolve = jwtActor(base({}));
    expect(() => resolve.resolveRequest(withHeader('Basic dXNlcjpwYXNz'))).toThrow(
      expect.objectContaining({ code: 'ACTRA_UNAUTHENTICATED', message: 'unsupported authorization scheme (expected Bearer)' }),
    );
    expect(() => resolve.resolveRequest(withHeader(undefined))).toThrow(expect.objectContaining({ code: 'ACTRA_UNAUTHENTICATED', message: 'missing bearer token' }));
  });

  it('does not serve an expired cached token', async () => {
    const c = clock();
    const resolve = jwtActor(base({ now: c.now, clockToleranceSec: 0 }));
    const token = await sign({ alg: 'HS256', key: secretBytes, exp: T0 + 60 });
    await resolve(token);
    c.advance(60);
    await expectAuth(Promise.resolve().then(() => resolve.resolveRequest(withHeader(`Bearer ${token}`))), 'token expired');
    expect(resolve.stats()).toEqual({ hits: 0, misses: 2, size: 0 });
  });
});
