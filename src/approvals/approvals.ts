/** The approval protocol: open, decide, resume exactly once, watch, expire and notify. */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Webhook } from 'standardwebhooks';
import { canonicalJson, sha256Hex } from '../core/canonical.js';
import { ActraApprovalError, ActraError, ActraOptionsError } from '../errors.js';
import type { Policy } from '../core/types.js';
import type { Actor } from '../runtime/types.js';
import type {
  ApprovalEventType,
  ApprovalGate,
  ApprovalRecord,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalStore,
  ApprovalVerdict,
  ConsumeResult,
  EventFor,
  OutboxEvent,
} from './types.js';
import {
  InboundVerifier,
  WebhookDispatcher,
  buildEvent,
  declaredActionFields,
  type DispatchReport,
  type HeaderSource,
  type VerifiedInbound,
  type WebhookLogger,
} from './webhooks.js';
import { parseOptions } from '../options.js';

/** Default time to live of an approval when its rule sets none: one hour. */
export const DEFAULT_APPROVAL_TTL_SECONDS = 3600;

const APPROVAL_ID_PATTERN = /^apr_[A-Za-z0-9_-]{22,64}$/;

/** True when `id` has the shape of an approval id (`apr_` + base64url). Says nothing about existence. */
export function isApprovalIdShape(id: string): boolean {
  return APPROVAL_ID_PATTERN.test(id);
}

/** A fresh approval id: `apr_` + 32 base64url characters (192 random bits). */
export function newApprovalId(): string {
  return 'apr_' + randomBytes(24).toString('base64url');
}

/**
 * The digest binding an approval to one request: SHA-256 hex of the canonical JSON of
 * `{ action, actorId, method, route }` (every action field, canonical key order).
 */
export function approvalDigest(request: Pick<ApprovalRequest, 'action' | 'actorId' | 'method' | 'route'>): string {
  return sha256Hex(
    canonicalJson({
      action: request.action,
      actorId: request.actorId,
      method: request.method ?? null,
      route: request.route ?? null,
    }),
  );
}

function isFunctionHolder(names: readonly string[]) {
  return function hasMethods(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const holder = value as Record<string, unknown>;
    return names.every((name) => typeof holder[name] === 'function');
  };
}

