/**
 * Puts a known value in every collector of the contract, so an exposition shows every sample
 * kind (gauges, labelled counters, histogram buckets) with something other than zero.
 */
import type { Metrics } from '../../lib';

/** Sets every collector of `metrics` to the same known values, whatever the registry. */
export function fillMetrics(metrics: Metrics): void {
  metrics.workersActive.set(4);
  metrics.workersByState.labels('busy').set(2);
  metrics.workersByState.labels('idle').set(1);
  metrics.workersByState.labels('draining').set(1);
  metrics.sessionsActive.set(5);
  metrics.workersSpawned.inc(6);
  metrics.workersStopped.labels('graceful').inc(1);
  metrics.workersStopped.labels('crashed').inc(1);
  metrics.workersStopped.labels('idle_timeout').inc(0);
  metrics.bundlesUploaded.inc(3);
  metrics.bundleRestoresSucceeded.inc(2);
  metrics.bundleRestoresFailed.inc(1);
  metrics.proxyRequests.labels('sales', '2xx').inc(10);
  metrics.proxyRequests.labels('sales', '5xx').inc(1);
  metrics.proxyRequests.labels('unknown', '4xx').inc(2);
  metrics.healthChecksFailed.labels('sales').inc(1);
  metrics.auditEntriesDropped.inc(1);
  metrics.coldStartDuration.observe(1.5);
  metrics.coldStartDuration.observe(3);
  metrics.proxyRequestDuration.observe(0.02);
  metrics.proxyRequestDuration.observe(0.3);
  metrics.buildDuration.observe(42);
}
