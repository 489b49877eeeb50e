/** The JWT actor resolver: verifies bearer tokens with jose (secret, public key or JWKS) and maps claims to an actor. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { z } from 'zod';
import { ActraAuthError, ActraError, ActraOptionsError, ActraResolverError } from '../errors.js';
import type { Policy } from '../core/types.js';
import type { Actor } from './types.js';
import { fn, parseOptions } from '../options.js';

const HMAC = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** A JWS algorithm a verifier may accept. `none` is not one of them. */
export type JwtAlgorithm = (typeof HMAC)[number] | (typeof ASYMMETRIC)[number];

/** A public JSON Web Key (RFC 7517), as an object. */
export type PublicJwk = Readonly<Record<string, unknown>> & { readonly kty: string };

/** Options of {@link jwtActor}. Validated when the resolver is created. */
export interface JwtActorOptions {
  /** The algorithms accepted; required, never `none`. */
  readonly algorithms: readonly JwtAlgorithm[];
  /** Shared secret for HS* (at least 32 bytes). Exactly one of `secret`, `publicKey`, `jwksUrl`. */
  readonly secret?: string | Uint8Array;
  /** A public key for RS*, PS*, ES* or EdDSA: a PEM (SPKI or certificate) string or a JWK object. */
  readonly publicKey?: string | PublicJwk;
  /** A JWKS URL (https, or http on a loopback host); keys are cached and refetched on an unknown `kid`. */
  readonly jwksUrl?: string | URL;
  /** Minimum time between two JWKS fetches caused by unknown `kid`s, ms (30 000). */
  readonly jwksCooldownMs?: number;
  /** Maximum age of cached JWKS keys, ms (600 000). */
  readonly jwksCacheMaxAgeMs?: number;
  /** JWKS HTTP request timeout, ms (5 000). */
  readonly jwksTimeoutMs?: number;
  /** Expected `iss` (one or several). Required; `false` turns the check off explicitly. */
  readonly issuer: string | readonly string[] | false;
  /** Expected `aud` (one or several). Required; `false` turns the check off explicitly. */
  readonly audience: string | readonly string[] | false;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, seconds (5). */
  readonly clockToleranceSec?: number;
  /** Refuse tokens without `exp` (default true). */
  readonly requireExp?: boolean;
  /**
   * Maps verified claims to actor fields. The result's `id` defaults to `sub`. Default mapping:
   * `id` = `sub`, `type` = `actor_type` (when a string), plus the claims named by the schema's actor fields.
   */
  readonly claims?: (claims: Readonly<JWTPayload>) => Readonly<Record<string, unknown>>;
  /** The compiled policy (or its schema): the default mapping copies the claims named by its actor fields. */
  readonly policy?: Pick<Policy, 'schema'>;
  /** Claim names copied by the default mapping, instead of (or in addition to) the policy's actor fields. */
  readonly actorFields?: readonly string[];
  /** The actor used when there is no `Authorization` header at all. An invalid token is never anonymous. */
  readonly anonymous?: Actor;
  /** Verified-token cache, or `false` to verify every time. */
  readonly cache?: false | { readonly max?: number; readonly maxAgeSec?: number };
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  readonly now?: () => number;
}

/** Cache counters of a {@link JwtActorResolver}. */
export interface JwtCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

/** Resolves an actor from a bearer token (or `undefined` when there is none). */
export interface JwtActorResolver {
  (token: string | undefined): Promise<Actor>;
  /** Reads `Authorization: Bearer <token>` (scheme case-insensitive); other schemes are refused. */
  fromAuthorization(header: string | undefined): Promise<Actor>;
  /** Same, from anything with a case-insensitive `header(name)` (a `NeutralRequest`). */
  fromRequest(request: { header(name: string): string | undefined }): Promise<Actor>;
  /**
   * Same as `fromRequest`, but returns the actor itself (no promise) when the token is in the
   * verified-token cache or the request is anonymous; it may throw `ActraAuthError` synchronously.
   */
  resolveRequest(request: { header(name: string): string | undefined }): Actor | Promise<Actor>;
  /** Verified-token cache counters. */
  stats(): JwtCacheStats;
  /** Empties the verified-token cache. */
  clear(): void;
}

const MAX_TOKEN_LENGTH = 16 * 1024;
const MIN_SECRET_BYTES = 32;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

