/** Approval webhooks: payloads, outbound delivery from the durable outbox, inbound signature checks. */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ActraApprovalError } from '../errors.js';
import type { ActionInput } from '../core/types.js';
import type { ApprovalEventType, ApprovalRecord, ApprovalStore, OutboxEvent, OutboxEventInput } from './types.js';

/** The approval as it appears in every webhook payload. Times are ISO 8601. No actor claim, no snapshot value. */
export interface ApprovalWebhookView {
  readonly id: string;
  readonly status: ApprovalRecord['status'];
  readonly actionType: string;
  readonly ruleId: string;
  readonly reason?: string;
  readonly policyHash: string;
  readonly requesterId: string;
  readonly method?: string;
  readonly route?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt?: string;
  readonly decidedBy?: string;
  readonly verdict?: ApprovalRecord['verdict'];
  readonly note?: string;
  readonly consumedAt?: string;
}

/**
 * The JSON body of every outbound approval webhook.
 * `data.action` (the action's schema-declared fields) is present on `approval.requested` only:
 * approvers must see what they approve.
 */
export interface ApprovalWebhookPayload {
  readonly type: ApprovalEventType;
  /** ISO 8601 time of the state change. */
  readonly timestamp: string;
  readonly data: {
    readonly approval: ApprovalWebhookView;
    readonly action?: Readonly<Record<string, unknown>>;
  };
}

/** One outbound webhook endpoint. */
export interface WebhookEndpoint {
  readonly url: string;
  /** Standard Webhooks secret: `whsec_` + base64 of at least 24 random bytes. */
  readonly secret: string;
}

/** Outbound delivery settings (validated by `Approvals`). */
export interface DispatcherSettings {
  readonly endpoints: readonly WebhookEndpoint[];
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly batchSize: number;
}

/** What one `dispatchNow` pass did. */
export interface DispatchReport {
  /** Events claimed in this pass. */
  readonly claimed: number;
  readonly delivered: number;
  /** Failed attempts that will be retried. */
  readonly retrying: number;
  /** Events that exhausted their attempts in this pass. */
  readonly dead: number;
}

/** Minimal pino-compatible logger used for delivery failures. */
export interface WebhookLogger {
  warn(obj: object, msg?: string): void;
}

