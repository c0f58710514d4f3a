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
import { MAX_EVENT_SECONDS, isValidEvent } from '../helpers/event-oracle';
import { errorWithMessage, trappingProxy, unprintable } from '../helpers/hostile-values';
import { parseExposition } from '../helpers/scrape';

/**
 * Anything a getter may throw: any value, Errors whose message is any value, and the worst
 * cases. Made when thrown (fast-check itself inspects what it generates, which a Proxy whose
 * traps throw would not survive).
 */
const anyThrown: fc.Arbitrary<() => unknown> = fc.oneof(
  fc.anything().map((value) => () => value),
  fc.anything().map((message) => () => errorWithMessage(message)),
  fc.string().map((description) => () => Symbol(description)),
  fc.string().map((description) => () => errorWithMessage(Symbol(description))),
  fc.string({ minLength: 1100, maxLength: 1500 }).map((message) => () => new Error(message)),
  fc.constant(unprintable),
  fc.constant(trappingProxy),
);

const fields = fc.record(
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
    app: fc.oneof(fc.string({ maxLength: 6 }), fc.string({ minLength: 120, maxLength: 300 }), fc.anything()),
    status: fc.oneof(fc.integer({ min: -100, max: 1000 }), fc.double(), fc.anything()),
  },
  { requiredKeys: ['type'] },
);

/** Any event: near misses, anything at all, and events one of whose fields throws anything when read. */
const anyEvent: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fields },
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fields, fc.constantFrom('type', 'app', 'status', 'seconds', 'reason', 'ok', 'coldStartSeconds'), anyThrown)
      .map(([event, key, thrown]) =>
        Object.defineProperty({ ...event }, key, {
          enumerable: true,
          get() {
            throw thrown();
          },
        }),
      ),
  },
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

  it('record() never throws, reports exactly the invalid events in at most 1,024 characters, counts exactly the valid ones, and labels no app with more than 128', async () => {
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
        expect(errors.filter((e) => e.message.length > 1024)).toEqual([]);
        const apps = parseExposition(await registry.metrics()).flatMap((sample) => sample.labels.app ?? []);
        expect(apps.filter((app) => app.length > 128)).toEqual([]);
        tracker.stop();
      }),
      { numRuns: 200 },
    );
  });
});
