/** HTTP responses Actra sends: RFC 9457 problem bodies, 202 pending approval, 401 challenges, header names. */
import { ActraError, type ActraErrorCode } from '../errors.js';
import type { CheckResult } from '../runtime/types.js';
import type { NeutralResponse } from './types.js';

/** Header names Actra reads or writes (lower case). */
export const ACTRA_HEADERS = {
  /** Resume a request with an approval id. */
  approval: 'actra-approval',
  /** The id of the decision taken for this request. */
  decisionId: 'actra-decision-id',
  /** Warn mode: what enforce would have done (`block; rule=<id>; reason=<reason>`). */
  warning: 'actra-warning',
  /** Default request id header, read and echoed. */
  requestId: 'x-request-id',
} as const;

/** Base of every problem `type` URI. */
export const PROBLEM_TYPE_BASE = 'https://actra.dev/problems/';

/** An RFC 9457 problem body as Actra sends it. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ActraErrorCode;
  readonly requestId: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly policyHash?: string;
  readonly decisionId?: string;
}

/** The 202 body of a request waiting for approval. */
export interface PendingApprovalBody {
  readonly status: 'pending_approval';
  readonly approvalId: string;
  /** ISO 8601. */
  readonly expiresAt: string;
  readonly statusUrl: string;
}

const PROBLEMS: Record<ActraErrorCode, { slug: string; title: string; detail: string }> = {
  ACTRA_BLOCKED: { slug: 'blocked', title: 'Blocked by policy', detail: 'The action was blocked by policy.' },
  ACTRA_APPROVAL_REQUIRED: { slug: 'approval-required', title: 'Approval required', detail: 'The action needs an approval.' },
  ACTRA_UNAUTHENTICATED: { slug: 'unauthenticated', title: 'Unauthenticated', detail: 'A valid bearer token is required.' },
  ACTRA_INPUT: { slug: 'invalid-input', title: 'Invalid action input', detail: 'The action input is malformed.' },
  ACTRA_BAD_REQUEST: { slug: 'bad-request', title: 'Bad request', detail: 'The request is malformed.' },
  ACTRA_UNMATCHED_ROUTE: { slug: 'unmatched-route', title: 'Not found', detail: 'No route is declared for this request.' },
  ACTRA_RESOLVER_FAILED: { slug: 'resolver-failed', title: 'Decision unavailable', detail: 'The actor could not be resolved.' },
  ACTRA_LOADER_FAILED: { slug: 'loader-failed', title: 'Decision unavailable', detail: 'A snapshot loader failed.' },
  ACTRA_LOADER_TIMEOUT: { slug: 'loader-timeout', title: 'Decision unavailable', detail: 'A snapshot loader timed out.' },
  ACTRA_STORE_FAILED: { slug: 'store-failed', title: 'Decision unavailable', detail: 'The approval store failed.' },
  ACTRA_ENGINE: { slug: 'engine-failure', title: 'Decision unavailable', detail: 'The policy engine failed.' },
  ACTRA_APPROVAL_NOT_FOUND: { slug: 'approval-not-found', title: 'Approval not found', detail: 'No approval with this id is visible to the caller.' },
  ACTRA_APPROVAL_CONFLICT: { slug: 'approval-conflict', title: 'Approval already decided', detail: 'The approval was decided otherwise.' },
  ACTRA_APPROVAL_EXPIRED: { slug: 'approval-expired', title: 'Approval expired', detail: 'The approval expired.' },
  ACTRA_APPROVAL_DENIED: { slug: 'approval-denied', title: 'Approval denied', detail: 'The approval was denied.' },
  ACTRA_APPROVAL_CONSUMED: { slug: 'approval-consumed', title: 'Approval already used', detail: 'The approval was already used.' },
  ACTRA_APPROVAL_MISMATCH: { slug: 'approval-mismatch', title: 'Approval mismatch', detail: 'The approval was granted for another request.' },
  ACTRA_APPROVAL_PENDING: { slug: 'approval-pending', title: 'Approval pending', detail: 'The approval is still waiting for a decision.' },
  ACTRA_APPROVAL_FORBIDDEN: { slug: 'approval-forbidden', title: 'Forbidden', detail: 'The caller may not decide or see this approval.' },
  ACTRA_WEBHOOK_SIGNATURE: { slug: 'webhook-signature', title: 'Invalid webhook signature', detail: 'The webhook signature did not verify.' },
  ACTRA_TIMEOUT: { slug: 'timeout', title: 'Timeout', detail: 'The operation timed out.' },
  ACTRA_COMPILE: { slug: 'internal', title: 'Internal error', detail: 'The decision could not be made.' },
  ACTRA_ASSERTION: { slug: 'internal', title: 'Internal error', detail: 'The decision could not be made.' },
  ACTRA_OPTIONS: { slug: 'internal', title: 'Internal error', detail: 'Actra is misconfigured.' },
};

