/**
 * The handler's own collectors, like promhttp's: scrapes by response code, and scrapes in
 * flight.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Name of the self-metric counting scrapes by response code. */
export const SCRAPES_METRIC_NAME = 'blockyard_telemetry_scrapes_total';
/** Name of the self-metric gauging scrapes in flight. */
export const SCRAPES_IN_FLIGHT_METRIC_NAME = 'blockyard_telemetry_scrapes_in_flight';

/** The handler's own collectors. */
export interface SelfMetrics {
  readonly scrapes: Counter<'code'>;
  readonly inFlight: Gauge;
}

/**
 * Registers the self-metrics on `registry`, or reuses those another handler registered there
 * (two handlers serving one registry then count together, as one endpoint would).
 */
export function selfMetricsOn(registry: Registry): SelfMetrics {
  const scrapesTaken = registry.getSingleMetric(SCRAPES_METRIC_NAME);
  const inFlightTaken = registry.getSingleMetric(SCRAPES_IN_FLIGHT_METRIC_NAME);
  if (scrapesTaken !== undefined && !(scrapesTaken instanceof Counter)) {
    throw new TypeError(
      `metricsHandler: selfMetrics: the registry already holds a ${SCRAPES_METRIC_NAME} that is not a Counter`,
    );
  }
  if (inFlightTaken !== undefined && !(inFlightTaken instanceof Gauge)) {
    throw new TypeError(
      `metricsHandler: selfMetrics: the registry already holds a ${SCRAPES_IN_FLIGHT_METRIC_NAME} that is not a Gauge`,
    );
  }
  const scrapes =
    scrapesTaken ??
    new Counter({
      name: SCRAPES_METRIC_NAME,
      help: 'Total number of scrapes of the metrics endpoint, by HTTP status code.',
      labelNames: ['code'] as const,
      registers: [registry],
    });
  if (scrapesTaken === undefined) {
    // Like promhttp: the codes a healthy or overloaded endpoint answers exist from the start.
    for (const code of ['200', '500', '503']) scrapes.labels(code).inc(0);
  }
  const inFlight =
    inFlightTaken ??
    new Gauge({
      name: SCRAPES_IN_FLIGHT_METRIC_NAME,
      help: 'Number of scrapes of the metrics endpoint being served now.',
      registers: [registry],
    });
  return { scrapes, inFlight };
}