const stringList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const optionsSchema = z
  .object({
    algorithms: z.array(z.enum([...HMAC, ...ASYMMETRIC], { message: 'must list algorithms from HS*, RS*, PS*, ES*, EdDSA (never none)' })).min(1, 'must list at least one algorithm'),
    secret: z.union([z.string().min(1), z.instanceof(Uint8Array)]).optional(),
    publicKey: z.union([z.string().min(1), z.looseObject({ kty: z.string() })]).optional(),
    jwksUrl: z.union([z.string().min(1), z.instanceof(URL)]).optional(),
    jwksCooldownMs: z.number().int().nonnegative().default(30_000),
    jwksCacheMaxAgeMs: z.number().int().positive().default(600_000),
    jwksTimeoutMs: z.number().int().positive().default(5_000),
    issuer: z.union([stringList, z.literal(false)], { message: 'is required: the expected issuer(s), or false to skip the check' }),
    audience: z.union([stringList, z.literal(false)], { message: 'is required: the expected audience(s), or false to skip the check' }),
    clockToleranceSec: z.number().nonnegative().default(5),
    requireExp: z.boolean().default(true),
    claims: fn<(claims: Readonly<JWTPayload>) => Readonly<Record<string, unknown>>>().optional(),
    policy: z.looseObject({ schema: z.looseObject({ actor: z.instanceof(Map) }) }).optional(),
    actorFields: z.array(z.string().min(1)).optional(),
    anonymous: z.looseObject({ id: z.string().min(1) }).optional(),
    cache: z
      .union([
        z.literal(false),
        z.object({ max: z.number().int().positive().default(10_000), maxAgeSec: z.number().positive().default(300) }).strict(),
      ])
      .default({ max: 10_000, maxAgeSec: 300 }),
    now: fn<() => number>().optional(),
  })
  .strict();

interface CacheEntry {
  /** `Bearer <token>` for the whole verified token: a hit must present exactly this token. */
  readonly header: string;
  readonly actor: Actor;
  readonly expiresAt: number;
  /** The value of the insertion counter when the entry was (re)inserted. */
  stamp: number;
}

/** The JWKS could not be fetched: a server-side failure (503), not the caller's fault. */
class JwksUnavailable extends Error {}

/**
 * Creates a JWT actor resolver on jose. Verified tokens are cached (bounded LRU keyed by a hash of
 * the end of the token's signature, a hit comparing the whole token; each entry kept no longer than the token's
 * `exp`); failures are never cached.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) at creation, naming the option: no algorithms, `none`,
 *   not exactly one key source, a secret with asymmetric algorithms (or a key with HS*), a short
 *   secret, a key that does not fit the algorithms, a plain-http JWKS URL off loopback, or a
 *   missing `issuer` / `audience`.
 * @returns a resolver that throws ActraAuthError (`ACTRA_UNAUTHENTICATED`, 401) for a missing or
 *   invalid token, and ActraResolverError (`ACTRA_RESOLVER_FAILED`, 503) when the JWKS cannot be fetched.
 * @example
 * ```ts
 * const jwt = jwtActor({ algorithms: ['ES256'], jwksUrl: 'https://id.example.com/.well-known/jwks.json',
 *   issuer: 'https://id.example.com/', audience: 'refunds-api', policy });
 * const actor = await jwt.fromAuthorization(req.headers.authorization);
 * ```
 */
