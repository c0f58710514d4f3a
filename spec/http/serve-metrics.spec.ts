/**
 * serveMetrics: the dedicated listener (the Go server's management listener), with a real
 * client on 127.0.0.1: binding, routes, handler options passed through, the fallback, and a
 * close() that resolves only once every socket is closed.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { runInNewContext } from 'node:vm';
import { Gauge, Registry } from 'prom-client';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CONTENT_TYPES,
  METRIC_NAMES,
  newMetrics,
  serveMetrics,
  type MetricsServer,
  type ServeMetricsOptions,
} from '../../lib';
import { deferred } from '../helpers/deferred';
import { httpRequest } from '../helpers/http-client';
import { parseExposition, valueOf } from '../helpers/scrape';

const running: MetricsServer[] = [];

async function start(options: ServeMetricsOptions): Promise<MetricsServer> {
  const served = await serveMetrics({ port: 0, ...options });
  running.push(served);
  return served;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function freshRegistry(): Registry {
  const registry = new Registry();
  newMetrics(registry).workersSpawned.inc();
  return registry;
}

/** The origin of a served URL: `http://127.0.0.1:port`. */
function originOf(url: string): string {
  return new URL(url).origin;
}

describe('serveMetrics: the listener', () => {
  it('binds 127.0.0.1 by default and reports the URL of the metrics path with the port picked', async () => {
    const registry = freshRegistry();
    const served = await start({ registry });
    const address = served.server.address() as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect(served.url).toBe(`http://127.0.0.1:${address.port}/metrics`);
    const answer = await httpRequest(served.url);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(answer.text).toBe(await registry.metrics());
  });

  it('serves the metrics path with any query string, and a custom path', async () => {
    const registry = freshRegistry();
    const served = await start({ registry, path: '/internal/metrics' });
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/internal\/metrics$/);
    expect((await httpRequest(`${served.url}?debug=1`)).status).toBe(200);
    expect((await httpRequest(`${originOf(served.url)}/metrics`)).status).toBe(404);
  });

  it('answers /healthz to GET and HEAD with 200, other methods with 405, never behind the token', async () => {
    const served = await start({ registry: freshRegistry(), token: 'tok' });
    const health = `${originOf(served.url)}/healthz`;
    const get = await httpRequest(health);
    expect(get.status).toBe(200);
    expect(get.text).toBe('ok\n');
    const head = await httpRequest(health, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await httpRequest(health, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it.each(['/', '/metrics/', '/metricsx', '/healthz/x', '/favicon.ico'])('answers %s with 404', async (path) => {
    const served = await start({ registry: freshRegistry() });
    const answer = await httpRequest(`${originOf(served.url)}${path}`);
    expect(answer.status).toBe(404);
    expect(answer.text).toBe('Not Found\n');
  });

  it("passes the handler's options through: token, selfMetrics, negotiation, gzip", async () => {
    const registry = freshRegistry();
    const served = await start({ registry, token: 'tok', selfMetrics: true, compress: false });
    expect((await httpRequest(served.url)).status).toBe(401);
    const answer = await httpRequest(served.url, {
      headers: { Authorization: 'Bearer tok', Accept: 'application/openmetrics-text', 'Accept-Encoding': 'gzip' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
    expect(answer.headers['content-encoding']).toBeUndefined();
    const samples = parseExposition(answer.text);
    expect(valueOf(samples, 'blockyard_telemetry_scrapes_total', { code: '401' })).toBe(1);
  });

  it('serves a fresh registry that equals the contract exactly (no self-metrics unless asked)', async () => {
    const served = await start({ registry: freshRegistry() });
    const text = (await httpRequest(served.url)).text;
    const families = text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    expect(families).toEqual(METRIC_NAMES);
  });

  it('serves the registry of the object newMetrics returns, given as the registry', async () => {
    const registry = new Registry();
    const metrics = newMetrics(registry);
    metrics.workersSpawned.inc(3);
    const served = await start({ registry: metrics });
    const text = (await httpRequest(served.url)).text;
    expect(valueOf(parseExposition(text), 'blockyard_workers_spawned_total')).toBe(3);
    expect(text).toBe(await registry.metrics());
  });
});

describe("serveMetrics: prom-client's default registry while the trackers record elsewhere", () => {
  // Each case loads the library and prom-client afresh: the default registry and the note of
  // where trackers record are the process's, once per module instance.
  type Lib = typeof import('../../lib');
  type PromClient = typeof import('prom-client');

  async function scenario(body: (lib: Lib, promClient: PromClient) => Promise<void>): Promise<unknown[][]> {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await jest.isolateModulesAsync(async () => {
        await body(await import('../../lib'), await import('prom-client'));
      });
      return warn.mock.calls;
    } finally {
      warn.mockRestore();
    }
  }

  async function scrapeTwice(served: MetricsServer): Promise<string> {
    await httpRequest(served.url);
    return (await httpRequest(served.url)).text;
  }

  it('warns once, naming the fix, when a tracker records into another registry', async () => {
    const calls = await scenario(async (lib, promClient) => {
      const tracker = new lib.WorkerStateTracker({ metrics: lib.newMetrics(new promClient.Registry()), tick: 1000 });
      const served = await lib.serveMetrics({ port: 0 });
      running.push(served);
      expect(await scrapeTwice(served)).not.toContain('blockyard_');
      await tracker.close();
    });
    expect(calls).toEqual([
      [
        "blockyard-telemetry: a scrape served prom-client's default registry, but every WorkerStateTracker records " +
          'into another registry, so the scrape holds none of their metrics. Serve that registry: serveMetrics({ ' +
          'registry: metrics }) or metricsHandler(metrics), with metrics from newMetrics(registry).',
        { code: 'BLOCKYARD_TELEMETRY_REGISTRY' },
      ],
    ]);
  });

  it('stays quiet when a tracker records into the default registry, or when no tracker exists', async () => {
    const calls = await scenario(async (lib, promClient) => {
      const served = await lib.serveMetrics({ port: 0 });
      running.push(served);
      await scrapeTwice(served); // no tracker yet
      const own = new lib.WorkerStateTracker({ metrics: lib.newMetrics(new promClient.Registry()), tick: 1000 });
      const tracker = new lib.WorkerStateTracker({ metrics: lib.newMetrics(), tick: 1000 });
      expect(await scrapeTwice(served)).toContain('blockyard_workers_active 0');
      await Promise.all([own.close(), tracker.close()]);
    });
    expect(calls).toEqual([]);
  });

  it('stays quiet when the registry the trackers record into is the one served', async () => {
    const calls = await scenario(async (lib, promClient) => {
      const metrics = lib.newMetrics(new promClient.Registry());
      const tracker = new lib.WorkerStateTracker({ metrics, tick: 1000 });
      const served = await lib.serveMetrics({ registry: metrics, port: 0 });
      running.push(served);
      expect(await scrapeTwice(served)).toContain('blockyard_workers_active 0');
      await tracker.close();
    });
    expect(calls).toEqual([]);
  });
});

describe('serveMetrics: fallback', () => {
  it('hands every other path to the fallback, never the metrics path or /healthz', async () => {
    const seen: string[] = [];
    const served = await start({
      registry: freshRegistry(),
      fallback: (req, res) => {
        seen.push(req.url ?? '');
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>live</p>');
      },
    });
    const origin = originOf(served.url);
    const page = await httpRequest(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.text).toBe('<p>live</p>');
    expect((await httpRequest(`${origin}/events?since=3`)).status).toBe(200);
    expect((await httpRequest(served.url)).headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect((await httpRequest(`${origin}/healthz`)).text).toBe('ok\n');
    expect(seen).toEqual(['/', '/events?since=3']);
  });

  it('turns a fallback that throws or rejects into a 500, and keeps serving', async () => {
    const errors: string[] = [];
    const served = await start({
      registry: freshRegistry(),
      onError: (e) => errors.push(e.message),
      fallback: (req) => {
        if (req.url === '/throws') throw new Error('page broke');
        if (req.url === '/thenable') {
          // A promise of another realm (a vm context), or any promise library: not instanceof Promise.
          const ForeignPromise = runInNewContext('Promise') as PromiseConstructor;
          return ForeignPromise.reject(new Error('foreign page broke'));
        }
        return Promise.reject(new Error('async page broke'));
      },
    });
    const origin = originOf(served.url);
    expect((await httpRequest(`${origin}/throws`)).status).toBe(500);
    expect((await httpRequest(`${origin}/rejects`)).status).toBe(500);
    expect((await httpRequest(`${origin}/thenable`)).status).toBe(500);
    expect(errors).toEqual([
      'serveMetrics: fallback failed: page broke',
      'serveMetrics: fallback failed: async page broke',
      'serveMetrics: fallback failed: foreign page broke',
    ]);
    expect((await httpRequest(served.url)).status).toBe(200);
  });
});

describe('serveMetrics: close()', () => {
  it('resolves once every socket is closed, keep-alive ones included, and is idempotent', async () => {
    const served = await serveMetrics({ registry: freshRegistry(), port: 0 });
    const agent = new Agent({ keepAlive: true });
    const socketClosed = deferred();
    await new Promise<void>((resolve, reject) => {
      const req = request(served.url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('socket', (socket: Socket) => socket.once('close', () => socketClosed.resolve()));
      req.on('error', reject);
      req.end();
    });
    const closing = served.close();
    expect(served.close()).toBe(closing);
    await closing;
    await socketClosed.promise;
    expect(served.server.listening).toBe(false);
    await expect(httpRequest(served.url)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('lets a scrape in progress finish before resolving', async () => {
    const registry = new Registry();
    const gate = deferred();
    const entered = deferred();
    new Gauge({
      name: 'test_held',
      help: 'Held by the test.',
      registers: [registry],
      async collect() {
        entered.resolve();
        await gate.promise;
        this.set(9);
      },
    });
    const served = await serveMetrics({ registry, port: 0 });
    const scrape = httpRequest(served.url);
    await entered.promise;
    let closed = false;
    const closing = served.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    gate.resolve();
    const answer = await scrape;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(valueOf(parseExposition(answer.text), 'test_held')).toBe(9);
    await closing;
    expect(closed).toBe(true);
  });

  it('closes a request that never ends, and a WebSocket of the fallback, after closeTimeoutMs', async () => {
    const served = await serveMetrics({
      registry: freshRegistry(),
      port: 0,
      closeTimeoutMs: 50,
      fallback: (req, res) => {
        if (req.url === '/hang') res.writeHead(200, { 'Content-Type': 'text/event-stream' }).write('data: 1\n\n');
      },
    });
    const wss = new WebSocketServer({ server: served.server });
    const origin = originOf(served.url);
    const socket = new WebSocket(`${origin.replace('http', 'ws')}/live`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const wsClosed = new Promise((resolve) => socket.once('close', resolve));
    const hung = new Promise<string>((resolve) => {
      const req = request(`${origin}/hang`, { agent: false }, (res) => {
        res.once('data', () => undefined);
        res.once('close', () => resolve('closed'));
        res.once('error', () => resolve('closed'));
      });
      req.on('error', () => resolve('closed'));
      req.end();
    });
    await new Promise((resolve) => setImmediate(resolve));
    await served.close();
    expect(await hung).toBe('closed');
    await wsClosed;
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});

describe('serveMetrics: options', () => {
  it.each([
    [{ host: '' }, 'serveMetrics: host must be a non-empty string, got ""'],
    [{ host: 127 }, 'serveMetrics: host must be a non-empty string, got number 127'],
    [{ port: -1 }, 'serveMetrics: port must be an integer from 0 to 65535, got number -1'],
    [{ port: 65536 }, 'serveMetrics: port must be an integer from 0 to 65535, got number 65536'],
    [{ port: '9464' }, 'serveMetrics: port must be an integer from 0 to 65535, got "9464"'],
    [
      { path: 'metrics' },
      'serveMetrics: path must be an absolute path ("/…") without query, fragment or spaces, got "metrics"',
    ],
    [
      { path: '/m?x' },
      'serveMetrics: path must be an absolute path ("/…") without query, fragment or spaces, got "/m?x"',
    ],
    [{ path: '/healthz' }, 'serveMetrics: path must not be /healthz, which serves the health check'],
    [{ fallback: 'index.html' }, 'serveMetrics: fallback must be a function (req, res) => void, got "index.html"'],
    [
      { closeTimeoutMs: -1 },
      'serveMetrics: closeTimeoutMs must be a number of milliseconds from 0 to 2147483647, got number -1',
    ],
    [{ maxInFlight: 0 }, 'serveMetrics: maxInFlight must be a positive integer or Infinity, got number 0'],
    [
      { registry: 'default' },
      'serveMetrics: registry must be a prom-client Registry, a MetricsSource, or the object newMetrics() returns, got "default"',
    ],
  ])('throws at once for %j', (options, message) => {
    expect(() => serveMetrics({ registry: new Registry(), ...(options as object) })).toThrow(new TypeError(message));
  });

  it('names every known option when one is misspelt', () => {
    expect(() => serveMetrics({ prot: 0 } as unknown as ServeMetricsOptions)).toThrow(
      new TypeError(
        'serveMetrics: unknown option "prot"; known: registry, host, port, path, fallback, closeTimeoutMs, ' +
          'token, maxInFlight, timeoutMs, compress, selfMetrics, errorHandling, defaultMetrics, onError',
      ),
    );
  });

  it('rejects when the port is taken, leaving nothing open, with code EADDRINUSE on the error itself', async () => {
    const first = await start({ registry: freshRegistry() });
    const { port } = first.server.address() as AddressInfo;
    const failed: unknown = await serveMetrics({ registry: freshRegistry(), port }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(Error);
    expect(failed).toMatchObject({
      message: `serveMetrics: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      code: 'EADDRINUSE',
      syscall: 'listen',
      cause: { code: 'EADDRINUSE' },
    });
  });
});
