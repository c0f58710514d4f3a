/**
 * The events the orchestrator records, and their validation.
 *
 * One discriminated union (on `type`) is the single typed entry point for everything that is
 * counted rather than derived from snapshots. Each event is checked field by field; a valid
 * one is copied into a plain record of its own (so a caller's object, getters and all, is read
 * once and never again), and an invalid one is described, never recorded, never thrown.
 *
 * @packageDocumentation
 */
import { describe } from './describe';
import { messageOf } from './errors';
import { STOP_REASONS, type StopReason } from './labels';

/**
 * Where a traced operation sits, for exemplars: the ids of the span it belongs to. Hex
 * strings as OpenTelemetry's `SpanContext` carries them (32 and 16 lower-case hex digits).
 */
export interface TraceRef {
  /** The trace id: 32 lower-case hex digits. */
  readonly traceId: string;
  /** The span id: 16 lower-case hex digits. */
  readonly spanId: string;
}

/** A worker was spawned. spawned+1, active+1, cold start observed when given. */
export interface WorkerSpawnedEvent {
  /** The discriminant. */
  readonly type: 'worker_spawned';
  /** Spawn to ready, in seconds (0 to {@link MAX_EVENT_SECONDS}). */
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
  /** Build time in seconds (0 to {@link MAX_EVENT_SECONDS}); observed only when `ok`. */
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
  /** Time to serve the request, in seconds (0 to {@link MAX_EVENT_SECONDS}). */
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

/** Why an event was rejected: the field and a message quoting its value. */
export interface EventProblem {
  /** The offending field (`type`, `status`, …), or `event` for the event as a whole. */
  readonly field: string;
  /** What is wrong, quoting the value. */
  readonly message: string;
}

/** The outcome of {@link parseEvent}: a clean copy of a valid event, or what is wrong. */
export type ParsedEvent =
  | {
      /** The event is valid. */
      readonly ok: true;
      /** A clean copy of it. */
      readonly event: TelemetryEvent;
    }
  | {
      /** The event is not valid. */
      readonly ok: false;
      /** What is wrong with it. */
      readonly problem: EventProblem;
    };

function rejected(type: string, field: string, expected: string, value: unknown): ParsedEvent {
  return {
    ok: false,
    problem: { field, message: `${type} event: ${field} must be ${expected}, got ${describe(value)}` },
  };
}

const HEX_32 = /^[0-9a-f]{32}$/;
const HEX_16 = /^[0-9a-f]{16}$/;

/**
 * The longest duration an event may carry, in seconds: 10^9 s, about 31.7 years, longer than
 * any request, cold start or build can last. Finite is not enough: two observations of 1e308
 * turn a histogram's `_sum` into `+Inf` for good, and with it every average Prometheus draws
 * from it; under this bound no count of events can overflow a sum.
 */
export const MAX_EVENT_SECONDS = 1e9;

/** What a duration field must be, for the messages that reject one. */
const DURATION = `a non-negative number of at most ${MAX_EVENT_SECONDS} seconds`;

/** A duration field: absent, or a number from 0 to {@link MAX_EVENT_SECONDS}. */
function isDuration(value: unknown): value is number | undefined {
  return value === undefined || (typeof value === 'number' && value >= 0 && value <= MAX_EVENT_SECONDS);
}

function isTraceRef(value: unknown): value is TraceRef | undefined {
  if (value === undefined) return true;
  if (value === null || typeof value !== 'object') return false;
  const { traceId, spanId } = value as Record<string, unknown>;
  return typeof traceId === 'string' && HEX_32.test(traceId) && typeof spanId === 'string' && HEX_16.test(spanId);
}

function copyTrace(trace: TraceRef | undefined): TraceRef | undefined {
  return trace === undefined ? undefined : { traceId: trace.traceId, spanId: trace.spanId };
}

/**
 * Checks `input` as a {@link TelemetryEvent} and returns a clean copy of it, or the first
 * problem found. Every field is read once. Never throws: a getter that throws, a Proxy, a
 * symbol are all reported as problems.
 */
export function parseEvent(input: unknown): ParsedEvent {
  try {
    if (input === null || typeof input !== 'object') {
      return { ok: false, problem: { field: 'event', message: `event must be an object, got ${describe(input)}` } };
    }
    const e = input as Record<string, unknown>;
    const type = e.type;
    switch (type) {
      case 'proxy_request': {
        const app = e.app;
        if (app !== undefined && (typeof app !== 'string' || app === '')) {
          return rejected(type, 'app', 'a non-empty string or absent', app);
        }
        const status = e.status;
        if (typeof status !== 'number' || !Number.isSafeInteger(status)) {
          return rejected(type, 'status', 'an integer', status);
        }
        const seconds = e.seconds;
        if (!isDuration(seconds)) return rejected(type, 'seconds', DURATION, seconds);
        const trace = e.trace;
        if (!isTraceRef(trace)) return rejected(type, 'trace', 'a { traceId, spanId } of hex ids', trace);
        return { ok: true, event: { type, app, status, seconds, trace: copyTrace(trace) } };
      }
      case 'worker_spawned': {
        const coldStartSeconds = e.coldStartSeconds;
        if (!isDuration(coldStartSeconds)) {
          return rejected(type, 'coldStartSeconds', DURATION, coldStartSeconds);
        }
        const trace = e.trace;
        if (!isTraceRef(trace)) return rejected(type, 'trace', 'a { traceId, spanId } of hex ids', trace);
        return { ok: true, event: { type, coldStartSeconds, trace: copyTrace(trace) } };
      }
      case 'worker_stopped': {
        const reason = e.reason;
        if (!(STOP_REASONS as readonly unknown[]).includes(reason)) {
          return rejected(type, 'reason', `one of ${STOP_REASONS.join(', ')}`, reason);
        }
        return { ok: true, event: { type, reason: reason as StopReason } };
      }
      case 'bundle_restored': {
        const ok = e.ok;
        if (typeof ok !== 'boolean') return rejected(type, 'ok', 'a boolean', ok);
        const seconds = e.seconds;
        if (!isDuration(seconds)) return rejected(type, 'seconds', DURATION, seconds);
        return { ok: true, event: { type, ok, seconds } };
      }
      case 'health_check_failed': {
        const app = e.app;
        if (typeof app !== 'string' || app === '') return rejected(type, 'app', 'a non-empty string', app);
        return { ok: true, event: { type, app } };
      }
      case 'session_opened':
      case 'session_closed':
      case 'bundle_uploaded':
      case 'audit_entry_dropped':
        return { ok: true, event: { type } };
      default:
        return {
          ok: false,
          problem: {
            field: 'type',
            message: `event type must be one of ${EVENT_TYPES.join(', ')}, got ${describe(type)}`,
          },
        };
    }
  } catch (err) {
    return { ok: false, problem: { field: 'event', message: `reading the event threw: ${messageOf(err)}` } };
  }
}
