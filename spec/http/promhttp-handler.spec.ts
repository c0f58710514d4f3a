/**
 * client_golang's promhttp handler tests (prometheus/promhttp/http_test.go), ported case by
 * case to metricsHandler: each `describe` names the Go test it ports. What Go checks on a
 * recorder, these check on a real server on 127.0.0.1 with a real client; where promhttp's
 * messages or metric names differ from ours, the case keeps the behaviour and uses ours.
 */
import { gunzipSync } from 'node:zlib';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONTENT_TYPES, metricsHandler } from '../../lib';
import { heldGauge } from '../helpers/held-gauge';
import { httpRequest } from '../helpers/http-client';
import { listen } from '../helpers/http-server';
import { parseExposition, valueOf } from '../helpers/scrape';
import { closeServedHandlers, keepServer, serveHandler } from '../helpers/served-handler';
import { spinUntil } from '../helpers/wait-until';

/** The Accept header promhttp's tests send: a typo for text/plain, so a format nobody serves. */
const BOGUS_ACCEPT = 'test/plain';

afterEach(async () => {
  await closeServedHandlers();
});

/** A gauge counting its collections: one per rendering (promhttp's mockTransactionGatherer). */
function gatherCounter(registry: Registry): () => number {
  let gathered = 0;
  new Gauge({
    name: 'test_gathered',
    help: 'Counts its collections.',
    registers: [registry],
    collect() {
      gathered += 1;
    },
  });
  return () => gathered;
}

describe('TestHandlerErrorHandling', () => {
  /** The Go test's registry: a counter, a counter with two series, and a collector that fails. */
  function registryWithError(): Registry {
    const registry = new Registry();
    new Counter({ name: 'the_count', help: 'Ah-ah-ah! Thunder and lightning!', registers: [registry] });
    const vec = new Counter({ name: 'name', help: 'docstring', labelNames: ['labelname'], registers: [registry] });
    vec.labels('val1').inc();
    vec.labels('val2').inc();
    new Gauge({
      name: 'invalid_metric',
      help: 'not helpful',
      registers: [registry],
      collect() {
        throw new Error('collect error');
      },
    });
    return registry;
  }

  it("errorHandling 'fail' (HTTPErrorOnError): 500, the error in the body and in the log", async () => {
    const logged: string[] = [];
    const { url } = await serveHandler(registryWithError(), { onError: (e) => logged.push(e.message) });
    const answer = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    expect(answer.status).toBe(500);
    expect(answer.text).toBe('Internal Server Error: gathering metrics failed: collect error\n');
    expect(logged).toEqual(['metricsHandler: gathering metrics failed: collect error']);
  });

  it("errorHandling 'continue' (ContinueOnError): 200, every other family, the error logged and counted", async () => {
    const registry = registryWithError();
    const logged: string[] = [];
    const { url } = await serveHandler(registry, {
      errorHandling: 'continue',
      selfMetrics: true,
      onError: (e) => logged.push(e.message),
    });
    const first = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    expect(first.status).toBe(200);
    expect(logged).toEqual(['metricsHandler: collecting invalid_metric failed, left out of the scrape: collect error']);
    const second = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    // promhttp's wantOKBody, with our self-metrics for its promhttp_metric_handler_errors_total.
    expect(second.text).toBe(
      [
        '# HELP the_count Ah-ah-ah! Thunder and lightning!',
        '# TYPE the_count counter',
        'the_count 0',
        '',
        '# HELP name docstring',
        '# TYPE name counter',
        'name{labelname="val1"} 1',
        'name{labelname="val2"} 1',
        '',
        '# HELP blockyard_telemetry_scrapes_total Total number of scrapes of the metrics endpoint, by HTTP status code.',
        '# TYPE blockyard_telemetry_scrapes_total counter',
        'blockyard_telemetry_scrapes_total{code="200"} 1',
        'blockyard_telemetry_scrapes_total{code="500"} 0',
        'blockyard_telemetry_scrapes_total{code="503"} 0',
        '',
        '# HELP blockyard_telemetry_scrapes_in_flight Number of scrapes of the metrics endpoint being served now.',
        '# TYPE blockyard_telemetry_scrapes_in_flight gauge',
        'blockyard_telemetry_scrapes_in_flight 1',
        '',
        '# HELP blockyard_telemetry_collector_errors_total Total number of collectors left out of a scrape of the metrics endpoint because reading them failed.',
        '# TYPE blockyard_telemetry_collector_errors_total counter',
        'blockyard_telemetry_collector_errors_total 1',
        '',
      ].join('\n'),
    );
  });
});

