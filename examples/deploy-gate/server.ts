/**
 * A deploy gate on Hono: deploys are blocked outside working hours (the clock is a snapshot
 * loader, so tests inject it), production deploys wait for a release manager's approval.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { actraMiddleware, guard } from '../../adapters/hono.js';
import { Approvals } from '../../src/approvals/approvals.js';
import { SqliteApprovalStore } from '../../src/approvals/stores/sqlite-store.js';
import { Actra } from '../../src/core/actra.js';
import { jsonlDecisionLog } from '../../src/observability/decision-log.js';
import type { SnapshotLoader } from '../../src/runtime/types.js';
import { devAuth, type DevAuth } from '../shared/dev-auth.js';
import { examplePolicyDir } from '../shared/refunds.js';
import { closeServer, isMain } from '../shared/setup.js';

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The development actors: an engineer and a release manager. */
export const DEPLOY_ACTORS = {
  erin: { role: 'engineer', teams: ['payments'] },
  rita: { role: 'release_manager', teams: ['platform'] },
} as const;

/** Switches the snapshot loaders read (a change freeze, an open incident). */
export interface GateState {
  changeFreeze: boolean;
  incidentOpen: boolean;
}

/** Options of {@link start}. */
export interface DeployGateOptions {
  readonly port?: number;
  readonly dataDir: string;
  /** The clock the `hour_utc` / `weekday` loader reads (default: now). */
  readonly clock?: () => Date;
  readonly auth?: DevAuth;
}

/** A running deploy gate. */
export interface RunningDeployGate {
  readonly url: string;
  readonly auth: DevAuth;
  readonly state: GateState;
  /** Deploys that actually ran. */
  readonly deploys: { service: string; environment: string; version: string; by: string }[];
  close(): Promise<void>;
}

/** The snapshot loaders: the clock (hour and weekday, UTC) and the gate's switches. */
export function deployLoaders<Ctx>(clock: () => Date, state: GateState): SnapshotLoader<Ctx>[] {
  return [
    {
      name: 'clock',
      fields: ['hour_utc', 'weekday'],
      load: function loadClock() {
        const now = clock();
        return { hour_utc: now.getUTCHours(), weekday: WEEKDAYS[now.getUTCDay()] };
      },
    },
    { name: 'freeze', fields: ['change_freeze'], load: () => ({ change_freeze: state.changeFreeze }) },
    { name: 'incidents', fields: ['incident_open'], load: () => ({ incident_open: state.incidentOpen }) },
  ];
}

/**
 * Starts the deploy gate on 127.0.0.1.
 * @example `const gate = await start({ port: 0, dataDir: '.actra-data/deploy', clock: () => new Date('2026-03-03T10:00:00Z') });`
 */
export async function start(options: DeployGateOptions): Promise<RunningDeployGate> {
  mkdirSync(options.dataDir, { recursive: true });
  const policy = Actra.fromDirectory(examplePolicyDir('deploy'));
  const store = new SqliteApprovalStore({ path: join(options.dataDir, 'approvals.db') });
  await store.init();
  const approvals = new Approvals({ store, policy });
  approvals.start();
  const log = jsonlDecisionLog({ path: join(options.dataDir, 'decisions.jsonl') });
  const auth = options.auth ?? devAuth({ audience: 'deploy-gate' });
  const state: GateState = { changeFreeze: false, incidentOpen: false };
  const deploys: RunningDeployGate['deploys'] = [];

  const app = new Hono();
  app.use(actraMiddleware({ policy, jwt: auth.jwt, approvals, loaders: deployLoaders(options.clock ?? (() => new Date()), state), observers: [log] }));
  app.post('/deploys', guard('deploy'), async function deploy(c) {
    const body = await c.req.json<{ service: string; environment: string; version: string }>();
    const decision = c.get('actra'); // set by guard('deploy'): the handler only runs once admitted
    if (decision === undefined) throw new Error('POST /deploys is not guarded');
    const record = { service: body.service, environment: body.environment, version: body.version, by: decision.actor.id };
    deploys.push(record);
    return c.json({ deployed: record, decisionId: decision.decisionId }, 201);
  });
  app.post('/rollbacks', guard('rollback'), async function rollback(c) {
    const body = await c.req.json<{ service: string; environment: string }>();
    return c.json({ rolledBack: body.service, environment: body.environment }, 201);
  });

  const server: ServerType = await new Promise(function listening(resolve) {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3004, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    auth,
    state,
    deploys,
    close: async function closeDeployGate() {
      await closeServer(server as unknown as Parameters<typeof closeServer>[0]);
      await approvals.close();
      await store.close();
      await log.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const gate = await start({ port: Number(process.env.PORT ?? 3004), dataDir: process.env.ACTRA_DATA_DIR ?? '.actra-data/deploy-gate' });
  const erin = await gate.auth.sign('erin', DEPLOY_ACTORS.erin);
  const rita = await gate.auth.sign('rita', DEPLOY_ACTORS.rita);
  const json = `-H 'content-type: application/json'`;
  process.stdout.write(`Deploy gate on ${gate.url} (deploys allowed Monday to Friday, 09:00-17:00 UTC)

export GATE=${gate.url}
export ERIN=${erin}
export RITA=${rita}

# a staging deploy: 201 in working hours, 403 block_outside_hours otherwise
curl -s -w ' → HTTP %{http_code}\\n' -X POST $GATE/deploys -H "Authorization: Bearer $ERIN" ${json} -d '{"service":"billing","environment":"staging","version":"1.4.2"}'
# a production deploy: 202, a release manager approves, then repeat it with Actra-Approval
curl -s -w ' → HTTP %{http_code}\\n' -X POST $GATE/deploys -H "Authorization: Bearer $ERIN" ${json} -d '{"service":"billing","environment":"production","version":"1.4.2"}'
curl -s -w ' → HTTP %{http_code}\\n' -X POST $GATE/actra/approvals/<approvalId>/decision -H "Authorization: Bearer $RITA" ${json} -d '{"decision":"approve"}'
`);
  process.once('SIGINT', () => void gate.close().then(() => process.exit(0)));
}