/** Codes whose message is written for the caller (it names a field or a reason, never a value). */
const CALLER_MESSAGES = new Set<ActraErrorCode>([
  'ACTRA_INPUT',
  'ACTRA_BAD_REQUEST',
  'ACTRA_UNAUTHENTICATED',
  'ACTRA_APPROVAL_NOT_FOUND',
  'ACTRA_APPROVAL_CONFLICT',
  'ACTRA_APPROVAL_EXPIRED',
  'ACTRA_APPROVAL_DENIED',
  'ACTRA_APPROVAL_CONSUMED',
  'ACTRA_APPROVAL_MISMATCH',
  'ACTRA_APPROVAL_PENDING',
  'ACTRA_APPROVAL_FORBIDDEN',
  'ACTRA_WEBHOOK_SIGNATURE',
]);

const PROBLEM_JSON = 'application/problem+json';

/** Builds a problem+json response. `extra` adds decision fields (reason, rule, policyHash, decisionId). */
export function problemResponse(
  status: number,
  code: ActraErrorCode,
  requestId: string,
  options: { detail?: string; extra?: Partial<Pick<ProblemBody, 'reason' | 'rule' | 'policyHash' | 'decisionId'>>; headers?: Record<string, string> } = {},
): NeutralResponse {
  const kind = PROBLEMS[code];
  const body: Record<string, unknown> = {
    type: PROBLEM_TYPE_BASE + kind.slug,
    title: kind.title,
    status,
    detail: options.detail ?? kind.detail,
  };
  const extra = options.extra;
  if (extra) {
    if (extra.reason !== undefined) body['reason'] = extra.reason;
    if (extra.rule !== undefined) body['rule'] = extra.rule;
    if (extra.policyHash !== undefined) body['policyHash'] = extra.policyHash;
    if (extra.decisionId !== undefined) body['decisionId'] = extra.decisionId;
  }
  body['requestId'] = requestId;
  body['code'] = code;
  return { status, headers: { 'content-type': PROBLEM_JSON, 'cache-control': 'no-store', ...options.headers }, body };
}

/** 403 for a blocked decision: `detail` is the rule's message. */
export function blockedResponse(result: CheckResult, requestIdHeader: string): NeutralResponse {
  const decision = result.decision;
  return problemResponse(403, 'ACTRA_BLOCKED', result.requestId, {
    ...(decision?.message === undefined ? {} : { detail: decision.message }),
    extra: {
      ...(decision?.reason === undefined ? {} : { reason: decision.reason }),
      ...(decision?.matchedRule === undefined ? {} : { rule: decision.matchedRule }),
      ...(decision === undefined ? {} : { policyHash: decision.policyHash }),
      decisionId: result.decisionId,
    },
    headers: decisionHeaders(result, requestIdHeader),
  });
}

/** 403 for a resume whose approval was refused (denied, expired, used, for another request, unknown). */
export function refusedResponse(result: CheckResult, requestIdHeader: string): NeutralResponse {
  const refusal = result.refusal;
  const code: ActraErrorCode = refusal?.code ?? 'ACTRA_APPROVAL_NOT_FOUND';
  const decision = result.decision;
  return problemResponse(403, code, result.requestId, {
    ...(refusal === undefined ? {} : { detail: refusal.message }),
    extra: {
      ...(decision?.reason === undefined ? {} : { reason: decision.reason }),
      ...(decision?.matchedRule === undefined ? {} : { rule: decision.matchedRule }),
      ...(decision === undefined ? {} : { policyHash: decision.policyHash }),
      decisionId: result.decisionId,
    },
    headers: decisionHeaders(result, requestIdHeader),
  });
}

