/**
 * Cluster mode with two real node:cluster workers (spec/fixtures/cluster-worker.ts, compiled
 * on the fly by ts-node), each tracking a different snapshot: the primary serves one
 * exposition whose counters, histograms and gauges are the workers' sums.
 */
import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import {
  ClusterAggregator,
  CONTENT_TYPES,
  newMetrics,
  serveMetrics,
  shareWorkerMetrics,
  type MetricsServer,
} from '../../lib';
import type { ClusterWorkerFixture } from '../fixtures/cluster-worker';
import { httpRequest } from '../helpers/http-client';
import { parseExposition, valueOf, type Sample } from '../helpers/scrape';
import { waitUntil } from '../helpers/wait-until';

/** Worker A: 2 busy (3 + 1 sessions), 1 idle; 2 spawns; 3 requests to sales. */
const A: ClusterWorkerFixture = {
  workers: [
    [3, false],
    [1, false],
    [0, false],
  ],
  coldStarts: [0.7, 3],
  requests: [
    ['sales', 200],
    ['sales', 204],
    ['sales', 200],
  ],
  crashed: 0,
};
/** Worker B: 1 busy (2 sessions), 2 idle, 1 draining (1 session); 1 spawn; 3 requests; 1 crash. */
const B: ClusterWorkerFixture = {
  workers: [
    [2, false],
    [0, false],
    [0, false],
    [1, true],
  ],
  coldStarts: [1.5],
  requests: [
    ['sales', 200],
    ['sales', 200],
    ['hr', 503],
  ],
  crashed: 1,
};

describe('cluster mode without workers', () => {
  it('refuses shareWorkerMetrics outside a cluster worker', () => {
    expect(() => shareWorkerMetrics(new Registry())).toThrow(
      new TypeError('shareWorkerMetrics: call it in a node:cluster worker (cluster.isWorker is false here)'),
    );
  });

  it.each([
    [
      { timeoutMs: 0 },
      'ClusterAggregator: timeoutMs must be a number of milliseconds above 0 (at most 2147483647), got number 0',
    ],
    [{ registry: {} }, 'ClusterAggregator: registry must be a prom-client Registry, got an object'],
    [{ timeout: 5 }, 'ClusterAggregator: unknown option "timeout"; known: timeoutMs, registry'],
  ])('refuses ClusterAggregator options %j', (options, message) => {
    expect(() => new ClusterAggregator(options as never)).toThrow(new TypeError(message));
  });

  it("gathers the primary's own registry alone when no worker runs", async () => {
    const registry = new Registry();
    newMetrics(registry).workersSpawned.inc(2);
    const aggregator = new ClusterAggregator({ registry });
    try {
      const gathered = await aggregator.gather();
      expect(valueOf(parseExposition(await gathered.metrics()), 'blockyard_workers_spawned_total')).toBe(2);
    } finally {
      await aggregator.close();
    }
    await expect(aggregator.gather()).rejects.toThrow('ClusterAggregator: closed');
  });
});

