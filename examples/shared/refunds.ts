/** The refunds domain shared by the examples: orders, refunds, the actors, and the snapshot loaders. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SnapshotLoader } from '../../src/runtime/types.js';

/** An order a refund can be issued for. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly total: number;
  readonly currency: string;
}

/** An issued refund. */
export interface Refund {
  readonly id: string;
  readonly orderId: string;
  readonly amount: number;
  readonly currency: string;
  readonly issuedBy: string;
}

/** The three development actors: a support agent, a finance lead, and an account flagged for fraud. */
export const ACTORS = {
  alice: { role: 'support_agent', department: 'support' },
  fran: { role: 'finance_lead', department: 'finance' },
  mallory: { role: 'support_agent', department: 'support' },
} as const;

/** Actor ids the fraud loader flags. */
export const FRAUD_FLAGGED: ReadonlySet<string> = new Set(['mallory']);

/**
 * The directory of a bundled policy (`examples/policies/<name>`), found from this module both
 * when it runs from the sources and when it runs compiled from `dist/`.
 */
export function examplePolicyDir(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../policies', name), resolve(here, '../../../examples/policies', name)];
  const found = candidates.find((dir) => existsSync(join(dir, 'policy.yaml')));
  if (found === undefined) throw new Error(`example policy "${name}" not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** In-memory orders and refunds. */
export class RefundsDesk {
  readonly #orders = new Map<string, Order>();
  readonly refunds: Refund[] = [];

  constructor(orders: readonly Order[] = DEFAULT_ORDERS) {
    for (const order of orders) this.#orders.set(order.id, order);
  }

  order(id: string): Order | undefined {
    return this.#orders.get(id);
  }

  /** Issues a refund. Returns undefined when the order is unknown. */
  refund(input: { orderId: string; amount: number; currency: string; issuedBy: string }): Refund | undefined {
    if (!this.#orders.has(input.orderId)) return undefined;
    const refund: Refund = { id: `rf_${randomUUID().slice(0, 8)}`, ...input };
    this.refunds.push(refund);
    return refund;
  }
}

/** Orders every example starts with. */
export const DEFAULT_ORDERS: readonly Order[] = [
  { id: 'ord_1001', customerId: 'cus_1', total: 120, currency: 'usd' },
  { id: 'ord_1002', customerId: 'cus_2', total: 2500, currency: 'eur' },
  { id: 'ord_1003', customerId: 'cus_3', total: 80, currency: 'usd' },
];

/**
 * Snapshot loaders of the refunds policy: the fraud flag (keyed by the actor's id) and the
 * account freeze. The runtime calls each only when a rule that can be reached reads its field.
 */
export function refundLoaders<Ctx = unknown>(flagged: ReadonlySet<string> = FRAUD_FLAGGED): SnapshotLoader<Ctx>[] {
  return [
    {
      name: 'fraud',
      fields: ['fraud_flag'],
      load: function loadFraudFlag({ actor }) {
        return { fraud_flag: flagged.has(actor.id) };
      },
    },
    {
      name: 'accounts',
      fields: ['account_frozen'],
      load: function loadAccountFreeze() {
        return { account_frozen: false };
      },
    },
  ];
}
