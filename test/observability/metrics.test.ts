import { describe, expect, it } from 'vitest';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type CollectionResult, type MetricData } from '@opentelemetry/sdk-metrics';
import { otelMetrics } from '../../src/observability/metrics.js';
import { ActraRuntime } from '../../src/runtime/runtime.js';
import type { Actor } from '../../src/runtime/types.js';
import { refundPolicy } from '../runtime/fixtures.js';

/** A reader the test collects from on demand. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function setup(options: { withPolicy?: boolean; maxLabelValues?: number } = {}) {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('actra-test');
  const observer = otelMetrics({ meter, ...(options.withPolicy === false ? {} : { policy: refundPolicy() }), ...(options.maxLabelValues === undefined ? {} : { maxLabelValues: options.maxLabelValues }) });
  let actor: Actor = { id: 'user-8c1f', role: 'support' };
  const runtime = new ActraRuntime(refundPolicy(), {
    loaders: [
      { name: 'fraud', fields: ['fraud_flag'], load: () => ({ fraud_flag: false }) },
      { name: 'account', fields: ['balance', 'limit'], load: () => ({ balance: 100, limit: 10 }) },
    ],
    actorResolver: () => actor,
    observers: [observer],
  });
  return {
    runtime,
    setActor(next: Actor) {
      actor = next;
    },
    async collect(): Promise<MetricData[]> {
      const result: CollectionResult = await reader.collect();
      return result.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    },
  };
}

function metric(all: MetricData[], name: string): MetricData {
  const found = all.find((m) => m.descriptor.name === name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  return found;
}

describe('otelMetrics', () => {
  it('counts decisions by effect, enforced effect, mode, action and rule', async () => {
    const { runtime, collect } = setup();
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    await runtime.check({ action: { type: 'transfer', amount: 1000 } });
    await runtime.check({ action: { type: 'transfer', amount: 1000 }, mode: 'monitor' });
    const counter = metric(await collect(), 'actra.decisions');
    expect(counter.dataPointType).toBe(DataPointType.SUM);
    const points = counter.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(points).toEqual(
      [
        { attributes: { effect: 'allow', enforced_effect: 'allow', mode: 'enforce', action: 'refund', rule: 'none' }, value: 2 },
        { attributes: { effect: 'block', enforced_effect: 'block', mode: 'enforce', action: 'transfer', rule: 'block_transfer_over_balance' }, value: 1 },
        { attributes: { effect: 'block', enforced_effect: 'allow', mode: 'monitor', action: 'transfer', rule: 'block_transfer_over_balance' }, value: 1 },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('records the decision duration histogram in milliseconds', async () => {
    const { runtime, collect } = setup();
    await runtime.check({ action: { type: 'refund', amount: 10, currency: 'EUR' } });
    await runtime.check({ action: { type: 'ping' } });
    const histogram = metric(await collect(), 'actra.decision.duration');
    expect(histogram.descriptor.unit).toBe('ms');
    expect(histogram.dataPointType).toBe(DataPointType.HISTOGRAM);
    const counts = histogram.dataPoints.map((p) => (p.value as { count: number }).count);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('labels failures with the error code and no effect', async () => {
    const { runtime, collect } = setup();
    await runtime.check({ action: { type: 'refund', amount: 'x', currency: 'EUR' }, mode: 'monitor' });
    const counter = metric(await collect(), 'actra.decisions');
    expect(counter.dataPoints[0]?.attributes).toEqual({ effect: 'none', enforced_effect: 'allow', mode: 'monitor', action: 'refund', rule: 'none', error: 'ACTRA_INPUT' });
  });

  it('never uses actor ids or field values as labels, and maps undeclared action types to other', async () => {
    const { runtime, setActor, collect } = setup();
    for (let i = 0; i < 20; i += 1) {
      setActor({ id: `user-${i}`, role: 'support' });
      await runtime.check({ action: { type: `junk-${i}`, amount: i } });
    }
    const counter = metric(await collect(), 'actra.decisions');
    const text = JSON.stringify(counter.dataPoints.map((p) => p.attributes));
    expect(text).not.toContain('user-');
    expect(text).not.toContain('junk-');
    expect(counter.dataPoints).toHaveLength(1);
    expect(counter.dataPoints[0]?.attributes['action']).toBe('other');
    expect(counter.dataPoints[0]?.value).toBe(20);
  });

  it('caps label values without a policy', async () => {
    const { runtime, collect } = setup({ withPolicy: false, maxLabelValues: 2 });
    for (const type of ['ping', 'export', 'junk-a', 'junk-b']) await runtime.check({ action: { type, rows: 1 } });
    const counter = metric(await collect(), 'actra.decisions');
    const actions = counter.dataPoints.map((p) => p.attributes['action']).sort();
    expect(actions).toEqual(['export', 'other', 'ping']);
  });

  it('uses the global meter provider by default', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      const observer = otelMetrics();
      const runtime = new ActraRuntime(refundPolicy(), { actorResolver: () => ({ id: 'a', role: 'x' }), observers: [observer] });
      await runtime.check({ action: { type: 'ping' } });
      const all = (await reader.collect()).resourceMetrics.scopeMetrics;
      expect(all.map((s) => s.scope.name)).toEqual(['actra']);
    } finally {
      metrics.disable();
    }
  });

  it('refuses an invalid option with ACTRA_OPTIONS', () => {
    expect(() => otelMetrics({ maxLabelValues: 0 })).toThrow('otelMetrics: option "maxLabelValues"');
    expect(() => otelMetrics({ policy: {} as never })).toThrow('option "policy" must be a compiled Policy');
  });
});
