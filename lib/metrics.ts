/**
 * The metric set of the contract: every name, type, label set and bucket list.
 *
 * The names, types, labels and buckets below are byte-identical to the Go package's, so
 * dashboards and alerts written for the Go server work unchanged. Help texts are ours.
 *
 * @packageDocumentation
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  register as defaultRegistry,
  type RegistryContentType,
} from 'prom-client';
import { acceptPlainObserve, exemplarConfig } from './exemplars';
import { WORKER_STATES } from './labels';
import { messageOf } from './describe-value';

import { OptionChecks } from './options';
import { checkPromClientVersion } from './prom-client-support';

/**
 * Every Prometheus collector of the blockyard server. Create one per server with
 * {@link newMetrics} and hand it to the code that records observations (usually a
 * {@link WorkerStateTracker}). The collectors are plain prom-client objects: callers may also
 * use them directly (`labels(...)`, `inc()`, `set()`, `observe()`), as the Go server does.
 *
 * Collectors are typed by their label names, so a wrong label key fails to compile.
 */
export interface Metrics {
  /** The registry every collector below is registered on. */
  readonly registry: Registry;

  // Gauges: current state.
  /** `blockyard_workers_active`: workers running now. */
  readonly workersActive: Gauge;
  /** `blockyard_workers{state}`: workers by derived state. labels: state (busy, idle, draining). */
  readonly workersByState: Gauge<'state'>;
  /** `blockyard_sessions_active`: user sessions open now. */
  readonly sessionsActive: Gauge;

  // Counters: cumulative totals.
  /** `blockyard_workers_spawned_total`. */
  readonly workersSpawned: Counter;
  /** `blockyard_workers_stopped_total{reason}`. labels: reason (graceful, crashed, idle_timeout). */
  readonly workersStopped: Counter<'reason'>;
  /** `blockyard_bundles_uploaded_total`. */
  readonly bundlesUploaded: Counter;
  /** `blockyard_bundle_restores_succeeded_total`. */
  readonly bundleRestoresSucceeded: Counter;
  /** `blockyard_bundle_restores_failed_total`. */
  readonly bundleRestoresFailed: Counter;
  /** `blockyard_proxy_requests_total{app,status}`. labels: app (bounded), status (1xx…5xx). */
  readonly proxyRequests: Counter<'app' | 'status'>;
  /** `blockyard_health_checks_failed_total{app}`. labels: app (bounded). */
  readonly healthChecksFailed: Counter<'app'>;
  /** `blockyard_audit_entries_dropped_total`: audit log entries lost to a full buffer. */
  readonly auditEntriesDropped: Counter;

  // Histograms: distributions.
  /** `blockyard_cold_start_seconds`: spawn to ready. Buckets 0.5 s … 64 s. */
  readonly coldStartDuration: Histogram;
  /** `blockyard_proxy_request_seconds`: proxied request latency. Buckets 5 ms … 10 s. */
  readonly proxyRequestDuration: Histogram;
  /** `blockyard_build_seconds`: bundle build (restore) time. Buckets 5 s … 640 s. */
  readonly buildDuration: Histogram;
}

/** Cold starts: container pull and app boot, 0.5 s … 64 s, doubling. */
export const COLD_START_BUCKETS: readonly number[] = Object.freeze([0.5, 1, 2, 4, 8, 16, 32, 64]);
/** Proxied requests: prom-client's (and Go's) default buckets, 5 ms … 10 s. */
export const PROXY_REQUEST_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);
/** Bundle builds: dependency restores, 5 s … 640 s, doubling. */
export const BUILD_BUCKETS: readonly number[] = Object.freeze([5, 10, 20, 40, 80, 160, 320, 640]);

/** Every exposed metric name of the contract, in contract order. */
export const METRIC_NAMES: readonly string[] = Object.freeze([
  'blockyard_workers_active',
  'blockyard_workers',
  'blockyard_sessions_active',
  'blockyard_workers_spawned_total',
  'blockyard_workers_stopped_total',
  'blockyard_bundles_uploaded_total',
  'blockyard_bundle_restores_succeeded_total',
  'blockyard_bundle_restores_failed_total',
  'blockyard_proxy_requests_total',
  'blockyard_health_checks_failed_total',
  'blockyard_audit_entries_dropped_total',
  'blockyard_cold_start_seconds',
  'blockyard_proxy_request_seconds',
  'blockyard_build_seconds',
]);