/** 202 for an approval opened (or still pending): `Location` and `Retry-After` set. */
export function pendingResponse(result: CheckResult, statusUrl: string, retryAfterSeconds: number, requestIdHeader: string): NeutralResponse {
  const approval = result.approval;
  const approvalId = approval?.id ?? '';
  const body: PendingApprovalBody = {
    status: 'pending_approval',
    approvalId,
    expiresAt: new Date(approval?.expiresAt ?? Date.now()).toISOString(),
    statusUrl,
  };
  return {
    status: 202,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      location: statusUrl,
      'retry-after': String(retryAfterSeconds),
      ...decisionHeaders(result, requestIdHeader),
    },
    body,
  };
}

/**
 * 401 with an RFC 6750 challenge: `error="invalid_token"` only when a token was presented.
 * `detail` is the verifier's message, which never contains the token or a claim.
 */
export function unauthorizedResponse(error: ActraError | undefined, tokenSent: boolean, realm: string, requestId: string, requestIdHeader: string): NeutralResponse {
  const challenge = tokenSent ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`;
  return problemResponse(401, 'ACTRA_UNAUTHENTICATED', requestId, {
    detail: error?.message ?? (tokenSent ? 'The bearer token is invalid.' : 'A bearer token is required.'),
    headers: { 'www-authenticate': challenge, [requestIdHeader]: requestId },
  });
}

/**
 * Maps a failure to its problem response: 400 for input, 401 for credentials, 503 (+ `Retry-After`)
 * for loaders, resolvers, stores and the engine. Unknown errors become 503 `ACTRA_ENGINE` without
 * their message, which could hold anything.
 */
export function errorResponse(error: unknown, requestId: string, retryAfterSeconds: number, requestIdHeader: string): NeutralResponse {
  const base = { [requestIdHeader]: requestId };
  if (!(error instanceof ActraError)) {
    return problemResponse(503, 'ACTRA_ENGINE', requestId, { headers: { ...base, 'retry-after': String(retryAfterSeconds) } });
  }
  const status = error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 503;
  const headers: Record<string, string> = status === 503 ? { ...base, 'retry-after': String(retryAfterSeconds) } : base;
  const detail = CALLER_MESSAGES.has(error.code) ? error.message : undefined;
  return problemResponse(status, error.code, requestId, { ...(detail === undefined ? {} : { detail }), headers });
}

/** `Actra-Decision-Id` and the request id header, for every decided request. */
export function decisionHeaders(result: CheckResult, requestIdHeader: string): Record<string, string> {
  const headers: Record<string, string> = { [ACTRA_HEADERS.decisionId]: result.decisionId, [requestIdHeader]: result.requestId };
  if (warns(result)) headers[ACTRA_HEADERS.warning] = warningHeader(result);
  return headers;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The headers of an allowed response without `decisionHeaders`: only warn mode's `Actra-Warning`. */
export function allowedHeaders(result: CheckResult): Readonly<Record<string, string>> {
  return warns(result) ? { [ACTRA_HEADERS.warning]: warningHeader(result) } : NO_HEADERS;
}

/** True when `headers` has at least one header (an allowed decision usually has none to set). */
export function hasHeaders(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return true;
  return false;
}

/** True in warn mode when enforce mode would have refused or the decision failed. */
function warns(result: CheckResult): boolean {
  return result.mode === 'warn' && (result.wouldHave !== undefined || result.error !== undefined);
}

/**
 * `Actra-Warning: <effect>; rule=<id>; reason=<reason>` — what enforce mode would have done;
 * `block; error=<code>` when the decision failed (a loader, the store).
 */
export function warningHeader(result: CheckResult): string {
  if (result.error !== undefined && result.decision === undefined) return `block; error=${result.error.code}`;
  let value: string = result.wouldHave ?? 'allow';
  const rule = result.decision?.matchedRule;
  const reason = result.decision?.reason;
  if (rule !== undefined) value += `; rule=${headerToken(rule)}`;
  if (reason !== undefined) value += `; reason=${headerToken(reason)}`;
  return value;
}

function headerToken(value: string): string {
  return value.replace(/[^\w.:\-/]/g, '_');
}
