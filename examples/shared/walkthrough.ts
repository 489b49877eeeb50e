/** The approval walkthrough over real HTTP: allowed, blocked, pending, self-approval refused, approved, resumed once, reuse refused. */

/** Development tokens of the three actors. */
export interface WalkthroughTokens {
  readonly alice: string;
  readonly fran: string;
  readonly mallory: string;
}

/** One step as it happened. */
export interface WalkthroughStep {
  readonly step: number;
  readonly title: string;
  readonly request: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The statuses each step is expected to answer with. */
export const EXPECTED_STATUSES = [201, 403, 202, 403, 200, 201, 403] as const;

/** The refund that needs a finance lead's approval (over 1,000). */
export const LARGE_REFUND = { order_id: 'ord_1002', amount: 2500, currency: 'eur' } as const;

/**
 * Runs the seven steps against `baseUrl` and reports each through `print` as it goes.
 * `approvalsPrefix` is where the approval routes are served (default `/actra`).
 */
export async function runWalkthrough(
  baseUrl: string,
  tokens: WalkthroughTokens,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  approvalsPrefix = '/actra',
): Promise<WalkthroughStep[]> {
  const steps: WalkthroughStep[] = [];

  async function call(step: number, title: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<WalkthroughStep> {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      parsed = { text };
    }
    const done: WalkthroughStep = { step, title, request: `${method} ${path}`, status: response.status, body: parsed };
    steps.push(done);
    const why = [parsed.reason, parsed.code, parsed.status === 'pending_approval' ? `approvalId=${String(parsed.approvalId)}` : undefined, parsed.status === 'approved' ? 'approved' : undefined]
      .filter((v) => typeof v === 'string')
      .join(' ');
    const shown = path.replace(/\/approvals\/[^/]+/, '/approvals/$APPROVAL_ID');
    print(`${step}. ${title.padEnd(46)} ${method} ${shown.padEnd(42)} → ${response.status}${why === '' ? '' : `  ${why}`}`);
    return done;
  }

  await call(1, 'alice refunds 40 USD (allowed)', 'POST', '/refunds', tokens.alice, { order_id: 'ord_1001', amount: 40, currency: 'usd' });
  await call(2, 'mallory refunds 25 USD (blocked: fraud flag)', 'POST', '/refunds', tokens.mallory, { order_id: 'ord_1003', amount: 25, currency: 'usd' });
  const pending = await call(3, 'alice refunds 2,500 EUR (needs approval)', 'POST', '/refunds', tokens.alice, LARGE_REFUND);
  const approvalId = String(pending.body.approvalId ?? 'missing');
  const decision = `${approvalsPrefix}/approvals/${approvalId}/decision`;
  await call(4, 'alice approves her own request (refused)', 'POST', decision, tokens.alice, { decision: 'approve' });
  await call(5, 'fran, finance lead, approves', 'POST', decision, tokens.fran, { decision: 'approve', note: 'checked with the customer' });
  await call(6, 'alice repeats with Actra-Approval (runs once)', 'POST', '/refunds', tokens.alice, LARGE_REFUND, { 'actra-approval': approvalId });
  await call(7, 'alice repeats it again (refused: used)', 'POST', '/refunds', tokens.alice, LARGE_REFUND, { 'actra-approval': approvalId });
  return steps;
}
