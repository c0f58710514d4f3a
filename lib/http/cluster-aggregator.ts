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
 * @packageDocumentation
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import { describeValue } from '../describe-value';
import type { Closable } from '../lifecycle';
import { OptionChecks } from '../options';
import {
  REQUEST,
  RESPONSE,
  inconsistentAnswers,
  isMessage,
  malformedAnswer,
  type Answer,
  type MetricsJSON,
  type MetricsRequest,
  type MetricsResponse,
} from './cluster-protocol';
import type { MetricsSource } from './metrics-source';
import { registryAsJSON } from './render-registry';

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

/** A worker's valid answer to one scrape. */
interface WorkerAnswer {
  readonly worker: number;
  readonly metrics: MetricsJSON;
}

interface PendingScrape {
  readonly waiting: Set<number>;
  readonly responses: WorkerAnswer[];
  readonly timer: NodeJS.Timeout;
  readonly resolve: (responses: WorkerAnswer[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * In the primary: a {@link MetricsSource} whose registry, on each scrape, is the sum of every
 * connected worker's metrics and the primary's own. Serve it with `serveMetrics({ registry })`
 * or `metricsHandler(aggregator)`. Call {@link close} when done: it removes its listeners from
 * `node:cluster` and fails scrapes still waiting.
 */
export class ClusterAggregator implements MetricsSource, Closable {
  /** The primary's own registry, part of every aggregate. */
  readonly registry: Registry;

  private readonly timeoutMs: number;
  private readonly pending = new Map<number, PendingScrape>();
  private nextId = 0;
  private closed = false;

  constructor(options: ClusterAggregatorOptions = {}) {
    const check = new OptionChecks('ClusterAggregator');
    check.object(options, ['timeoutMs', 'registry']);
    if (!cluster.isPrimary) check.fail('create it in the node:cluster primary (cluster.isPrimary is false here)');
    this.timeoutMs = check.milliseconds('timeoutMs', options.timeoutMs) ?? 5000;
    this.registry = options.registry === undefined ? new Registry() : check.registry('registry', options.registry);
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
  }

  /**
   * Asks every connected worker for its metrics and resolves with their aggregate, the
   * primary's registry included. Rejects, naming the worker and what was wrong, when a worker
   * answers with an error or with metrics that cannot be aggregated (malformed, or a metric
   * whose type differs from another answer's), or when some worker has not answered within
   * `timeoutMs`. With no worker, it is the primary's registry alone.
   */
  async gather(): Promise<Registry> {
    if (this.closed) throw new Error('ClusterAggregator: closed');
    const responses = await this.ask();
    const answers: Answer[] = [
      // In worker order, so that which of two disagreeing workers is named does not depend
      // on which answered first; the primary's own registry last, as its metrics come last.
      ...responses.sort((x, y) => x.worker - y.worker).map((r) => ({ from: `worker ${r.worker}`, metrics: r.metrics })),
      { from: "the primary's registry", metrics: await registryAsJSON(this.registry) },
    ];
    const problem = inconsistentAnswers(answers);
    if (problem !== undefined) throw new Error(`ClusterAggregator: ${problem}`);
    return AggregatorRegistry.aggregate(answers.map((a) => a.metrics));
  }

  /**
   * Stops listening to the cluster and fails the scrapes still waiting. Idempotent; resolves at
   * once (nothing it holds closes asynchronously); never rejects.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      cluster.off('message', this.onMessage);
      cluster.off('exit', this.onExit);
      for (const [id, scrape] of this.pending) this.settle(id, scrape, new Error('ClusterAggregator: closed'));
    }
    return Promise.resolve();
  }

  private ask(): Promise<WorkerAnswer[]> {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) % Number.MAX_SAFE_INTEGER;
    return new Promise<WorkerAnswer[]>((resolve, reject) => {
      const waiting = new Set<number>();
      const request: MetricsRequest = { type: REQUEST, id };
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (!worker?.isConnected()) continue;
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
    if (!scrape?.waiting.delete(worker.id)) return;
    if (message.error !== undefined) {
      const error = typeof message.error === 'string' ? message.error : describeValue(message.error);
      this.settle(message.id, scrape, new Error(`ClusterAggregator: worker ${worker.id} failed: ${error}`));
      return;
    }
    // Anything else that is not a valid answer fails the scrape too: leaving the worker out
    // would serve a partial sum, which Prometheus reads as counters reset.
    const problem = malformedAnswer(message.metrics);
    if (problem !== undefined) {
      this.settle(
        message.id,
        scrape,
        new Error(`ClusterAggregator: worker ${worker.id} sent a malformed answer: ${problem}`),
      );
      return;
    }
    scrape.responses.push({ worker: worker.id, metrics: message.metrics as MetricsJSON });
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
