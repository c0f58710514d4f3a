import { Counter, Gauge, Histogram, Registry, register } from 'prom-client';
import { METRIC_NAMES, STOP_REASONS, WORKER_STATES, newMetrics, type Metrics } from '../lib';
import { CONTRACT } from './helpers/contract';
import { parseExposition, scrape, scrapeValue, valueOf } from './helpers/scrape';

describe('newMetrics: parity with the contract', () => {
  it('registers exactly the contract: names, types, label sets and buckets', async () => {
    const registry = new Registry();
    const metrics = newMetrics(registry);
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name).sort()).toEqual(CONTRACT.map((c) => c.name).sort());
    expect([...METRIC_NAMES]).toEqual(CONTRACT.map((c) => c.name));

    for (const entry of CONTRACT) {
      const collector = (metrics as unknown as Record<string, unknown>)[entry.property] as {
        name: string;
        labelNames: string[];
        upperBounds?: number[];
      };
      expect(collector).toBe(registry.getSingleMetric(entry.name));
      expect(collector.labelNames).toEqual([...entry.labels]);
      const exposed = json.find((m) => m.name === entry.name);
      expect(exposed?.type).toBe(entry.type);
      if (entry.type === 'histogram') expect(collector.upperBounds).toEqual(entry.buckets);
      const ctor = { gauge: Gauge, counter: Counter, histogram: Histogram }[entry.type];
      expect(collector).toBeInstanceOf(ctor);
    }
  });

  it('exposes the contract names byte for byte in the text format', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const text = await registry.metrics();
    for (const entry of CONTRACT) {
      expect(text).toContain(`# TYPE ${entry.name} ${entry.type}\n`);
      expect(text).toMatch(new RegExp(`# HELP ${entry.name} \\S`));
    }
    expect(text).toContain('blockyard_cold_start_seconds_bucket{le="0.5"} 0');
    expect(text).toContain('blockyard_cold_start_seconds_bucket{le="64"} 0');
    expect(text).toContain('blockyard_proxy_request_seconds_bucket{le="0.005"} 0');
    expect(text).toContain('blockyard_build_seconds_bucket{le="640"} 0');
  });

  it('exports all three blockyard_workers{state} series at 0 from the start', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const samples = (await scrape(registry)).filter((s) => s.name === 'blockyard_workers');
    expect(samples).toEqual(WORKER_STATES.map((state) => ({ name: 'blockyard_workers', labels: { state }, value: 0 })));
  });

  it('registers on the global default registry when no registry is given', async () => {
    try {
      const metrics = newMetrics();
      expect(metrics.registry).toBe(register);
      metrics.workersSpawned.inc();
      expect(await scrapeValue(register, 'blockyard_workers_spawned_total')).toBe(1);
    } finally {
      register.clear();
    }
  });
});

describe('newMetrics: construction errors', () => {
  it('fails fast, naming every taken name, when the registry already holds the collectors', () => {
    const registry = new Registry();
    newMetrics(registry);
    expect(() => newMetrics(registry)).toThrow(/already holds blockyard_workers_active, blockyard_workers,/);
  });

  it('registers nothing when a name is taken, so the registry is left as it was', async () => {
    const registry = new Registry();
    new Gauge({ name: 'blockyard_build_seconds', help: 'squatter', registers: [registry] });
    expect(() => newMetrics(registry)).toThrow(/already holds blockyard_build_seconds/);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['blockyard_build_seconds']);
  });

  it.each([null, 42, 'registry', {}])('rejects %p as a registry with a TypeError quoting it', (bad) => {
    expect(() => newMetrics(bad as unknown as Registry)).toThrow(TypeError);
    expect(() => newMetrics(bad as unknown as Registry)).toThrow(/registry must be a prom-client Registry, got/);
  });
});

