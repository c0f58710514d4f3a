/**
 * metricsHandler against a real server on 127.0.0.1 and a real client (node:http): formats,
 * methods, gzip, the token, limits, failures, shared serializations, self-metrics, options,
 * and the Express and Fastify examples.
 */
import { gunzipSync } from 'node:zlib';
import { Agent, IncomingMessage, ServerResponse, request } from 'node:http';
import { Socket } from 'node:net';
import { Counter, Gauge, Registry, type RegistryContentType } from 'prom-client';
import {
  CONTENT_TYPES,
  METRIC_NAMES,
  acceptsGzip,
  metricsHandler,
  negotiateFormat,
  newMetrics,
  type MetricsHandlerOptions,
} from '../../lib';
import { SharedExposition } from '../../lib/http/shared-exposition';
import { startExpressExample } from '../../examples/express';
import { startFastifyExample } from '../../examples/fastify';
import { deferred } from '../helpers/deferred';
import { fillMetrics } from '../helpers/fill-metrics';
import { heldGauge } from '../helpers/held-gauge';
import { errorWithMessage, trappingProxy, unprintable } from '../helpers/hostile-values';
import { httpRequest, type HttpAnswer } from '../helpers/http-client';
import { listen } from '../helpers/http-server';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';
import { parseExposition, valueOf } from '../helpers/scrape';
import {
  OPENMETRICS_ACCEPT,
  PROMETHEUS_ACCEPT,
  closeServedHandlers,
  keepServer,
  serveHandler,
} from '../helpers/served-handler';
import { spinUntil, within } from '../helpers/wait-until';

async function serve(registry: Registry<RegistryContentType>, options?: MetricsHandlerOptions): Promise<string> {
  return (await serveHandler(registry, options)).url;
}

afterEach(async () => {
  jest.useRealTimers();
  await closeServedHandlers();
});

/** Family names declared by `# TYPE` lines, in order. */
function families(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('# TYPE '))
    .map((line) => line.split(' ')[2] as string);
}

