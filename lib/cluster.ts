/**
 * Node cluster mode: one exposition for all the workers of a `node:cluster` app.
 *
 * Each cluster worker has its own registry, and Prometheus should scrape one address, not
 * guess which worker answers. Workers call {@link shareWorkerMetrics}; the primary serves a
 * {@link ClusterAggregator}, which on every scrape asks each connected worker for its metrics
 * and merges them with prom-client's `AggregatorRegistry.aggregate()`: sums for counters,
 * histograms (bucket by bucket) and gauges, so `blockyard_workers{state}` and
 * `blockyard_sessions_active` are the cluster's totals.
 *
 *     primary:  serveMetrics({ registry: new ClusterAggregator() })
 *                  │  scrape → request ─┬─▶ worker 1: shareWorkerMetrics(registry)
 *                  │                    └─▶ worker 2: shareWorkerMetrics(registry)
 *                  ◀── aggregate(responses) ── rendered like any registry (0.0.4 or OpenMetrics)
 *
 * The messages are our own (`blockyard-telemetry:…`), not prom-client's: prom-client's
 * primary-side listener throws on answers to requests it did not send, so sharing its message
 * types could crash an app that also uses `AggregatorRegistry#clusterMetrics()`.
 *
 * @packageDocumentation
 */
import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  Registry,
  register as defaultRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type RegistryContentType,
} from 'prom-client';
import { describe } from './describe';
import { messageOf } from './errors';
import { registryAsJSON, type MetricsSource } from './exposition';

const REQUEST = 'blockyard-telemetry:metrics-request';
const RESPONSE = 'blockyard-telemetry:metrics-response';

type MetricsJSON = MetricObjectWithValues<MetricValue<string>>[];

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}

interface MetricsResponse {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly metrics?: MetricsJSON;
  readonly error?: string;
}

function isMessage<T extends { type: string; id: number }>(message: unknown, type: T['type']): message is T {
  const m = message as Partial<T> | null;
  return m !== null && typeof m === 'object' && m.type === type && typeof m.id === 'number';
}

/**
 * In a cluster worker: answers the primary's metrics requests with `registry`'s metrics
 * (default: prom-client's global registry). Returns a function that stops answering.
 *
 * Throws a `TypeError` outside a cluster worker, where there is no primary to answer.
 */
export function shareWorkerMetrics(registry: Registry<RegistryContentType> = defaultRegistry): () => void {
  if (!cluster.isWorker || typeof process.send !== 'function') {
    throw new TypeError('shareWorkerMetrics: call it in a node:cluster worker (cluster.isWorker is false here)');
  }
  const r = registry as Partial<Registry> | null;
  if (r === null || typeof r !== 'object' || typeof r.getMetricsAsJSON !== 'function') {
    throw new TypeError(`shareWorkerMetrics: registry must be a prom-client Registry, got ${describe(registry)}`);
  }
  const send = (response: MetricsResponse): void => {
    try {
      // The callback keeps a closed channel (the primary going away) from becoming an
      // 'error' event; there is nobody left to answer then.
      process.send?.(response, undefined, undefined, () => undefined);
    } catch {
      // As above.
    }
  };
  const onMessage = (message: unknown): void => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    const { id } = message;
    registryAsJSON(registry).then(
      (metrics) => send({ type: RESPONSE, id, metrics }),
      (err: unknown) => send({ type: RESPONSE, id, error: messageOf(err) }),
    );
  };
  process.on('message', onMessage);
  return () => {
    process.off('message', onMessage);
  };
}

/** Options of a {@link ClusterAggregator}. */
export interface ClusterAggregatorOptions {
  /**
   * How long a scrape waits for every worker's answer (default 5000 ms, under the handler's
   * 10 s timeout). A worker that has not answered by then fails the scrape: a partial sum
   * would look like a counter reset to Prometheus.
   */
  readonly timeoutMs?: number;
  /**
   * The primary's own registry, added to every aggregate (default: a fresh `Registry`).
   * `metricsHandler({ selfMetrics: true })` registers its collectors here.
   */
  readonly registry?: Registry;
}

