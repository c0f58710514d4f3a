/**
 * serveMetrics: the dedicated listener (the Go server's management listener), with a real
 * client on 127.0.0.1: binding, routes, handler options passed through, the fallback, and a
 * close() that resolves only once every socket is closed.
 */
import { spawn } from 'node:child_process';
import { Agent, IncomingMessage, ServerResponse, request } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { join } from 'node:path';
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
import { openRawConnection, type RawConnection } from '../helpers/raw-connection';
import { parseExposition, valueOf } from '../helpers/scrape';
import { waitUntil, within } from '../helpers/wait-until';

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

/** A registry whose one gauge holds every scrape until `release()`, then reads `value`. */
function heldRegistry(value = 1): { registry: Registry; entered: Promise<void>; release: () => void } {
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
      this.set(value);
    },
  });
  return { registry, entered: entered.promise, release: () => gate.resolve() };
}

/**
 * One GET of `url` over `agent`'s kept-alive connection, resolving once the answer has been
 * read, with a promise that resolves once that connection closes.
 */
function keptAliveRequest(url: string, agent: Agent): Promise<{ socketClosed: Promise<void> }> {
  const socketClosed = deferred();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ socketClosed: socketClosed.promise }));
    });
    req.on('socket', (socket: Socket) => socket.once('close', () => socketClosed.resolve()));
    req.on('error', reject);
    req.end();
  });
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

  it('answers 500 to a request it cannot read, tells onError, and throws nothing into the server', async () => {
    const errors: string[] = [];
    const served = await start({ registry: freshRegistry(), onError: (e) => errors.push(e.message) });
    // What a host forwarding requests into the listener's server could hand it.
    const unreadable = new Proxy(new IncomingMessage(new Socket()), {
      get() {
        throw new Error('unreadable request');
      },
    });
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    expect(() => served.server.emit('request', unreadable, res)).not.toThrow();
    expect(res.statusCode).toBe(500);
    expect(errors).toEqual(['serveMetrics: a request failed: unreadable request']);
    expect((await httpRequest(served.url)).status).toBe(200);
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
    const { socketClosed } = await keptAliveRequest(served.url, agent);
    const closing = served.close();
    expect(served.close()).toBe(closing);
    await closing;
    await socketClosed;
    expect(served.server.listening).toBe(false);
    await expect(httpRequest(served.url)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('closes connections that never sent a request at once, without waiting closeTimeoutMs', async () => {
    const served = await serveMetrics({ registry: freshRegistry(), port: 0, closeTimeoutMs: 60_000 });
    const silent = await openRawConnection((served.server.address() as AddressInfo).port);
    await within('close() to resolve', served.close(), 5000);
    await within('the silent connection to be closed', silent.closed, 5000);
  });

  it('lets a scrape in progress finish before resolving', async () => {
    const { registry, entered, release } = heldRegistry(9);
    const served = await serveMetrics({ registry, port: 0 });
    const scrape = httpRequest(served.url);
    await entered;
    let closed = false;
    const closing = served.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    const answer = await scrape;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(valueOf(parseExposition(answer.text), 'test_held')).toBe(9);
    await closing;
    expect(closed).toBe(true);
  });

  it('answers every scrape a client pipelined before close(), and closes the connection after the last', async () => {
    const { registry, entered, release } = heldRegistry(4);
    const served = await serveMetrics({ registry, port: 0 });
    let received = 0;
    served.server.on('request', () => (received += 1));
    const raw = await openRawConnection((served.server.address() as AddressInfo).port);
    raw.socket.write('GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n'.repeat(2));
    await entered;
    await waitUntil('both requests to reach the listener', () => (received === 2 ? true : undefined));
    const closing = served.close();
    release();
    await within('the pipelining connection to be closed', raw.closed, 5000);
    await closing;
    const answers = raw.received().split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(
      answers.map((a) => [/^HTTP\/1\.1 (\d{3})/.exec(a)?.[1], /\r\nConnection: ([\w-]+)\r\n/i.exec(a)?.[1]]),
    ).toEqual([
      ['200', 'keep-alive'],
      ['200', 'close'],
    ]);
    for (const answer of answers) expect(answer).toMatch(/\ntest_held 4\n/);
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

describe('serveMetrics: connections', () => {
  /** The port `served` listens on. */
  const portOf = (served: MetricsServer): number => (served.server.address() as AddressInfo).port;

  /** Opens `n` raw connections that send nothing, one after the other, in that order. */
  async function silentConnections(served: MetricsServer, n: number): Promise<RawConnection[]> {
    const opened: RawConnection[] = [];
    for (let i = 0; i < n; i += 1) opened.push(await openRawConnection(portOf(served)));
    return opened;
  }

  it('closes a connection that sends nothing within requestTimeoutMs', async () => {
    const served = await start({ registry: freshRegistry(), requestTimeoutMs: 200 });
    const startedAt = Date.now();
    const [silent] = (await silentConnections(served, 1)) as [RawConnection];
    await within('the silent connection to be closed', silent.closed, 5000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(190);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect((await httpRequest(served.url)).status).toBe(200);
  });

  it('answers a request left halfway on a kept-alive connection with 408 after requestTimeoutMs, then closes it', async () => {
    const served = await start({ registry: freshRegistry(), requestTimeoutMs: 200 });
    const raw = await openRawConnection(portOf(served));
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: metrics\r\n\r\n');
    await waitUntil('the health answer', () => (raw.received().endsWith('ok\n') ? true : undefined));
    raw.socket.write('GET /metrics HTTP/1.1\r\nHost: metr');
    await within('the stalled connection to be closed', raw.closed, 5000);
    expect(raw.received()).toMatch(/ok\nHTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it("keeps a scraper's kept-alive connection between scrapes, longer than requestTimeoutMs", async () => {
    const served = await start({ registry: freshRegistry(), requestTimeoutMs: 100 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await httpRequest(served.url, { agent });
      expect([first.status, first.reusedSocket]).toEqual([200, false]);
      // A connection opened now is closed requestTimeoutMs later: by then the scraper's
      // connection has been idle for longer than that.
      const [probe] = (await silentConnections(served, 1)) as [RawConnection];
      await within('the probe to be closed', probe.closed, 5000);
      const second = await httpRequest(served.url, { agent });
      expect([second.status, second.reusedSocket]).toEqual([200, true]);
    } finally {
      agent.destroy();
    }
  });

  it('closes an idle kept-alive connection after keepAliveTimeoutMs', async () => {
    const served = await start({ registry: freshRegistry(), keepAliveTimeoutMs: 100 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { socketClosed } = await keptAliveRequest(served.url, agent);
      await within('the idle connection to be closed', socketClosed, 5000);
    } finally {
      agent.destroy();
    }
  });

  it('answers a scrape during a flood of silent connections, holding at most maxConnections', async () => {
    const errors: string[] = [];
    const served = await start({
      registry: freshRegistry(),
      maxConnections: 20,
      requestTimeoutMs: 60_000,
      onError: (e) => errors.push(e.message),
    });
    const flood = await silentConnections(served, 100);
    const answer = await within('the scrape', httpRequest(served.url), 15_000);
    expect(answer.status).toBe(200);
    // Each connection past the 20th closed the oldest silent one, the scrape's connection too:
    // the first 81 are closed, the last 19 still open.
    await waitUntil('81 silent connections to be closed', () =>
      flood.filter((c) => c.socket.closed).length === 81 ? true : undefined,
    );
    expect(flood.map((c) => c.socket.closed)).toEqual([
      ...Array<boolean>(81).fill(true),
      ...Array<boolean>(19).fill(false),
    ]);
    expect(errors).toEqual([
      'serveMetrics: 20 connections are open (maxConnections); from now on each new one closes the oldest that is not serving a request',
    ]);
    for (const c of flood) c.socket.destroy();
  });

  it('makes room by closing the oldest connection that sent nothing, else the one idle the longest, never one serving a request', async () => {
    const { registry, entered, release } = heldRegistry();
    const served = await start({ registry, maxConnections: 3, requestTimeoutMs: 60_000 });
    /** Asks for /healthz over `c`, kept alive, and waits for its `n`th answer on it. */
    const health = async (c: RawConnection, n: number): Promise<void> => {
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: metrics\r\n\r\n');
      await waitUntil(`answer ${n}`, () => (c.received().split('ok\n').length > n ? true : undefined));
    };
    const held = httpRequest(served.url); // serving a scrape until release()
    await entered;
    const [kept] = (await silentConnections(served, 1)) as [RawConnection];
    await health(kept, 1); // idle now, kept alive, as a scraper's between scrapes
    const [first, second] = (await silentConnections(served, 2)) as [RawConnection, RawConnection];
    // One too many: the oldest that never sent a request goes, not the idle kept-alive one.
    await within('the first silent connection to be closed', first.closed, 5000);
    await health(kept, 2);
    const [later] = (await silentConnections(served, 1)) as [RawConnection];
    await within('the second silent connection to be closed', second.closed, 5000);
    await health(later, 1); // idle too, since after the kept one
    // None left that never sent a request (but the newest): the one idle the longest goes.
    const [last] = (await silentConnections(served, 1)) as [RawConnection];
    await within('the connection idle the longest to be closed', kept.closed, 5000);
    expect([later.socket.closed, last.socket.closed]).toEqual([false, false]);
    release();
    expect((await held).status).toBe(200);
    later.socket.destroy();
    last.socket.destroy();
  });

  it('closes the new connection when every other one is serving a request', async () => {
    const { registry, entered, release } = heldRegistry();
    const served = await start({ registry, maxConnections: 1 });
    const held = httpRequest(served.url);
    await entered;
    const [late] = (await silentConnections(served, 1)) as [RawConnection];
    await within('the new connection to be closed', late.closed, 5000);
    release();
    expect((await held).status).toBe(200);
  });

  it('keeps a WebSocket of the fallback past requestTimeoutMs and when making room', async () => {
    const served = await start({ registry: freshRegistry(), requestTimeoutMs: 100, maxConnections: 2 });
    const wss = new WebSocketServer({ server: served.server });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`echo ${data.toString()}`)));
    const ws = new WebSocket(`${originOf(served.url).replace('http', 'ws')}/live`);
    try {
      await within(
        'the WebSocket to open',
        new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        }),
      );
      // Two silent connections: the first is closed to make room for the second (not the
      // WebSocket), and the second after requestTimeoutMs; the WebSocket outlives both.
      const [first, second] = (await silentConnections(served, 2)) as [RawConnection, RawConnection];
      await within('the first silent connection to be closed', first.closed, 5000);
      await within('the second silent connection to be closed', second.closed, 5000);
      const echo = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
      ws.send('ping');
      expect(await within('the echo', echo)).toBe('echo ping');
    } finally {
      ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  it("leaves Node's answer to an upgrade request alone when nobody listens for upgrades", async () => {
    const served = await start({ registry: freshRegistry() });
    const upgrade = { Connection: 'Upgrade', Upgrade: 'websocket' };
    // Node answers it as a plain request then: nothing of the listener's may change that.
    expect((await httpRequest(served.url, { headers: upgrade })).status).toBe(200);
    const wss = new WebSocketServer({ server: served.server });
    expect(served.server.listenerCount('upgrade')).toBe(2);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    expect(served.server.listenerCount('upgrade')).toBe(0);
    expect((await httpRequest(served.url, { headers: upgrade })).status).toBe(200);
  });
});

describe('serveMetrics: a flood under a descriptor limit', () => {
  it('answers /metrics and /healthz with its defaults while 400 silent connections press on a 256-descriptor limit', async () => {
    // The listener runs in a child process whose limit is lower than the flood, as a host's
    // would be: without a bound on connections, accept() runs out of descriptors and every
    // new connection, a scrape included, is reset until the flood lets go.
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -n 256 && exec "$0" "$@"',
        process.execPath,
        '-r',
        'ts-node/register/transpile-only',
        join(__dirname, '..', 'fixtures', 'metrics-listener.ts'),
      ],
      { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const flood: RawConnection[] = [];
    try {
      const url = await waitUntil('the listener to start', () => /listening (\S+)/.exec(out)?.[1], {
        timeoutMs: 30_000,
      });
      const port = Number(new URL(url).port);
      for (let i = 0; i < 400; i += 1) flood.push(await openRawConnection(port));
      const metrics = await within('the scrape', httpRequest(url), 15_000);
      expect(metrics.status).toBe(200);
      expect(valueOf(parseExposition(metrics.text), 'blockyard_workers_spawned_total')).toBe(1);
      const health = await within('the health check', httpRequest(`${originOf(url)}/healthz`), 15_000);
      expect(health.text).toBe('ok\n');
      expect(err).toBe(
        'serveMetrics: 100 connections are open (maxConnections); from now on each new one closes the oldest that is not serving a request\n',
      );
    } finally {
      for (const c of flood) c.socket.destroy();
      child.kill('SIGTERM');
    }
    expect(await within('the listener to exit', exited)).toBe(0);
  }, 60_000);
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
      { requestTimeoutMs: 0 },
      'serveMetrics: requestTimeoutMs must be a number of milliseconds above 0 (at most 2147483647), got number 0',
    ],
    [
      { keepAliveTimeoutMs: Infinity },
      'serveMetrics: keepAliveTimeoutMs must be a number of milliseconds above 0 (at most 2147483647), got number Infinity',
    ],
    [{ maxConnections: 0 }, 'serveMetrics: maxConnections must be a positive integer, got number 0'],
    [{ maxConnections: 2.5 }, 'serveMetrics: maxConnections must be a positive integer, got number 2.5'],
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
          'requestTimeoutMs, keepAliveTimeoutMs, maxConnections, token, maxInFlight, timeoutMs, compress, ' +
          'selfMetrics, errorHandling, defaultMetrics, onError',
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