describe('metricsHandler: formats', () => {
  it("answers GET with prom-client's own 0.0.4 rendering: a fresh registry shows exactly the contract", async () => {
    const registry = new Registry();
    newMetrics(registry);
    const answer = await httpRequest(await serve(registry));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(answer.text).toBe(await registry.metrics());
    expect(families(answer.text)).toEqual(METRIC_NAMES);
  });

  it("answers OpenMetrics when Accept asks for it, byte-identical to prom-client's OpenMetrics rendering", async () => {
    const plain = new Registry();
    fillMetrics(newMetrics(plain));
    const reference = openMetricsRegistry();
    fillMetrics(newMetrics(reference));
    const answer = await httpRequest(await serve(plain), { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(answer.text).toBe(await reference.metrics());
    expect(answer.text.endsWith('# EOF\n')).toBe(true);
  });

  it('negotiates OpenMetrics for the Accept header Prometheus sends', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const answer = await httpRequest(await serve(registry), { headers: { Accept: PROMETHEUS_ACCEPT } });
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
  });

  it('names counters the OpenMetrics way: # TYPE without _total, samples with it', async () => {
    const registry = new Registry();
    newMetrics(registry).workersSpawned.inc();
    const { text } = await httpRequest(await serve(registry), { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(text).toContain('# TYPE blockyard_workers_spawned counter\nblockyard_workers_spawned_total 1\n');
    expect(text).not.toContain('# TYPE blockyard_workers_spawned_total');
  });

  it('serves an OpenMetrics registry as valid 0.0.4, even after OpenMetrics scrapes renamed its counters', async () => {
    const om = openMetricsRegistry();
    fillMetrics(newMetrics(om));
    const plain = new Registry();
    fillMetrics(newMetrics(plain));
    const url = await serve(om);

    const first = await httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(first.text).toBe(await openMetricsReference());
    // prom-client's own OpenMetrics rendering strips `_total` from counter names in place.
    await om.metrics();
    expect((om.getSingleMetric('blockyard_workers_spawned_total') as unknown as { name: string }).name).toBe(
      'blockyard_workers_spawned',
    );

    const text = await httpRequest(url);
    expect(text.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(text.text).toBe(await plain.metrics());
    expect(text.text).toContain('# TYPE blockyard_workers_spawned_total counter\nblockyard_workers_spawned_total 6\n');
    expect(families(text.text)).toEqual(METRIC_NAMES);
    // And OpenMetrics is still right after that.
    const again = await httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(again.text).toBe(first.text);

    async function openMetricsReference(): Promise<string> {
      const reference = openMetricsRegistry();
      fillMetrics(newMetrics(reference));
      return reference.metrics();
    }
  });

  it('answers concurrent scrapes of both formats, each in its own format, from one OpenMetrics registry', async () => {
    const om = openMetricsRegistry();
    fillMetrics(newMetrics(om));
    const plain = new Registry();
    fillMetrics(newMetrics(plain));
    const expectedText = await plain.metrics();
    const reference = openMetricsRegistry();
    fillMetrics(newMetrics(reference));
    const expectedOpenMetrics = await reference.metrics();
    const url = await serve(om);

    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        httpRequest(url, { headers: i % 2 === 0 ? { Accept: OPENMETRICS_ACCEPT } : {} }),
      ),
    );
    answers.forEach((answer, i) => {
      expect(answer.text).toBe(i % 2 === 0 ? expectedOpenMetrics : expectedText);
    });
  });

  it('shows exemplars in OpenMetrics only', async () => {
    const om = openMetricsRegistry();
    const counter = new Counter({
      name: 'test_requests_total',
      help: 'Requests.',
      registers: [om],
      enableExemplars: true,
    });
    counter.inc({ value: 2, exemplarLabels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' } } as never);
    const url = await serve(om);
    const openMetrics = await httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(openMetrics.text).toMatch(/^test_requests_total 2 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\} 2 \d/m);
    const text = await httpRequest(url);
    expect(text.text).toBe(
      '# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\ntest_requests_total 2\n',
    );
  });

  it("applies the registry's default labels in both formats", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ instance_group: 'blue' });
    newMetrics(registry).workersSpawned.inc();
    const url = await serve(registry);
    for (const headers of [{}, { Accept: OPENMETRICS_ACCEPT }] as Record<string, string>[]) {
      const samples = parseExposition((await httpRequest(url, { headers })).text);
      expect(valueOf(samples, 'blockyard_workers_spawned_total', { instance_group: 'blue' })).toBe(1);
    }
  });

  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['*/*', 'prometheus'],
    ['application/json', 'prometheus'],
    [OPENMETRICS_ACCEPT, 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    [PROMETHEUS_ACCEPT, 'openmetrics'],
    ['text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5', 'prometheus'],
    ['application/openmetrics-text;q=0, text/plain', 'prometheus'],
    ['application/openmetrics-text;version=0.0.1', 'prometheus'],
    ['Application/OpenMetrics-Text; Version="1.0.0"', 'openmetrics'],
  ])('negotiateFormat(%j) is %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });

  it.each([
    [undefined, false],
    ['identity', false],
    ['gzip', true],
    ['deflate, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['*', true],
    ['gzip;q=0, *', false],
    ['br, *;q=0.1', true],
  ])('acceptsGzip(%j) is %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('metricsHandler: methods and compression', () => {
  it('answers HEAD with the headers GET gets and no body', async () => {
    const registry = new Registry();
    fillMetrics(newMetrics(registry));
    const url = await serve(registry);
    const get = await httpRequest(url);
    const head = await httpRequest(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.headers['content-length']).toBe(String(get.body.length));
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s with 405 and Allow: GET, HEAD', async (method) => {
    const registry = new Registry();
    newMetrics(registry);
    const answer = await httpRequest(await serve(registry), { method });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expect(answer.text).not.toContain('blockyard');
  });

  it('gzips when the scraper accepts gzip, in either format, and says so in Vary', async () => {
    const registry = new Registry();
    fillMetrics(newMetrics(registry));
    const url = await serve(registry);
    for (const accept of ['text/plain', OPENMETRICS_ACCEPT]) {
      const plain = await httpRequest(url, { headers: { Accept: accept } });
      const zipped = await httpRequest(url, { headers: { Accept: accept, 'Accept-Encoding': 'gzip, deflate' } });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers['content-length']).toBe(String(zipped.body.length));
      expect(zipped.headers.vary).toBe('Accept, Accept-Encoding');
      expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.text);
    }
  });

  it('never gzips with compress: false', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const answer = await httpRequest(await serve(registry, { compress: false }), {
      headers: { 'Accept-Encoding': 'gzip' },
    });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.text).toBe(await registry.metrics());
  });
});

