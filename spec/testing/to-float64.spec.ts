/**
 * toFloat64 (client_golang's testutil.ToFloat64): the value of exactly one sample, from any
 * registry of either content type, and an error listing what there is otherwise.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { newMetrics } from '../../lib';
import { toFloat64 } from '../../lib/testing';
import { fillMetrics } from '../helpers/fill-metrics';
import { throwingGauge } from '../helpers/failing-collectors';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';

describe('toFloat64', () => {
  it.each([
    ['a plain registry', () => new Registry()],
    ['an OpenMetrics registry', openMetricsRegistry],
  ])('reads one sample of %s by its exposition name and a subset of its labels', async (_what, make) => {
    const registry = make();
    fillMetrics(newMetrics(registry));
    expect(await toFloat64(registry, 'blockyard_workers_active')).toBe(4);
    expect(await toFloat64(registry, 'blockyard_workers', { state: 'busy' })).toBe(2);
    expect(await toFloat64(registry, 'blockyard_proxy_requests_total', { app: 'sales', status: '5xx' })).toBe(1);
    expect(await toFloat64(registry, 'blockyard_proxy_requests_total', { app: 'unknown' })).toBe(2);
    expect(await toFloat64(registry, 'blockyard_workers_spawned_total')).toBe(6);
    // A histogram's series: observations 1.5 and 3 of blockyard_cold_start_seconds.
    expect(await toFloat64(registry, 'blockyard_cold_start_seconds_count')).toBe(2);
    expect(await toFloat64(registry, 'blockyard_cold_start_seconds_sum')).toBe(4.5);
    expect(await toFloat64(registry, 'blockyard_cold_start_seconds_bucket', { le: 2 })).toBe(1);
    expect(await toFloat64(registry, 'blockyard_cold_start_seconds_bucket', { le: '+Inf' })).toBe(2);
  });

  it('renames nothing in an OpenMetrics registry: its own rendering still names counters as before', async () => {
    const registry = openMetricsRegistry();
    newMetrics(registry).workersSpawned.inc(3);
    const before = await registry.metrics();
    expect(await toFloat64(registry, 'blockyard_workers_spawned_total')).toBe(3);
    expect(await registry.metrics()).toBe(before);
  });

  it('reads default labels, numbers as label values, and special values', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ region: 'eu' });
    const codes = new Counter({ name: 'test_responses_total', help: 'x', labelNames: ['code'], registers: [registry] });
    codes.labels({ code: 200 }).inc(5);
    const gauge = new Gauge({ name: 'test_special', help: 'x', labelNames: ['kind'], registers: [registry] });
    gauge.labels('nan').set(NaN);
    gauge.labels('inf').set(Infinity);
    gauge.labels('neg').set(-Infinity);
    gauge.labels('tiny').set(1e-7);
    expect(await toFloat64(registry, 'test_responses_total', { code: 200, region: 'eu' })).toBe(5);
    expect(await toFloat64(registry, 'test_special', { kind: 'nan' })).toBeNaN();
    expect(await toFloat64(registry, 'test_special', { kind: 'inf' })).toBe(Infinity);
    expect(await toFloat64(registry, 'test_special', { kind: 'neg' })).toBe(-Infinity);
    expect(await toFloat64(registry, 'test_special', { kind: 'tiny' })).toBe(0.0000001);
  });

  it('reads label values holding quotes, backslashes and line breaks', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'test_escaped', help: 'x', labelNames: ['path'], registers: [registry] });
    gauge.labels('a "b"\\c\nd').set(7);
    expect(await toFloat64(registry, 'test_escaped', { path: 'a "b"\\c\nd' })).toBe(7);
  });

  it('rejects when several samples match, listing them', async () => {
    const registry = new Registry();
    fillMetrics(newMetrics(registry));
    await expect(toFloat64(registry, 'blockyard_proxy_requests_total', { app: 'sales' })).rejects.toThrow(
      new Error(
        'toFloat64: 2 samples match blockyard_proxy_requests_total{app="sales"}; give labels that pick one of: ' +
          '{app="sales",status="2xx"} 10, {app="sales",status="5xx"} 1',
      ),
    );
  });

  it('rejects when no sample of that name has those labels, listing the samples of that name', async () => {
    const registry = new Registry();
    fillMetrics(newMetrics(registry));
    await expect(toFloat64(registry, 'blockyard_workers', { state: 'sleeping' })).rejects.toThrow(
      new Error(
        'toFloat64: no sample blockyard_workers{state="sleeping"}; the samples named blockyard_workers are: ' +
          '{state="busy"} 2, {state="idle"} 1, {state="draining"} 1',
      ),
    );
  });

  it('rejects an unknown name, listing the sample names there are', async () => {
    const registry = new Registry();
    new Histogram({ name: 'test_seconds', help: 'x', buckets: [1], registers: [registry] });
    await expect(toFloat64(registry, 'test_seconds')).rejects.toThrow(
      new Error(
        'toFloat64: no sample named test_seconds in the registry; its sample names: ' +
          'test_seconds_bucket, test_seconds_sum, test_seconds_count',
      ),
    );
    await expect(toFloat64(new Registry(), 'x')).rejects.toThrow(
      new Error('toFloat64: no sample named x in the registry; it has no sample at all'),
    );
  });

  it('rejects when the registry cannot be rendered, keeping the cause', async () => {
    const registry = new Registry();
    throwingGauge(registry, 'test_broken');
    await expect(toFloat64(registry, 'test_broken')).rejects.toMatchObject({
      message: 'toFloat64: rendering the registry failed: test_broken is broken',
      cause: new Error('test_broken is broken'),
    });
  });

  it.each([
    [{}, 'a', undefined, 'toFloat64: registry must be a prom-client Registry, got an object'],
    [new Registry(), '', undefined, 'toFloat64: name must be a sample name, got ""'],
    [
      new Registry(),
      'a',
      { app: true },
      'toFloat64: labels must be an object of string or number values, got an object',
    ],
  ])('rejects bad arguments with a TypeError (%#)', async (registry, name, labels, message) => {
    await expect(toFloat64(registry as Registry, name, labels as never)).rejects.toThrow(new TypeError(message));
  });
});