describe('TestInstrumentMetricHandler', () => {
  it('counts N scrapes by code and shows each scrape itself in flight', async () => {
    const registry = new Registry();
    const gathered = gatherCounter(registry);
    const { url } = await serveHandler(registry, { selfMetrics: true });
    // Registering the self-metrics again on the same registry reuses them (idempotent).
    metricsHandler(registry, { selfMetrics: true });
    const first = parseExposition((await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } })).text);
    expect(gathered()).toBe(1);
    expect(valueOf(first, 'blockyard_telemetry_scrapes_in_flight')).toBe(1);
    expect(valueOf(first, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(0);
    for (let i = 0; i < 100; i += 1) {
      const answer = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
      expect(answer.status).toBe(200);
      expect(gathered()).toBe(i + 2);
      const samples = parseExposition(answer.text);
      expect(valueOf(samples, 'blockyard_telemetry_scrapes_in_flight')).toBe(1);
      expect(valueOf(samples, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(i + 1);
    }
  });
});

describe('TestInstrumentMetricHandlerWithCompression', () => {
  it('counts N gzipped scrapes the same way, each body gzipped', async () => {
    const registry = new Registry();
    const { url } = await serveHandler(registry, { selfMetrics: true });
    for (let i = 0; i < 100; i += 1) {
      const answer = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT, 'Accept-Encoding': 'gzip' } });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-encoding']).toBe('gzip');
      const samples = parseExposition(gunzipSync(answer.body).toString('utf8'));
      expect(valueOf(samples, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(i);
    }
  });
});

describe('TestNegotiateEncodingWriter', () => {
  it.each([
    ['no Accept-Encoding', undefined, undefined],
    ['identity', 'identity', undefined],
    ['gzip', 'gzip', 'gzip'],
    ['gzip, then zstd (not offered)', 'gzip,zstd', 'gzip'],
    ['zstd (not offered), then gzip', 'zstd,gzip', 'gzip'],
    ['gzip refused with q=0', 'gzip;q=0', undefined],
  ])('answers %s (Accept-Encoding %j) with Content-Encoding %j', async (_what, acceptEncoding, encoding) => {
    const registry = new Registry();
    new Gauge({ name: 'test_gauge', help: 'A test gauge.', registers: [registry] }).set(42);
    const { url } = await serveHandler(registry);
    const headers: Record<string, string> = acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding };
    const answer = await httpRequest(url, { headers });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe(encoding);
    const text = encoding === 'gzip' ? gunzipSync(answer.body).toString('utf8') : answer.text;
    expect(text).toBe('# HELP test_gauge A test gauge.\n# TYPE test_gauge gauge\ntest_gauge 42\n');
  });

  it('never compresses with compress: false (DisableCompression)', async () => {
    const { url } = await serveHandler(new Registry(), { compress: false });
    expect((await httpRequest(url, { headers: { 'Accept-Encoding': 'gzip' } })).headers['content-encoding']).toBe(
      undefined,
    );
  });
});

describe('content negotiation as promhttp tests it (expfmt.Negotiate)', () => {
  it.each([
    ["promhttp's bogus test/plain", BOGUS_ACCEPT],
    ['*/*', '*/*'],
    ["a browser's Accept", 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
    ['no Accept', undefined],
  ])('answers %s with Prometheus text 0.0.4', async (_what, accept) => {
    const registry = new Registry();
    new Counter({ name: 'test_requests_total', help: 'Requests.', registers: [registry] }).inc();
    const { url } = await serveHandler(registry);
    const answer = await httpRequest(url, { headers: accept === undefined ? {} : { Accept: accept } });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(answer.text).toBe(
      '# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\ntest_requests_total 1\n',
    );
  });
});

describe('TestHandlerMaxRequestsInFlight', () => {
  it('with a limit of 1: the second request gets 503 while the first is held, the third 200', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry, { maxInFlight: 1 });
    const first = httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    await held.entered();
    const second = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    expect(second.status).toBe(503);
    expect(second.text).toBe('Service Unavailable: more than 1 scrapes in flight\n');
    held.open(1);
    expect((await first).status).toBe(200);
    const third = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    expect(third.status).toBe(200);
  });
});

