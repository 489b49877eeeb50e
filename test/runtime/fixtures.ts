/** A small refund policy and helpers shared by the runtime and observability tests. */
import { Actra } from '../../src/core/actra.js';
import type { Policy } from '../../src/core/types.js';
import type { DecisionDetail, DecisionEvent } from '../../src/runtime/types.js';

export const SCHEMA = `
version: 1
actions:
  refund:
    fields: { amount: number, currency: string, note: string? }
  transfer:
    fields: { amount: number }
  export:
    fields: { rows: number }
  ping:
    fields: { echo: string? }
actor:
  fields: { role: string, email: string? }
snapshot:
  fields: { fraud_flag: boolean, balance: number, limit: number, region: string }
`;

export const POLICY = `
version: 1
rules:
  - id: block_guest
    scope: { global: true }
    when: { subject: { domain: actor, field: role }, operator: equals, value: { literal: guest } }
    effect: block
    reason: actor.guest
  - id: block_fraud
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
    reason: refund.fraud
    message: Refunds are blocked on flagged accounts.
    risk: high
  - id: approve_large_refund
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: require_approval
    reason: refund.large
    risk: medium
    approval:
      ttl: 15m
      approvers: { subject: { domain: actor, field: role }, operator: equals, value: { literal: manager } }
  - id: block_transfer_fraud
    scope: { action: transfer }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
  - id: block_transfer_over_balance
    scope: { action: transfer }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { subject: { domain: snapshot, field: balance } } }
    effect: block
    reason: transfer.over_balance
  - id: block_export_over_limit
    scope: { action: export }
    when: { subject: { domain: action, field: rows }, operator: greater_than, value: { subject: { domain: snapshot, field: limit } } }
    effect: block
`;

let cached: Policy | undefined;

/** The compiled refund policy (compiled once per test file). */
export function refundPolicy(): Policy {
  cached ??= Actra.fromStrings(SCHEMA, POLICY);
  return cached;
}

/** Collects the events (and details) a runtime emits. */
export function collector(): { events: DecisionEvent[]; details: DecisionDetail[]; observer: (event: DecisionEvent, detail: DecisionDetail) => void } {
  const events: DecisionEvent[] = [];
  const details: DecisionDetail[] = [];
  return {
    events,
    details,
    observer(event, detail) {
      events.push(event);
      details.push(detail);
    },
  };
}

/** Resolves (or rejects) the first time it is awaited after `open()`; lets tests order concurrent work without timers. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; statusCode?: number; source?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
