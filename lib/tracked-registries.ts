/**
 * Where the trackers record, so that a scrape of the wrong registry can say so.
 *
 * `serveMetrics()` and `metricsHandler()` without a registry serve prom-client's default
 * registry, as documented. A host that created its metrics on a registry of its own
 * (`newMetrics(new Registry())`) and did not pass it gets a scrape without any of them:
 * Prometheus sees the target up and no blockyard series, and nothing says why. So each tracker
 * notes the registry it records into, and the first scrape of the default registry while every
 * tracker records elsewhere emits one process warning naming the fix.
 *
 * @packageDocumentation
 */
import { register as defaultRegistry } from 'prom-client';

/** The code of the warning, for `process.on('warning')` filters. @internal */
export const ELSEWHERE_WARNING_CODE = 'BLOCKYARD_TELEMETRY_REGISTRY';

let recordedInDefault = false;
let recordedElsewhere = false;
let warned = false;

/** Notes that a tracker records into `registry` (the `registry` of its `Metrics`). @internal */
export function noteTrackedRegistry(registry: unknown): void {
  if (registry === defaultRegistry) recordedInDefault = true;
  else if (registry !== null && typeof registry === 'object') recordedElsewhere = true;
}

/**
 * Called on each scrape of `served`: when it is prom-client's default registry and every
 * tracker so far records into another one, emits the warning (once per process).
 * @internal
 */
export function warnIfTrackersRecordElsewhere(served: unknown): void {
  if (warned || served !== defaultRegistry || recordedInDefault || !recordedElsewhere) return;
  warned = true;
  process.emitWarning(
    "blockyard-telemetry: a scrape served prom-client's default registry, but every WorkerStateTracker " +
      'records into another registry, so the scrape holds none of their metrics. Serve that registry: ' +
      'serveMetrics({ registry: metrics }) or metricsHandler(metrics), with metrics from newMetrics(registry).',
    { code: ELSEWHERE_WARNING_CODE },
  );
}
