/**
 * An AI agent's tools under Actra: each tool call goes through `runtime.admit` (runs only when
 * allowed) or `runtime.audit` (always runs, records what would have happened). A scripted stand-in
 * for the model issues a fixed list of tool calls — no network, no model.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Actra } from '../../src/core/actra.js';
import { Approvals } from '../../src/approvals/approvals.js';
import { SqliteApprovalStore } from '../../src/approvals/stores/sqlite-store.js';
import { isActraError } from '../../src/errors.js';
import { jsonlDecisionLog } from '../../src/observability/decision-log.js';
import { ActraApprovalRequiredError, ActraBlockedError } from '../../src/runtime/errors.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { Actor } from '../../src/runtime/types.js';
import { examplePolicyDir, refundLoaders, RefundsDesk } from '../shared/refunds.js';
import { isMain } from '../shared/setup.js';

/** One tool call the model asks for. */
export interface ToolCall {
  readonly tool: 'lookup_order' | 'issue_refund' | 'delete_account';
  readonly args: Readonly<Record<string, unknown>>;
}

/** What happened to a tool call. */
export type ToolResult =
  | { readonly status: 'ran'; readonly output: unknown }
  | { readonly status: 'blocked'; readonly rule?: string; readonly reason?: string; readonly message?: string }
  | { readonly status: 'needs_approval'; readonly approvalId: string; readonly rule?: string };

/** The scripted model: the tool calls it makes, in order. */
export const SCRIPT: readonly ToolCall[] = [
  { tool: 'lookup_order', args: { order_id: 'ord_1002' } },
  { tool: 'issue_refund', args: { order_id: 'ord_1001', amount: 40, currency: 'usd' } },
  { tool: 'issue_refund', args: { order_id: 'ord_1002', amount: 2500, currency: 'eur' } },
  { tool: 'issue_refund', args: { order_id: 'ord_1003', amount: 30, currency: 'jpy' } },
  { tool: 'delete_account', args: { account_id: 'cus_2', note: 'customer asked' } },
];

/** The agent's identity: a support agent, acting through tools. */
export const AGENT: Actor = { id: 'support-bot', role: 'support_agent', department: 'support' };
/** The human who approves large refunds. */
export const FINANCE_LEAD: Actor = { id: 'fran', role: 'finance_lead', department: 'finance' };

/** Each tool: the action it is checked as, how it is guarded, and what it does. */
const TOOLS = {
  lookup_order: { action: 'read_order', guard: 'audit' },
  issue_refund: { action: 'refund', guard: 'admit' },
  delete_account: { action: 'delete_account', guard: 'admit' },
} as const;

/** Options of {@link runAgent}. */
export interface AgentOptions {
  /** Where `approvals.db` and `decisions.jsonl` go (created). */
  readonly dataDir: string;
  /** Where the transcript is printed (default stdout). */
  readonly print?: (line: string) => void;
  /** The tool calls (default {@link SCRIPT}). */
  readonly script?: readonly ToolCall[];
}

/** The transcript: each call and its result, then the approved call resumed. */
export interface AgentRun {
  readonly results: readonly { readonly call: ToolCall; readonly result: ToolResult }[];
  readonly resumed: readonly { readonly call: ToolCall; readonly result: ToolResult }[];
  readonly desk: RefundsDesk;
}

/**
 * Runs the scripted agent: every tool call is checked; calls that need an approval are approved
 * by the finance lead through `approvals.decide` and resumed with their approval id.
 * @example `const run = await runAgent({ dataDir: '.actra-data/agent' });`
 */
export async function runAgent(options: AgentOptions): Promise<AgentRun> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  mkdirSync(options.dataDir, { recursive: true });
  const policy = Actra.fromDirectory(examplePolicyDir('refunds'));
  const store = new SqliteApprovalStore({ path: join(options.dataDir, 'approvals.db') });
  await store.init();
  const approvals = new Approvals({ store, policy });
  const log = jsonlDecisionLog({ path: join(options.dataDir, 'decisions.jsonl') });
  const runtime = new ActraRuntime(policy, { approvals, loaders: refundLoaders(), observers: [log] });
  const desk = new RefundsDesk();

  // the tools themselves know nothing about policy
  const implementations: Record<ToolCall['tool'], (args: Readonly<Record<string, unknown>>) => unknown> = {
    lookup_order: (args) => desk.order(String(args.order_id)) ?? { error: 'order not found' },
    issue_refund: (args) => desk.refund({ orderId: String(args.order_id), amount: Number(args.amount), currency: String(args.currency), issuedBy: AGENT.id }),
    delete_account: (args) => ({ deleted: args.account_id }),
  };

  async function callTool(call: ToolCall, approvalId?: string): Promise<ToolResult> {
    const spec = TOOLS[call.tool];
    const action = { type: spec.action, ...call.args };
    const run = () => implementations[call.tool](call.args);
    try {
      const output =
        spec.guard === 'audit'
          ? await runtime.audit(action, run, undefined, { actor: AGENT, route: call.tool })
          : await runtime.admit(action, run, undefined, { actor: AGENT, route: call.tool, ...(approvalId === undefined ? {} : { approvalId }) });
      return { status: 'ran', output };
    } catch (error) {
      if (error instanceof ActraBlockedError) {
        const { matchedRule, reason, message } = error.decision;
        return { status: 'blocked', ...(matchedRule === undefined ? {} : { rule: matchedRule }), ...(reason === undefined ? {} : { reason }), ...(message === undefined ? {} : { message }) };
      }
      if (error instanceof ActraApprovalRequiredError && error.approvalId !== undefined) {
        return { status: 'needs_approval', approvalId: error.approvalId, ...(error.decision.matchedRule === undefined ? {} : { rule: error.decision.matchedRule }) };
      }
      throw error;
    }
  }

  function show(call: ToolCall, result: ToolResult): void {
    const what = `${call.tool}(${JSON.stringify(call.args)})`;
    if (result.status === 'ran') print(`  ran             ${what}`);
    else if (result.status === 'blocked') print(`  blocked         ${what}  ${result.reason ?? ''} — ${result.message ?? ''}`);
    else print(`  needs approval  ${what}  ${result.approvalId}`);
  }

  try {
    print('The model asks for these tool calls:');
    const results: { call: ToolCall; result: ToolResult }[] = [];
    for (const call of options.script ?? SCRIPT) {
      const result = await callTool(call);
      results.push({ call, result });
      show(call, result);
    }

    const resumed: { call: ToolCall; result: ToolResult }[] = [];
    for (const { call, result } of results) {
      if (result.status !== 'needs_approval') continue;
      print(`\n${FINANCE_LEAD.id} (finance lead) approves ${result.approvalId}; the agent resumes the call with it:`);
      await approvals.decide(result.approvalId, { verdict: 'approve', approver: FINANCE_LEAD, note: 'approved for the agent' });
      const again = await callTool(call, result.approvalId);
      resumed.push({ call, result: again });
      show(call, again);
      try {
        await callTool(call, result.approvalId);
      } catch (error) {
        print(`  refused         the same approval a second time: ${isActraError(error) ? error.code : 'error'}`);
      }
    }
    return { results, resumed, desk };
  } finally {
    await approvals.close();
    await store.close();
    await log.close();
  }
}

if (isMain(import.meta.url)) {
  await runAgent({ dataDir: process.env.ACTRA_DATA_DIR ?? '.actra-data/agent-tools' });
}
