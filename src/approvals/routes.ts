/** Framework-neutral approval routes: `GET <prefix>/approvals/:id` and `POST <prefix>/approvals/:id/decision`. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ActraError, ActraOptionsError } from '../errors.js';
import { errorResponse, problemResponse, unauthorizedResponse } from '../http/responses.js';
import type { NeutralRequest, NeutralResponse } from '../http/types.js';
import type { Actor } from '../runtime/types.js';
import type { ApprovalRecord } from './types.js';
import type { Approvals, Approver } from './approvals.js';
import { parseOptions } from '../options.js';

/** What the status and decision routes answer with (times in ISO 8601). No requester claims, no action values. */
export interface ApprovalStatusView {
  readonly id: string;
  readonly status: ApprovalRecord['status'];
  readonly actionType: string;
  readonly ruleId: string;
  readonly reason?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt?: string;
  readonly verdict?: ApprovalRecord['verdict'];
  readonly consumedAt?: string;
}

/** Options of {@link approvalRoutes}. */
export interface ApprovalRoutesOptions {
  /** Mount prefix, e.g. `/actra` → `/actra/approvals/:id` (default `''`). */
  readonly prefix?: string;
  /**
   * Resolves the caller (requester or approver) from the request, typically from its Bearer JWT.
   * `undefined` means no credentials (401). Throw `ActraAuthError` for invalid ones (401).
   * Defaults to the `approverResolver` of `Approvals`, given the Bearer token.
   */
  readonly resolveApprover?: (req: NeutralRequest) => Promise<Actor | undefined>;
  /** Request id header read and echoed (default `x-request-id`). */
  readonly requestIdHeader?: string;
  /** `realm` of the Bearer challenge on 401 (default `actra`). */
  readonly realm?: string;
  /** `Retry-After` seconds of a 503 when the store is unavailable (default 5). */
  readonly unavailableRetryAfter?: number;
}

const optionsSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*\/?$/, { message: 'must be empty or a path such as "/actra"' })
      .default(''),
    resolveApprover: z.custom<(req: NeutralRequest) => Promise<Actor | undefined>>((value) => typeof value === 'function', { message: 'must be a function' }).optional(),
    requestIdHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/)
      .default('x-request-id'),
    realm: z
      .string()
      .regex(/^[\x20-\x7e]{1,64}$/)
      .refine((value) => !value.includes('"') && !value.includes('\\'), { message: 'must not contain quotes or backslashes' })
      .default('actra'),
    unavailableRetryAfter: z.number().int().positive().max(86_400).default(5),
  })
  .strict();

const decisionBodySchema = z
  .object({
    decision: z.enum(['approve', 'deny']),
    note: z.string().max(2_000).optional(),
    /** Signed webhooks only: who, in the sending system, made the decision. */
    approver: z.string().min(1).max(256).optional(),
  })
  .strict();

const ID_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The status view of a record. */
export function approvalStatusView(record: ApprovalRecord): ApprovalStatusView {
  const view: Record<string, unknown> = {
    id: record.id,
    status: record.status,
    actionType: record.actionType,
    ruleId: record.ruleId,
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
  };
  if (record.reason !== undefined) view['reason'] = record.reason;
  if (record.decidedAt !== undefined) view['decidedAt'] = iso(record.decidedAt);
  if (record.verdict !== undefined) view['verdict'] = record.verdict;
  if (record.consumedAt !== undefined) view['consumedAt'] = iso(record.consumedAt);
  return view as unknown as ApprovalStatusView;
}

function bearerToken(req: NeutralRequest): string | undefined {
  const header = req.header('authorization');
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match?.[1];
}

/**
 * The approval routes as one neutral handler, mounted by each adapter. Returns `undefined` when
 * the request is not for `<prefix>/approvals/:id` or `<prefix>/approvals/:id/decision`.
 *
 * - `GET` (and `HEAD`) `<prefix>/approvals/:id` → 200 status view, for the requester or an
 *   approver; 404 for anyone else, exactly as for an unknown id; 401 without credentials.
 * - `POST <prefix>/approvals/:id/decision` with `{ "decision": "approve" | "deny", "note"? }`,
 *   authenticated by a Standard Webhooks signature (when `webhook-signature` is sent) or by an
 *   approver's Bearer JWT → 200 status view; 409 contradicting decision; 403 requester deciding
 *   their own request or expired approval; 404 unknown or not entitled; 401 bad signature or
 *   credentials; 400 malformed body.
 *
 * @throws ActraOptionsError `ACTRA_OPTIONS` at construction when an option is invalid, or when
 *   neither `resolveApprover` nor the `approverResolver` of `Approvals` is set.
 * @example
 * ```ts
 * const routes = approvalRoutes(approvals, { prefix: '/actra', resolveApprover: (req) => jwtActor(req) });
 * const response = await routes(neutralRequest); // undefined → not an approval route
 * ```
 */