describe('cluster mode with two real workers', () => {
  const workers: Worker[] = [];
  let aggregator: ClusterAggregator;
  let served: MetricsServer;

  /**
   * Sends `what` (a command, or a command with what it carries: see the fixture) to `worker`
   * and resolves with its acknowledgement.
   */
  function command(
    worker: Worker,
    what: string | { command: string; metrics?: unknown },
  ): Promise<Record<string, unknown>> {
    const name = typeof what === 'string' ? what : what.command;
    return new Promise((resolve) => {
      const onMessage = (message: Record<string, unknown>): void => {
        if (message.ack !== name) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.send(what);
    });
  }

  /**
   * Scrapes a fresh aggregator's listener once, after `prepare` and before `restore`, and
   * returns the answer and what onError was told; the shared listener serves normally after.
   */
  async function failedScrape(
    prepare: () => Promise<unknown>,
    restore: () => Promise<unknown>,
  ): Promise<{ status: number; text: string; errors: string[] }> {
    const errors: string[] = [];
    const fresh = new ClusterAggregator();
    const freshServed = await serveMetrics({ registry: fresh, port: 0, onError: (e) => errors.push(e.message) });
    try {
      await prepare();
      const answer = await httpRequest(freshServed.url);
      return { status: answer.status, text: answer.text, errors };
    } finally {
      await restore();
      await freshServed.close();
      await fresh.close();
      expect((await httpRequest(served.url)).status).toBe(200);
    }
  }

  function exited(worker: Worker): Promise<void> {
    return worker.isDead() ? Promise.resolve() : new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  async function scrapeSamples(url: string, accept?: string): Promise<Sample[]> {
    const answer = await httpRequest(url, { headers: accept === undefined ? {} : { Accept: accept } });
    expect(answer.status).toBe(200);
    return parseExposition(answer.text);
  }

  beforeAll(async () => {
    cluster.setupPrimary({
      exec: join(__dirname, '..', 'fixtures', 'cluster-worker.ts'),
      execArgv: ['-r', 'ts-node/register/transpile-only'],
    });
    for (const fixture of [A, B]) {
      const worker = cluster.fork({
        BLOCKYARD_CLUSTER_FIXTURE: JSON.stringify(fixture),
        TS_NODE_TRANSPILE_ONLY: 'true',
      });
      workers.push(worker);
    }
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on('message', (message: { ready?: boolean; error?: string }) => {
              if (message.error !== undefined) reject(new Error(`worker ${worker.id}: ${message.error}`));
              if (message.ready === true) resolve();
            });
            worker.once('exit', (code) => reject(new Error(`worker ${worker.id} exited with ${code}`)));
          }),
      ),
    );
    aggregator = new ClusterAggregator();
    served = await serveMetrics({ registry: aggregator, port: 0, selfMetrics: true });
  }, 60_000);

  afterAll(async () => {
    // beforeAll may have failed before it set them.
    await (served as MetricsServer | undefined)?.close();
    await (aggregator as ClusterAggregator | undefined)?.close();
    for (const worker of workers) if (!worker.isDead()) worker.disconnect();
    try {
      await waitUntil('the cluster workers to exit', () => (workers.every((w) => w.isDead()) ? true : undefined));
    } catch {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
      await Promise.all(workers.map(exited));
    }
    expect(workers.every((w) => w.isDead())).toBe(true);
  }, 30_000);

  it('serves the sums of both workers: worker and session gauges, counters and histograms', async () => {
    const samples = await scrapeSamples(served.url);
    expect(valueOf(samples, 'blockyard_workers', { state: 'busy' })).toBe(3);
    expect(valueOf(samples, 'blockyard_workers', { state: 'idle' })).toBe(3);
    expect(valueOf(samples, 'blockyard_workers', { state: 'draining' })).toBe(1);
    expect(valueOf(samples, 'blockyard_workers_active')).toBe(7);
    expect(valueOf(samples, 'blockyard_sessions_active')).toBe(7);
    expect(valueOf(samples, 'blockyard_workers_spawned_total')).toBe(3);
    expect(valueOf(samples, 'blockyard_workers_stopped_total', { reason: 'crashed' })).toBe(1);
    expect(valueOf(samples, 'blockyard_proxy_requests_total', { app: 'sales', status: '2xx' })).toBe(5);
    expect(valueOf(samples, 'blockyard_proxy_requests_total', { app: 'hr', status: '5xx' })).toBe(1);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '0.5' })).toBe(0);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '1' })).toBe(1);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '2' })).toBe(2);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '4' })).toBe(3);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_count')).toBe(3);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_sum')).toBeCloseTo(5.2, 10);
    // The primary's own collectors (here the handler's self-metrics) are part of the aggregate.
    expect(valueOf(samples, 'blockyard_telemetry_scrapes_in_flight')).toBe(1);
  });

  it('serves the aggregate in OpenMetrics too, counters named the OpenMetrics way', async () => {
    const answer = await httpRequest(served.url, { headers: { Accept: 'application/openmetrics-text' } });
    expect(answer.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
    expect(answer.text).toContain('# TYPE blockyard_workers_spawned counter\nblockyard_workers_spawned_total 3\n');
    expect(answer.text.endsWith('# EOF\n')).toBe(true);
  });

  it('is refused in a worker', async () => {
    const probe = await command(workers[0] as Worker, 'probe');
    expect(probe.refused).toBe(
      'ClusterAggregator: create it in the node:cluster primary (cluster.isPrimary is false here)',
    );
  });

  it('fails a scrape with a 500 when a worker does not answer in time, and recovers when it does', async () => {
    const errors: string[] = [];
    const quick = new ClusterAggregator({ timeoutMs: 300 });
    const quickServed = await serveMetrics({ registry: quick, port: 0, onError: (e) => errors.push(e.message) });
    try {
      await command(workers[0] as Worker, 'unshare');
      const failed = await httpRequest(quickServed.url);
      expect(failed.status).toBe(500);
      expect(failed.text).toBe(
        'Internal Server Error: gathering metrics failed: ClusterAggregator: 1 of 2 cluster workers did not answer within 300 ms\n',
      );
      expect(errors).toHaveLength(1);
      await command(workers[0] as Worker, 'share');
      const samples = await scrapeSamples(quickServed.url);
      expect(valueOf(samples, 'blockyard_workers', { state: 'busy' })).toBe(3);
    } finally {
      await quickServed.close();
      await quick.close();
    }
  });

  it('refuses to share a second registry in the same worker', async () => {
    const probe = await command(workers[0] as Worker, 'share-twice');
    expect(probe.refused).toBe(
      'shareWorkerMetrics: this worker already shares a registry; call the function it returned first, or share one registry (Registry.merge)',
    );
  });

  it.each([
    [
      'a name that would break the exposition',
      { name: 'bad name\n# HELP x', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels: {} }] },
      'a metric name is "bad name\\n# HELP x"',
    ],
    [
      'aggregator "constructor"',
      { name: 'test_m', help: 'h', type: 'gauge', aggregator: 'constructor', values: [{ value: 1, labels: {} }] },
      'test_m: aggregator is "constructor", not one of sum, first, min, max, average, omit',
    ],
    [
      'a metric named __proto__',
      { name: '__proto__', help: 'h', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: {} }] },
      'a metric name is "__proto__", which a registry cannot hold',
    ],
    [
      'a value without labels',
      { name: 'test_m', help: 'h', type: 'gauge', aggregator: 'sum', values: [{ value: 1 }] },
      'test_m: labels are undefined',
    ],
  ])(
    'fails a scrape with a 500 naming the worker when its answer holds %s, never serving what it sent',
    async (_what, metric, problem) => {
      const [a] = workers as [Worker];
      const failed = await failedScrape(
        () => command(a, { command: 'answer-once', metrics: [metric] }),
        () => command(a, 'share'),
      );
      const message = `ClusterAggregator: worker ${a.id} sent a malformed answer: ${problem}`;
      expect(failed.status).toBe(500);
      expect(failed.text).toBe(`Internal Server Error: gathering metrics failed: ${message}\n`);
      expect(failed.errors).toEqual([`metricsHandler: gathering metrics failed: ${message}`]);
    },
  );

  it('fails a scrape with a 500 naming both workers when they send one metric with different types', async () => {
    const [a, b] = workers as [Worker, Worker];
    // Worker A sends blockyard_workers_active as a histogram, B as the gauge it is: served
    // together, B's samples would follow A's # TYPE line, or A's buckets B's.
    const histogram = {
      name: 'blockyard_workers_active',
      help: 'h',
      type: 'histogram',
      aggregator: 'sum',
      values: [{ value: 3, metricName: 'blockyard_workers_active_bucket', labels: { le: '+Inf' } }],
    };
    const failed = await failedScrape(
      () => command(a, { command: 'answer-once', metrics: [histogram] }),
      () => command(a, 'share'),
    );
    const message = `ClusterAggregator: blockyard_workers_active: a gauge from worker ${b.id}, a histogram from worker ${a.id}`;
    expect(failed.status).toBe(500);
    expect(failed.text).toBe(`Internal Server Error: gathering metrics failed: ${message}\n`);
    expect(failed.errors).toEqual([`metricsHandler: gathering metrics failed: ${message}`]);
  });

  it("fails a scrape with a 500 naming the worker when the worker's own registry fails", async () => {
    const [a] = workers as [Worker];
    const failed = await failedScrape(
      () => command(a, 'broken'),
      () => command(a, 'mended'),
    );
    expect(failed.status).toBe(500);
    expect(failed.text).toBe(
      `Internal Server Error: gathering metrics failed: ClusterAggregator: worker ${a.id} failed: disk on fire\n`,
    );
  });

  it('carries a non-finite value across IPC as it is (JSON alone would make +Inf a 0)', async () => {
    const [a] = workers as [Worker];
    await command(a, 'infinite');
    try {
      const answer = await httpRequest(served.url);
      expect(answer.text).toContain('\nfixture_infinite +Inf\n');
    } finally {
      await command(a, 'finite');
    }
  });

  it('stops waiting for a worker that exits, and serves the others', async () => {
    const [a, b] = workers as [Worker, Worker];
    await command(a, 'unshare');
    const pending = aggregator.gather(); // waits for both, but A will not answer
    a.process.kill('SIGTERM');
    await exited(a);
    const gathered = await pending; // well before the 5 s timeout: A's exit settled it
    const samples = parseExposition(await gathered.metrics());
    expect(valueOf(samples, 'blockyard_workers', { state: 'busy' })).toBe(1);
    expect(valueOf(samples, 'blockyard_workers', { state: 'draining' })).toBe(1);
    expect(valueOf(samples, 'blockyard_workers_spawned_total')).toBe(1);
    const served2 = await scrapeSamples(served.url);
    expect(valueOf(served2, 'blockyard_workers', { state: 'idle' })).toBe(2);
    expect(b.isDead()).toBe(false);
  });
});
