/**
 * The exposition against the real programs (Debian's `prometheus` package, installed by
 * .ci/run): `promtool check metrics` lints the 0.0.4 text of a plain and of an OpenMetrics
 * registry, every collector holding values, and finds no problem the testing kit's `lint`
 * misses; a real Prometheus, started here on free ports
 * with a temporary data directory, scrapes a served registry every second (negotiating
 * OpenMetrics, behind a bearer token) and answers PromQL with the values fed to the tracker,
 * then with the new ones after the snapshot changes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { CONTENT_TYPES, WorkerStateTracker, newMetrics, serveMetrics, type MetricsServer } from '../../lib';
import { lint } from '../../lib/testing';
import { fillMetrics } from '../helpers/fill-metrics';
import { httpRequest } from '../helpers/http-client';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server';
import { runCommand } from '../helpers/run-command';
import { waitUntil } from '../helpers/wait-until';
import { snapshotOf } from '../helpers/workers';

const TRACE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

describe('promtool check metrics', () => {
  it.each([
    ['a plain registry', () => new Registry(), false],
    ['an OpenMetrics registry', openMetricsRegistry, true],
  ])(
    'finds no problem in the 0.0.4 exposition of %s, every collector holding values',
    async (_what, make, exemplars) => {
      const registry = make();
      const metrics = newMetrics(registry);
      fillMetrics(metrics);
      // Events with a trace: on an OpenMetrics registry they leave exemplars, which 0.0.4 must not show.
      const tracker = new WorkerStateTracker({ metrics, tick: new Subject<void>() });
      tracker.record({ type: 'proxy_request', app: 'sales', status: 200, seconds: 0.2, trace: TRACE });
      tracker.record({ type: 'worker_spawned', coldStartSeconds: 2.5, trace: TRACE });
      tracker.stop();
      const served = await serveMetrics({ registry, port: 0, selfMetrics: true });
      try {
        const openMetrics = await httpRequest(served.url, { headers: { Accept: 'application/openmetrics-text' } });
        expect(openMetrics.status).toBe(200);
        expect(openMetrics.text.includes(TRACE.traceId)).toBe(exemplars);
        const text = await httpRequest(served.url);
        expect(text.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
        expect(text.text).not.toContain('trace_id');
        expect(text.text).toContain(
          '# TYPE blockyard_workers_spawned_total counter\nblockyard_workers_spawned_total 7\n',
        );
        // promtool reads the metrics to check on stdin only.
        const { code, output } = await runCommand('promtool', ['check', 'metrics'], { input: text.text });
        expect(output).toBe('');
        expect(code).toBe(0);
      } finally {
        await served.close();
      }
    },
  );
});

describe('the testing kit against promtool', () => {
  it("lint finds every metric promtool check metrics finds, in the same registry's 0.0.4 exposition", async () => {
    const registry = new Registry();
    newMetrics(registry);
    new Gauge({ name: 'test_latency_milliseconds', help: 'x', registers: [registry] }).set(1);
    new Counter({ name: 'test_requests', help: 'x', registers: [registry] }).inc();
    new Gauge({ name: 'test_open_total', help: 'x', registers: [registry] }).set(1);
    new Gauge({ name: 'test_queueLength', help: 'x', labelNames: ['appName'], registers: [registry] })
      .labels('a')
      .set(1);
    new Gauge({ name: 'test_limits', help: 'x', labelNames: ['le'], registers: [registry] }).labels('1').set(1);
    new Histogram({ name: 'test_wait_ms', help: 'x', registers: [registry] }).observe(1);
    const { output } = await runCommand('promtool', ['check', 'metrics'], { input: await registry.metrics() });
    // promtool prints one problem per line: `<metric> <what is wrong>`.
    const byPromtool = new Set(
      output
        .split('\n')
        .filter((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]* /.test(line))
        .map((line) => line.split(' ')[0] as string),
    );
    expect([...byPromtool].sort()).toEqual(
      expect.arrayContaining(['test_latency_milliseconds', 'test_limits', 'test_open_total', 'test_requests']),
    );
    const byLint = new Set((await lint(registry)).map((p) => p.metric));
    expect([...byPromtool].filter((metric) => !byLint.has(metric))).toEqual([]);
    expect([...byLint].filter((metric) => metric.startsWith('blockyard_'))).toEqual([]);
  });
});

describe('a real Prometheus scraping a served registry', () => {
  const token = 'e2e-scrape-token';
  const registry = new Registry();
  const metrics = newMetrics(registry);
  const tick$ = new Subject<void>();
  const tracker = new WorkerStateTracker({ metrics, tick: tick$ });
  const answered: string[] = [];
  /** The scrape timeout each scrape announced (the config's scrape_timeout: 1s). */
  const announced: string[] = [];
  let served: MetricsServer;
  let prometheus: PrometheusServer | undefined;

  /** The single value of an instant PromQL query, or undefined while there is none. */
  async function query(promql: string): Promise<number | undefined> {
    const result = await (prometheus as PrometheusServer).query(promql);
    return result.length === 1 ? Number((result[0] as { value: [number, string] }).value[1]) : undefined;
  }

  /** Polls Prometheus until `promql` answers `expected` (a fixed sleep would be flaky). */
  async function expectQuery(promql: string, expected: number): Promise<void> {
    let last: number | undefined;
    await waitUntil(
      `${promql} == ${expected}`,
      async () => {
        last = await query(promql);
        return last !== undefined && Math.abs(last - expected) < 1e-9 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; last answer ${String(last)}; prometheus log:\n${prometheus?.log() ?? ''}`,
      );
    });
  }

  beforeAll(async () => {
    tracker.feed(snapshotOf(3, 2, 1));
    for (let i = 0; i < 4; i += 1) tracker.record({ type: 'worker_spawned', coldStartSeconds: 1.5 });
    for (let i = 0; i < 5; i += 1) tracker.record({ type: 'proxy_request', app: 'sales', status: 200, seconds: 0.05 });
    tick$.next();

    served = await serveMetrics({ registry, port: 0, token });
    // Which format each scrape got (the server's own request listener runs first).
    served.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      announced.push(String(req.headers['x-prometheus-scrape-timeout-seconds']));
      res.once('finish', () => answered.push(String(res.getHeader('content-type'))));
    });

    prometheus = await startPrometheus({ target: new URL(served.url).host, token });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    tracker.stop();
    await (served as MetricsServer | undefined)?.close(); // beforeAll may have failed first
  }, 30_000);

  it('answers PromQL with the fed values: every state, a counter and a histogram quantile', async () => {
    await expectQuery('blockyard_workers{state="busy"}', 3);
    await expectQuery('blockyard_workers{state="idle"}', 2);
    await expectQuery('blockyard_workers{state="draining"}', 1);
    await expectQuery('blockyard_workers_spawned_total', 4);
    await expectQuery('blockyard_proxy_requests_total{app="sales",status="2xx"}', 5);
    // Four cold starts of 1.5 s, all in the (1, 2] bucket: the median interpolates to 1.5.
    await expectQuery('histogram_quantile(0.5, blockyard_cold_start_seconds_bucket)', 1.5);
    await expectQuery('up{job="blockyard"}', 1);
    // Prometheus negotiated OpenMetrics, and got it.
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((type) => type === CONTENT_TYPES.openmetrics)).toBe(true);
    // And announced its scrape timeout, which the handler's deadline follows (900 ms here).
    expect(new Set(announced)).toEqual(new Set(['1']));
  });

  it('answers with the new values after the snapshot changes', async () => {
    tracker.feed(snapshotOf(1, 4, 0));
    for (let i = 0; i < 2; i += 1) tracker.record({ type: 'worker_spawned', coldStartSeconds: 3 });
    tick$.next();
    await expectQuery('blockyard_workers{state="busy"}', 1);
    await expectQuery('blockyard_workers{state="idle"}', 4);
    await expectQuery('blockyard_workers{state="draining"}', 0);
    await expectQuery('blockyard_workers_spawned_total', 6);
    // Four at 1.5 s and two at 3 s: rank 3 of 6 falls in (1, 2] at 3/4 of the way: 1.75.
    await expectQuery('histogram_quantile(0.5, blockyard_cold_start_seconds_bucket)', 1.75);
  });

  it('keeps the exposition behind the token', async () => {
    expect((await httpRequest(served.url)).status).toBe(401);
  });
});
