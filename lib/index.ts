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
  workerState,
  type ActiveWorker,
  type SnapshotInput,
  type StateCounts,
  type WorkerSnapshot,
} from './worker-state';
export type { WorkerTransition } from './reconciler';
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
  type TraceRef,
  type WorkerSpawnedEvent,
  type WorkerStoppedEvent,
} from './events';
export { TelemetryError, type TelemetryErrorOrigin } from './errors';
export { DEFAULT_MAX_APPS } from './app-labels';
export { MAX_TICK_MS, MAX_TICK_RETRIES } from './ticks';
export { EARLY_ERRORS_KEPT, WorkerStateTracker, type WorkerStateTrackerOptions } from './tracker';
