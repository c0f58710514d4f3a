/**
 * The events family: what the orchestrator records (one discriminated union), how each event
 * is validated, and what each kind does to the contract's collectors.
 *
 * @packageDocumentation
 */
export { BoundedAppLabels, DEFAULT_MAX_APPS } from './app-labels';
export { EventRecorder } from './event-recorder';
export { parseEvent, type EventProblem, type ParsedEvent } from './parse-event';
export {
  EVENT_TYPES,
  type AuditEntryDroppedEvent,
  type BundleRestoredEvent,
  type BundleUploadedEvent,
  type HealthCheckFailedEvent,
  type ProxyRequestEvent,
  type SessionClosedEvent,
  type SessionOpenedEvent,
  type TelemetryEvent,
  type TelemetryEventType,
  type WorkerSpawnedEvent,
  type WorkerStoppedEvent,
} from './telemetry-event';
