/**
 * blockyard-telemetry: Prometheus metrics and OpenTelemetry tracing for worker orchestrators.
 * This file only re-exports: the public surface at a glance.
 *
 * The contract (label values, `newMetrics`, errors, the lifecycle) lives at the root of lib/;
 * each family has a folder and is imported through its index: the tracker (snapshots in,
 * gauges and derived streams out), the events (`record()` into counters and histograms), the
 * HTTP endpoint (any registry, served), and tracing (OpenTelemetry, loaded on first use).
 * The testing kit is not here: it is the subpath `blockyard-telemetry/testing` (lib/testing/).
 *
 * @module blockyard-telemetry
 */
export { TelemetryError, type TelemetryErrorOrigin } from './errors';
export { activeTraceRef, type TraceRef } from './exemplars';
export {
  AppOverflow,
  AppUnknown,
  ReasonCrashed,
  ReasonGraceful,
  ReasonIdleTimeout,
  STATUS_CLASSES,
  STOP_REASONS,
  StateBusy,
  StateDraining,
  StateIdle,
  WORKER_STATES,
  proxyStatusClass,
  type StatusClass,
  type StopReason,
  type WorkerState,
} from './labels';
export type { Closable, StopFunction } from './lifecycle';
export {
  BUILD_BUCKETS,
  COLD_START_BUCKETS,
  METRIC_NAMES,
  PROXY_REQUEST_BUCKETS,
  newMetrics,
  type Metrics,
} from './metrics';

export {
  EVENT_TYPES,
  parseEvent,
  type AuditEntryDroppedEvent,
  type BundleRestoredEvent,
  type BundleUploadedEvent,
  type EventProblem,
  type HealthCheckFailedEvent,
  type ParsedEvent,
  type ProxyRequestEvent,
  type SessionClosedEvent,
  type SessionOpenedEvent,
  type TelemetryEvent,
  type TelemetryEventType,
  type WorkerSpawnedEvent,
  type WorkerStoppedEvent,
} from './events';
export {
  EMPTY_COUNTS,
  WorkerStateTracker,
  deriveStateCounts,
  invalidWorkerReason,
  workerState,
  type ActiveWorker,
  type SnapshotInput,
  type StateCounts,
  type WorkerSnapshot,
  type WorkerStateTrackerOptions,
  type WorkerTransition,
  type WorkerValidationOptions,
} from './tracker';
export {
  COLLECTOR_ERRORS_METRIC_NAME,
  CONTENT_TYPES,
  ClusterAggregator,
  DEFAULT_METRICS_PORT,
  SCRAPES_IN_FLIGHT_METRIC_NAME,
  SCRAPES_METRIC_NAME,
  acceptsGzip,
  metricsHandler,
  negotiateFormat,
  renderRegistry,
  serveMetrics,
  shareWorkerMetrics,
  type ClusterAggregatorOptions,
  type ExpositionFormat,
  type MetricsHandler,
  type MetricsHandlerOptions,
  type MetricsServer,
  type MetricsSource,
  type ServeMetricsOptions,
  type WorkerMetricsSharing,
} from './http';
export {
  fastifyTracing,
  initTracing,
  injectTraceHeaders,
  parseOtlpEndpoint,
  traceHandler,
  tracingErrorHandler,
  tracingMiddleware,
  type FastifyReplyLike,
  type FastifyRequestLike,
  type FastifyTracingHooks,
  type HeaderSetter,
  type NextFunction,
  type OtlpEndpoint,
  type OutgoingHeaders,
  type TracingMiddleware,
  type TracingMiddlewareOptions,
  type TracingOptions,
  type TracingSampler,
  type TracingShutdown,
} from './tracing';
