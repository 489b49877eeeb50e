/** Outbound approval webhooks (real local receiver) and inbound signature verification. */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { Approvals } from '../../src/approvals/approvals.js';
import { backoffDelay } from '../../src/approvals/webhooks.js';
import { MemoryApprovalStore } from '../../src/approvals/stores/memory-store.js';
import type { Policy } from '../../src/core/types.js';
import type { ApprovalWebhookPayload } from '../../src/approvals/webhooks.js';
import { CLERK, MANAGER, loadPolicy, requestFor } from './fixtures/policy.js';
import { PROTOCOL_STORES, type ProtocolStore } from './fixtures/stores.js';
import { Receiver } from './fixtures/receiver.js';
import { rejection } from '../helpers/rejection.js';

const T0 = 1_800_000_000_000;
const secret = (): string => 'whsec_' + randomBytes(32).toString('base64');

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy();
});


describe('backoffDelay', () => {
  it('grows exponentially, is capped, and uses full jitter', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0.999999)).toBe(999);
    expect(backoffDelay(2, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(backoffDelay(20, 1000, 60_000, () => 0.5)).toBe(30_000);
    expect(backoffDelay(3, 1000, 60_000, () => 0)).toBe(0);
  });
});

for (const backend of PROTOCOL_STORES) {
  describe(`outbound webhooks on the ${backend.name} store`, () => {
    let fixture: ProtocolStore;
    let receiver: Receiver;
    let clock: number;
    let key: string;
    let approvals: Approvals;
    const refund = { type: 'refund', amount: 5000, currency: 'EUR' };

    function create(extra: { maxAttempts?: number; url?: string } = {}): Approvals {
      return new Approvals({
        store: fixture.store,
        policy,
        now: () => clock,
        random: () => 0.5,
        webhooks: { endpoints: [{ url: extra.url ?? receiver.url, secret: key }], baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: extra.maxAttempts ?? 8, timeoutMs: 5000 },
      });
    }

    beforeEach(async () => {
      fixture = await backend.create();
      receiver = new Receiver();
      await receiver.listen();
      clock = T0;
      key = secret();
      approvals = create();
    });
    afterEach(async () => {
      await approvals.close();
      await receiver.close();
      await fixture.dispose();
    });

    it('delivers approval.requested signed per Standard Webhooks, with the documented payload', async () => {
      const record = await approvals.open(requestFor(policy, { ...refund, note_to_self: 'not declared' }, { ...CLERK, email: 'clerk@example.com' }));
      expect(receiver.received).toHaveLength(0); // opening never waits for delivery
      expect(await approvals.dispatchNow()).toEqual({ claimed: 1, delivered: 1, retrying: 0, dead: 0 });
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0]!;
      expect(got.headers['content-type']).toBe('application/json');
      const [event] = await fixture.store.listOutbox({ limit: 10 });
      expect(got.headers['webhook-id']).toBe(event!.id);
      expect(got.headers['webhook-timestamp']).toMatch(/^\d+$/);
      const payload = Receiver.verify(key, got) as ApprovalWebhookPayload;
      expect(payload).toEqual({
        type: 'approval.requested',
        timestamp: new Date(T0).toISOString(),
        data: {
          approval: {
            id: record.id,
            status: 'pending',
            actionType: 'refund',
            ruleId: 'refund_needs_approval',
            reason: 'refund.large',
            policyHash: policy.policyHash(),
            requesterId: 'user-clerk',
            method: 'POST',
            route: '/refunds/:id',
            createdAt: new Date(T0).toISOString(),
            expiresAt: new Date(T0 + 15 * 60_000).toISOString(),
          },
          action: { type: 'refund', amount: 5000, currency: 'EUR' },
        },
      });
      // No undeclared action field and no actor claim reaches the receiver.
      expect(got.body).not.toContain('not declared');
      expect(got.body).not.toContain('clerk@example.com');
      expect((await fixture.store.listOutbox({ status: 'delivered', limit: 10 })).map((e) => e.id)).toEqual([event!.id]);
      // Nothing left to send.
      expect(await approvals.dispatchNow()).toEqual({ claimed: 0, delivered: 0, retrying: 0, dead: 0 });
    });

    it('shows redacted action fields as "[redacted]"', async () => {
      await approvals.close();
      approvals = new Approvals({ store: fixture.store, policy, now: () => clock, redact: ['currency'], webhooks: { endpoints: [{ url: receiver.url, secret: key }] } });
      await approvals.open(requestFor(policy, { ...refund, currency: 'XAU' }, CLERK));
      await approvals.dispatchNow();
      const payload = Receiver.verify(key, receiver.received[0]!) as ApprovalWebhookPayload;
      expect(payload.data.action).toEqual({ type: 'refund', amount: 5000, currency: '[redacted]' });
      expect(receiver.received[0]!.body).not.toContain('XAU');
    });

    it('delivers approval.decided, approval.consumed and approval.expired without action fields', async () => {
      const request = requestFor(policy, refund, CLERK);
      const { id } = await approvals.open(request);
      clock += 1000;
      await approvals.decide(id, { verdict: 'approve', approver: MANAGER, note: 'ok' });
      clock += 1000;
      await approvals.resume(id, request);
      const other = await approvals.open(requestFor(policy, { ...refund, amount: 2000 }, CLERK));
      clock = other.expiresAt;
      await approvals.expireDue();
      while ((await approvals.dispatchNow()).claimed > 0);
      const payloads = receiver.received.map((r) => Receiver.verify(key, r) as ApprovalWebhookPayload);
      const byType = new Map(payloads.map((p) => [`${p.type}:${p.data.approval.id}`, p]));
      expect(byType.get(`approval.decided:${id}`)?.data).toEqual({
        approval: expect.objectContaining({ id, status: 'approved', verdict: 'approve', decidedBy: 'user-manager', note: 'ok', decidedAt: new Date(T0 + 1000).toISOString() }),
      });
      expect(byType.get(`approval.consumed:${id}`)?.data).toEqual({
        approval: expect.objectContaining({ id, status: 'consumed', consumedAt: new Date(T0 + 2000).toISOString() }),
      });
      expect(byType.get(`approval.expired:${other.id}`)?.data).toEqual({ approval: expect.objectContaining({ id: other.id, status: 'expired' }) });
      expect(payloads).toHaveLength(5);
    });

    it('retries a failing receiver with exponential backoff and full jitter, keeping the webhook-id, then delivers', async () => {
      receiver.statuses = [500, 503];
      await approvals.open(requestFor(policy, refund, CLERK));
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, retrying: 1 });
      let [event] = await fixture.store.listOutbox({ limit: 10 });
      expect(event).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: T0 + 500, lastError: 'endpoint 0: HTTP 500' });
      // Not due yet: nothing is sent.
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 0 });
      clock = T0 + 500;
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, retrying: 1 });
      [event] = await fixture.store.listOutbox({ limit: 10 });
      expect(event).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: T0 + 500 + 1000, lastError: 'endpoint 0: HTTP 503' });
      clock = T0 + 1500;
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, delivered: 1 });
      [event] = await fixture.store.listOutbox({ limit: 10 });
      expect(event).toMatchObject({ status: 'delivered', deliveredAt: T0 + 1500 });
      expect(receiver.received.map((r) => r.status)).toEqual([500, 503, 204]);
      expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([event!.id]));
      for (const got of receiver.received) expect(Receiver.verify(key, got)).toMatchObject({ type: 'approval.requested' });
      expect(JSON.stringify(event)).not.toContain('receiver body');
    });

    it('dead-letters an event after maxAttempts, lists it, and redelivers it on request', async () => {
      await approvals.close();
      approvals = create({ maxAttempts: 3 });
      receiver.fallback = 500;
      await approvals.open(requestFor(policy, refund, CLERK));
      const reports = [];
      for (let i = 0; i < 3; i++) {
        reports.push(await approvals.dispatchNow());
        clock += 60_000;
      }
      expect(reports.map((r) => [r.retrying, r.dead])).toEqual([
        [1, 0],
        [1, 0],
        [0, 1],
      ]);
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 0 });
      const dead = await approvals.listDeadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ status: 'dead', attempts: 3, type: 'approval.requested', lastError: 'endpoint 0: HTTP 500' });

      receiver.fallback = 200;
      expect(await approvals.redeliver(dead[0]!.id)).toBe(true);
      expect(await approvals.redeliver('msg_unknown')).toBe(false);
      expect(await approvals.listDeadLetters()).toEqual([]);
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, delivered: 1 });
      expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 500, 200]);
      expect(receiver.received.at(-1)?.headers['webhook-id']).toBe(dead[0]!.id);
    });

    it('loses nothing while the receiver is down, and delivers once it is back', async () => {
      await receiver.close();
      const { id } = await approvals.open(requestFor(policy, refund, CLERK));
      await approvals.decide(id, { verdict: 'deny', approver: MANAGER });
      const report = await approvals.dispatchNow();
      expect(report).toMatchObject({ claimed: 2, retrying: 2, delivered: 0 });
      const waiting = await fixture.store.listOutbox({ status: 'pending', limit: 10 });
      expect(waiting).toHaveLength(2);
      for (const event of waiting) expect(event.lastError).toMatch(/^endpoint 0: network error/);

      await receiver.listen(); // the same port again
      clock += 60_000;
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 2, delivered: 2 });
      expect(receiver.received.map((r) => (Receiver.verify(key, r) as ApprovalWebhookPayload).type).sort()).toEqual(['approval.decided', 'approval.requested']);
    });

    it('gives up on a receiver that does not answer within timeoutMs and retries later', async () => {
      await approvals.close();
      approvals = new Approvals({ store: fixture.store, policy, now: () => clock, webhooks: { endpoints: [{ url: receiver.url, secret: key }], timeoutMs: 50 } });
      receiver.statuses = [0];
      await approvals.open(requestFor(policy, refund, CLERK));
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, retrying: 1 });
      const [event] = await fixture.store.listOutbox({ limit: 10 });
      expect(event).toMatchObject({ status: 'pending', attempts: 1, lastError: 'endpoint 0: timed out' });
      clock += 60_000;
      expect(await approvals.dispatchNow()).toMatchObject({ claimed: 1, delivered: 1 });
    });

    it('sends each event to every endpoint, each signed with its own secret', async () => {
      const second = new Receiver();
      await second.listen();
      const key2 = secret();
      await approvals.close();
      approvals = new Approvals({
        store: fixture.store,
        policy,
        now: () => clock,
        webhooks: { endpoints: [{ url: receiver.url, secret: key }, { url: second.url, secret: key2 }] },
      });
      await approvals.open(requestFor(policy, refund, CLERK));
      expect(await approvals.dispatchNow()).toMatchObject({ delivered: 1 });
      expect(Receiver.verify(key, receiver.received[0]!)).toMatchObject({ type: 'approval.requested' });
      expect(Receiver.verify(key2, second.received[0]!)).toMatchObject({ type: 'approval.requested' });
      expect(() => Receiver.verify(key, second.received[0]!)).toThrow();
      await second.close();
    });

    it('delivers in the background after start(), never during open()', async () => {
      await approvals.close();
      approvals = new Approvals({ store: fixture.store, policy, webhooks: { endpoints: [{ url: receiver.url, secret: key }] }, sweepIntervalMs: 10 });
      await approvals.open(requestFor(policy, refund, CLERK));
      expect(receiver.received).toHaveLength(0);
      approvals.start();
      while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await approvals.stop();
      expect((await fixture.store.listOutbox({ status: 'delivered', limit: 10 })).length).toBe(1);
    });
  });
}