export function jwtActor(options: JwtActorOptions): JwtActorResolver {
  const parsed = parseOptions(optionsSchema, options, 'jwtActor');
  const algorithms = [...new Set(parsed.algorithms)];
  const key = verificationKey(parsed, algorithms);
  const now = parsed.now ?? currentTime;
  const mapClaims = parsed.claims ?? defaultClaims(claimNames(parsed.policy as unknown as Pick<Policy, 'schema'> | undefined, parsed.actorFields));
  const anonymous = parsed.anonymous === undefined ? undefined : (Object.freeze({ ...parsed.anonymous }) as Actor);
  const cacheOptions = parsed.cache;
  const cache = new Map<number, CacheEntry>();
  const inflight = new Map<string, Promise<Actor>>();
  let hits = 0;
  let misses = 0;
  let inserted = 0;
  const refreshAfter = cacheOptions === false ? 0 : Math.max(1, Math.floor(cacheOptions.max / 2));

  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: parsed.clockToleranceSec,
    ...(parsed.issuer === false ? {} : { issuer: parsed.issuer }),
    ...(parsed.audience === false ? {} : { audience: parsed.audience }),
    ...(parsed.requireExp ? { requiredClaims: ['exp'] } : {}),
  };

  async function verify(token: string): Promise<{ actor: Actor; exp: number | undefined }> {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, key as JWTVerifyGetKey, { ...verifyOptions, currentDate: new Date(now()) });
      payload = verified.payload;
    } catch (error) {
      throw translateVerifyError(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new ActraAuthError('token has no subject (sub)');
    let mapped: Readonly<Record<string, unknown>>;
    try {
      mapped = mapClaims(payload);
    } catch {
      throw new ActraAuthError('claims mapping rejected the token');
    }
    if (typeof mapped !== 'object' || mapped === null) throw new ActraAuthError('claims mapping returned no actor');
    const id = Object.hasOwn(mapped, 'id') ? mapped['id'] : payload.sub;
    if (typeof id !== 'string' || id.length === 0) throw new ActraAuthError('token maps to no actor id');
    const actor = Object.freeze({ ...mapped, id }) as Actor;
    return { actor, exp: typeof payload.exp === 'number' ? payload.exp : undefined };
  }

  function remember(token: string, actor: Actor, exp: number | undefined): void {
    if (cacheOptions === false) return;
    const at = now();
    const until = Math.min(exp === undefined ? Infinity : exp * 1000, at + cacheOptions.maxAgeSec * 1000);
    // Only keys a well-formed `Bearer` header can carry, so a cache hit never needs the header parsed.
    if (!(until > at) || !TOKEN.test(token)) return;
    const key = cacheKey(token);
    cache.delete(key);
    inserted += 1;
    cache.set(key, { header: flat(`Bearer ${token}`), actor, expiresAt: until, stamp: inserted });
    while (cache.size > cacheOptions.max) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  }

  /**
   * The cached actor of a verified token, or `undefined`. Only verified tokens are stored, so the
   * cache holds at most `max` genuine tokens, and no digest is computed per request. The map is keyed
   * by {@link cacheKey}, and a hit must present the whole stored token: two tokens that share a key
   * only take each other's place.
   */
  function cached(token: string): Actor | undefined {
    if (cacheOptions === false) return undefined;
    const key = cacheKey(token);
    const entry = cache.get(key);
    return entry !== undefined && entry.header.length === token.length + 7 && entry.header.slice(7) === token ? fresh(key, entry) : undefined;
  }

  /**
   * `cached` for a whole `Authorization` header: a hit is a header equal to `Bearer <token>` for a
   * cached token, compared whole (two flat strings), with nothing cut out of it.
   */
  function cachedHeader(header: string): Actor | undefined {
    if (cacheOptions === false) return undefined;
    const key = cacheKey(header);
    const entry = cache.get(key);
    return entry !== undefined && entry.header === header ? fresh(key, entry) : undefined;
  }

  /** The actor of a matching entry, unless it expired (then it is dropped). */
  function fresh(key: number, entry: CacheEntry): Actor | undefined {
    if (!(entry.expiresAt > now())) {
      cache.delete(key);
      return undefined;
    }
    hits += 1;
    // Least recently used order, refreshed only for entries out of the newest half: a hot
    // token costs no map writes, and no entry in use falls off the end.
    if (inserted - entry.stamp >= refreshAfter) {
      cache.delete(key);
      inserted += 1;
      entry.stamp = inserted;
      cache.set(key, entry);
    }
    return entry.actor;
  }

  /** Anonymous or cached actors are returned as they are (no promise); a miss verifies. */
  function resolveNow(token: string | undefined): Actor | Promise<Actor> {
    if (token === undefined) {
      if (anonymous !== undefined) return anonymous;
      throw new ActraAuthError('missing bearer token');
    }
    if (typeof token !== 'string' || token.length === 0) throw new ActraAuthError('malformed token');
    if (token.length > MAX_TOKEN_LENGTH) throw new ActraAuthError('token too large');
    if (cacheOptions === false) return verified(token);
    const actor = cached(token);
    if (actor !== undefined) return actor;
    misses += 1;
    const running = inflight.get(token);
    if (running !== undefined) return running;
    const verifying = verified(token).finally(function verifyDone() {
      inflight.delete(token);
    });
    inflight.set(token, verifying);
    return verifying;
  }

  function verified(token: string): Promise<Actor> {
    return verify(token).then(function cacheVerified({ actor, exp }) {
      remember(token, actor, exp);
      return actor;
    });
  }

  const resolver = function resolveJwtActor(token: string | undefined): Promise<Actor> {
    try {
      return Promise.resolve(resolveNow(token));
    } catch (error) {
      return Promise.reject(error);
    }
  } as JwtActorResolver;

  resolver.fromAuthorization = function fromAuthorization(header: string | undefined): Promise<Actor> {
    try {
      return Promise.resolve(resolveNow(bearerToken(header)));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  resolver.fromRequest = function fromRequest(request: { header(name: string): string | undefined }): Promise<Actor> {
    return resolver.fromAuthorization(request.header('authorization'));
  };
  resolver.resolveRequest = function resolveRequest(request: { header(name: string): string | undefined }): Actor | Promise<Actor> {
    const header = request.header('authorization');
    // A cached token is a verified compact JWS, so `Bearer <token>` is a well-formed header: a hit
    // needs no parsing. Anything else takes the full path.
    if (header !== undefined) {
      const actor = cachedHeader(header);
      if (actor !== undefined) return actor;
    }
    return resolveNow(bearerToken(header));
  };
  resolver.stats = function stats(): JwtCacheStats {
    return { hits, misses, size: cache.size };
  };
  resolver.clear = function clear(): void {
    cache.clear();
  };
  return resolver;
}

/**
 * Extracts the token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
 * @returns `undefined` when there is no header at all.
 * @throws ActraAuthError (`ACTRA_UNAUTHENTICATED`) for another scheme or a malformed value.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = BEARER.exec(header);
  if (match === null) {
    const scheme = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(\s|$)/.exec(header)?.[1];
    if (scheme !== undefined && scheme.toLowerCase() !== 'bearer') throw new ActraAuthError('unsupported authorization scheme (expected Bearer)');
    throw new ActraAuthError('malformed bearer token');
  }
  return match[1];
}

type ParsedOptions = z.output<typeof optionsSchema>;

function verificationKey(options: ParsedOptions, algorithms: readonly JwtAlgorithm[]): Uint8Array | KeyObject | JWTVerifyGetKey {
  const sources = [options.secret, options.publicKey, options.jwksUrl].filter(function given(value) {
    return value !== undefined;
  });
  if (sources.length !== 1) {
    throw new ActraOptionsError('jwtActor: give exactly one key source: option "secret", "publicKey" or "jwksUrl"');
  }
  const hmac = algorithms.filter(isHmac);
  const asymmetric = algorithms.filter(function notHmac(alg) {
    return !isHmac(alg);
  });

  if (options.secret !== undefined) {
    if (asymmetric.length > 0) {
      throw new ActraOptionsError(`jwtActor: option "secret" only works with HS256/HS384/HS512, not ${asymmetric.join(', ')}`);
    }
    const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (secret.byteLength < MIN_SECRET_BYTES) {
      throw new ActraOptionsError(`jwtActor: option "secret" must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`);
    }
    return secret;
  }

  if (hmac.length > 0) {
    throw new ActraOptionsError(`jwtActor: ${hmac.join(', ')} need option "secret"; "publicKey" and "jwksUrl" serve asymmetric algorithms only`);
  }

  if (options.publicKey !== undefined) {
    let keyObject: KeyObject;
    try {
      keyObject = typeof options.publicKey === 'string'
        ? createPublicKey(options.publicKey)
        : createPublicKey({ key: options.publicKey as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw new ActraOptionsError('jwtActor: option "publicKey" is not a valid PEM public key, certificate or public JWK');
    }
    for (const alg of algorithms) {
      if (!keyFits(keyObject, alg)) {
        throw new ActraOptionsError(`jwtActor: option "publicKey" (${keyObject.asymmetricKeyType ?? 'unknown'} key) does not fit algorithm ${alg}`);
      }
    }
    return keyObject;
  }

  let url: URL;
  try {
    url = new URL(String(options.jwksUrl));
  } catch {
    throw new ActraOptionsError('jwtActor: option "jwksUrl" is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new ActraOptionsError('jwtActor: option "jwksUrl" must use https (plain http only on a loopback host)');
  }
  const jwks = createRemoteJWKSet(url, {
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs,
    timeoutDuration: options.jwksTimeoutMs,
  });
  return async function jwksKey(header, token) {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JOSEError && VERIFY_KEY_CODES.has(error.code)) throw error;
      throw new JwksUnavailable('JWKS unavailable', { cause: error });
    }
  };
}

/** jose codes raised by the key lookup that are the token's fault (401), not the JWKS endpoint's. */
const VERIFY_KEY_CODES = new Set<string>(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JWS_INVALID', 'ERR_JOSE_ALG_NOT_ALLOWED']);

const CLAIM_MESSAGES: Readonly<Record<string, string>> = {
  iss: 'unexpected issuer',
  aud: 'unexpected audience',
  nbf: 'token not yet valid',
  iat: 'token issued in the future',
  exp: 'token has no valid expiry (exp)',
  sub: 'unexpected subject',
  typ: 'unexpected token type',
};

/** Maps a jose failure to a message that never contains the token or a claim value. */
function translateVerifyError(error: unknown): ActraError {
  if (error instanceof ActraError) return error;
  if (error instanceof JwksUnavailable) {
    return new ActraResolverError('ACTRA_RESOLVER_FAILED', 'jwks', 'JWKS could not be fetched');
  }
  if (!(error instanceof joseErrors.JOSEError)) return new ActraAuthError('token verification failed');
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return new ActraAuthError('token expired');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new ActraAuthError('signature verification failed');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new ActraAuthError('token algorithm not allowed');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new ActraAuthError('no matching key for the token (kid)');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new ActraAuthError('several keys match the token; a kid is needed');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as InstanceType<typeof joseErrors.JWTClaimValidationFailed>).claim;
      return new ActraAuthError(CLAIM_MESSAGES[claim] ?? `claim "${safeName(claim)}" check failed`);
    }
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new ActraAuthError('token algorithm or key not supported');
    default:
      return new ActraAuthError('malformed token');
  }
}

