/**
 * `errorHandling`: what a collector that throws does to a scrape. `'fail'` (the default)
 * answers 500; `'continue'` leaves that collector out, serves every other family with 200 and
 * the very bytes they have without the failure, reports each failure to `onError` and counts it
 * in the self-metrics, and still answers 500 when nothing is left to serve.
 */
import { gunzipSync } from 'node:zlib';
import { Registry, type RegistryContentType } from 'prom-client';
import { metricsHandler, newMetrics, type MetricsHandlerOptions } from '../../lib';
import { rejectingHistogram, throwingGauge } from '../helpers/failing-collectors';
import { fillMetrics } from '../helpers/fill-metrics';
import { httpRequest } from '../helpers/http-client';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';
import { parseExposition, valueOf } from '../helpers/scrape';
import { OPENMETRICS_ACCEPT, SCRAPE_KINDS, closeServedHandlers, serveHandler } from '../helpers/served-handler';

afterEach(async () => {
  await closeServedHandlers();
});

/** The contract holding values, with a throwing gauge first and a rejecting histogram between. */
function brokenRegistry(
  make: () => Registry<RegistryContentType> = () => new Registry(),
): Registry<RegistryContentType> {
  const registry = make();
  throwingGauge(registry, 'test_first_broken');
  fillMetrics(newMetrics(registry));
  rejectingHistogram(registry, 'test_late_broken_seconds');
  return registry;
}

/** What the served registry shows without its broken collectors: the contract alone. */
async function referenceText(make: () => Registry<RegistryContentType> = () => new Registry()): Promise<string> {
  const reference = make();
  fillMetrics(newMetrics(reference));
  return reference.metrics();
}

const continuing: MetricsHandlerOptions = { errorHandling: 'continue' };

