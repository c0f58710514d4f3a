/**
 * The handler's own collectors, like promhttp's: scrapes by response code, scrapes in flight,
 * and (with `errorHandling: 'continue'`) the collectors left out of scrapes.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Name of the self-metric counting scrapes by response code. */
export const SCRAPES_METRIC_NAME = 'blockyard_telemetry_scrapes_total';
/** Name of the self-metric gauging scrapes in flight. */
export const SCRAPES_IN_FLIGHT_METRIC_NAME = 'blockyard_telemetry_scrapes_in_flight';

/**
 * Name of the self-metric counting collectors left out of scrapes because they threw
 * (`errorHandling: 'continue'` only: with `'fail'` such a scrape answers 500 and counts in
 * {@link SCRAPES_METRIC_NAME}). Like promhttp's `promhttp_metric_handler_errors_total`, it
 * makes the failures a 200 hides visible to alerts. No label: one series whatever fails.
 */
export const COLLECTOR_ERRORS_METRIC_NAME = 'blockyard_telemetry_collector_errors_total';

/** The handler's own collectors. */
export interface SelfMetrics {
  readonly scrapes: Counter<'code'>;
  readonly inFlight: Gauge;
  /** Present when the handler continues past failing collectors. */
  readonly collectorErrors: Counter | undefined;
}

/** Registers a collector named `name` of class `kind`, or reuses the one `registry` holds. */
function reuseOrCreate<T>(
  registry: Registry,
  name: string,
  kind: abstract new (...args: never[]) => T,
  kindName: string,
  create: () => T,
): { metric: T; created: boolean } {
  const taken = registry.getSingleMetric(name);
  if (taken === undefined) return { metric: create(), created: true };
  if (!(taken instanceof kind)) {
    throw new TypeError(`metricsHandler: selfMetrics: the registry already holds a ${name} that is not a ${kindName}`);
  }
  return { metric: taken, created: false };
}

/**
 * Registers the self-metrics on `registry`, or reuses those another handler registered there
 * (two handlers serving one registry then count together, as one endpoint would).
 */
export function selfMetricsOn(registry: Registry, { collectorErrors = false } = {}): SelfMetrics {
  const scrapes = reuseOrCreate(
    registry,
    SCRAPES_METRIC_NAME,
    Counter,
    'Counter',
    () =>
      new Counter({
        name: SCRAPES_METRIC_NAME,
        help: 'Total number of scrapes of the metrics endpoint, by HTTP status code.',
        labelNames: ['code'] as const,
        registers: [registry],
      }),
  );
  const inFlight = reuseOrCreate(
    registry,
    SCRAPES_IN_FLIGHT_METRIC_NAME,
    Gauge,
    'Gauge',
    () =>
      new Gauge({
        name: SCRAPES_IN_FLIGHT_METRIC_NAME,
        help: 'Number of scrapes of the metrics endpoint being served now.',
        registers: [registry],
      }),
  );
  if (scrapes.created) {
    // Like promhttp: the codes a healthy or overloaded endpoint answers exist from the start.
    for (const code of ['200', '500', '503']) scrapes.metric.labels(code).inc(0);
  }
  const errors = collectorErrors
    ? reuseOrCreate(
        registry,
        COLLECTOR_ERRORS_METRIC_NAME,
        Counter,
        'Counter',
        () =>
          new Counter({
            name: COLLECTOR_ERRORS_METRIC_NAME,
            help: 'Total number of collectors left out of a scrape of the metrics endpoint because reading them failed.',
            registers: [registry],
          }),
      ).metric
    : undefined;
  return { scrapes: scrapes.metric, inFlight: inFlight.metric, collectorErrors: errors };
}
