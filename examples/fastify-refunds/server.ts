/** The refunds API on Fastify 5: `actraPlugin` registered once, the action declared in each route's `config`. */
import Fastify from 'fastify';
import { actraPlugin } from '../../adapters/fastify.js';
import { devAuth } from '../shared/dev-auth.js';
import { ACTORS } from '../shared/refunds.js';
import { isMain, refundsStack, type RefundsExampleOptions, type RunningExample } from '../shared/setup.js';

/**
 * Starts the Fastify refunds API on 127.0.0.1.
 * @example `const app = await start({ port: 0, dataDir: '.actra-data/fastify' }); await app.close();`
 */
export async function start(options: RefundsExampleOptions): Promise<RunningExample> {
  const stack = await refundsStack(options);
  const { desk } = stack;
  const app = Fastify();
  await app.register(actraPlugin, {
    policy: stack.policy,
    mode: stack.mode,
    jwt: stack.auth.jwt,
    approvals: stack.approvals,
    loaders: stack.loaders,
    observers: [stack.decisionLog],
    // Actra-Decision-Id and X-Request-Id on allowed responses too (refusals always carry them)
    decisionHeaders: true,
  });

  app.get<{ Params: { id: string } }>(
    '/orders/:id',
    { config: { actra: { action: 'read_order', fields: { order_id: 'params.id' } } } },
    async function getOrder(request, reply) {
      const order = desk.order(request.params.id);
      if (order === undefined) return reply.code(404).send({ error: 'order not found' });
      return { order, decisionId: request.actra?.decisionId };
    },
  );

  app.post<{ Body: { order_id: string; amount: number; currency: string } }>(
    '/refunds',
    {
      config: { actra: 'refund' },
      // Fastify validates the body first; Actra runs in preHandler, after validation
      schema: {
        body: {
          type: 'object',
          required: ['order_id', 'amount', 'currency'],
          properties: { order_id: { type: 'string' }, amount: { type: 'number' }, currency: { type: 'string' } },
        },
      },
    },
    async function createRefund(request, reply) {
      const { order_id, amount, currency } = request.body;
      const refund = desk.refund({ orderId: order_id, amount, currency, issuedBy: request.actra?.actor.id ?? 'unknown' });
      if (refund === undefined) return reply.code(404).send({ error: 'order not found' });
      return reply.code(201).send({ refund, decisionId: request.actra?.decisionId, approvalId: request.actra?.approval?.id });
    },
  );

  const address = await app.listen({ port: options.port ?? 3002, host: '127.0.0.1' });
  return {
    url: address.replace('localhost', '127.0.0.1'),
    auth: stack.auth,
    desk,
    close: async function closeFastifyExample() {
      await app.close();
      await stack.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const auth = devAuth({ audience: 'refunds-api' });
  const running = await start({ port: Number(process.env.PORT ?? 3002), dataDir: process.env.ACTRA_DATA_DIR ?? '.actra-data/fastify-refunds', auth });
  const alice = await auth.sign('alice', ACTORS.alice);
  process.stdout.write(`Fastify refunds API on ${running.url}\n\nexport ALICE=${alice}\ncurl -s -X POST ${running.url}/refunds -H "Authorization: Bearer $ALICE" -H 'content-type: application/json' -d '{"order_id":"ord_1001","amount":40,"currency":"usd"}'\n`);
  process.once('SIGINT', () => void running.close().then(() => process.exit(0)));
}