// The Go package's tests, ported: each collector used directly, the way the Go server calls
// them, read back through a registry scrape.
describe('collectors used directly (ports the Go package tests)', () => {
  let registry: Registry;
  let m: Metrics;
  beforeEach(() => {
    registry = new Registry();
    m = newMetrics(registry);
  });

  it('gauges go up and down', async () => {
    m.workersActive.inc();
    m.workersActive.inc();
    m.workersActive.dec();
    m.sessionsActive.inc(5);
    m.sessionsActive.dec(2);
    const samples = await scrape(registry);
    expect(valueOf(samples, 'blockyard_workers_active')).toBe(1);
    expect(valueOf(samples, 'blockyard_sessions_active')).toBe(3);
  });

  it('unlabelled counters count', async () => {
    m.workersSpawned.inc();
    m.bundlesUploaded.inc(2);
    m.bundleRestoresSucceeded.inc();
    m.bundleRestoresFailed.inc(3);
    m.auditEntriesDropped.inc(4);
    const samples = await scrape(registry);
    expect(valueOf(samples, 'blockyard_workers_spawned_total')).toBe(1);
    expect(valueOf(samples, 'blockyard_bundles_uploaded_total')).toBe(2);
    expect(valueOf(samples, 'blockyard_bundle_restores_succeeded_total')).toBe(1);
    expect(valueOf(samples, 'blockyard_bundle_restores_failed_total')).toBe(3);
    expect(valueOf(samples, 'blockyard_audit_entries_dropped_total')).toBe(4);
  });

  it('workers_stopped counts every reason on its own series', async () => {
    STOP_REASONS.forEach((reason, i) => m.workersStopped.labels(reason).inc(i + 1));
    const samples = await scrape(registry);
    STOP_REASONS.forEach((reason, i) => {
      expect(valueOf(samples, 'blockyard_workers_stopped_total', { reason })).toBe(i + 1);
    });
  });

  it('workers{state} sets every state on its own series', async () => {
    WORKER_STATES.forEach((state, i) => m.workersByState.labels(state).set(10 * (i + 1)));
    const samples = await scrape(registry);
    WORKER_STATES.forEach((state, i) => {
      expect(valueOf(samples, 'blockyard_workers', { state })).toBe(10 * (i + 1));
    });
  });

  it('proxy_requests counts by app and every status class', async () => {
    const classes = ['1xx', '2xx', '3xx', '4xx', '5xx'];
    for (const status of classes) m.proxyRequests.labels('app-a', status).inc();
    m.proxyRequests.labels('unknown', '4xx').inc();
    const samples = await scrape(registry);
    for (const status of classes) {
      expect(valueOf(samples, 'blockyard_proxy_requests_total', { app: 'app-a', status })).toBe(1);
    }
    expect(valueOf(samples, 'blockyard_proxy_requests_total', { app: 'unknown', status: '4xx' })).toBe(1);
  });

  it('health_checks_failed counts by app', async () => {
    m.healthChecksFailed.labels('app-a').inc();
    m.healthChecksFailed.labels('app-b').inc(2);
    const samples = await scrape(registry);
    expect(valueOf(samples, 'blockyard_health_checks_failed_total', { app: 'app-a' })).toBe(1);
    expect(valueOf(samples, 'blockyard_health_checks_failed_total', { app: 'app-b' })).toBe(2);
  });

  it('histograms put observations into the contract buckets', async () => {
    m.coldStartDuration.observe(3);
    m.proxyRequestDuration.observe(0.2);
    m.buildDuration.observe(100);
    const samples = await scrape(registry);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '2' })).toBe(0);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '4' })).toBe(1);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_count')).toBe(1);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_sum')).toBe(3);
    expect(valueOf(samples, 'blockyard_proxy_request_seconds_bucket', { le: '0.1' })).toBe(0);
    expect(valueOf(samples, 'blockyard_proxy_request_seconds_bucket', { le: '0.25' })).toBe(1);
    expect(valueOf(samples, 'blockyard_build_seconds_bucket', { le: '80' })).toBe(0);
    expect(valueOf(samples, 'blockyard_build_seconds_bucket', { le: '160' })).toBe(1);
    expect(valueOf(samples, 'blockyard_build_seconds_bucket', { le: '+Inf' })).toBe(1);
  });

  it('keeps two registries apart', async () => {
    const other = new Registry();
    const m2 = newMetrics(other);
    m.workersSpawned.inc(3);
    m2.workersSpawned.inc(1);
    m2.proxyRequests.labels('b', '2xx').inc();
    expect(await scrapeValue(registry, 'blockyard_workers_spawned_total')).toBe(3);
    expect(await scrapeValue(other, 'blockyard_workers_spawned_total')).toBe(1);
    expect(parseExposition(await registry.metrics()).some((s) => s.name === 'blockyard_proxy_requests_total')).toBe(
      false,
    );
  });
});