/** A fresh Standard Webhooks message id (`msg_` + 128 random bits, base64url). */
export function newWebhookId(): string {
  return 'msg_' + randomBytes(16).toString('base64url');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The payload view of a record: times in ISO 8601, optional fields only when set. */
export function webhookView(record: ApprovalRecord): ApprovalWebhookView {
  const view: Record<string, unknown> = {
    id: record.id,
    status: record.status,
    actionType: record.actionType,
    ruleId: record.ruleId,
    policyHash: record.policyHash,
    requesterId: record.requesterId,
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
  };
  if (record.reason !== undefined) view['reason'] = record.reason;
  if (record.method !== undefined) view['method'] = record.method;
  if (record.route !== undefined) view['route'] = record.route;
  if (record.decidedAt !== undefined) view['decidedAt'] = iso(record.decidedAt);
  if (record.decidedBy !== undefined) view['decidedBy'] = record.decidedBy;
  if (record.verdict !== undefined) view['verdict'] = record.verdict;
  if (record.note !== undefined) view['note'] = record.note;
  if (record.consumedAt !== undefined) view['consumedAt'] = iso(record.consumedAt);
  return view as unknown as ApprovalWebhookView;
}

/** Builds the outbox event for `record`; `action` is included only for `approval.requested`. */
export function buildEvent(type: ApprovalEventType, record: ApprovalRecord, now: number, action?: Readonly<Record<string, unknown>>): OutboxEventInput {
  const payload: ApprovalWebhookPayload = {
    type,
    timestamp: iso(now),
    data: action === undefined ? { approval: webhookView(record) } : { approval: webhookView(record), action },
  };
  return { id: newWebhookId(), type, approvalId: record.id, payload, createdAt: now };
}

/** Keeps only the fields the schema declares for the action (plus `type`), so payloads carry nothing else. */
export function declaredActionFields(action: ActionInput, declared: ReadonlyMap<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { type: action.type };
  if (declared === undefined) return out;
  for (const name of declared.keys()) {
    if (name === '__proto__' || name === 'constructor' || name === 'prototype') continue;
    if (Object.prototype.hasOwnProperty.call(action, name)) out[name] = action[name];
  }
  return out;
}

/**
 * Delivery delay before retry number `attempt` (1-based): full jitter over
 * `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * Delivers outbox events to the configured endpoints. Claims due events with a lease (so several
 * instances never send one event concurrently), signs each POST per Standard Webhooks, marks 2xx
 * as delivered, retries anything else with exponential backoff and full jitter, and dead-letters
 * an event after `maxAttempts`. Delivery is at least once: receivers deduplicate on `webhook-id`.
 */
export class WebhookDispatcher {
  readonly #store: ApprovalStore;
  readonly #settings: DispatcherSettings;
  readonly #signers: readonly { url: string; webhook: Webhook }[];
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #logger: WebhookLogger | undefined;

  constructor(store: ApprovalStore, settings: DispatcherSettings, now: () => number, random: () => number, logger?: WebhookLogger) {
    this.#store = store;
    this.#settings = settings;
    this.#signers = settings.endpoints.map(function signerFor(endpoint) {
      return { url: endpoint.url, webhook: new Webhook(endpoint.secret) };
    });
    this.#now = now;
    this.#random = random;
    this.#logger = logger;
  }

  /** True when at least one endpoint is configured. */
  get enabled(): boolean {
    return this.#signers.length > 0;
  }

  /** One pass: claims due events and attempts each once. Without endpoints, does nothing (events wait). */
  async dispatchNow(): Promise<DispatchReport> {
    if (!this.enabled) return { claimed: 0, delivered: 0, retrying: 0, dead: 0 };
    const now = this.#now();
    const leaseMs = this.#settings.timeoutMs + 5_000;
    const events = await this.#store.claimDue(now, this.#settings.batchSize, leaseMs);
    const outcomes = await Promise.all(events.map((event) => this.#attempt(event)));
    let delivered = 0;
    let retrying = 0;
    let dead = 0;
    for (const outcome of outcomes) {
      if (outcome === 'delivered') delivered++;
      else if (outcome === 'dead') dead++;
      else retrying++;
    }
    return { claimed: events.length, delivered, retrying, dead };
  }

  /** Dead-lettered events, newest first. */
  listDeadLetters(limit = 100): Promise<OutboxEvent[]> {
    return this.#store.listOutbox({ status: 'dead', limit });
  }

  /** Puts a dead (or delivered) event back in the queue, due now, attempts reset. False when unknown. */
  redeliver(eventId: string): Promise<boolean> {
    return this.#store.redeliver(eventId, this.#now());
  }

  async #attempt(event: OutboxEvent): Promise<'delivered' | 'retrying' | 'dead'> {
    const body = JSON.stringify(event.payload);
    const failures: string[] = [];
    await Promise.all(
      this.#signers.map(async (signer, index) => {
        const failure = await this.#post(signer, event.id, body);
        if (failure !== undefined) failures.push(`endpoint ${index}: ${failure}`);
      }),
    );
    if (failures.length === 0) {
      await this.#store.markDelivered(event.id, this.#now());
      return 'delivered';
    }
    const attempts = event.attempts + 1;
    const dead = attempts >= this.#settings.maxAttempts;
    const nextAttemptAt = this.#now() + backoffDelay(attempts, this.#settings.baseDelayMs, this.#settings.maxDelayMs, this.#random);
    const error = failures.sort().join('; ');
    await this.#store.markFailed(event.id, { attempts, nextAttemptAt, error, dead });
    this.#logger?.warn({ eventId: event.id, eventType: event.type, attempts, dead, error }, 'actra: approval webhook delivery failed');
    return dead ? 'dead' : 'retrying';
  }

  /** POSTs one signed message; returns a failure text (never the response body) or undefined on 2xx. */
  async #post(signer: { url: string; webhook: Webhook }, msgId: string, body: string): Promise<string | undefined> {
    const sentAt = new Date();
    const signature = signer.webhook.sign(msgId, sentAt, body);
    try {
      const response = await fetch(signer.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'actra-webhooks',
          'webhook-id': msgId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        signal: AbortSignal.timeout(this.#settings.timeoutMs),
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return undefined;
      return `HTTP ${response.status}`;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      if (name === 'TimeoutError' || name === 'AbortError') return 'timed out';
      const cause = error instanceof Error && error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException).code ?? error.cause.name : undefined;
      return `network error${cause === undefined ? '' : ` (${cause})`}`;
    }
  }
}