function defaultClaims(names: readonly string[]): (claims: Readonly<JWTPayload>) => Readonly<Record<string, unknown>> {
  return function mapDefaultClaims(claims) {
    const actor: Record<string, unknown> = {};
    for (const name of names) {
      if (name === 'id' || name === '__proto__') continue;
      if (Object.hasOwn(claims, name)) actor[name] = claims[name];
    }
    if (!Object.hasOwn(actor, 'type') && typeof claims['actor_type'] === 'string') actor['type'] = claims['actor_type'];
    actor['id'] = claims.sub;
    return actor;
  };
}

function claimNames(policy: Pick<Policy, 'schema'> | undefined, extra: readonly string[] | undefined): readonly string[] {
  const names = new Set<string>(policy === undefined ? [] : [...policy.schema.actor.keys()]);
  for (const name of extra ?? []) names.add(name);
  return [...names];
}

function isHmac(alg: JwtAlgorithm): boolean {
  return alg.startsWith('HS');
}

const CURVES: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

function keyFits(key: KeyObject, alg: JwtAlgorithm): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg.startsWith('ES')) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVES[alg];
  return type === 'ed25519' || type === 'ed448';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Claim names come from jose's fixed set, but never echo anything that looks like data. */
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,32}$/.test(name) ? name : 'unknown';
}

/** Characters of a token's end that key the cache: 16 base64url characters of its signature. */
const CACHE_KEY_LENGTH = 16;

/**
 * The cache key of a token, or of a header ending in one: a 32-bit hash of its last characters
 * (signature bytes). Hashing a fresh string whole, or cutting its end out to hash, cost more than
 * the rest of a hit. Tokens that share a key only take each other's place: a hit compares the
 * whole token.
 */
function cacheKey(text: string): number {
  let hash = 0;
  for (let index = Math.max(0, text.length - CACHE_KEY_LENGTH); index < text.length; index++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(index)) | 0;
  }
  return hash;
}

/** `text` as one flat string (a concatenation is a tree until first flattened): compares with a received header stay cheap. */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** Reads the clock at call time (so a replaced global `Date` is honoured). */
function currentTime(): number {
  return Date.now();
}