describe('without endpoints', () => {
  it('keeps events in the outbox, undelivered, until endpoints are configured', async () => {
    const store = new MemoryApprovalStore();
    await store.init();
    const bare = new Approvals({ store, policy });
    await bare.open(requestFor(policy, { type: 'refund', amount: 5000, currency: 'EUR' }, CLERK));
    expect(await bare.dispatchNow()).toEqual({ claimed: 0, delivered: 0, retrying: 0, dead: 0 });
    expect(await store.listOutbox({ status: 'pending', limit: 10 })).toHaveLength(1);

    const receiver = new Receiver();
    await receiver.listen();
    const key = secret();
    const configured = new Approvals({ store, policy, webhooks: { endpoints: [{ url: receiver.url, secret: key }] } });
    expect(await configured.dispatchNow()).toMatchObject({ claimed: 1, delivered: 1 });
    expect(Receiver.verify(key, receiver.received[0]!)).toMatchObject({ type: 'approval.requested' });
    await receiver.close();
  });
});

describe('inbound webhook verification', () => {
  let store: MemoryApprovalStore;
  let approvals: Approvals;
  const inbound = secret();
  const rotated = secret();

  beforeEach(async () => {
    store = new MemoryApprovalStore();
    await store.init();
    approvals = new Approvals({ store, policy, inboundSecrets: [{ name: 'chatops', secret: inbound }, rotated], inboundToleranceSec: 300 });
  });

  function signed(body: string, options: { key?: string; id?: string; at?: Date } = {}): Record<string, string> {
    const id = options.id ?? 'msg_' + randomBytes(12).toString('base64url');
    const at = options.at ?? new Date();
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(options.key ?? inbound).sign(id, at, body),
    };
  }

  it('accepts a correctly signed request and names the secret that verified it', async () => {
    const body = '{"decision":"approve"}';
    const headers = signed(body);
    expect(await approvals.verifyInbound(body, headers)).toEqual({ webhookId: headers['webhook-id'], source: 'chatops' });
    const second = signed(body, { key: rotated });
    expect(await approvals.verifyInbound(body, second)).toEqual({ webhookId: second['webhook-id'], source: 'inbound-1' });
  });

  it('accepts when one of several signatures verifies (secret rotation on the sender)', async () => {
    const body = '{"decision":"deny"}';
    const headers = signed(body);
    const forged = new Webhook(secret()).sign(headers['webhook-id']!, new Date(), body);
    headers['webhook-signature'] = `${forged} ${headers['webhook-signature']}`;
    expect((await approvals.verifyInbound(body, headers)).source).toBe('chatops');
  });

  it('refuses a forged signature', async () => {
    const body = '{"decision":"approve"}';
    const error = await rejection(approvals.verifyInbound(body, signed(body, { key: secret() })));
    expect(error.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
    expect(error.statusCode).toBe(401);
    expect(error.message).toBe('webhook signature does not verify');
  });

  it('refuses a body changed after signing', async () => {
    const headers = signed('{"decision":"deny"}');
    const error = await rejection(approvals.verifyInbound('{"decision":"approve"}', headers));
    expect(error.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
    expect(error.message).toBe('webhook signature does not verify');
  });

  it('refuses a timestamp outside the tolerance, in the past or the future', async () => {
    const body = '{"decision":"approve"}';
    for (const offset of [-301_000, 301_000]) {
      const error = await rejection(approvals.verifyInbound(body, signed(body, { at: new Date(Date.now() + offset) })));
      expect(error.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
      expect(error.message).toBe('webhook-timestamp is outside the tolerance of 300 seconds');
    }
  });

  it('refuses a replayed webhook-id, even with a fresh signature', async () => {
    const body = '{"decision":"approve"}';
    const headers = signed(body);
    await approvals.verifyInbound(body, headers);
    const replay = await rejection(approvals.verifyInbound(body, headers));
    expect(replay.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
    expect(replay.message).toBe('webhook-id was already used (replay refused)');
    const resigned = await rejection(approvals.verifyInbound(body, signed(body, { id: headers['webhook-id']! })));
    expect(resigned.message).toBe('webhook-id was already used (replay refused)');
  });

  it('does not burn a webhook-id on a forged request', async () => {
    const body = '{"decision":"approve"}';
    const id = 'msg_' + randomBytes(12).toString('base64url');
    await rejection(approvals.verifyInbound(body, signed(body, { id, key: secret() })));
    expect((await approvals.verifyInbound(body, signed(body, { id }))).webhookId).toBe(id);
  });

  it('refuses missing headers and malformed timestamps', async () => {
    const body = '{}';
    const headers = signed(body);
    const missing = await rejection(approvals.verifyInbound(body, { 'webhook-id': headers['webhook-id']! }));
    expect(missing.message).toBe('webhook-id, webhook-timestamp and webhook-signature headers are required');
    const malformed = await rejection(approvals.verifyInbound(body, { ...headers, 'webhook-timestamp': '12e9' }));
    expect(malformed.message).toBe('webhook-timestamp is not a number of seconds');
  });

  it('refuses every signed request when no inbound secret is configured', async () => {
    const bare = new Approvals({ store, policy });
    const body = '{}';
    const error = await rejection(bare.verifyInbound(body, signed(body)));
    expect(error.code).toBe('ACTRA_WEBHOOK_SIGNATURE');
    expect(error.message).toBe('signed webhook decisions are not enabled (no inbound secret configured)');
  });
});
