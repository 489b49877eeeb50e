/** The refunds API on Express 5: `actraMiddleware` for the app, `guard()` per route and a route table entry. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { actraMiddleware, captureRawBody, guard } from '../../adapters/express.js';
import { devAuth } from '../shared/dev-auth.js';
import { ACTORS } from '../shared/refunds.js';
import { closeServer, isMain, refundsStack, type RefundsExampleOptions, type RunningExample } from '../shared/setup.js';

/**
 * Starts the Express refunds API on 127.0.0.1.
 * @example `const app = await start({ port: 0, dataDir: '.actra-data/express' }); await app.close();`
 */
export async function start(options: RefundsExampleOptions): Promise<RunningExample> {
  const stack = await refundsStack(options);
  const { desk } = stack;
  const app = express();
  // the raw body lets signed approval webhooks be verified
  app.use(express.json({ verify: (req, res, buf) => captureRawBody(req as { rawBody?: string }, res, buf) }));
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
      // a route table entry: the order id comes from the path
      routes: { 'GET /orders/:id': { action: 'read_order', fields: { order_id: 'params.id' } } },
    }),
  );

  app.get('/orders/:id', function getOrder(req: Request<{ id: string }>, res: Response) {
    const order = desk.order(req.params.id);
    if (order === undefined) return void res.status(404).json({ error: 'order not found' });
    res.json({ order, decisionId: req.actra?.decisionId });
  });

  // a route-level guard: the action fields come from the JSON body
  app.post('/refunds', guard('refund'), function createRefund(req: Request, res: Response) {
    const body = req.body as { order_id?: unknown; amount?: unknown; currency?: unknown };
    const refund = desk.refund({ orderId: String(body.order_id), amount: Number(body.amount), currency: String(body.currency), issuedBy: req.actra?.actor.id ?? 'unknown' });
    if (refund === undefined) return void res.status(404).json({ error: 'order not found' });
    res.status(201).json({ refund, decisionId: req.actra?.decisionId, approvalId: req.actra?.approval?.id });
  });

  let server: Server;
  try {
    server = await new Promise<Server>(function listening(resolve, reject) {
      const s = app.listen(options.port ?? 3001, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
    });
  } catch (error) {
    await stack.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    auth: stack.auth,
    desk,
    close: async function closeExpressExample() {
      await closeServer(server);
      await stack.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const auth = devAuth({ audience: 'refunds-api' });
  const running = await start({ port: Number(process.env.PORT ?? 3001), dataDir: process.env.ACTRA_DATA_DIR ?? '.actra-data/express-refunds', auth });
  const alice = await auth.sign('alice', ACTORS.alice);
  process.stdout.write(`Express refunds API on ${running.url}\n\nexport ALICE=${alice}\ncurl -s -X POST ${running.url}/refunds -H "Authorization: Bearer $ALICE" -H 'content-type: application/json' -d '{"order_id":"ord_1001","amount":40,"currency":"usd"}'\n`);
  process.once('SIGINT', () => void running.close().then(() => process.exit(0)));
}
