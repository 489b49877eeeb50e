/** OpenTelemetry metrics for decisions: a counter by effect, mode, action and rule, and a duration histogram. */
import { metrics, type Attributes, type Meter } from '@opentelemetry/api';
import { z } from 'zod';
import type { Policy } from '../core/types.js';
import { parseOptions } from '../options.js';
import type { DecisionEvent, DecisionObserver } from '../runtime/types.js';

/** Options of {@link otelMetrics}. */
export interface OtelMetricsOptions {
  /** The meter (default `metrics.getMeter('actra')` from `@opentelemetry/api`). */
  readonly meter?: Meter;
  /**
   * The policy: `action` and `rule` labels are then limited to its action types and rule ids, others
   * become `other`. Without it, each label keeps its first `maxLabelValues` values, then `other`.
   */
  readonly policy?: Pick<Policy, 'rules' | 'hasAction'>;
  /** Label cardinality cap without a policy (100). */
  readonly maxLabelValues?: number;
}

/** Metric names, for dashboards and tests. */
export const METRIC_DECISIONS = 'actra.decisions';
export const METRIC_DURATION = 'actra.decision.duration';

const optionsSchema = z
  .object({
    meter: z.custom<Meter>(isMeter, { message: 'must be an OpenTelemetry Meter' }).optional(),
    policy: z
      .custom<Pick<Policy, 'rules' | 'hasAction'>>(function isPolicy(value) {
        return typeof value === 'object' && value !== null && Array.isArray((value as Policy).rules) && typeof (value as Policy).hasAction === 'function';
      }, { message: 'must be a compiled Policy' })
      .optional(),
    maxLabelValues: z.number().int().positive().default(100),
  })
  .strict();

/**
 * Creates an observer recording `actra.decisions` (counter; attributes `effect`, `enforced_effect`,
 * `mode`, `action`, `rule`, and `error` on failures) and `actra.decision.duration` (histogram, ms;
 * attributes `effect`, `enforced_effect`, `mode`, `action`). Labels are bounded; actor ids, request
 * ids and field values are never labels.
 *
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) for an invalid option.
 * @example `runtime.addDecisionObserver(otelMetrics({ policy }));`
 */
export function otelMetrics(options?: OtelMetricsOptions | Meter): DecisionObserver {
  const parsed = parseOptions(optionsSchema, isMeter(options) ? { meter: options } : options, 'otelMetrics');
  const meter = parsed.meter ?? metrics.getMeter('actra');
  const decisions = meter.createCounter(METRIC_DECISIONS, { description: 'Admission decisions', unit: '{decision}' });
  const duration = meter.createHistogram(METRIC_DURATION, { description: 'Time to decide, including actor and snapshot resolution', unit: 'ms' });
  const actionLabel = boundedLabel(parsed.policy === undefined ? undefined : parsed.policy.hasAction.bind(parsed.policy), parsed.maxLabelValues);
  const ruleIds = parsed.policy === undefined ? undefined : new Set(parsed.policy.rules.map(ruleId));
  const ruleLabel = boundedLabel(ruleIds === undefined ? undefined : (id: string) => ruleIds.has(id), parsed.maxLabelValues);

  return function recordDecisionMetrics(event: DecisionEvent): void {
    const attributes: Attributes = {
      effect: event.effect ?? 'none',
      enforced_effect: event.enforcedEffect,
      mode: event.mode,
      action: actionLabel(event.action.type),
    };
    duration.record(event.durationMs, attributes);
    attributes['rule'] = event.rule === undefined ? 'none' : ruleLabel(event.rule);
    if (event.error !== undefined) attributes['error'] = event.error.code;
    decisions.add(1, attributes);
  };
}

/** A label mapper: known values pass, others become `other`; without a known set, the first `max` values pass. */
function boundedLabel(known: ((value: string) => boolean) | undefined, max: number): (value: string) => string {
  if (known !== undefined) {
    return function knownLabel(value) {
      return value !== '' && known(value) ? value : 'other';
    };
  }
  const seen = new Set<string>();
  return function cappedLabel(value) {
    if (seen.has(value)) return value;
    if (seen.size >= max || value === '') return 'other';
    seen.add(value);
    return value;
  };
}

function ruleId(rule: { readonly id: string }): string {
  return rule.id;
}

function isMeter(value: unknown): value is Meter {
  return typeof value === 'object' && value !== null && typeof (value as Meter).createCounter === 'function' && typeof (value as Meter).createHistogram === 'function';
}
