/**
 * collectAndCount (client_golang's testutil.CollectAndCount): series of one family or of the
 * whole registry, a histogram's or summary's label set counted once.
 */
import { Counter, Histogram, Registry, Summary } from 'prom-client';
import { newMetrics } from '../../lib';
import { collectAndCount } from '../../lib/testing';
import { fillMetrics } from '../helpers/fill-metrics';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';

describe('collectAndCount', () => {
  it.each([
    ['a plain registry', () => new Registry()],
    ['an OpenMetrics registry', openMetricsRegistry],
  ])('counts the series of each family of %s by its registered name', async (_what, make) => {
    const registry = make();
    registry.setDefaultLabels({ region: 'eu' });
    fillMetrics(newMetrics(registry));
    expect(await collectAndCount(registry, 'blockyard_workers_active')).toBe(1);
    expect(await collectAndCount(registry, 'blockyard_workers')).toBe(3);
    expect(await collectAndCount(registry, 'blockyard_workers_stopped_total')).toBe(3);
    expect(await collectAndCount(registry, 'blockyard_proxy_requests_total')).toBe(3);
    expect(await collectAndCount(registry, 'blockyard_health_checks_failed_total')).toBe(1);
    // A histogram without labels: 11 sample lines (9 buckets with +Inf, the sum, the count), one series.
    expect(await collectAndCount(registry, 'blockyard_cold_start_seconds')).toBe(1);
    // Every family: 1 + 3 + 1 + 1 + 3 + 1 + 1 + 1 + 3 + 1 + 1 + 1 + 1 + 1 = 20 series.
    expect(await collectAndCount(registry)).toBe(20);
  });

  it('counts a labelled histogram and a summary once per label set, and a family without series as 0', async () => {
    const registry = new Registry();
    const latency = new Histogram({
      name: 'test_latency_seconds',
      help: 'x',
      labelNames: ['route'],
      buckets: [0.1, 1],
      registers: [registry],
    });
    latency.labels('/a').observe(0.05);
    latency.labels('/b').observe(2);
    const sizes = new Summary({ name: 'test_size_bytes', help: 'x', labelNames: ['kind'], registers: [registry] });
    sizes.labels('x').observe(10);
    sizes.labels('y').observe(20);
    sizes.labels('z').observe(30);
    new Counter({ name: 'test_unused_total', help: 'x', labelNames: ['reason'], registers: [registry] });
    expect(await collectAndCount(registry, 'test_latency_seconds')).toBe(2);
    expect(await collectAndCount(registry, 'test_size_bytes')).toBe(3);
    expect(await collectAndCount(registry, 'test_unused_total')).toBe(0);
    expect(await collectAndCount(registry)).toBe(5);
  });

  it('rejects a name no family is registered as, listing the families', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_a_total', help: 'x', registers: [registry] });
    new Counter({ name: 'test_b_total', help: 'x', registers: [registry] });
    await expect(collectAndCount(registry, 'test_a')).rejects.toThrow(
      new Error('collectAndCount: no family registered as test_a; the registry has: test_a_total, test_b_total'),
    );
    await expect(collectAndCount(new Registry(), 'x')).rejects.toThrow(
      new Error('collectAndCount: no family registered as x; the registry has: none'),
    );
  });

  it('rejects what is not a registry, and a name that is not one', async () => {
    await expect(collectAndCount(null as unknown as Registry)).rejects.toThrow(
      new TypeError('collectAndCount: registry must be a prom-client Registry, got null'),
    );
    await expect(collectAndCount(new Registry(), 3 as unknown as string)).rejects.toThrow(
      new TypeError('collectAndCount: name must be a family name, got number 3'),
    );
  });
});
