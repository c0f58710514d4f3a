/**
 * Validation of events: each event is checked field by field; a valid one is copied into a
 * plain record of its own (so a caller's object, getters and all, is read once and never
 * again), and an invalid one is described, never recorded, never thrown.
 *
 * @packageDocumentation
 */
import { describeValue, messageOf } from '../describe-value';
import type { TraceRef } from '../exemplars';
import { STOP_REASONS, type StopReason } from '../labels';
import { EVENT_TYPES, MAX_EVENT_SECONDS, type TelemetryEvent } from './telemetry-event';

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
    problem: { field, message: `${type} event: ${field} must be ${expected}, got ${describeValue(value)}` },
  };
}

const HEX_32 = /^[0-9a-f]{32}$/;
const HEX_16 = /^[0-9a-f]{16}$/;

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
      return {
        ok: false,
        problem: { field: 'event', message: `event must be an object, got ${describeValue(input)}` },
      };
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
            message: `event type must be one of ${EVENT_TYPES.join(', ')}, got ${describeValue(type)}`,
          },
        };
    }
  } catch (err) {
    return { ok: false, problem: { field: 'event', message: `reading the event threw: ${messageOf(err)}` } };
  }
}
