/** The refunds API on Hono 4: `actraMiddleware` as app middleware, `guard()` per route, the decision from `c.get('actra')`. */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { actraMiddleware, guard } from '../../adapters/hono.js';
import { devAuth } from '../shared/dev-auth.js';
import { ACTORS } from '../shared/refunds.js';
import { closeServer, isMain, refundsStack, type RefundsExampleOptions, type RunningExample } from '../shared/setup.js';

/**
 * Starts the Hono refunds API on 127.0.0.1 (through @hono/node-server).
 * @example `const app = await start({ port: 0, dataDir: '.actra-data/hono' }); await app.close();`
 */
export async function start(options: RefundsExampleOptions): Promise<RunningExample> {
  const stack = await refundsStack(options);
  const { desk } = stack;
  const app = new Hono();
  app.use(
    actraMiddleware({
      policy: stack.policy,
      mode: stack.mode,
      jwt: stack.auth.jwt,
      approvals: stack.approvals,
      loaders: stack.loaders,
      observers: [stack.decisionLog],
      // Actra-Decision-Id and X-Request-Id on allowed responses too (refusals always carry them)
      decisionHeaders: true,
    }),
  );

  app.get('/orders/:id', guard('read_order', { fields: { order_id: 'params.id' } }), function getOrder(c) {
    const order = desk.order(c.req.param('id'));
    if (order === undefined) return c.json({ error: 'order not found' }, 404);
    return c.json({ order, decisionId: c.get('actra')?.decisionId });
  });

  app.post('/refunds', guard('refund'), async function createRefund(c) {
    const body = await c.req.json<{ order_id: string; amount: number; currency: string }>();
    const decision = c.get('actra'); // set by guard('refund'): the handler only runs once admitted
    if (decision === undefined) throw new Error('POST /refunds is not guarded');
    const refund = desk.refund({ orderId: body.order_id, amount: body.amount, currency: body.currency, issuedBy: decision.actor.id });
    if (refund === undefined) return c.json({ error: 'order not found' }, 404);
    return c.json({ refund, decisionId: decision.decisionId, approvalId: decision.approval?.id }, 201);
  });

  const server: ServerType = await new Promise(function listening(resolve) {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3003, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    auth: stack.auth,
    desk,
    close: async function closeHonoExample() {
      await closeServer(server as unknown as Parameters<typeof closeServer>[0]);
      await stack.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const auth = devAuth({ audience: 'refunds-api' });
  const running = await start({ port: Number(process.env.PORT ?? 3003), dataDir: process.env.ACTRA_DATA_DIR ?? '.actra-data/hono-refunds', auth });
  const alice = await auth.sign('alice', ACTORS.alice);
  process.stdout.write(`Hono refunds API on ${running.url}\n\nexport ALICE=${alice}\ncurl -s -X POST ${running.url}/refunds -H "Authorization: Bearer $ALICE" -H 'content-type: application/json' -d '{"order_id":"ord_1001","amount":40,"currency":"usd"}'\n`);
  process.once('SIGINT', () => void running.close().then(() => process.exit(0)));
}
