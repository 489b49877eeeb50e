/** Shared fixtures of the adapter tests: the refund policy, keys, tokens, a controllable loader. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { Webhook } from 'standardwebhooks';
import { Actra } from '../../src/core/actra.js';
import type { Policy } from '../../src/core/types.js';
import { Approvals } from '../../src/approvals/approvals.js';
import { MemoryApprovalStore } from '../../src/approvals/stores/memory-store.js';
import { SqliteApprovalStore } from '../../src/approvals/stores/sqlite-store.js';
import type { SnapshotLoader } from '../../src/runtime/types.js';
import type { NeutralRequest } from '../../src/http/types.js';

export const SCHEMA = `
version: 1
actions:
  refund:
    fields: { amount: number, currency: string?, id: string? }
  read_refund:
    fields: { id: string }
  export:
    fields: { rows: number }
  transfer:
    fields: { amount: number?, note: string? }
actor:
  fields: { role: string }
snapshot:
  fields: { fraud_flag: boolean, account_tier: string }
`;

export const POLICY = `
version: 1
rules:
  - id: block_fraud
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
    reason: refund.fraud
    message: Refunds are blocked while the account is under fraud review.
  - id: approve_large
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: require_approval
    reason: refund.large
    message: Refunds over 1000 need a manager's approval.
    approval:
      ttl: 1h
      approvers: { subject: { domain: actor, field: role }, operator: equals, value: { literal: manager } }
  - id: interns_read_nothing
    scope: { action: read_refund }
    when: { subject: { domain: actor, field: role }, operator: equals, value: { literal: intern } }
    effect: block
    reason: read.intern
    message: Interns may not read refunds.
  - id: tier_reads_ok
    scope: { action: read_refund }
    when: { subject: { domain: snapshot, field: account_tier }, operator: equals, value: { literal: SNAP-TIER-Q93 } }
    effect: allow
  - id: block_big_export
    scope: { action: export }
    when: { subject: { domain: action, field: rows }, operator: greater_than, value: { literal: 1000 } }
    effect: block
    reason: export.large
    message: Exports are limited to 1000 rows.
  - id: block_large_transfer
    scope: { action: transfer }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: block
    reason: transfer.large
    message: Transfers over 1000 are blocked.
`;

/** Values that must never appear in a response: a claim value, the subject, a snapshot value. */
export const SECRET_ROLE = 'support-agent-x7q';
export const SUBJECT = 'user-sub-5521';
export const SNAPSHOT_VALUE = 'SNAP-TIER-Q93';
export const ISSUER = 'https://id.test/';
export const AUDIENCE = 'refunds-api';
export const HS_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

export function compilePolicy(): Policy {
  return Actra.fromStrings(SCHEMA, POLICY);
}

/** A loader whose behaviour each test sets: `ok`, `throw` or `hang`. */
export interface LoaderControl {
  mode: 'ok' | 'throw' | 'hang';
  calls: number;
}

export function fraudLoader(control: LoaderControl): SnapshotLoader<NeutralRequest> {
  return {
    name: 'fraud',
    fields: ['fraud_flag', 'account_tier'],
    timeoutMs: 100,
    load({ action, signal }) {
      control.calls++;
      if (control.mode === 'throw') throw new Error(`database said ${SNAPSHOT_VALUE}`);
      if (control.mode === 'hang') return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      const id = typeof action['id'] === 'string' ? action['id'] : '';
      return { fraud_flag: id.startsWith('fraud'), account_tier: SNAPSHOT_VALUE };
    },
  };
}

/** The inbound Standard Webhooks secret the test approvals accept (a chat bot deciding approvals). */
export const INBOUND_SECRET = 'whsec_' + Buffer.from('inbound-webhook-secret-for-tests!').toString('base64');

export async function newApprovals(policy: Policy): Promise<Approvals> {
  const store = new MemoryApprovalStore();
  await store.init();
  return new Approvals({ store, policy, inboundSecrets: [{ name: 'chatops', secret: INBOUND_SECRET }] });
}

/**
 * Approvals on a real SQLite file whose database is closed after `init()`: every store operation
 * then fails inside better-sqlite3 ("The database connection is not open").
 */
export async function closedStoreApprovals(policy: Policy): Promise<{ approvals: Approvals; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'actra-closed-store-'));
  const database = new Database(join(dir, 'approvals.db'));
  const store = new SqliteApprovalStore({ database });
  await store.init();
  database.close();
  const approvals = new Approvals({ store, policy, inboundSecrets: [{ name: 'chatops', secret: INBOUND_SECRET }] });
  return { approvals, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `policy` with an engine that fails as a bug would: `evaluate` throws a plain error mentioning a snapshot value. */
export function failingEngine(policy: Policy): Policy {
  return new Proxy(policy, {
    get(target, key) {
      if (key === 'evaluate' || key === 'evaluateAction') {
        return function brokenEvaluate(): never {
          throw new TypeError(`cannot read properties of undefined (reading ${SNAPSHOT_VALUE})`);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Signs a webhook body per Standard Webhooks; returns the three headers. */
export function signWebhook(body: string, id = `msg_${Math.random().toString(36).slice(2)}`): Record<string, string> {
  const wh = new Webhook(INBOUND_SECRET);
  const timestamp = new Date();
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': wh.sign(id, timestamp, body) };
}

const encoder = new TextEncoder();

/** An HS256 token for the default app. */
export async function hsToken(claims: Record<string, unknown> = {}, options: { exp?: number | string; sub?: string } = {}): Promise<string> {
  return new SignJWT({ role: SECRET_ROLE, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub ?? SUBJECT)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '10m')
    .sign(encoder.encode(HS_SECRET));
}

/** A local JWKS server counting its fetches. */
export interface JwksServer {
  readonly url: string;
  fetches: number;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly publicJwk: JWK;
  readonly publicPem: string;
  close(): Promise<void>;
}

export async function startJwks(): Promise<JwksServer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  const { exportSPKI } = await import('jose');
  const publicPem = await exportSPKI(publicKey);
  const state = { fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    set fetches(value: number) {
      state.fetches = value;
    },
    privateKey,
    publicJwk,
    publicPem,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An RS256 token signed by the JWKS server's key (`kid` overridable). */
export async function rsToken(jwks: JwksServer, options: { kid?: string; iss?: string; aud?: string; exp?: number | string; nbf?: number | string } = {}): Promise<string> {
  const jwt = new SignJWT({ role: SECRET_ROLE })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'key-1' })
    .setSubject(SUBJECT)
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '10m');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(jwks.privateKey);
}

function b64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

/** `alg: none`, unsigned. */
export function noneToken(): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ sub: SUBJECT, role: SECRET_ROLE, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 }))}.`;
}

/** HS256 signed with the RS256 public key's PEM text as the HMAC secret (the classic key-confusion attack). */
export async function confusedToken(jwks: JwksServer): Promise<string> {
  return new SignJWT({ role: SECRET_ROLE })
    .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
    .setSubject(SUBJECT)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(encoder.encode(jwks.publicPem));
}

/** Replaces the payload, keeping header and signature. */
export function tamperPayload(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${b64url(JSON.stringify({ ...claims, role: 'manager' }))}.${signature}`;
}

/** Flips a character in the signature. */
export function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const first = signature[0] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${first}${signature.slice(1)}`;
}
