/** Development-only JWT signing for the examples: a random HS256 key made at start, and tokens for named actors. */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtActorOptions } from '../../src/runtime/jwt-actor.js';

/** A development signing key and what the middleware needs to verify its tokens. */
export interface DevAuth {
  /** Options for the middleware's `jwt` (HS256, issuer and audience checked). */
  readonly jwt: JwtActorOptions;
  /** Signs a token for `sub` with the given claims (valid for `ttlSeconds`, default 12 hours). */
  sign(sub: string, claims?: Readonly<Record<string, unknown>>, ttlSeconds?: number): Promise<string>;
}

/**
 * Creates a random 256-bit HS256 key. It lives in memory only: it is never printed or written,
 * so the tokens signed with it stop working when the process ends.
 */
export function devAuth(options: { issuer?: string; audience?: string } = {}): DevAuth {
  const secret = new Uint8Array(randomBytes(32));
  const issuer = options.issuer ?? 'actra-dev';
  const audience = options.audience ?? 'actra-examples';
  return {
    jwt: { algorithms: ['HS256'], secret, issuer, audience },
    sign: async function signDevToken(sub, claims = {}, ttlSeconds = 12 * 3600) {
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(secret);
    },
  };
}
