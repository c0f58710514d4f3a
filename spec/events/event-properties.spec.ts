/**
 * Property-based tests (fast-check) of the events: for any input, parseEvent and record() never
 * throw, and exactly the invalid events are reported.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import {
  EVENT_TYPES,
  STOP_REASONS,
  WorkerStateTracker,
  newMetrics,
  parseEvent,
  type TelemetryError,
  type TelemetryEvent,
} from '../../lib';

/** The longest duration an event may carry, as documented: 10^9 s. */
const MAX_EVENT_SECONDS = 1e9;

/** What parseEvent should accept: an oracle written from the spec, independently. */
function isValidEvent(e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  const duration = (v: unknown): boolean =>
    v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_EVENT_SECONDS);
  const app = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
  switch (o.type) {
    case 'worker_spawned':
      return duration(o.coldStartSeconds) && o.trace === undefined;
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
        (o.app === undefined || app(o.app)) &&
        Number.isSafeInteger(o.status) &&
        duration(o.seconds) &&
        o.trace === undefined
      );
    case 'health_check_failed':
      return app(o.app);
    default:
      return false;
  }
}

const anyEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      type: fc.constantFrom<string>(...EVENT_TYPES, 'nope'),
      coldStartSeconds: fc.oneof(fc.double(), fc.nat(100), fc.constantFrom(MAX_EVENT_SECONDS, MAX_EVENT_SECONDS * 2)),
      reason: fc.oneof(fc.constantFrom(...STOP_REASONS), fc.string()),
      ok: fc.oneof(fc.boolean(), fc.anything()),
      seconds: fc.oneof(
        fc.double(),
        fc.nat(100),
        fc.constant(undefined),
        fc.constantFrom(MAX_EVENT_SECONDS, MAX_EVENT_SECONDS * 2),
      ),
      app: fc.oneof(fc.string({ maxLength: 6 }), fc.anything()),
      status: fc.oneof(fc.integer({ min: -100, max: 1000 }), fc.double(), fc.anything()),
    },
    { requiredKeys: ['type'] },
  ),
  fc.anything(),
);

describe('event validation, for any input', () => {
  it('parseEvent never throws and accepts exactly what the spec allows', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const parsed = parseEvent(event);
        expect(parsed.ok).toBe(isValidEvent(event));
      }),
      { numRuns: 2000 },
    );
  });

  it('record() never throws, reports exactly the invalid events, and counts exactly the valid ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyEvent, { maxLength: 50 }), async (events) => {
        const registry = new Registry();
        const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: NEVER });
        const errors: TelemetryError[] = [];
        const accepted: TelemetryEvent[] = [];
        tracker.errors$.subscribe((e) => errors.push(e));
        tracker.events$.subscribe((e) => accepted.push(e));
        for (const e of events) expect(() => tracker.record(e as TelemetryEvent)).not.toThrow();
        const valid = events.filter(isValidEvent) as TelemetryEvent[];
        expect(errors.filter((e) => e.origin === 'event')).toHaveLength(events.length - valid.length);
        expect(accepted.map((e) => e.type)).toEqual(valid.map((e) => e.type));
        const requests = valid.filter((e) => e.type === 'proxy_request').length;
        const json = await registry.getMetricsAsJSON();
        const total = json
          .find((m) => m.name === 'blockyard_proxy_requests_total')
          ?.values.reduce((s, v) => s + v.value, 0);
        expect(total ?? 0).toBe(requests);
        tracker.stop();
      }),
      { numRuns: 200 },
    );
  });
});