/** An inbound webhook secret with the name recorded as `decidedBy: webhook:<name>`. */
export interface InboundSecret {
  readonly name: string;
  readonly secret: string;
}

/** What a verified inbound webhook tells about its sender. */
export interface VerifiedInbound {
  readonly webhookId: string;
  /** The name of the secret that verified it. */
  readonly source: string;
}

/** Case-insensitive header access: a lookup function or a plain header record. */
export type HeaderSource = ((name: string) => string | undefined) | Readonly<Record<string, string | string[] | undefined>>;

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers === 'function') return headers(name);
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value = headers[key];
      return Array.isArray(value) ? value[0] : value;
    }
  }
  return undefined;
}

const MAX_WEBHOOK_ID_LENGTH = 256;
const MAX_SIGNATURE_HEADER_LENGTH = 4096;

/**
 * Verifies inbound Standard Webhooks requests: signature (HMAC-SHA256 over `id.timestamp.body`,
 * computed by the `standardwebhooks` package, compared in constant time) against every configured
 * secret, timestamp within the tolerance of the wall clock, and a `webhook-id` never seen before.
 */
export class InboundVerifier {
  readonly #secrets: readonly { name: string; webhook: Webhook }[];
  readonly #toleranceSec: number;
  readonly #store: ApprovalStore;

  constructor(store: ApprovalStore, secrets: readonly InboundSecret[], toleranceSec: number) {
    this.#store = store;
    this.#toleranceSec = toleranceSec;
    this.#secrets = secrets.map(function verifierFor(entry) {
      return { name: entry.name, webhook: new Webhook(entry.secret) };
    });
  }

  /**
   * Verifies one inbound request and remembers its `webhook-id`.
   * @throws ActraApprovalError `ACTRA_WEBHOOK_SIGNATURE` (401) when headers are missing, the
   *   timestamp is outside the tolerance, no secret verifies the signature, or the id was seen.
   * @throws ActraStoreError `ACTRA_STORE_FAILED` when the replay memory cannot be written.
   */
  async verify(rawBody: string, headers: HeaderSource): Promise<VerifiedInbound> {
    const msgId = readHeader(headers, 'webhook-id');
    const timestamp = readHeader(headers, 'webhook-timestamp');
    const signatures = readHeader(headers, 'webhook-signature');
    if (!msgId || !timestamp || !signatures) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'webhook-id, webhook-timestamp and webhook-signature headers are required');
    }
    if (this.#secrets.length === 0) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'signed webhook decisions are not enabled (no inbound secret configured)');
    }
    if (msgId.length > MAX_WEBHOOK_ID_LENGTH || signatures.length > MAX_SIGNATURE_HEADER_LENGTH) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'webhook headers are too long');
    }
    if (!/^\d{1,12}$/.test(timestamp)) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'webhook-timestamp is not a number of seconds');
    }
    const seconds = Number(timestamp);
    const nowMs = Date.now();
    const nowSec = Math.floor(nowMs / 1000);
    if (Math.abs(nowSec - seconds) > this.#toleranceSec) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', `webhook-timestamp is outside the tolerance of ${this.#toleranceSec} seconds`);
    }
    const passed = signatures
      .split(' ')
      .map((entry) => entry.split(','))
      .filter((parts) => parts.length === 2 && parts[0] === 'v1')
      .map((parts) => Buffer.from(parts[1] ?? ''));
    let source: string | undefined;
    for (const secret of this.#secrets) {
      const expected = Buffer.from(secret.webhook.sign(msgId, new Date(seconds * 1000), rawBody).split(',')[1] ?? '');
      if (passed.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) {
        source = secret.name;
        break;
      }
    }
    if (source === undefined) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'webhook signature does not verify');
    }
    const first = await this.#store.rememberWebhookId(msgId, nowMs + this.#toleranceSec * 2 * 1000, nowMs);
    if (!first) {
      throw new ActraApprovalError('ACTRA_WEBHOOK_SIGNATURE', 'webhook-id was already used (replay refused)');
    }
    return { webhookId: msgId, source };
  }
}