describe('metricsHandler: bearer token', () => {
  const token = 's3cr3t-token_value';

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { Authorization: 'Bearer wrong' }],
    ['a longer token', { Authorization: `Bearer ${token}x` }],
    ['a prefix of the token', { Authorization: `Bearer ${token.slice(0, 4)}` }],
    ['another scheme', { Authorization: `Basic ${token}` }],
    ['an empty bearer', { Authorization: 'Bearer ' }],
    ['the token followed by more words', { Authorization: `Bearer ${token} junk` }],
    ['the token twice', { Authorization: `Bearer ${token} ${token}` }],
  ])('answers 401, revealing nothing, to %s', async (_what, headers: Record<string, string>) => {
    const registry = new Registry();
    fillMetrics(newMetrics(registry));
    const answer = await httpRequest(await serve(registry, { token }), { headers });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(answer.text).toBe('Unauthorized\n');
  });

  it('checks the token before the method, so a 405 cannot reveal the endpoint either', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const answer = await httpRequest(await serve(registry, { token }), { method: 'POST' });
    expect(answer.status).toBe(401);
  });

  it('serves the exposition with the right token (scheme in any case)', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const url = await serve(registry, { token });
    for (const scheme of ['Bearer', 'bearer']) {
      const answer = await httpRequest(url, { headers: { Authorization: `${scheme} ${token}` } });
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(await registry.metrics());
    }
  });
});

describe('metricsHandler: limits', () => {
  it('answers 500 to a request object that throws on every read, and throws nothing', () => {
    const errors: string[] = [];
    const handler = metricsHandler(new Registry(), { onError: (e) => errors.push(e.message) });
    const hostile = new Proxy({} as unknown as IncomingMessage, {
      get() {
        throw new Error('trap');
      },
    });
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    expect(() => handler(hostile, res)).not.toThrow();
    expect(res.statusCode).toBe(500);
    expect(errors).toEqual(['metricsHandler: serving a scrape failed: trap']);
  });

  it('gives the slot back when the request or response object throws, so hostile calls cannot use up maxInFlight', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const errors: string[] = [];
    const { url } = await serveHandler(
      registry,
      { maxInFlight: 2, onError: (e) => errors.push(e.message) },
      (req, res, n) => {
        if (n <= 3) {
          Object.defineProperty(req.headers, 'accept', {
            get() {
              throw new Error('unreadable Accept');
            },
          });
        } else if (n <= 6) {
          res.once = () => {
            throw new Error('no events here');
          };
        }
      },
    );
    for (let i = 0; i < 6; i += 1) expect((await httpRequest(url)).status).toBe(500);
    const answer = await httpRequest(url);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(await registry.metrics());
    expect(errors).toEqual([
      ...Array<string>(3).fill('metricsHandler: serving a scrape failed: unreadable Accept'),
      ...Array<string>(3).fill('metricsHandler: serving a scrape failed: no events here'),
    ]);
  });

  it('answers 503 at once beyond maxInFlight, and serves again once scrapes finish', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const url = await serve(registry, { maxInFlight: 2 });
    const first = httpRequest(url);
    const second = httpRequest(url, { headers: { Accept: OPENMETRICS_ACCEPT } });
    await spinUntil(() => held.calls === 2, 'both scrapes to be in flight');
    const third = await httpRequest(url);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.text).toBe('Service Unavailable: more than 2 scrapes in flight\n');
    held.open(7);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const fourth = await httpRequest(url);
    expect(fourth.status).toBe(200);
    expect(valueOf(parseExposition(fourth.text), 'test_held')).toBe(7);
  });

  it('answers 503 after timeoutMs, drops the late result, and the next scrape starts afresh', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const errors: string[] = [];
    const url = await serve(registry, { timeoutMs: 50, maxInFlight: 1, onError: (e) => errors.push(e.message) });
    const timedOut = await httpRequest(url);
    expect(timedOut.status).toBe(503);
    expect(timedOut.text).toBe('Service Unavailable: scrape timed out after 50 ms\n');
    expect(errors).toEqual(['metricsHandler: scrape timed out after 50 ms']);
    // The slot was released (maxInFlight 1), and the hung serialization is not joined.
    held.open(3);
    const next = await httpRequest(url);
    expect(next.status).toBe(200);
    expect(held.calls).toBe(2);
    expect(valueOf(parseExposition(next.text), 'test_held')).toBe(3);
  });

  it('times out after the default 10 s, and clears its timer when a scrape finishes in time', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const registry = new Registry();
    const held = heldGauge(registry);
    const url = await serve(registry);
    const pending = httpRequest(url);
    await held.entered();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(9_999);
    held.release(1); // finishes 1 ms before the deadline
    expect((await pending).status).toBe(200);
    expect(jest.getTimerCount()).toBe(0);

    const late = httpRequest(url);
    await held.entered();
    jest.advanceTimersByTime(10_000);
    const answer = await late;
    expect(answer.status).toBe(503);
    expect(jest.getTimerCount()).toBe(0);
    held.open(2);
  });

  it('releases the slot of a scraper that went away: with maxInFlight 1 the next scrape waits for the render still held, not refused', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const firstClosed = deferred();
    const { url, seen } = await serveHandler(registry, { maxInFlight: 1 }, (_req, res, n) => {
      // Registered before the handler's own listener, so it runs first on the same 'close'.
      if (n === 1) res.once('close', () => firstClosed.resolve());
    });
    const gone = new Promise<void>((resolve) => {
      const req = request(url, { agent: false });
      req.on('error', () => resolve());
      req.end();
      void held.entered().then(() => req.destroy());
    });
    await gone;
    await firstClosed.promise;
    // The render is still held: a slot kept by the scraper that left would make this a 503.
    const next = httpRequest(url);
    await spinUntil(() => seen() === 2, 'the next scrape to reach the handler');
    held.open(5);
    const answer = await next;
    expect(answer.status).toBe(200);
    expect(valueOf(parseExposition(answer.text), 'test_held')).toBe(5);
    // It arrived once the held rendering was reading: it had the next one.
    expect(held.calls).toBe(2);
  });

  it('reports a response that fails as it is written, closes its connection, and serves the next scrape', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const errors: string[] = [];
    const { url } = await serveHandler(registry, { onError: (e) => errors.push(e.message) }, (_req, res, n) => {
      if (n === 1) {
        res.writeHead = () => {
          throw new Error('socket gone');
        };
      }
    });
    await expect(httpRequest(url)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(errors).toEqual(['metricsHandler: writing the response failed: socket gone']);
    const next = await httpRequest(url);
    expect(next.status).toBe(200);
    expect(next.text).toBe(await registry.metrics());
  });
});