function validSecret(secret: string): boolean {
  if (!secret.startsWith('whsec_')) return false;
  try {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    if (key.length < 16) return false;
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

const secretSchema = z.string().refine(validSecret, { message: 'must be a Standard Webhooks secret: "whsec_" + base64 of at least 16 bytes' });

const optionsSchema = z
  .object({
    store: z.custom<ApprovalStore>(
      isFunctionHolder(['init', 'open', 'get', 'decide', 'consume', 'expireDue', 'list', 'claimDue', 'markDelivered', 'markFailed', 'listOutbox', 'redeliver', 'rememberWebhookId']),
      { message: 'must be an ApprovalStore' },
    ),
    policy: z.custom<Policy>(isFunctionHolder(['rule', 'canApprove', 'evaluate']), { message: 'must be a compiled Policy' }),
    webhooks: z
      .object({
        endpoints: z
          .array(
            z
              .object({
                url: z.url({ protocol: /^https?$/ }),
                secret: secretSchema,
              })
              .strict(),
          )
          .min(1),
        maxAttempts: z.number().int().min(1).max(100).default(8),
        baseDelayMs: z.number().int().min(1).default(1_000),
        maxDelayMs: z.number().int().min(1).default(300_000),
        timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
        batchSize: z.number().int().min(1).max(1_000).default(50),
      })
      .strict()
      .optional(),
    inboundSecrets: z
      .array(z.union([secretSchema, z.object({ name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), secret: secretSchema }).strict()]))
      .default([]),
    inboundToleranceSec: z.number().int().min(1).max(3_600).default(300),
    approverResolver: z.custom<(token: string) => Promise<Actor>>((value) => typeof value === 'function', { message: 'must be a function' }).optional(),
    now: z.custom<() => number>((value) => typeof value === 'function', { message: 'must be a function' }).optional(),
    random: z.custom<() => number>((value) => typeof value === 'function', { message: 'must be a function' }).optional(),
    redact: z.array(z.string().min(1)).default([]),
    pollIntervalMs: z.number().int().min(1).default(1_000),
    sweepIntervalMs: z.number().int().min(10).default(1_000),
    logger: z.custom<WebhookLogger>(isFunctionHolder(['warn']), { message: 'must have a warn(obj, msg) method' }).optional(),
  })
  .strict();

/** Options of {@link Approvals}. */
export interface ApprovalsOptions {
  /** Where approvals, their outbox and inbound webhook ids live. Call `store.init()` first. */
  readonly store: ApprovalStore;
  /** The compiled policy: gives each rule's time to live and approver condition. */
  readonly policy: Policy;
  /** Outbound webhooks. Without them events stay in the outbox until endpoints are configured. */
  readonly webhooks?: {
    readonly endpoints: readonly { readonly url: string; readonly secret: string }[];
    /** Attempts before an event is dead-lettered (default 8). */
    readonly maxAttempts?: number;
    /** First retry delay cap in ms (default 1000); doubles per attempt, full jitter. */
    readonly baseDelayMs?: number;
    /** Largest retry delay in ms (default 300000). */
    readonly maxDelayMs?: number;
    /** Per-request timeout in ms (default 10000). */
    readonly timeoutMs?: number;
    /** Events claimed per dispatch pass (default 50). */
    readonly batchSize?: number;
  };
  /**
   * Standard Webhooks secrets accepted on the decision route. A plain string is named
   * `inbound-<index>`; the name is recorded as `decidedBy: "webhook:<name>"`.
   */
  readonly inboundSecrets?: readonly (string | { readonly name: string; readonly secret: string })[];
  /** Accepted clock skew of inbound `webhook-timestamp`, in seconds (default 300). */
  readonly inboundToleranceSec?: number;
  /** Resolves an approver from a Bearer token (used by `approvalRoutes` when it has no resolver). */
  readonly approverResolver?: (token: string) => Promise<Actor>;
  /** Clock in ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
  /** Random source in [0, 1) for retry jitter (default `Math.random`). */
  readonly random?: () => number;
  /** Action field names whose values `approval.requested` payloads show as `"[redacted]"`. */
  readonly redact?: readonly string[];
  /** How often `waitFor` polls the store for decisions made by other instances (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Interval of the expiry sweeper and dispatcher started by `start()` (default 1000 ms). */
  readonly sweepIntervalMs?: number;
  /** Receives delivery failures and sweeper errors (pino-compatible). */
  readonly logger?: WebhookLogger;
}

/** Who decides: an approver actor (from a verified JWT), or a verified inbound webhook. */
export type Approver = Actor | WebhookApprover;

/** A decision sent by a verified inbound webhook. */
export interface WebhookApprover {
  /** The name of the inbound secret that verified it. */
  readonly webhook: string;
  /** The person behind the webhook, in the sending system, when the sender says. */
  readonly onBehalfOf?: string;
}

/** A decision to record. */
export interface DecisionInput {
  readonly verdict: ApprovalVerdict;
  readonly approver: Approver;
  readonly note?: string;
}

/** Options of {@link Approvals.waitFor}. */
export interface WaitForOptions {
  /** Milliseconds before rejecting with `ACTRA_TIMEOUT`. Without it, waits until decided, expired or aborted. */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

const NOTE_MAX_LENGTH = 2_000;

function isWebhookApprover(approver: Approver): approver is WebhookApprover {
  return typeof (approver as { webhook?: unknown }).webhook === 'string' && (approver as { id?: unknown }).id === undefined;
}

function notFound(): ActraApprovalError {
  return new ActraApprovalError('ACTRA_APPROVAL_NOT_FOUND', 'no approval with this id is visible to the caller');
}

/**
 * The approval protocol over an {@link ApprovalStore}: the runtime's {@link ApprovalGate}
 * (`open`, `resume`), plus `decide`, `get`, `list`, `waitFor`, the expiry sweeper and the
 * outbound webhook dispatcher.
 *
 * @throws ActraOptionsError `ACTRA_OPTIONS` when an option is invalid.
 * @example
 * ```ts
 * const store = new SqliteApprovalStore({ path: 'approvals.db' });
 * await store.init();
 * const approvals = new Approvals({
 *   store, policy,
 *   webhooks: { endpoints: [{ url: 'https://hooks.example.com/actra', secret: process.env.WEBHOOK_SECRET! }] },
 * });
 * approvals.start(); // expiry sweeper + webhook delivery
 * const record = await approvals.waitFor(approvalId, { timeout: 60_000 });
 * ```
 */
export class Approvals implements ApprovalGate {
  readonly #store: ApprovalStore;
  readonly #policy: Policy;
  readonly #now: () => number;
  readonly #pollIntervalMs: number;
  readonly #sweepIntervalMs: number;
  readonly #dispatcher: WebhookDispatcher;
  readonly #inbound: InboundVerifier;
  readonly #approverResolver: ((token: string) => Promise<Actor>) | undefined;
  readonly #logger: WebhookLogger | undefined;
  readonly #redact: ReadonlySet<string>;
  readonly #changes = new EventEmitter();
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #closed = false;

  constructor(options: ApprovalsOptions) {
    const opts = parseOptions(optionsSchema, options, 'Approvals');
    this.#store = opts.store;
    this.#policy = opts.policy;
    this.#now = opts.now ?? Date.now;
    this.#pollIntervalMs = opts.pollIntervalMs;
    this.#sweepIntervalMs = opts.sweepIntervalMs;
    this.#approverResolver = opts.approverResolver;
    this.#logger = opts.logger;
    this.#redact = new Set(opts.redact);
    const webhooks = opts.webhooks;
    this.#dispatcher = new WebhookDispatcher(
      this.#store,
      webhooks === undefined
        ? { endpoints: [], maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 300_000, timeoutMs: 10_000, batchSize: 50 }
        : webhooks,
      this.#now,
      opts.random ?? Math.random,
      this.#logger,
    );
    const inbound = opts.inboundSecrets.map(function named(entry, index) {
      return typeof entry === 'string' ? { name: `inbound-${index}`, secret: entry } : entry;
    });
    const names = new Set(inbound.map((entry) => entry.name));
    if (names.size !== inbound.length) throw new ActraOptionsError('Approvals: invalid option "inboundSecrets": names must be unique');
    this.#inbound = new InboundVerifier(this.#store, inbound, opts.inboundToleranceSec);
    this.#changes.setMaxListeners(0);
  }

  /** The resolver given as `approverResolver`, if any. */
  get approverResolver(): ((token: string) => Promise<Actor>) | undefined {
    return this.#approverResolver;
  }

  /**
   * Opens an approval for a `require_approval` decision, or returns the pending/approved one for
   * the same request (same digest), so client retries create no duplicates.
   * @throws ActraError `ACTRA_ENGINE` when the decision names no rule.
   * @throws ActraStoreError `ACTRA_STORE_FAILED`.
   */
  async open(request: ApprovalRequest): Promise<ApprovalRecord> {
    return (await this.openRequest(request)).record;
  }

  /** Like {@link Approvals.open}, also saying whether the approval was created by this call. */
  async openRequest(request: ApprovalRequest): Promise<{ record: ApprovalRecord; created: boolean }> {
    const ruleId = request.decision.matchedRule;
    if (ruleId === undefined || request.decision.effect !== 'require_approval') {
      throw new ActraError('ACTRA_ENGINE', 'an approval can only be opened for a require_approval decision of a named rule');
    }
    if (typeof request.actorId !== 'string' || request.actorId.length === 0) {
      throw new ActraError('ACTRA_ENGINE', 'an approval needs the requesting actor id');
    }
    const ttlSeconds = this.#policy.rule(ruleId)?.approval?.ttlSeconds ?? DEFAULT_APPROVAL_TTL_SECONDS;
    const now = this.#now();
    const action = declaredActionFields(request.action, this.#policy.schema?.actions.get(request.action.type));
    for (const field of this.#redact) if (field !== 'type' && Object.prototype.hasOwnProperty.call(action, field)) action[field] = '[redacted]';
    const approval = {
      id: newApprovalId(),
      digest: approvalDigest(request),
      actionType: request.action.type,
      ruleId,
      policyHash: request.decision.policyHash,
      requesterId: request.actorId,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
      ...(request.decision.reason === undefined ? {} : { reason: request.decision.reason }),
      ...(request.method === undefined ? {} : { method: request.method }),
      ...(request.route === undefined ? {} : { route: request.route }),
    };
    const result = await this.#store.open(approval, this.#eventFor('approval.requested', now, action), now);
    if (result.created) this.#changed(result.record);
    return result;
  }

  /**
   * Consumes `approvalId` for this very request: approved, unexpired, unused, same rule and same
   * digest. Exactly one concurrent caller (across instances sharing the store) gets `ok: true`.
   * A malformed id is refused as `not_found` without touching the store; so is another actor's
   * approval, so that ids cannot be probed.
   * @throws ActraStoreError `ACTRA_STORE_FAILED`.
   */
  async resume(approvalId: string, request: ApprovalRequest): Promise<ConsumeResult> {
    if (typeof approvalId !== 'string' || !isApprovalIdShape(approvalId)) return { ok: false, refusal: 'not_found' };
    const existing = await this.#store.get(approvalId);
    // Another actor's approval is answered like an unknown id: its existence is not revealed.
    if (existing === undefined || existing.requesterId !== request.actorId) return { ok: false, refusal: 'not_found' };
    if (existing.ruleId !== request.decision.matchedRule) return { ok: false, refusal: 'mismatch', record: existing };
    const now = this.#now();
    const result = await this.#store.consume(approvalId, approvalDigest(request), this.#eventFor('approval.consumed', now), now);
    if (result.ok) this.#changed(result.record);
    return result;
  }

  /**
   * Records a final decision. The approver must satisfy the rule's approval condition (a signed
   * webhook is trusted by its signature); the requester can never decide their own request.
   * The same verdict again returns the record unchanged.
   * @throws ActraApprovalError `ACTRA_APPROVAL_NOT_FOUND` when the id is unknown or the approver
   *   may not decide it (indistinguishable), `ACTRA_APPROVAL_FORBIDDEN` when the requester decides
   *   their own request, `ACTRA_APPROVAL_CONFLICT` (409) when it contradicts the recorded verdict,
   *   `ACTRA_APPROVAL_EXPIRED` when it expired first.
   * @throws ActraStoreError `ACTRA_STORE_FAILED`.
   * @example
   * ```ts
   * await approvals.decide(id, { verdict: 'approve', approver: { id: 'u_7', role: 'manager' }, note: 'ok' });
   * ```
   */
  async decide(approvalId: string, input: DecisionInput): Promise<ApprovalRecord> {
    if (input.verdict !== 'approve' && input.verdict !== 'deny') {
      throw new ActraError('ACTRA_BAD_REQUEST', 'verdict must be "approve" or "deny"');
    }
    if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > NOTE_MAX_LENGTH)) {
      throw new ActraError('ACTRA_BAD_REQUEST', `note must be a string of at most ${NOTE_MAX_LENGTH} characters`);
    }
    if (typeof approvalId !== 'string' || !isApprovalIdShape(approvalId)) throw notFound();
    const record = await this.#store.get(approvalId);
    if (record === undefined) throw notFound();
    let decidedBy: string;
    const approver = input.approver;
    if (isWebhookApprover(approver)) {
      if (approver.onBehalfOf !== undefined && approver.onBehalfOf === record.requesterId) {
        throw new ActraApprovalError('ACTRA_APPROVAL_FORBIDDEN', 'the requester cannot decide their own approval');
      }
      decidedBy = approver.onBehalfOf === undefined ? `webhook:${approver.webhook}` : `webhook:${approver.webhook}:${approver.onBehalfOf}`;
    } else {
      approver satisfies Actor;
      if (typeof approver?.id !== 'string' || approver.id.length === 0) {
        throw new ActraError('ACTRA_BAD_REQUEST', 'the approver needs an id');
      }
      if (approver.id === record.requesterId) {
        throw new ActraApprovalError('ACTRA_APPROVAL_FORBIDDEN', 'the requester cannot decide their own approval');
      }
      if (!this.#policy.canApprove(record.ruleId, approver)) throw notFound();
      decidedBy = approver.id;
    }
    const now = this.#now();
    const decision = input.note === undefined ? { verdict: input.verdict, decidedBy } : { verdict: input.verdict, decidedBy, note: input.note };
    const result = await this.#store.decide(approvalId, decision, this.#eventFor('approval.decided', now), now);
    if (result.ok) {
      if (result.changed) this.#changed(result.record);
      return result.record;
    }
    switch (result.refusal) {
      case 'not_found':
        throw notFound();
      case 'expired':
        if (result.record !== undefined && result.record.status === 'expired') this.#changed(result.record);
        throw new ActraApprovalError('ACTRA_APPROVAL_EXPIRED', 'the approval expired before it was decided');
      case 'consumed':
        if (input.verdict === 'approve' && result.record !== undefined) return result.record;
        throw new ActraApprovalError('ACTRA_APPROVAL_CONFLICT', 'the approval was already approved and used; a decision is final');
      case 'conflict': {
        const recorded = result.record?.verdict;
        throw new ActraApprovalError(
          'ACTRA_APPROVAL_CONFLICT',
          recorded === undefined ? 'the approval already has a final decision' : `the approval was already ${recorded === 'approve' ? 'approved' : 'denied'}; a decision is final`,
        );
      }
    }
  }

  /**
   * The approval, for its requester or an actor who may approve it.
   * @throws ActraApprovalError `ACTRA_APPROVAL_NOT_FOUND` for an unknown id and for any other
   *   viewer alike, so ids cannot be probed.
   */
  async get(approvalId: string, viewer: Actor): Promise<ApprovalRecord> {
    if (typeof approvalId !== 'string' || !isApprovalIdShape(approvalId)) throw notFound();
    if (typeof viewer?.id !== 'string' || viewer.id.length === 0) throw notFound();
    const record = await this.#store.get(approvalId);
    if (record === undefined) throw notFound();
    if (record.requesterId === viewer.id || this.#policy.canApprove(record.ruleId, viewer)) return record;
    throw notFound();
  }

  /** Approvals, newest first, optionally of one status (trusted, in-process use). */
  list(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRecord[]> {
    return this.#store.list(filter);
  }

  /**
   * Resolves with the approval once it is no longer `pending` (approved, denied, expired or
   * consumed). Decisions made in this process wake it at once; others are seen by polling
   * the store every `pollIntervalMs`.
   * @throws ActraApprovalError `ACTRA_APPROVAL_NOT_FOUND` for an unknown id, `ACTRA_TIMEOUT` after `timeout` ms.
   * @throws the signal's reason (an `AbortError`) when `signal` aborts.
   */
  waitFor(approvalId: string, options: WaitForOptions = {}): Promise<ApprovalRecord> {
    const { timeout, signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!isApprovalIdShape(approvalId)) return Promise.reject(notFound());
    return new Promise<ApprovalRecord>((resolve, reject) => {
      let settled = false;
      let pollTimer: NodeJS.Timeout | undefined;
      let timeoutTimer: NodeJS.Timeout | undefined;
      const channel = `change:${approvalId}`;
      const finish = (error: unknown, record?: ApprovalRecord): void => {
        if (settled) return;
        settled = true;
        clearTimeout(pollTimer);
        clearTimeout(timeoutTimer);
        this.#changes.off(channel, onChange);
        signal?.removeEventListener('abort', onAbort);
        if (record !== undefined) resolve(record);
        else reject(error);
      };
      const onChange = (record: ApprovalRecord): void => {
        if (record.status !== 'pending') finish(undefined, record);
      };
      const onAbort = (): void => finish(signal?.reason ?? new DOMException('waitFor was aborted', 'AbortError'));
      const poll = async (): Promise<void> => {
        try {
          let record = await this.#store.get(approvalId);
          if (settled) return;
          if (record === undefined) return finish(notFound());
          if (record.status === 'pending' && record.expiresAt <= this.#now()) {
            await this.expireDue();
            record = (await this.#store.get(approvalId)) ?? record;
          }
          if (record.status !== 'pending') return finish(undefined, record);
          if (!settled) pollTimer = setTimeout(poll, this.#pollIntervalMs);
        } catch (error) {
          finish(error);
        }
      };
      this.#changes.on(channel, onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        timeoutTimer = setTimeout(function waitForTimedOut() {
          finish(new ActraApprovalError('ACTRA_TIMEOUT', `approval was not decided within ${timeout} ms`));
        }, timeout);
      }
      void poll();
    });
  }

  /**
   * Expires every pending or approved approval past its time (one `approval.expired` event each).
   * @returns the approvals expired by this call.
   */
  async expireDue(limit?: number): Promise<ApprovalRecord[]> {
    const now = this.#now();
    const expired = await this.#store.expireDue(this.#eventFor('approval.expired', now), now, limit);
    for (const record of expired) this.#changed(record);
    return expired;
  }

  /** One delivery pass over the due outbox events (what the background loop runs). */
  dispatchNow(): Promise<DispatchReport> {
    return this.#dispatcher.dispatchNow();
  }

  /** Events that exhausted their delivery attempts, newest first. */
  listDeadLetters(limit?: number): Promise<OutboxEvent[]> {
    return this.#dispatcher.listDeadLetters(limit);
  }

  /** Queues a dead-lettered (or delivered) event again, attempts reset. False when the id is unknown. */
  redeliver(eventId: string): Promise<boolean> {
    return this.#dispatcher.redeliver(eventId);
  }

  /**
   * Verifies a signed inbound webhook (signature, timestamp tolerance, replayed `webhook-id`).
   * @throws ActraApprovalError `ACTRA_WEBHOOK_SIGNATURE` (401).
   */
  verifyInbound(rawBody: string, headers: HeaderSource): Promise<VerifiedInbound> {
    return this.#inbound.verify(rawBody, headers);
  }

  /** Starts the background loop (expiry sweeper + webhook dispatcher). Its timer does not keep the process alive. */
  start(): void {
    if (this.#closed) throw new ActraError('ACTRA_OPTIONS', 'Approvals: start() after close()');
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#tick === undefined) {
        this.#tick = this.#runTick().finally(() => {
          this.#tick = undefined;
        });
      }
    }, this.#sweepIntervalMs);
    this.#timer.unref();
  }

  /** Stops the background loop and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tick;
  }

  /** Stops the background loop. The store is not closed: it belongs to the caller. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  async #runTick(): Promise<void> {
    try {
      await this.expireDue(500);
      // Drain a backlog a few batches per pass while deliveries succeed; failures wait for their backoff.
      for (let pass = 0; pass < 10; pass++) {
        const report = await this.#dispatcher.dispatchNow();
        if (report.delivered === 0 || this.#timer === undefined) break;
      }
    } catch (error) {
      this.#logger?.warn({ code: error instanceof ActraError ? error.code : 'UNKNOWN' }, 'actra: approval sweeper pass failed');
    }
  }

  #eventFor(type: ApprovalEventType, now: number, action?: Readonly<Record<string, unknown>>): EventFor {
    return function eventFor(record: ApprovalRecord) {
      return buildEvent(type, record, now, action);
    };
  }

  #changed(record: ApprovalRecord): void {
    this.#changes.emit(`change:${record.id}`, record);
  }
}
