/** Errors thrown by `admit`: the action was blocked, or it needs a human approval first. */
import { ActraError } from '../errors.js';
import type { Decision } from '../core/types.js';

/**
 * The policy blocked the action; thrown by `runtime.admit`. Carries the decision.
 * The message names the action type, the rule and the reason code, never a field value.
 */
export class ActraBlockedError extends ActraError {
  readonly decision: Decision;
  readonly actionType: string;

  constructor(actionType: string, decision: Decision) {
    super('ACTRA_BLOCKED', blockedMessage(actionType, decision));
    this.actionType = actionType;
    this.decision = decision;
  }
}

/**
 * The action needs a human approval first; thrown by `runtime.admit`. Carries the decision and,
 * when an approval gate is configured, the id of the approval opened (or found pending).
 */
export class ActraApprovalRequiredError extends ActraError {
  readonly decision: Decision;
  readonly actionType: string;
  /** The approval to wait for; absent when the runtime has no approval gate. */
  readonly approvalId?: string;
  /** Milliseconds since the epoch; absent when no approval was opened. */
  readonly expiresAt?: number;

  constructor(actionType: string, decision: Decision, approval?: { readonly id: string; readonly expiresAt: number }) {
    const rule = decision.matchedRule === undefined ? '' : ` by rule "${decision.matchedRule}"`;
    const opened = approval === undefined ? ' (no approval gate configured)' : ` (approval ${approval.id})`;
    super('ACTRA_APPROVAL_REQUIRED', `action "${actionType}" requires approval${rule}${opened}`);
    this.actionType = actionType;
    this.decision = decision;
    if (approval !== undefined) {
      this.approvalId = approval.id;
      this.expiresAt = approval.expiresAt;
    }
  }
}

function blockedMessage(actionType: string, decision: Decision): string {
  const by = decision.matchedRule === undefined ? 'by the default effect' : `by rule "${decision.matchedRule}"`;
  const reason = decision.reason === undefined ? '' : ` (${decision.reason})`;
  return `action "${actionType}" blocked ${by}${reason}`;
}
