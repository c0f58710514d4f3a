/**
 * The events the orchestrator records: one discriminated union (on `type`), the single typed
 * entry point for everything that is counted rather than derived from snapshots.
 *
 * @packageDocumentation
 */
import type { TraceRef } from '../exemplars';
import type { StopReason } from '../labels';

/** A worker was spawned. spawned+1, active+1, cold start observed when given. */
export interface WorkerSpawnedEvent {
  /** The discriminant. */
  readonly type: 'worker_spawned';
  /** Spawn to ready, in seconds: 0 to 10^9 (a bound no histogram sum can overflow). */
  readonly coldStartSeconds?: number;
  /** The trace the spawn belongs to, for an exemplar; the active span's when absent. */
  readonly trace?: TraceRef;
}

/** A worker stopped. stopped{reason}+1, active-1. */
export interface WorkerStoppedEvent {
  /** The discriminant. */
  readonly type: 'worker_stopped';
  /** Why it stopped; one of the three bounded reasons. */
  readonly reason: StopReason;
}

/** A user session opened on some worker. sessions_active+1. */
export interface SessionOpenedEvent {
  /** The discriminant. */
  readonly type: 'session_opened';
}

/** A user session closed. sessions_active-1. */
export interface SessionClosedEvent {
  /** The discriminant. */
  readonly type: 'session_closed';
}

/** A bundle was uploaded. bundles_uploaded+1. */
export interface BundleUploadedEvent {
  /** The discriminant. */
  readonly type: 'bundle_uploaded';
}

/** A bundle restore (dependency build) finished. succeeded or failed +1; build time on success. */
export interface BundleRestoredEvent {
  /** The discriminant. */
  readonly type: 'bundle_restored';
  /** Whether the restore succeeded. */
  readonly ok: boolean;
  /** Build time in seconds: 0 to 10^9 (a bound no histogram sum can overflow); observed only when `ok`. */
  readonly seconds?: number;
}

/** A request was proxied. requests{app, class}+1, duration observed when given. */
export interface ProxyRequestEvent {
  /** The discriminant. */
  readonly type: 'proxy_request';
  /** The app the request resolved to; absent for a request that resolved to none. */
  readonly app?: string;
  /** The HTTP status code answered: any integer (classes are derived as in Go). */
  readonly status: number;
  /** Time to serve the request, in seconds: 0 to 10^9 (a bound no histogram sum can overflow). */
  readonly seconds?: number;
  /** The trace the request belongs to, for an exemplar; the active span's when absent. */
  readonly trace?: TraceRef;
}

/** A worker health check failed. health_checks_failed{app}+1. */
export interface HealthCheckFailedEvent {
  /** The discriminant. */
  readonly type: 'health_check_failed';
  /** The app of the worker whose check failed (bounded by `maxApps`). */
  readonly app: string;
}

/** An audit log entry was dropped (its buffer was full). audit_entries_dropped+1. */
export interface AuditEntryDroppedEvent {
  /** The discriminant. */
  readonly type: 'audit_entry_dropped';
}

/** Everything `WorkerStateTracker.record()` accepts. */
export type TelemetryEvent =
  | WorkerSpawnedEvent
  | WorkerStoppedEvent
  | SessionOpenedEvent
  | SessionClosedEvent
  | BundleUploadedEvent
  | BundleRestoredEvent
  | ProxyRequestEvent
  | HealthCheckFailedEvent
  | AuditEntryDroppedEvent;

/** The `type` of every event. */
export type TelemetryEventType = TelemetryEvent['type'];

/** Every event type, in the order of the union. */
export const EVENT_TYPES: readonly TelemetryEventType[] = Object.freeze([
  'worker_spawned',
  'worker_stopped',
  'session_opened',
  'session_closed',
  'bundle_uploaded',
  'bundle_restored',
  'proxy_request',
  'health_check_failed',
  'audit_entry_dropped',
]);

/**
 * The longest duration an event may carry, in seconds: 10^9 s, about 31.7 years, longer than
 * any request, cold start or build can last. Finite is not enough: two observations of 1e308
 * turn a histogram's `_sum` into `+Inf` for good, and with it every average Prometheus draws
 * from it; under this bound no count of events can overflow a sum.
 */
export const MAX_EVENT_SECONDS = 1e9;
