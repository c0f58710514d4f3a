/**
 * The HTTP family: any prom-client registry served to Prometheus, as a handler, as a
 * dedicated listener, or summed over the workers of a `node:cluster` app. It knows nothing of
 * the tracker or the contract: it serves whatever a registry holds.
 *
 * @packageDocumentation
 */
export { ClusterAggregator, type ClusterAggregatorOptions } from './cluster-aggregator';
export { CONTENT_TYPES, acceptsGzip, negotiateFormat, type ExpositionFormat } from './content-negotiation';
export { metadataOf, splitFamilies } from './exposition-families';
export type { MetricsHandlerOptions } from './handler-options';
export { metricsHandler, type MetricsHandler } from './metrics-handler';
export type { MetricsSource } from './metrics-source';
export { readCollectors, renderForScrape, renderRegistry, viewOfReads, type CollectorRead } from './render-registry';
export { COLLECTOR_ERRORS_METRIC_NAME, SCRAPES_IN_FLIGHT_METRIC_NAME, SCRAPES_METRIC_NAME } from './self-metrics';
export { DEFAULT_METRICS_PORT, serveMetrics, type MetricsServer, type ServeMetricsOptions } from './serve-metrics';
export { shareWorkerMetrics, type WorkerMetricsSharing } from './share-worker-metrics';
