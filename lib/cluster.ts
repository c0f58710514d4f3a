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
  readonly metrics?: unknown;
  readonly error?: unknown;
}

/**
 * JSON, which the IPC channel speaks, has no infinities and no NaN (`JSON.stringify(Infinity)`
 * is `null`, read back as 0): a worker sends those values as these strings and the primary
 * reads them back as numbers.
 */
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ['+Inf', Infinity],
  ['-Inf', -Infinity],
  ['NaN', Number.NaN],
]);

/** `metrics` with every non-finite value spelled as a {@link NON_FINITE} string; copies only what changes. */
function encodeNonFinite(metrics: MetricsJSON): MetricsJSON {
  return metrics.map((metric) => {
    if (metric.values.every((v) => Number.isFinite(v.value))) return metric;
    const values = metric.values.map((v) => {
      if (Number.isFinite(v.value)) return v;
      const spelled = Number.isNaN(v.value) ? 'NaN' : v.value > 0 ? '+Inf' : '-Inf';
      return { ...v, value: spelled as unknown as number };
    });
    return { ...metric, values };
  });
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_TYPES: ReadonlySet<unknown> = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Why `metrics`, a worker's answer read off the IPC channel, cannot be aggregated, or
 * `undefined` when it can; non-finite values spelled as strings are turned back into numbers
 * in place (the answer is ours: JSON made it). Our own workers always send valid answers, but
 * anything in a worker can write to the channel, and what passes here is rendered as it is: a
 * name with a newline would break the whole exposition for Prometheus.
 */
function malformedAnswer(metrics: unknown): string | undefined {
  if (!Array.isArray(metrics)) return `metrics is ${describe(metrics)}, not a list`;
  // A few label and sample names recur on thousands of values: each is matched once.
  const sampleNames = new Set<string>();
  const labelNames = new Set<string>();
  const isName = (name: unknown, pattern: RegExp, valid: Set<string>): boolean => {
    if (typeof name !== 'string') return false;
    if (valid.has(name)) return true;
    if (!pattern.test(name)) return false;
    valid.add(name);
    return true;
  };
  for (const metric of metrics as unknown[]) {
    const m = metric as Partial<Record<'name' | 'help' | 'type' | 'aggregator' | 'values', unknown>> | null;
    if (m === null || typeof m !== 'object') return `a metric is ${describe(metric)}`;
    if (typeof m.name !== 'string' || !METRIC_NAME.test(m.name)) return `a metric name is ${describe(m.name)}`;
    if (typeof m.help !== 'string') return `${m.name}: help is ${describe(m.help)}`;
    if (!METRIC_TYPES.has(m.type)) return `${m.name}: type is ${describe(m.type)}`;
    if (m.aggregator !== undefined && typeof m.aggregator !== 'string') return `${m.name}: aggregator is ${describe(m.aggregator)}`;
    if (!Array.isArray(m.values)) return `${m.name}: values is ${describe(m.values)}, not a list`;
    for (const value of m.values as unknown[]) {
      const v = value as Partial<Record<'value' | 'labels' | 'metricName', unknown>> | null;
      if (v === null || typeof v !== 'object') return `${m.name}: a value is ${describe(value)}`;
      if (typeof v.value === 'string' && NON_FINITE.has(v.value)) v.value = NON_FINITE.get(v.value);
      else if (typeof v.value !== 'number') return `${m.name}: a value is ${describe(v.value)}`;
      if (v.metricName !== undefined && !isName(v.metricName, METRIC_NAME, sampleNames)) {
        return `${m.name}: a sample name is ${describe(v.metricName)}`;
      }
      if (v.labels !== undefined) {
        if (v.labels === null || typeof v.labels !== 'object') return `${m.name}: labels are ${describe(v.labels)}`;
        for (const [label, labelValue] of Object.entries(v.labels)) {
          if (!isName(label, LABEL_NAME, labelNames)) return `${m.name}: a label name is ${describe(label)}`;
          if (typeof labelValue !== 'string' && typeof labelValue !== 'number') {
            return `${m.name}: label ${label} is ${describe(labelValue)}`;
          }
        }
      }
    }
  }
  return undefined;
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
  if (sharing) {
    // Both would answer each request and the primary would keep whichever came first: the
    // other registry would never be served, without a word.
    throw new TypeError(
      'shareWorkerMetrics: this worker already shares a registry; call the function it returned first, or share one registry (Registry.merge)',
    );
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
      (metrics) => send({ type: RESPONSE, id, metrics: encodeNonFinite(metrics) }),
      (err: unknown) => send({ type: RESPONSE, id, error: messageOf(err) }),
    );
  };
  process.on('message', onMessage);
  sharing = true;
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    sharing = false;
    process.off('message', onMessage);
  };
}

/** Whether this worker shares a registry now (see {@link shareWorkerMetrics}). */
let sharing = false;

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
    if (message.error !== undefined) {
      const error = typeof message.error === 'string' ? message.error : describe(message.error);
      this.settle(message.id, scrape, new Error(`ClusterAggregator: worker ${worker.id} failed: ${error}`));
      return;
    }
    // Anything else that is not a valid answer fails the scrape too: leaving the worker out
    // would serve a partial sum, which Prometheus reads as counters reset.
    const problem = malformedAnswer(message.metrics);
    if (problem !== undefined) {
      this.settle(message.id, scrape, new Error(`ClusterAggregator: worker ${worker.id} sent a malformed answer: ${problem}`));
      return;
    }
    scrape.responses.push(message.metrics as MetricsJSON);
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