interface PendingScrape {
  readonly waiting: Set<number>;
  readonly responses: MetricsJSON[];
  readonly timer: NodeJS.Timeout;
  readonly resolve: (responses: MetricsJSON[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * In the primary: a {@link MetricsSource} whose registry, on each scrape, is the sum of every
 * connected worker's metrics and the primary's own. Serve it with `serveMetrics({ registry })`
 * or `metricsHandler(aggregator)`. Call {@link close} when done: it removes its listeners from
 * `node:cluster` and fails scrapes still waiting.
 */
export class ClusterAggregator implements MetricsSource {
  /** The primary's own registry, part of every aggregate. */
  readonly registry: Registry;

  private readonly timeoutMs: number;
  private readonly pending = new Map<number, PendingScrape>();
  private nextId = 0;
  private closed = false;

  constructor(options: ClusterAggregatorOptions = {}) {
    const fail = (message: string): never => {
      throw new TypeError(`ClusterAggregator: ${message}`);
    };
    if (options === null || typeof options !== 'object') fail(`options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options)) {
      if (key !== 'timeoutMs' && key !== 'registry') fail(`unknown option ${describe(key)}; known: timeoutMs, registry`);
    }
    if (!cluster.isPrimary) fail('create it in the node:cluster primary (cluster.isPrimary is false here)');
    const { timeoutMs = 5000, registry = new Registry() } = options;
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) {
      fail(`timeoutMs must be a number of milliseconds above 0, got ${describe(timeoutMs)}`);
    }
    const r = registry as Partial<Registry> | null;
    if (r === null || typeof r !== 'object' || typeof r.getMetricsAsJSON !== 'function') {
      fail(`registry must be a prom-client Registry, got ${describe(registry)}`);
    }
    this.timeoutMs = timeoutMs;
    this.registry = registry;
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
  }

  /**
   * Asks every connected worker for its metrics and resolves with their aggregate, the
   * primary's registry included. Rejects when a worker answers with an error or some worker
   * has not answered within `timeoutMs`. With no worker, it is the primary's registry alone.
   */
  async gather(): Promise<Registry> {
    if (this.closed) throw new Error('ClusterAggregator: closed');
    const responses = await this.ask();
    const own = await registryAsJSON(this.registry);
    return AggregatorRegistry.aggregate([...responses, own]);
  }

  /** Stops listening to the cluster and fails the scrapes still waiting. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    for (const [id, scrape] of this.pending) this.settle(id, scrape, new Error('ClusterAggregator: closed'));
  }

  private ask(): Promise<MetricsJSON[]> {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) % Number.MAX_SAFE_INTEGER;
    return new Promise<MetricsJSON[]>((resolve, reject) => {
      const waiting = new Set<number>();
      const request: MetricsRequest = { type: REQUEST, id };
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker === undefined || !worker.isConnected()) continue;
        try {
          // A worker whose channel closes under us is dealt with by 'exit' or the timeout.
          worker.send(request, undefined, () => undefined);
          waiting.add(worker.id);
        } catch {
          // Not reachable: not waited for.
        }
      }
      if (waiting.size === 0) {
        resolve([]);
        return;
      }
      const asked = waiting.size;
      const timer = setTimeout(() => {
        const scrape = this.pending.get(id);
        if (scrape === undefined) return;
        this.settle(
          id,
          scrape,
          new Error(
            `ClusterAggregator: ${scrape.waiting.size} of ${asked} cluster workers did not answer within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      this.pending.set(id, { waiting, responses: [], timer, resolve, reject });
    });
  }

  private readonly onMessage = (worker: Worker, message: unknown): void => {
    if (!isMessage<MetricsResponse>(message, RESPONSE)) return;
    const scrape = this.pending.get(message.id);
    if (scrape === undefined || !scrape.waiting.delete(worker.id)) return;
    if (typeof message.error === 'string') {
      this.settle(message.id, scrape, new Error(`ClusterAggregator: worker ${worker.id} failed: ${message.error}`));
      return;
    }
    if (Array.isArray(message.metrics)) scrape.responses.push(message.metrics);
    if (scrape.waiting.size === 0) this.settle(message.id, scrape);
  };

  /** A worker that exits is no longer waited for: its metrics left with it. */
  private readonly onExit = (worker: Worker): void => {
    for (const [id, scrape] of this.pending) {
      if (scrape.waiting.delete(worker.id) && scrape.waiting.size === 0) this.settle(id, scrape);
    }
  };

  private settle(id: number, scrape: PendingScrape, error?: Error): void {
    this.pending.delete(id);
    clearTimeout(scrape.timer);
    if (error === undefined) scrape.resolve(scrape.responses);
    else scrape.reject(error);
  }
}