describe("errorHandling: 'continue'", () => {
  it.each(SCRAPE_KINDS)(
    '%s: leaves out the collectors that throw or reject and serves the rest, byte for byte',
    async (_what, om, gzip) => {
      const { url } = await serveHandler(brokenRegistry(), continuing);
      const headers: Record<string, string> = {};
      if (om) headers.Accept = OPENMETRICS_ACCEPT;
      if (gzip) headers['Accept-Encoding'] = 'gzip';
      const answer = await httpRequest(url, { headers });
      expect(answer.status).toBe(200);
      const text = gzip ? gunzipSync(answer.body).toString('utf8') : answer.text;
      expect(text).toBe(await referenceText(om ? openMetricsRegistry : undefined));
    },
  );

  it('serves an OpenMetrics registry the same way in both formats', async () => {
    const { url } = await serveHandler(brokenRegistry(openMetricsRegistry), continuing);
    expect((await httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } })).text).toBe(
      await referenceText(openMetricsRegistry),
    );
    expect((await httpRequest(url)).text).toBe(await referenceText());
  });

  it('reports each collector left out to onError, with what it threw as the cause', async () => {
    const errors: Error[] = [];
    const { url } = await serveHandler(brokenRegistry(), { ...continuing, onError: (e) => errors.push(e) });
    expect((await httpRequest(url)).status).toBe(200);
    expect(errors.map((e) => e.message).sort()).toEqual([
      'metricsHandler: collecting test_first_broken failed, left out of the scrape: test_first_broken is broken',
      'metricsHandler: collecting test_late_broken_seconds failed, left out of the scrape: test_late_broken_seconds rejected',
    ]);
    expect(errors.map((e) => (e.cause as Error).message).sort()).toEqual([
      'test_first_broken is broken',
      'test_late_broken_seconds rejected',
    ]);
  });

  it('counts the collectors left out in blockyard_telemetry_collector_errors_total (with selfMetrics)', async () => {
    const registry = brokenRegistry();
    const { url } = await serveHandler(registry, { ...continuing, selfMetrics: true });
    // The first scrape is rendered before its own failures are counted: 0, then 2 per scrape.
    const first = parseExposition((await httpRequest(url)).text);
    expect(valueOf(first, 'blockyard_telemetry_collector_errors_total')).toBe(0);
    await httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } });
    const third = parseExposition((await httpRequest(url)).text);
    expect(valueOf(third, 'blockyard_telemetry_collector_errors_total')).toBe(4);
    expect(valueOf(third, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(2);
  });

  it('serves everything again once the collector recovers', async () => {
    const registry = new Registry();
    let broken = true;
    throwingGauge(registry, 'test_flaky', () => broken);
    fillMetrics(newMetrics(registry));
    const { url } = await serveHandler(registry, continuing);
    expect(parseExposition((await httpRequest(url)).text).some((s) => s.name === 'test_flaky')).toBe(false);
    broken = false;
    expect(valueOf(parseExposition((await httpRequest(url)).text), 'test_flaky')).toBe(1);
  });

  it('answers 500 when every collector failed: never an empty 200 because of errors', async () => {
    const registry = new Registry();
    throwingGauge(registry, 'test_a');
    rejectingHistogram(registry, 'test_b_seconds');
    const errors: string[] = [];
    const { url } = await serveHandler(registry, { ...continuing, onError: (e) => errors.push(e.message) });
    const answer = await httpRequest(url);
    expect(answer.status).toBe(500);
    expect(answer.text).toBe(
      'Internal Server Error: gathering metrics failed: every collector failed (2): test_a: test_a is broken; test_b_seconds: test_b_seconds rejected\n',
    );
    expect(errors).toContain(
      'metricsHandler: gathering metrics failed: every collector failed (2): test_a: test_a is broken; test_b_seconds: test_b_seconds rejected',
    );
  });

  it('answers 500 when name[] asks only for collectors that failed, 200 when it also asks for one that works', async () => {
    const { url } = await serveHandler(brokenRegistry(), continuing);
    const failed = await httpRequest(`${url}?name[]=test_first_broken`);
    expect(failed.status).toBe(500);
    expect(failed.text).toBe(
      'Internal Server Error: gathering metrics failed: every collector asked for failed (1): test_first_broken: test_first_broken is broken\n',
    );
    const mixed = await httpRequest(`${url}?name[]=test_first_broken&name[]=blockyard_workers_active`);
    expect(mixed.status).toBe(200);
    expect(mixed.text).toBe(
      '# HELP blockyard_workers_active Number of workers currently running.\n' +
        '# TYPE blockyard_workers_active gauge\nblockyard_workers_active 4\n',
    );
    // A name that matches nothing is no failure: 200, no family.
    const unknown = await httpRequest(`${url}?name[]=blockyard_nothing`);
    expect(unknown.status).toBe(200);
    expect(unknown.text).toBe('');
  });

  it('answers 200 with an empty registry: no collector, no error', async () => {
    const { url } = await serveHandler(new Registry(), continuing);
    const answer = await httpRequest(url);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('\n');
  });
});

describe("errorHandling: 'fail' (the default)", () => {
  it('answers 500 and nothing partial, and registers no collector-errors counter', async () => {
    const registry = brokenRegistry();
    const errors: string[] = [];
    const { url } = await serveHandler(registry, { selfMetrics: true, onError: (e) => errors.push(e.message) });
    const answer = await httpRequest(url);
    expect(answer.status).toBe(500);
    expect(answer.text).not.toContain('blockyard_workers');
    expect(errors).toHaveLength(1);
    expect(registry.getSingleMetric('blockyard_telemetry_collector_errors_total')).toBeUndefined();
  });

  it('rejects another value, naming both', () => {
    expect(() =>
      metricsHandler(new Registry(), { errorHandling: 'ignore' } as unknown as MetricsHandlerOptions),
    ).toThrow(new TypeError('metricsHandler: errorHandling must be one of "fail", "continue", got "ignore"'));
  });
});