describe('metricsHandler: failures', () => {
  it.each([
    [
      'an Error of two lines',
      new Error('disk on fire\nwith a stack of details'),
      'disk on fire with a stack of details',
    ],
    ['an Error whose message is null', errorWithMessage(null), 'an Error whose message is null'],
    ['an Error whose message is a number', errorWithMessage(42), 'an Error whose message is number 42'],
    ['an Error whose message is a symbol', errorWithMessage(Symbol('boom')), 'an Error whose message is symbol boom'],
    ['an Error of 1 MiB', new Error('x'.repeat(1 << 20)), `${'x'.repeat(199)}…`],
    ['an object whose toString throws', unprintable(), 'an unprintable error (an object)'],
    ['a Proxy whose traps throw', trappingProxy(), 'an unprintable error (an unreadable value)'],
  ])(
    'answers 500 with a short message when a collector throws %s, tells onError, and the next scrape works',
    async (_what, thrown, text) => {
      const registry = new Registry();
      newMetrics(registry);
      let broken = true;
      new Gauge({
        name: 'test_hostile',
        help: 'Throws something hostile while broken.',
        registers: [registry],
        collect() {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- whatever a collector may throw
          if (broken) throw thrown;
          this.set(1);
        },
      });
      const errors: Error[] = [];
      const url = await serve(registry, { onError: (e) => errors.push(e) });
      const failed = await within('the 500', httpRequest(url), 5000);
      expect(failed.status).toBe(500);
      expect(failed.text).toBe(`Internal Server Error: gathering metrics failed: ${text}\n`);
      expect(errors.map((e) => e.message)).toEqual([`metricsHandler: gathering metrics failed: ${text}`]);
      expect(errors[0]?.cause).toBe(thrown);
      broken = false;
      const next = await httpRequest(url);
      expect(next.status).toBe(200);
      expect(valueOf(parseExposition(next.text), 'test_hostile')).toBe(1);
    },
  );

  it('answers 500 when a collector rejects (with anything), even if onError throws', async () => {
    const registry = new Registry();
    let broken = true;
    new Gauge({
      name: 'test_async_fragile',
      help: 'Rejects while broken.',
      registers: [registry],
      async collect() {
        await Promise.resolve();
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- not an Error on purpose: its message must still come through
        if (broken) throw 'a bare string';
      },
    });
    const url = await serve(registry, {
      onError: () => {
        throw new Error('the logger is broken too');
      },
    });
    const failed = await httpRequest(url, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(failed.status).toBe(500);
    expect(failed.text).toBe('Internal Server Error: gathering metrics failed: a bare string\n');
    broken = false;
    expect((await httpRequest(url)).status).toBe(200);
  });
});

describe('metricsHandler: one serialization per format in flight', () => {
  it('lets 15 scrapes that arrive during a serialization share the next one, and a later scrape sees fresh values', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url, seen } = await serveHandler(registry);
    const gzip = { headers: { 'Accept-Encoding': 'gzip' } };
    const first = httpRequest(url, gzip);
    await held.entered();
    const scrapes = [first, ...Array.from({ length: 15 }, () => httpRequest(url, gzip))];
    await spinUntil(() => seen() === 16, 'all 16 scrapes to reach the handler');
    held.open(1);
    const answers = await Promise.all(scrapes);
    // The first scrape's serialization, and one more shared by the 15 that came during it.
    expect(held.calls).toBe(2);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(valueOf(parseExposition(gunzipSync(answer.body).toString('utf8')), 'test_held')).toBe(1);
    }
    held.open(2);
    const later = await httpRequest(url);
    expect(held.calls).toBe(3);
    expect(valueOf(parseExposition(later.text), 'test_held')).toBe(2);
  });

  it('gives a scrape that arrives while a serialization is reading the next one: it sees what was recorded before it arrived', async () => {
    const registry = new Registry();
    const before = new Counter({
      name: 'test_recorded_total',
      help: 'Read before the held gauge.',
      registers: [registry],
    });
    const held = heldGauge(registry);
    const { url, seen } = await serveHandler(registry);
    const first = httpRequest(url);
    await held.entered(); // the first serialization has read test_recorded_total: 0
    before.inc();
    const second = httpRequest(url);
    await spinUntil(() => seen() === 2, 'the second scrape to reach the handler');
    held.open(1);
    const [a, b] = await Promise.all([first, second]);
    expect(valueOf(parseExposition(a.text), 'test_recorded_total')).toBe(0);
    expect(valueOf(parseExposition(b.text), 'test_recorded_total')).toBe(1);
    expect(held.calls).toBe(2);
  });

  it('serializes each format once when both are scraped at the same time', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url, seen } = await serveHandler(registry);
    const scrape = (i: number): Promise<HttpAnswer> =>
      httpRequest(url, { headers: i % 2 === 0 ? { Accept: OPENMETRICS_ACCEPT } : {} });
    const firsts = [scrape(0), scrape(1)];
    await spinUntil(() => held.calls === 2, 'one serialization per format, both reading');
    const scrapes = [...firsts, ...Array.from({ length: 6 }, (_, i) => scrape(i + 2))];
    await spinUntil(() => seen() === 8, 'all 8 scrapes to reach the handler');
    held.open(4);
    const answers = await Promise.all(scrapes);
    // One for each format's first scrape, and one per format shared by the three that followed.
    expect(held.calls).toBe(4);
    answers.forEach((answer, i) => {
      expect(answer.headers['content-type']).toBe(i % 2 === 0 ? CONTENT_TYPES.openmetrics : CONTENT_TYPES.prometheus);
    });
  });
});