export function approvalRoutes(approvals: Approvals, options: ApprovalRoutesOptions = {}): (req: NeutralRequest) => Promise<NeutralResponse | undefined> {
  const opts = parseOptions(optionsSchema, options, 'approvalRoutes');
  const { requestIdHeader, realm, unavailableRetryAfter } = opts;
  const base = opts.prefix.replace(/\/+$/, '') + '/approvals/';
  const tokenResolver = approvals.approverResolver;
  const resolveApprover =
    opts.resolveApprover ??
    (tokenResolver === undefined
      ? undefined
      : async function resolveBearerApprover(req: NeutralRequest): Promise<Actor | undefined> {
          const token = bearerToken(req);
          return token === undefined ? undefined : tokenResolver(token);
        });
  if (resolveApprover === undefined) {
    throw new ActraOptionsError('approvalRoutes: option "resolveApprover" is required when Approvals has no approverResolver');
  }

  async function authenticate(req: NeutralRequest, requestId: string): Promise<{ actor: Actor } | { response: NeutralResponse }> {
    const tokenSent = req.header('authorization') !== undefined;
    let actor: Actor | undefined;
    try {
      actor = await resolveApprover!(req);
    } catch (error) {
      if (error instanceof ActraError && error.code !== 'ACTRA_UNAUTHENTICATED') {
        return { response: errorResponse(error, requestId, unavailableRetryAfter, requestIdHeader) };
      }
      return { response: unauthorizedResponse(error instanceof ActraError ? error : undefined, tokenSent, realm, requestId, requestIdHeader) };
    }
    if (actor === undefined || typeof actor.id !== 'string' || actor.id.length === 0) {
      return { response: unauthorizedResponse(undefined, tokenSent, realm, requestId, requestIdHeader) };
    }
    return { actor };
  }

  function ok(record: ApprovalRecord, requestId: string): NeutralResponse {
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', [requestIdHeader]: requestId },
      body: approvalStatusView(record),
    };
  }

  function fail(error: unknown, requestId: string): NeutralResponse {
    return errorResponse(error, requestId, unavailableRetryAfter, requestIdHeader);
  }

  function badRequest(detail: string, requestId: string): NeutralResponse {
    return problemResponse(400, 'ACTRA_BAD_REQUEST', requestId, { detail, headers: { [requestIdHeader]: requestId } });
  }

  async function status(req: NeutralRequest, id: string, requestId: string): Promise<NeutralResponse> {
    const viewer = await authenticate(req, requestId);
    if ('response' in viewer) return viewer.response;
    try {
      return ok(await approvals.get(id, viewer.actor), requestId);
    } catch (error) {
      return fail(error, requestId);
    }
  }

  async function decision(req: NeutralRequest, id: string, requestId: string): Promise<NeutralResponse> {
    let approver: Approver;
    let webhookSource: string | undefined;
    let body: unknown = req.body;
    if (req.header('webhook-signature') !== undefined) {
      if (req.rawBody === undefined) {
        return problemResponse(401, 'ACTRA_WEBHOOK_SIGNATURE', requestId, {
          detail: 'the raw request body is not available, so the webhook signature cannot be verified',
          headers: { [requestIdHeader]: requestId },
        });
      }
      let source: string;
      try {
        source = (await approvals.verifyInbound(req.rawBody, (name) => req.header(name))).source;
      } catch (error) {
        return fail(error, requestId);
      }
      try {
        body = JSON.parse(req.rawBody);
      } catch {
        return badRequest('the body must be JSON: { "decision": "approve" | "deny", "note"?: string }', requestId);
      }
      approver = { webhook: source };
      webhookSource = source;
    } else {
      const caller = await authenticate(req, requestId);
      if ('response' in caller) return caller.response;
      approver = caller.actor;
      if (body === undefined && req.rawBody !== undefined && req.rawBody.length > 0) {
        try {
          body = JSON.parse(req.rawBody);
        } catch {
          return badRequest('the body must be JSON: { "decision": "approve" | "deny", "note"?: string }', requestId);
        }
      }
    }
    const input = decisionBodySchema.safeParse(body);
    if (!input.success) {
      const issue = input.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
      return badRequest(`invalid decision body at "${where}": expected { "decision": "approve" | "deny", "note"?: string }`, requestId);
    }
    if (input.data.approver !== undefined) {
      if (webhookSource === undefined) return badRequest('"approver" is accepted on signed webhook decisions only', requestId);
      approver = { webhook: webhookSource, onBehalfOf: input.data.approver };
    }
    try {
      const record = await approvals.decide(id, {
        verdict: input.data.decision,
        approver,
        ...(input.data.note === undefined ? {} : { note: input.data.note }),
      });
      return ok(record, requestId);
    } catch (error) {
      return fail(error, requestId);
    }
  }

  return async function actraApprovalRoutes(req: NeutralRequest): Promise<NeutralResponse | undefined> {
    if (!req.path.startsWith(base)) return undefined;
    const rest = req.path.slice(base.length).replace(/\/$/, '');
    const slash = rest.indexOf('/');
    const id = slash === -1 ? rest : rest.slice(0, slash);
    const tail = slash === -1 ? '' : rest.slice(slash);
    if (id.length === 0 || (tail !== '' && tail !== '/decision')) return undefined;
    const sentId = req.header(requestIdHeader);
    const requestId = sentId !== undefined && REQUEST_ID.test(sentId) ? sentId : randomUUID();
    const method = req.method.toUpperCase() === 'HEAD' ? 'GET' : req.method.toUpperCase();
    const allowed = tail === '' ? 'GET, HEAD' : 'POST';
    if ((tail === '' && method !== 'GET') || (tail !== '' && method !== 'POST')) {
      return problemResponse(405, 'ACTRA_BAD_REQUEST', requestId, {
        detail: `method not allowed; use ${allowed}`,
        headers: { allow: allowed, [requestIdHeader]: requestId },
      });
    }
    if (!ID_SEGMENT.test(id)) {
      return problemResponse(404, 'ACTRA_APPROVAL_NOT_FOUND', requestId, {
        detail: 'no approval with this id is visible to the caller',
        headers: { [requestIdHeader]: requestId },
      });
    }
    return tail === '' ? status(req, id, requestId) : decision(req, id, requestId);
  };
}
