/**
 * lint (client_golang's testutil.CollectAndLint, promlint): the contract lints clean, and each
 * convention is caught by a collector that breaks it.
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { metricsHandler, newMetrics } from '../../lib';
import { lint, type LintProblem } from '../../lib/testing';
import { throwingGauge } from '../helpers/failing-collectors';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';

/** A registry holding one collector made by `make`. */
function registryWith(make: (registry: Registry) => void): Registry {
  const registry = new Registry();
  make(registry);
  return registry;
}

describe('lint', () => {
  it("finds nothing in the contract's registry, nor with the endpoint's self-metrics", async () => {
    const registry = new Registry();
    newMetrics(registry);
    expect(await lint(registry)).toEqual([]);
    metricsHandler(registry, { selfMetrics: true, errorHandling: 'continue' });
    expect(await lint(registry)).toEqual([]);
  });

  it('finds nothing in an OpenMetrics registry after its own rendering renamed its counters', async () => {
    const registry = openMetricsRegistry();
    newMetrics(registry).workersSpawned.inc();
    await registry.metrics();
    expect(await lint(registry)).toEqual([]);
  });

  it.each<[string, (registry: Registry) => void, LintProblem[]]>([
    [
      'a counter without _total',
      (r) => new Counter({ name: 'test_requests', help: 'x', registers: [r] }),
      [{ metric: 'test_requests', text: 'a counter\'s name should end in "_total"' }],
    ],
    [
      'a gauge with _total',
      (r) => new Gauge({ name: 'test_open_total', help: 'x', registers: [r] }),
      [{ metric: 'test_open_total', text: '"_total" is for counters: this gauge should not end in it' }],
    ],
    [
      'a collector without help text',
      (r) =>
        r.registerMetric({
          name: 'test_custom',
          get: () => ({ name: 'test_custom', type: 'gauge', values: [] }),
        } as never),
      [{ metric: 'test_custom', text: 'no help text' }],
    ],
    [
      'an empty help text',
      (r) => new Gauge({ name: 'test_blank', help: '  ', registers: [r] }),
      [{ metric: 'test_blank', text: 'empty help text' }],
    ],
    [
      'milliseconds',
      (r) => new Histogram({ name: 'test_latency_milliseconds', help: 'x', registers: [r] }),
      [{ metric: 'test_latency_milliseconds', text: 'use the base unit "seconds" instead of "milliseconds"' }],
    ],
    [
      'kilobytes',
      (r) => new Gauge({ name: 'test_cache_kilobytes', help: 'x', registers: [r] }),
      [{ metric: 'test_cache_kilobytes', text: 'use the base unit "bytes" instead of "kilobytes"' }],
    ],
    [
      'percent',
      (r) => new Gauge({ name: 'test_disk_used_percent', help: 'x', registers: [r] }),
      [{ metric: 'test_disk_used_percent', text: 'use the base unit "ratio" instead of "percent"' }],
    ],
    [
      'hours',
      (r) => new Gauge({ name: 'test_uptime_hours', help: 'x', registers: [r] }),
      [{ metric: 'test_uptime_hours', text: 'use the base unit "seconds" instead of "hours"' }],
    ],
    [
      'an abbreviated unit',
      (r) => new Histogram({ name: 'test_latency_ms', help: 'x', registers: [r] }),
      [{ metric: 'test_latency_ms', text: 'abbreviated unit "ms": spell the unit out' }],
    ],
    [
      'a camelCase name',
      (r) => new Gauge({ name: 'test_queueLength', help: 'x', registers: [r] }),
      [{ metric: 'test_queueLength', text: 'the name is in camelCase: write it in snake_case' }],
    ],
    [
      'a camelCase label, declared but never used',
      (r) => new Gauge({ name: 'test_queue', help: 'x', labelNames: ['appName'], registers: [r] }),
      [{ metric: 'test_queue', text: 'label "appName" is in camelCase: write it in snake_case' }],
    ],
    [
      '_bucket on a gauge',
      (r) => new Gauge({ name: 'test_leaky_bucket', help: 'x', registers: [r] }),
      [{ metric: 'test_leaky_bucket', text: '"_bucket" is for histogram buckets' }],
    ],
    [
      '_count on a gauge',
      (r) => new Gauge({ name: 'test_retry_count', help: 'x', registers: [r] }),
      [{ metric: 'test_retry_count', text: '"_count" is for histograms and summaries' }],
    ],
    [
      '_sum on a gauge',
      (r) => new Gauge({ name: 'test_checksum_sum', help: 'x', registers: [r] }),
      [{ metric: 'test_checksum_sum', text: '"_sum" is for histograms and summaries' }],
    ],
    [
      'le on a gauge',
      (r) => new Gauge({ name: 'test_limits', help: 'x', labelNames: ['le'], registers: [r] }),
      [{ metric: 'test_limits', text: 'label "le" is for histogram buckets' }],
    ],
    [
      'quantile on a histogram',
      (r) =>
        new Histogram({ name: 'test_spread_seconds', help: 'x', labelNames: ['quantile'], registers: [r] })
          .labels('0.5')
          .observe(1),
      [{ metric: 'test_spread_seconds', text: 'label "quantile" is for summaries' }],
    ],
    [
      'its type in the name',
      (r) => new Gauge({ name: 'test_memory_gauge', help: 'x', registers: [r] }),
      [{ metric: 'test_memory_gauge', text: 'the name should not say its type "gauge"' }],
    ],
    [
      'a colon',
      (r) => new Gauge({ name: 'job:test_requests:rate5m', help: 'x', registers: [r] }),
      [{ metric: 'job:test_requests:rate5m', text: 'colons are for recording rules: the name should not hold one' }],
    ],
  ])('finds %s', async (_what, make, problems) => {
    expect(await lint(registryWith(make))).toEqual(problems);
  });

  it('lets histograms own le and _bucket-like series, summaries quantile, _count and _sum', async () => {
    const registry = new Registry();
    new Histogram({ name: 'test_wait_seconds', help: 'x', registers: [registry] }).observe(1);
    new Summary({ name: 'test_size_bytes', help: 'x', registers: [registry] }).observe(1);
    expect(await lint(registry)).toEqual([]);
  });

  it("checks the labels a histogram's series carry beside le, when the collector declares none", async () => {
    // A custom collector passing on a prom-client histogram's values (which hold their labels
    // apart from le), with no labelNames of its own: only the series tell the labels.
    const latency = new Histogram({ name: 'test_wait_seconds', help: 'x', labelNames: ['routeName'] });
    latency.labels('/a').observe(1);
    const registry = new Registry();
    registry.registerMetric({
      name: 'test_wait_seconds',
      help: 'x',
      type: 'histogram',
      get: () => latency.get(),
      // prom-client's own method, missing from its typings.
      getForPromString: () => (latency as unknown as { getForPromString(): unknown }).getForPromString(),
    } as never);
    expect(await lint(registry)).toEqual([
      { metric: 'test_wait_seconds', text: 'label "routeName" is in camelCase: write it in snake_case' },
    ]);
  });

  it('checks default labels, and lists each problem once, sorted by metric then text', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ hostName: 'a' });
    const g = new Gauge({ name: 'test_beta_total', help: 'x', labelNames: ['kind'], registers: [registry] });
    g.labels('one').set(1);
    g.labels('two').set(2);
    new Counter({ name: 'test_alpha', help: 'x', registers: [registry] }).inc();
    expect(await lint(registry)).toEqual([
      { metric: 'test_alpha', text: 'a counter\'s name should end in "_total"' },
      { metric: 'test_alpha', text: 'label "hostName" is in camelCase: write it in snake_case' },
      { metric: 'test_beta_total', text: '"_total" is for counters: this gauge should not end in it' },
      { metric: 'test_beta_total', text: 'label "hostName" is in camelCase: write it in snake_case' },
    ]);
  });

  it('reports a collector that throws, and still checks the others', async () => {
    const registry = new Registry();
    throwingGauge(registry, 'test_broken');
    new Gauge({ name: 'test_latency_ms', help: 'x', registers: [registry] });
    expect(await lint(registry)).toEqual([
      { metric: 'test_broken', text: 'collecting it failed: test_broken is broken' },
      { metric: 'test_latency_ms', text: 'abbreviated unit "ms": spell the unit out' },
    ]);
  });

  it('rejects what is not a registry', async () => {
    await expect(lint('registry' as unknown as Registry)).rejects.toThrow(
      new TypeError('lint: registry must be a prom-client Registry, got "registry"'),
    );
  });
});
