/**
 * blockyard-telemetry: Prometheus metrics and OpenTelemetry tracing for worker orchestrators.
 * This file only re-exports: the public surface at a glance.
 *
 * @packageDocumentation
 */
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
export {
  BUILD_BUCKETS,
  COLD_START_BUCKETS,
  METRIC_NAMES,
  PROXY_REQUEST_BUCKETS,
  newMetrics,
  type Metrics,
} from './metrics';
export {
  EMPTY_COUNTS,
  deriveStateCounts,
  invalidWorkerReason,
  type WorkerValidationOptions,
  workerState,
  type ActiveWorker,
  type SnapshotInput,
  type StateCounts,
  type WorkerSnapshot,
} from './worker-state';
export type { WorkerTransition } from './state-diff';
export {
  EVENT_TYPES,
  MAX_EVENT_SECONDS,
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
  type TraceRef,
  type WorkerSpawnedEvent,
  type WorkerStoppedEvent,
} from './events';
export { TelemetryError, type TelemetryErrorOrigin } from './errors';
export { DEFAULT_MAX_APPS } from './app-labels';
export { MAX_TICK_MS, MAX_TICK_RETRIES } from './ticks';
export { EARLY_ERRORS_KEPT, WorkerStateTracker, type WorkerStateTrackerOptions } from './tracker';
export {
  CONTENT_TYPES,
  acceptsGzip,
  negotiateFormat,
  renderRegistry,
  type ExpositionFormat,
  type MetricsSource,
} from './exposition';
export {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_SCRAPE_TIMEOUT_MS,
  SCRAPES_IN_FLIGHT_METRIC_NAME,
  SCRAPES_METRIC_NAME,
  metricsHandler,
  type MetricsHandler,
  type MetricsHandlerOptions,
} from './http';
export {
  DEFAULT_METRICS_PORT,
  HEALTH_PATH,
  serveMetrics,
  type MetricsServer,
  type ServeMetricsOptions,
} from './serve-metrics';
export { ClusterAggregator, shareWorkerMetrics, type ClusterAggregatorOptions } from './cluster';
export {
  DEFAULT_EXPORT_TIMEOUT_MS,
  DEFAULT_SERVICE_NAME,
  SHUTDOWN_GRACE_MS,
  initTracing,
  type TracingOptions,
  type TracingShutdown,
} from './tracing';
export { parseOtlpEndpoint, type OtlpEndpoint } from './otlp-endpoint';
export {
  DEFAULT_TRACER_NAME,
  fastifyTracing,
  traceHandler,
  tracingErrorHandler,
  tracingMiddleware,
  type FastifyReplyLike,
  type FastifyRequestLike,
  type FastifyTracingHooks,
  type NextFunction,
  type TracingMiddleware,
  type TracingMiddlewareOptions,
} from './middleware';
export { injectTraceHeaders, type HeaderSetter, type OutgoingHeaders } from './propagation';
export { activeTraceRef } from './exemplars';
