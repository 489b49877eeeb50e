/** Row shapes shared by the SQL stores (SQLite, PostgreSQL) and their mapping to records and events. */
import type { ApprovalRecord, ApprovalStatus, ApprovalVerdict, OutboxEvent, OutboxEventInput, OutboxStatus } from '../types.js';
import { compactRecord } from './transitions.js';

/** An approvals row as read back (PostgreSQL BIGINT columns arrive as strings). */
export interface ApprovalRow {
  id: string;
  status: string;
  digest: string;
  action_type: string;
  rule_id: string;
  reason: string | null;
  policy_hash: string;
  requester_id: string;
  method: string | null;
  route: string | null;
  created_at: number | string;
  expires_at: number | string;
  decided_at: number | string | null;
  decided_by: string | null;
  verdict: string | null;
  note: string | null;
  consumed_at: number | string | null;
}

/** An outbox row as read back. */
export interface OutboxRow {
  id: string;
  type: string;
  approval_id: string;
  payload: string;
  created_at: number | string;
  status: string;
  attempts: number | string;
  next_attempt_at: number | string;
  last_error: string | null;
  delivered_at: number | string | null;
}

/** Column order used by INSERT statements of approvals. */
export const APPROVAL_COLUMNS = [
  'id',
  'status',
  'digest',
  'action_type',
  'rule_id',
  'reason',
  'policy_hash',
  'requester_id',
  'method',
  'route',
  'created_at',
  'expires_at',
  'decided_at',
  'decided_by',
  'verdict',
  'note',
  'consumed_at',
] as const;

/** Column order used by INSERT statements of outbox events. */
export const OUTBOX_COLUMNS = ['id', 'type', 'approval_id', 'payload', 'created_at', 'status', 'attempts', 'next_attempt_at'] as const;

function num(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

function optNum(value: number | string | null): number | undefined {
  return value === null ? undefined : num(value);
}

/** Maps an approvals row to a record. */
export function rowToRecord(row: ApprovalRow): ApprovalRecord {
  return compactRecord({
    id: row.id,
    status: row.status as ApprovalStatus,
    digest: row.digest,
    actionType: row.action_type,
    ruleId: row.rule_id,
    reason: row.reason,
    policyHash: row.policy_hash,
    requesterId: row.requester_id,
    method: row.method,
    route: row.route,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    decidedAt: optNum(row.decided_at),
    decidedBy: row.decided_by,
    verdict: row.verdict as ApprovalVerdict | null,
    note: row.note,
    consumedAt: optNum(row.consumed_at),
  });
}

/** The values of a record in {@link APPROVAL_COLUMNS} order. */
export function recordValues(record: ApprovalRecord): (string | number | null)[] {
  return [
    record.id,
    record.status,
    record.digest,
    record.actionType,
    record.ruleId,
    record.reason ?? null,
    record.policyHash,
    record.requesterId,
    record.method ?? null,
    record.route ?? null,
    record.createdAt,
    record.expiresAt,
    record.decidedAt ?? null,
    record.decidedBy ?? null,
    record.verdict ?? null,
    record.note ?? null,
    record.consumedAt ?? null,
  ];
}

/** The values of a new, pending outbox event in {@link OUTBOX_COLUMNS} order. */
export function eventValues(input: OutboxEventInput, now: number): (string | number)[] {
  return [input.id, input.type, input.approvalId, JSON.stringify(input.payload ?? null), input.createdAt, 'pending', 0, now];
}

/** Maps an outbox row to an event. */
export function rowToEvent(row: OutboxRow): OutboxEvent {
  const event: {
    -readonly [K in keyof OutboxEvent]: OutboxEvent[K];
  } = {
    id: row.id,
    type: row.type as OutboxEvent['type'],
    approvalId: row.approval_id,
    payload: JSON.parse(row.payload) as unknown,
    createdAt: num(row.created_at),
    status: row.status as OutboxStatus,
    attempts: num(row.attempts),
    nextAttemptAt: num(row.next_attempt_at),
  };
  if (row.last_error !== null) event.lastError = row.last_error;
  if (row.delivered_at !== null) event.deliveredAt = num(row.delivered_at);
  return event;
}