describe('SharedExposition: what joins a serialization', () => {
  function countingRegistry(busyMs = 0): { registry: Registry; calls: () => number } {
    const registry = new Registry();
    let calls = 0;
    new Gauge({
      name: 'test_counted',
      help: 'Counts its collections.',
      registers: [registry],
      collect() {
        calls += 1;
        const until = Date.now() + busyMs; // rendering is CPU work: stand in for a big registry
        while (Date.now() < until);
        this.set(calls);
      },
    });
    return { registry, calls: () => calls };
  }

  it('lets scrapes received in separate callbacks of one event-loop turn join one serialization', async () => {
    // Each HTTP request is its own I/O callback, after which Node runs every microtask: a
    // serialization started at once would be over before the next request is read.
    const { registry, calls } = countingRegistry();
    const shared = new SharedExposition({ registry, gather: () => Promise.resolve(registry) });
    const bodies = await new Promise<Buffer[]>((resolve) => {
      const joined: Promise<Buffer>[] = [];
      setImmediate(() => joined.push(shared.join('prometheus').text));
      setImmediate(() => {
        joined.push(shared.join('prometheus').text);
        resolve(Promise.all(joined));
      });
    });
    expect(calls()).toBe(1);
    expect(bodies[0]).toBe(bodies[1]);
    await shared.join('prometheus').text;
    expect(calls()).toBe(2);
  });

  it('serves 8 concurrent scrapes over kept-alive connections with one serialization', async () => {
    // Like Prometheus servers, the scrapers keep their connections open between scrapes.
    const { registry, calls } = countingRegistry(20);
    const url = await serve(registry);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const round = () => Promise.all(Array.from({ length: 8 }, () => httpRequest(url, { agent })));
      await round(); // opens the 8 connections
      const before = calls();
      const answers = await round();
      expect(answers.every((a) => a.status === 200)).toBe(true);
      // Without the shared serialization this is 8; all 8 requests usually land in one turn.
      expect(calls() - before).toBeLessThanOrEqual(2);
    } finally {
      agent.destroy();
    }
  });
});