describe('TestHandlerTimeout', () => {
  it('with a 1 ms timeout and a blocking collector: 503, and the collector let go afterwards', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry, { timeoutMs: 1 });
    const answer = await httpRequest(url, { headers: { Accept: BOGUS_ACCEPT } });
    expect(answer.status).toBe(503);
    expect(answer.text).toBe('Service Unavailable: scrape timed out after 1 ms\n');
    expect(held.calls).toBe(1);
    held.open(0); // To not leave the collector waiting.
  });
});

describe('TestHandlerWithMetricFilter', () => {
  /** The Go test's registry: a counter, a gauge and a histogram, each holding a value. */
  function filterRegistry(): { registry: Registry; gathered: () => number } {
    const registry = new Registry();
    new Counter({ name: 'test_counter', help: 'A test counter.', registers: [registry] }).inc();
    new Gauge({ name: 'test_gauge', help: 'A test gauge.', registers: [registry] }).set(42);
    new Histogram({ name: 'test_histogram', help: 'A test histogram.', registers: [registry] }).observe(3.14);
    return { registry, gathered: gatherCounter(registry) };
  }

  it.each([
    ['single metric filter', '?name[]=test_counter', ['test_counter'], ['test_gauge', 'test_histogram']],
    [
      'multiple metric filters',
      '?name[]=test_counter&name[]=test_gauge',
      ['test_counter', 'test_gauge'],
      ['test_histogram'],
    ],
    ['no filter returns all metrics', '', ['test_counter', 'test_gauge', 'test_histogram'], []],
    [
      'non-matching filter returns empty',
      '?name[]=nonexistent_metric',
      [],
      ['test_counter', 'test_gauge', 'test_histogram'],
    ],
    ['empty name[] value', '?name[]=', [], ['test_counter', 'test_gauge', 'test_histogram']],
    [
      'duplicate name[] values',
      '?name[]=test_counter&name[]=test_counter',
      ['test_counter'],
      ['test_gauge', 'test_histogram'],
    ],
  ])('%s', async (_case, query, contained, absent) => {
    const { registry, gathered } = filterRegistry();
    const { url } = await serveHandler(registry);
    const answer = await httpRequest(`${url}${query}`, { headers: { Accept: 'text/plain' } });
    expect(answer.status).toBe(200);
    for (const name of contained) expect(answer.text).toContain(`# TYPE ${name} `);
    for (const name of absent) expect(answer.text).not.toContain(name);
    // The registry is gathered once per scrape, filtered or not.
    expect(gathered()).toBe(1);
  });

  it('duplicate name[] values answer the family once', async () => {
    const { registry } = filterRegistry();
    const { url } = await serveHandler(registry);
    const answer = await httpRequest(`${url}?name[]=test_counter&name[]=test_counter`);
    expect(answer.text).toBe('# HELP test_counter A test counter.\n# TYPE test_counter counter\ntest_counter 1\n');
  });
});

describe('TestHandlerWithNilRequestURL', () => {
  it('answers a request object without a URL with everything (errorHandling continue)', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_counter', help: 'A test counter.', registers: [registry] }).inc();
    const handler = metricsHandler(registry, { errorHandling: 'continue' });
    let seen = 0;
    const server = await listen((req, res) => {
      seen += 1;
      delete (req as { url?: string }).url;
      handler(req, res);
    });
    keepServer(server);
    const answer = await httpRequest(`${server.origin}/metrics?name[]=nothing`);
    await spinUntil(() => seen === 1, 'the request to reach the handler');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('# HELP test_counter A test counter.\n# TYPE test_counter counter\ntest_counter 1\n');
  });
});
