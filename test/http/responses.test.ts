import { describe, expect, it } from 'vitest';
import { ActraError, ActraInputError, ActraResolverError } from '../../src/errors.js';
import { errorResponse, pendingResponse, problemResponse, unauthorizedResponse, warningHeader } from '../../src/http/responses.js';
import type { CheckResult } from '../../src/runtime/types.js';

const base: CheckResult = {
  outcome: 'allow',
  decisionId: 'dec_1',
  mode: 'warn',
  enforcedEffect: 'allow',
  actor: { id: 'a' },
  requestId: 'req-1',
  decision: { effect: 'block', matchedRule: 'r 1', reason: 'x;y', policyHash: 'h' },
  wouldHave: 'block',
};

describe('problem responses', () => {
  it('builds an RFC 9457 body with the decision fields, request id and code', () => {
    const res = problemResponse(403, 'ACTRA_BLOCKED', 'req-9', { detail: 'no', extra: { reason: 'r', rule: 'x', policyHash: 'h', decisionId: 'd' } });
    expect(res).toEqual({
      status: 403,
      headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
      body: { type: 'https://actra.dev/problems/blocked', title: 'Blocked by policy', status: 403, detail: 'no', reason: 'r', rule: 'x', policyHash: 'h', decisionId: 'd', requestId: 'req-9', code: 'ACTRA_BLOCKED' },
    });
  });

  it('maps an unknown error to 503 ACTRA_ENGINE without its message', () => {
    const res = errorResponse(new Error('secret value 42'), 'req-1', 7, 'x-request-id');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toMatchObject({ code: 'ACTRA_ENGINE', detail: 'The policy engine failed.' });
    expect(JSON.stringify(res)).not.toContain('secret value');
  });

  it('maps loader failures to 503 with a generic detail and input errors to 400 with their message', () => {
    const loader = errorResponse(new ActraResolverError('ACTRA_LOADER_FAILED', 'fraud', 'snapshot loader "fraud" failed'), 'r', 5, 'x-request-id');
    expect(loader).toMatchObject({ status: 503, body: { code: 'ACTRA_LOADER_FAILED', detail: 'A snapshot loader failed.' } });
    const input = errorResponse(new ActraInputError('field "amount" of rule "x" must be a number'), 'r', 5, 'x-request-id');
    expect(input).toMatchObject({ status: 400, body: { code: 'ACTRA_INPUT', detail: 'field "amount" of rule "x" must be a number' } });
    expect(input.headers['retry-after']).toBeUndefined();
    const tooLarge = errorResponse(new ActraError('ACTRA_BAD_REQUEST', 'the request body is larger than 10 bytes', { statusCode: 413 }), 'r', 5, 'x-request-id');
    expect(tooLarge).toMatchObject({ status: 413, body: { status: 413, code: 'ACTRA_BAD_REQUEST' } });
  });

  it('sends a bare challenge without a token and invalid_token with one (RFC 6750)', () => {
    expect(unauthorizedResponse(undefined, false, 'api', 'r', 'x-request-id').headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(unauthorizedResponse(undefined, true, 'api', 'r', 'x-request-id').headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
  });

  it('builds the 202 body with Location and Retry-After', () => {
    const res = pendingResponse({ ...base, outcome: 'pending', mode: 'enforce', approval: { id: 'apr_x', status: 'pending', expiresAt: Date.UTC(2030, 0, 1) } }, '/actra/approvals/apr_x', 9, 'x-request-id');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'pending_approval', approvalId: 'apr_x', expiresAt: '2030-01-01T00:00:00.000Z', statusUrl: '/actra/approvals/apr_x' });
    expect(res.headers).toMatchObject({ location: '/actra/approvals/apr_x', 'retry-after': '9', 'actra-decision-id': 'dec_1', 'x-request-id': 'req-1' });
  });
});

describe('warningHeader', () => {
  it('names the effect, rule and reason, keeping header-safe characters only', () => {
    expect(warningHeader(base)).toBe('block; rule=r_1; reason=x_y');
  });

  it('names the error code when the decision failed', () => {
    const failed: CheckResult = { ...base, error: new ActraResolverError('ACTRA_LOADER_TIMEOUT', 'fraud', 'timed out') };
    delete (failed as { decision?: unknown }).decision;
    expect(warningHeader(failed)).toBe('block; error=ACTRA_LOADER_TIMEOUT');
  });
});