describe('metricsHandler: self-metrics', () => {
  it('registers nothing by default', async () => {
    const registry = new Registry();
    newMetrics(registry);
    await httpRequest(await serve(registry));
    expect(families(await registry.metrics())).toEqual(METRIC_NAMES);
  });

  it('counts scrapes by code and gauges those in flight, like promhttp', async () => {
    const registry = new Registry();
    newMetrics(registry);
    const url = await serve(registry, { selfMetrics: true, token: 't' });
    const auth = { Authorization: 'Bearer t' };
    const first = parseExposition((await httpRequest(url, { headers: auth })).text);
    // The first scrape sees itself in flight, and the codes promhttp starts at zero.
    expect(valueOf(first, 'blockyard_telemetry_scrapes_in_flight')).toBe(1);
    expect(valueOf(first, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(0);
    expect(valueOf(first, 'blockyard_telemetry_scrapes_total', { code: '500' })).toBe(0);
    expect(valueOf(first, 'blockyard_telemetry_scrapes_total', { code: '503' })).toBe(0);
    await httpRequest(url);
    await httpRequest(url, { method: 'DELETE', headers: auth });
    const later = parseExposition((await httpRequest(url, { headers: auth })).text);
    expect(valueOf(later, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(1);
    expect(valueOf(later, 'blockyard_telemetry_scrapes_total', { code: '401' })).toBe(1);
    expect(valueOf(later, 'blockyard_telemetry_scrapes_total', { code: '405' })).toBe(1);
    expect(valueOf(later, 'blockyard_telemetry_scrapes_in_flight')).toBe(1);
  });

  it('shares the self-metrics of two handlers on one registry, and refuses a clashing collector', async () => {
    const registry = new Registry();
    const a = await serve(registry, { selfMetrics: true });
    const b = await serve(registry, { selfMetrics: true });
    await httpRequest(a);
    const samples = parseExposition((await httpRequest(b)).text);
    expect(valueOf(samples, 'blockyard_telemetry_scrapes_total', { code: '200' })).toBe(1);

    const clash = new Registry();
    new Gauge({ name: 'blockyard_telemetry_scrapes_total', help: 'Not a counter.', registers: [clash] });
    expect(() => metricsHandler(clash, { selfMetrics: true })).toThrow(
      new TypeError(
        'metricsHandler: selfMetrics: the registry already holds a blockyard_telemetry_scrapes_total that is not a Counter',
      ),
    );
  });
});

describe('metricsHandler: options', () => {
  it.each([
    [{ token: 42 }, 'metricsHandler: token must be a string, got number 42'],
    [{ maxInFlight: 0 }, 'metricsHandler: maxInFlight must be a positive integer or Infinity, got number 0'],
    [{ maxInFlight: 1.5 }, 'metricsHandler: maxInFlight must be a positive integer or Infinity, got number 1.5'],
    [{ maxInFlight: '3' }, 'metricsHandler: maxInFlight must be a positive integer or Infinity, got "3"'],
    [
      { timeoutMs: 0 },
      'metricsHandler: timeoutMs must be a number of milliseconds above 0 (at most 2147483647) or Infinity, got number 0',
    ],
    [
      { timeoutMs: NaN },
      'metricsHandler: timeoutMs must be a number of milliseconds above 0 (at most 2147483647) or Infinity, got number NaN',
    ],
    [
      { timeoutMs: 2 ** 31 },
      'metricsHandler: timeoutMs must be a number of milliseconds above 0 (at most 2147483647) or Infinity, got number 2147483648',
    ],
    [{ compress: 'yes' }, 'metricsHandler: compress must be a boolean, got "yes"'],
    [{ selfMetrics: 1 }, 'metricsHandler: selfMetrics must be a boolean, got number 1'],
    [{ onError: 'console' }, 'metricsHandler: onError must be a function, got "console"'],
    [
      { tokn: 'x' },
      'metricsHandler: unknown option "tokn"; known: token, maxInFlight, timeoutMs, compress, selfMetrics, errorHandling, defaultMetrics, onError',
    ],
  ])('rejects %j at construction', (options, message) => {
    expect(() => metricsHandler(new Registry(), options as unknown as MetricsHandlerOptions)).toThrow(
      new TypeError(message),
    );
  });

  it('rejects a malformed token without quoting it: it is a secret', () => {
    for (const token of ['', 'has space', 'tab\there', 'ünïcode', 'x'.repeat(4097)]) {
      let message = '';
      try {
        metricsHandler(new Registry(), { token });
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/^metricsHandler: token must be 1 to 4096 visible ASCII characters without spaces/);
      expect(message).toContain(`got a string of ${token.length} characters`);
      if (token !== '') expect(message).not.toContain(token);
    }
  });

  it('rejects what is not a registry', () => {
    expect(() => metricsHandler({} as unknown as Registry)).toThrow(
      new TypeError(
        'metricsHandler: registry must be a prom-client Registry, a MetricsSource, or the object newMetrics() returns, got an object',
      ),
    );
  });

  it('serves the registry of the object newMetrics returns', async () => {
    const registry = new Registry();
    const metrics = newMetrics(registry);
    metrics.bundlesUploaded.inc(2);
    const server = await listen(metricsHandler(metrics));
    keepServer(server);
    expect((await httpRequest(`${server.origin}/metrics`)).text).toBe(await registry.metrics());
  });

  it("serves prom-client's global registry when given none", async () => {
    const server = await listen(metricsHandler());
    keepServer(server);
    const answer = await httpRequest(`${server.origin}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
  });
});

describe('metricsHandler in frameworks (examples/)', () => {
  it.each([
    ['Express', startExpressExample],
    ['Fastify', startFastifyExample],
  ])('%s: serves both formats, HEAD, 405 and the token', async (_name, start) => {
    const app = await start({ port: 0, token: 'tok' });
    try {
      const auth = { Authorization: 'Bearer tok' };
      expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect((await httpRequest(app.url)).status).toBe(401);
      const text = await httpRequest(app.url, { headers: auth });
      expect(text.status).toBe(200);
      expect(text.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
      expect(text.text).toBe(await app.metrics.registry.metrics());
      const om = await httpRequest(app.url, { headers: { ...auth, Accept: PROMETHEUS_ACCEPT } });
      expect(om.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
      expect(om.text).toContain('blockyard_workers_spawned_total 1\n');
      const zipped = await httpRequest(app.url, { headers: { ...auth, 'Accept-Encoding': 'gzip' } });
      expect(gunzipSync(zipped.body).toString('utf8')).toBe(text.text);
      const head = await httpRequest(app.url, { method: 'HEAD', headers: auth });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      const post = await httpRequest(app.url, { method: 'POST', headers: auth });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
    } finally {
      await app.close();
    }
  });
});
