/**
 * What a valid event is, written out again from the docs (docs/tracker.md, the README's event
 * table) rather than taken from lib/: the one oracle tests judge events by, so that no test
 * passes by comparing the library's validation with itself.
 */
import { STOP_REASONS } from '../../lib';

/** The longest duration an event may carry, as documented: 10^9 s. */
export const MAX_EVENT_SECONDS = 1e9;

const HEX_32 = /^[0-9a-f]{32}$/;
const HEX_16 = /^[0-9a-f]{16}$/;

/** Whether `e` is an event `record()` must accept. Never throws (a getter that throws: not valid). */
export function isValidEvent(e: unknown): boolean {
  try {
    if (e === null || typeof e !== 'object') return false;
    const o = e as Record<string, unknown>;
    const duration = (v: unknown): boolean =>
      v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_EVENT_SECONDS);
    const app = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
    const trace = (v: unknown): boolean => {
      if (v === undefined) return true;
      if (v === null || typeof v !== 'object') return false;
      const t = v as Record<string, unknown>;
      return (
        typeof t.traceId === 'string' && HEX_32.test(t.traceId) && typeof t.spanId === 'string' && HEX_16.test(t.spanId)
      );
    };
    switch (o.type) {
      case 'worker_spawned':
        return duration(o.coldStartSeconds) && trace(o.trace);
      case 'worker_stopped':
        return (STOP_REASONS as readonly unknown[]).includes(o.reason);
      case 'session_opened':
      case 'session_closed':
      case 'bundle_uploaded':
      case 'audit_entry_dropped':
        return true;
      case 'bundle_restored':
        return typeof o.ok === 'boolean' && duration(o.seconds);
      case 'proxy_request':
        return (
          (o.app === undefined || app(o.app)) && Number.isSafeInteger(o.status) && duration(o.seconds) && trace(o.trace)
        );
      case 'health_check_failed':
        return app(o.app);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
