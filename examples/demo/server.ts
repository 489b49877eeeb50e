/**
 * The demo: the refunds API on 127.0.0.1 on embedded defaults (SQLite approvals and a JSON-lines
 * decision log in `.actra-data/`, a development signing key made at start), printing
 * ready-to-paste curl commands for three actors. `--walkthrough` runs the seven steps itself.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Mode } from '../../src/runtime/types.js';
import { start as startExpressRefunds } from '../express-refunds/server.js';
import { devAuth, type DevAuth } from '../shared/dev-auth.js';
import { ACTORS } from '../shared/refunds.js';
import { isMain } from '../shared/setup.js';
import { EXPECTED_STATUSES, LARGE_REFUND, runWalkthrough, type WalkthroughStep, type WalkthroughTokens } from '../shared/walkthrough.js';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Port on 127.0.0.1 (default 3000; when taken, a free one is picked). 0 picks a free one. */
  readonly port?: number;
  /** Data directory (default `.actra-data` in the working directory; created). */
  readonly dataDir?: string;
  /** `enforce` (default) or `monitor` / `warn`. */
  readonly mode?: Mode;
  /** Print nothing. */
  readonly quiet?: boolean;
}

/** A running demo. */
export interface RunningDemo {
  readonly url: string;
  readonly dataDir: string;
  readonly tokens: WalkthroughTokens;
  readonly auth: DevAuth;
  /** The printed shell walkthrough. */
  readonly instructions: string;
  close(): Promise<void>;
}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

/**
 * Starts the demo server.
 * @example `const demo = await startDemo({ port: 0, dataDir: '/tmp/demo', quiet: true });`
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const dataDir = resolve(options.dataDir ?? '.actra-data');
  const auth = devAuth({ issuer: 'actra-demo', audience: 'refunds-api' });
  const mode = options.mode ?? 'enforce';
  const wanted = options.port ?? 3000;
  let app;
  try {
    app = await startExpressRefunds({ port: wanted, dataDir, mode, auth });
  } catch (error) {
    if (!isAddressInUse(error) || wanted === 0) throw error;
    app = await startExpressRefunds({ port: 0, dataDir, mode, auth });
    if (options.quiet !== true) process.stdout.write(`Port ${wanted} is in use; using a free port instead.\n`);
  }
  const tokens: WalkthroughTokens = {
    alice: await auth.sign('alice', ACTORS.alice),
    fran: await auth.sign('fran', ACTORS.fran),
    mallory: await auth.sign('mallory', ACTORS.mallory),
  };
  const instructions = demoInstructions(app.url, tokens, dataDir, mode);
  if (options.quiet !== true) process.stdout.write(instructions);
  return { url: app.url, dataDir, tokens, auth, instructions, close: () => app.close() };
}

/** Runs the seven-step walkthrough against a running demo and returns each step. */
export function runDemoWalkthrough(url: string, tokens: WalkthroughTokens, print?: (line: string) => void): Promise<WalkthroughStep[]> {
  return runWalkthrough(url, tokens, print);
}

export { startDemo as start, EXPECTED_STATUSES };

function hasJq(): boolean {
  try {
    return spawnSync('jq', ['--version'], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}

/** The printed, copy-pasteable shell walkthrough. */
export function demoInstructions(url: string, tokens: WalkthroughTokens, dataDir: string, mode: Mode, jq = hasJq()): string {
  const json = `-H 'content-type: application/json'`;
  const show = `-w ' → HTTP %{http_code}\\n'`;
  const large = JSON.stringify(LARGE_REFUND);
  const extract = jq ? `jq -r .approvalId` : `sed -E 's/.*"approvalId":"([^"]+)".*/\\1/'`;
  return `
Actra demo: a refunds API on ${url} (mode: ${mode})
  approvals and the decision log are in ${dataDir}
  policy: examples/policies/refunds (refunds over 1,000 need a finance lead; fraud-flagged accounts are blocked)

Paste these into a shell (the tokens are signed with a key made at start and die with the demo):

export API=${url}
export ALICE=${tokens.alice}
export FRAN=${tokens.fran}
export MALLORY=${tokens.mallory}

# 1. alice (support agent) refunds 40 USD: allowed → 201
curl -s ${show} -X POST $API/refunds -H "Authorization: Bearer $ALICE" ${json} -d '{"order_id":"ord_1001","amount":40,"currency":"usd"}'

# 2. mallory (flagged for fraud) refunds 25 USD: blocked → 403, reason refund.fraud_flag
curl -s ${show} -X POST $API/refunds -H "Authorization: Bearer $MALLORY" ${json} -d '{"order_id":"ord_1003","amount":25,"currency":"usd"}'

# 3. alice refunds 2,500 EUR: needs a finance lead's approval → 202 with an approvalId
APPROVAL_ID=$(curl -s -X POST $API/refunds -H "Authorization: Bearer $ALICE" ${json} -d '${large}' | ${extract}); echo "APPROVAL_ID=$APPROVAL_ID"

# 4. alice tries to approve her own request: refused → 403
curl -s ${show} -X POST $API/actra/approvals/$APPROVAL_ID/decision -H "Authorization: Bearer $ALICE" ${json} -d '{"decision":"approve"}'

# 5. fran (finance lead) approves → 200
curl -s ${show} -X POST $API/actra/approvals/$APPROVAL_ID/decision -H "Authorization: Bearer $FRAN" ${json} -d '{"decision":"approve"}'

# 6. alice repeats the request with the approval: the refund runs, once → 201
curl -s ${show} -X POST $API/refunds -H "Authorization: Bearer $ALICE" -H "Actra-Approval: $APPROVAL_ID" ${json} -d '${large}'

# 7. and once more: the approval is used → 403
curl -s ${show} -X POST $API/refunds -H "Authorization: Bearer $ALICE" -H "Actra-Approval: $APPROVAL_ID" ${json} -d '${large}'

Then see what a stricter policy would have changed:
  npx actra replay examples/policies/refunds --log ${join(dataDir, 'decisions.jsonl')}

Or let the demo run the seven steps itself: npm run demo -- --walkthrough
Stop with Ctrl-C.
`;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { walkthrough: { type: 'boolean', default: false }, mode: { type: 'string' }, port: { type: 'string' } } });
  const mode = (values.mode ?? process.env.ACTRA_MODE ?? 'enforce') as Mode;
  if (!['enforce', 'monitor', 'warn'].includes(mode)) {
    process.stderr.write(`demo: --mode must be enforce, monitor or warn\n`);
    process.exit(2);
  }
  const demo = await startDemo({ port: Number(values.port ?? process.env.PORT ?? 3000), mode, quiet: values.walkthrough });
  if (values.walkthrough) {
    process.stdout.write(`Actra demo on ${demo.url}: running the walkthrough\n\n`);
    const steps = await runDemoWalkthrough(demo.url, demo.tokens);
    await demo.close();
    const ok = mode !== 'enforce' || steps.every((s, i) => s.status === EXPECTED_STATUSES[i]);
    process.stdout.write(ok ? `\nAll seven steps answered as expected. Decision log: ${join(demo.dataDir, 'decisions.jsonl')}\n` : `\nSome steps did not answer as expected.\n`);
    process.exitCode = ok ? 0 : 1;
  } else {
    const stop = () => void demo.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
}