/**
 * Creates every collector of the contract on `registry` and returns them.
 *
 * Pass nothing (prom-client's global default registry) in production, so that whatever
 * already serves that registry serves these too. Tests should pass a fresh `new Registry()`
 * so parallel tests and before/after delta assertions stay isolated: two registries never
 * share state. The three `blockyard_workers{state}` series exist at 0 from the moment this
 * returns, so a dashboard never sees a missing series.
 *
 * Throws (at construction, never later) when the prom-client installed is not a supported
 * one (a peer dependency: `^15.1.1`; the message says what to install), when `registry` is
 * not a prom-client Registry, or when it already holds a collector of the same name.
 */
export function newMetrics(registry: Registry<RegistryContentType> = defaultRegistry): Metrics {
  checkPromClientVersion('newMetrics');
  new OptionChecks('newMetrics').registry('registry', registry);
  const taken = METRIC_NAMES.filter((name) => registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) {
    throw new Error(
      `newMetrics: the registry already holds ${taken.join(', ')}; ` +
        'call newMetrics once per registry (tests: pass a fresh Registry each time)',
    );
  }
  const registers = [registry as Registry];
  try {
    const metrics: Metrics = {
      registry: registry as Registry,
      workersActive: new Gauge({
        name: 'blockyard_workers_active',
        help: 'Number of workers currently running.',
        registers,
      }),
      workersByState: new Gauge({
        name: 'blockyard_workers',
        help: 'Number of workers by state (busy, idle, draining), derived on each reconciliation tick.',
        labelNames: ['state'] as const,
        registers,
      }),
      sessionsActive: new Gauge({
        name: 'blockyard_sessions_active',
        help: 'Number of user sessions currently open.',
        registers,
      }),
      workersSpawned: new Counter({
        name: 'blockyard_workers_spawned_total',
        help: 'Total number of workers spawned.',
        registers,
      }),
      workersStopped: new Counter({
        name: 'blockyard_workers_stopped_total',
        help: 'Total number of workers stopped, by reason (graceful, crashed, idle_timeout).',
        labelNames: ['reason'] as const,
        registers,
      }),
      bundlesUploaded: new Counter({
        name: 'blockyard_bundles_uploaded_total',
        help: 'Total number of bundles uploaded.',
        registers,
      }),
      bundleRestoresSucceeded: new Counter({
        name: 'blockyard_bundle_restores_succeeded_total',
        help: 'Total number of bundle restores that succeeded.',
        registers,
      }),
      bundleRestoresFailed: new Counter({
        name: 'blockyard_bundle_restores_failed_total',
        help: 'Total number of bundle restores that failed.',
        registers,
      }),
      proxyRequests: new Counter({
        name: 'blockyard_proxy_requests_total',
        help: 'Total number of proxied requests, by app and status class.',
        labelNames: ['app', 'status'] as const,
        registers,
      }),
      healthChecksFailed: new Counter({
        name: 'blockyard_health_checks_failed_total',
        help: 'Total number of failed worker health checks, by app.',
        labelNames: ['app'] as const,
        registers,
      }),
      auditEntriesDropped: new Counter({
        name: 'blockyard_audit_entries_dropped_total',
        help: 'Total number of audit log entries dropped.',
        registers,
      }),
      coldStartDuration: new Histogram({
        name: 'blockyard_cold_start_seconds',
        help: 'Time from worker spawn to ready, in seconds.',
        buckets: [...COLD_START_BUCKETS],
        registers,
        ...exemplarConfig(registry),
      }),
      proxyRequestDuration: new Histogram({
        name: 'blockyard_proxy_request_seconds',
        help: 'Duration of proxied requests, in seconds.',
        buckets: [...PROXY_REQUEST_BUCKETS],
        registers,
        ...exemplarConfig(registry),
      }),
      buildDuration: new Histogram({
        name: 'blockyard_build_seconds',
        help: 'Duration of bundle builds, in seconds.',
        buckets: [...BUILD_BUCKETS],
        registers,
      }),
    };
    for (const state of WORKER_STATES) metrics.workersByState.labels(state).set(0);
    acceptPlainObserve(metrics.coldStartDuration, metrics.proxyRequestDuration); // exemplars.ts
    return metrics;
  } catch (err) {
    throw new Error(`newMetrics: cannot register the blockyard collectors: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
