/** What every refunds example builds before its framework app: policy, SQLite approvals, decision log, auth, data. */
import { mkdirSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Actra } from '../../src/core/actra.js';
import type { Policy } from '../../src/core/types.js';
import { Approvals } from '../../src/approvals/approvals.js';
import { SqliteApprovalStore } from '../../src/approvals/stores/sqlite-store.js';
import { jsonlDecisionLog, type DecisionLog } from '../../src/observability/decision-log.js';
import type { Mode, SnapshotLoader } from '../../src/runtime/types.js';
import { devAuth, type DevAuth } from './dev-auth.js';
import { examplePolicyDir, refundLoaders, RefundsDesk } from './refunds.js';

/** Options every refunds example's `start()` accepts. */
export interface RefundsExampleOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
  /** Where `approvals.db` and `decisions.jsonl` live (created). */
  readonly dataDir: string;
  /** `enforce` (default), `monitor` or `warn`. */
  readonly mode?: Mode;
  /** Signing key and token options; a fresh development key by default. */
  readonly auth?: DevAuth;
}

/** A running example. */
export interface RunningExample {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly auth: DevAuth;
  readonly desk: RefundsDesk;
  close(): Promise<void>;
}

/** The parts shared by the three refunds servers. */
export interface RefundsStack {
  readonly policy: Policy;
  readonly approvals: Approvals;
  readonly decisionLog: DecisionLog;
  readonly auth: DevAuth;
  readonly desk: RefundsDesk;
  readonly loaders: SnapshotLoader<never>[];
  readonly mode: Mode;
  /** Stops approvals, closes the store and the log. */
  close(): Promise<void>;
}

/** Compiles the refunds policy and opens the SQLite approval store and the JSON-lines decision log in `dataDir`. */
export async function refundsStack(options: RefundsExampleOptions, auth?: DevAuth): Promise<RefundsStack> {
  mkdirSync(options.dataDir, { recursive: true });
  const policy = Actra.fromDirectory(examplePolicyDir('refunds'));
  const store = new SqliteApprovalStore({ path: join(options.dataDir, 'approvals.db') });
  await store.init();
  const approvals = new Approvals({ store, policy });
  approvals.start();
  const decisionLog = jsonlDecisionLog({ path: join(options.dataDir, 'decisions.jsonl') });
  return {
    policy,
    approvals,
    decisionLog,
    auth: auth ?? options.auth ?? devAuth({ audience: 'refunds-api' }),
    desk: new RefundsDesk(),
    loaders: refundLoaders<never>(),
    mode: options.mode ?? 'enforce',
    close: async function closeRefundsStack() {
      await approvals.close();
      await store.close();
      await decisionLog.close();
    },
  };
}

/** Closes a node:http server and resolves when it has stopped. */
export function closeServer(server: { close(cb: (err?: Error) => void): void; closeAllConnections?: () => void }): Promise<void> {
  return new Promise(function closing(resolve, reject) {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections?.();
  });
}

/** True when this module is the process's entry point (`node dist/examples/x/server.js`). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === moduleUrl;
  } catch {
    return false;
  }
}
