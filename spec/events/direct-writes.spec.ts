/**
 * Events are written into the collectors in place (lib/events/direct-writes.ts). For any
 * sequence of events, with the host's own calls on the same collectors interleaved (inc,
 * observe, reset, remove), the exposition must be byte for byte what prom-client prints when
 * the same calls go through its public methods in the same order. The oracle is a twin
 * registry fed by hand, here, through prom-client's API alone.
 */
import fc from 'fast-check';
import { Registry, type RegistryContentType } from 'prom-client';
import { NEVER } from 'rxjs';
import { WorkerStateTracker, newMetrics, proxyStatusClass, type Metrics, type TelemetryEvent } from '../../lib';
import { useFixedClock } from '../helpers/fixed-clock';

/** A fresh registry of `contentType` (prom-client's typings take the type as a parameter only). */
function registryOf(contentType: RegistryContentType): Registry {
  const registry = new Registry();
  registry.setContentType(contentType as never);
  return registry;
}

/** A step: an event through record(), or a direct call by the host. */
type Step =
  | { readonly kind: 'event'; readonly event: TelemetryEvent }
  | { readonly kind: 'observe'; readonly seconds: number }
  | { readonly kind: 'inc'; readonly app: string; readonly status: string }
  | { readonly kind: 'reset' }
  | { readonly kind: 'remove'; readonly app: string; readonly status: string };

const app = fc.constantFrom('a', 'b', 'c');
const seconds = fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0, 0.005, 0.1, 10, 11, 1e-12));
const TRACE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        app: fc.option(app, { nil: undefined }),
        status: fc.integer({ min: 100, max: 599 }),
        seconds: fc.option(seconds, { nil: undefined }),
        traced: fc.boolean(),
      })
      .map(({ app: a, status, seconds: s, traced }) => ({
        kind: 'event' as const,
        event: { type: 'proxy_request' as const, app: a, status, seconds: s, ...(traced ? { trace: TRACE } : {}) },
      })),
  },
  {
    weight: 2,
    arbitrary: app.map((a) => ({ kind: 'event' as const, event: { type: 'health_check_failed' as const, app: a } })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ cold: fc.option(seconds, { nil: undefined }), traced: fc.boolean() })
      .map(({ cold, traced }) => ({
        kind: 'event' as const,
        event: { type: 'worker_spawned' as const, coldStartSeconds: cold, ...(traced ? { trace: TRACE } : {}) },
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('graceful', 'crashed', 'idle_timeout')
      .map((reason) => ({ kind: 'event' as const, event: { type: 'worker_stopped' as const, reason } })),
  },
  {
    weight: 1,
    arbitrary: seconds.map((s) => ({
      kind: 'event' as const,
      event: { type: 'bundle_restored' as const, ok: true, seconds: s },
    })),
  },
  { weight: 1, arbitrary: seconds.map((s) => ({ kind: 'observe' as const, seconds: s })) },
  {
    weight: 1,
    arbitrary: fc.record({ app, status: fc.constantFrom('2xx', '5xx') }).map((l) => ({ kind: 'inc' as const, ...l })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ app, status: fc.constantFrom('2xx', '5xx') })
      .map((l) => ({ kind: 'remove' as const, ...l })),
  },
);

/** What prom-client's public methods do for each step: the oracle, written from the contract. */
function applyByHand(m: Metrics, s: Step, openMetrics: boolean): void {
  const exemplar = { trace_id: TRACE.traceId, span_id: TRACE.spanId };
  const observe = (histogram: Metrics['proxyRequestDuration'], value: number, traced: boolean): void => {
    if (openMetrics && traced) histogram.observe({ value, exemplarLabels: exemplar } as never);
    else histogram.observe(value);
  };
  switch (s.kind) {
    case 'observe':
      m.proxyRequestDuration.observe(s.seconds);
      return;
    case 'inc':
      m.proxyRequests.inc({ app: s.app, status: s.status });
      return;
    case 'reset':
      m.proxyRequests.reset();
      m.proxyRequestDuration.reset();
      return;
    case 'remove':
      m.proxyRequests.remove({ app: s.app, status: s.status });
      return;
    default:
  }
  const e = s.event;
  switch (e.type) {
    case 'proxy_request':
      m.proxyRequests.inc({ app: e.app ?? 'unknown', status: proxyStatusClass(e.status) });
      if (e.seconds !== undefined) observe(m.proxyRequestDuration, e.seconds, e.trace !== undefined);
      return;
    case 'health_check_failed':
      m.healthChecksFailed.inc({ app: e.app });
      return;
    case 'worker_spawned':
      m.workersSpawned.inc();
      m.workersActive.inc();
      if (e.coldStartSeconds !== undefined) observe(m.coldStartDuration, e.coldStartSeconds, e.trace !== undefined);
      return;
    case 'worker_stopped':
      m.workersStopped.inc({ reason: e.reason });
      m.workersActive.dec();
      return;
    case 'bundle_restored':
      m.bundleRestoresSucceeded.inc();
      if (e.seconds !== undefined) m.buildDuration.observe(e.seconds);
      return;
    default:
      throw new Error(`no oracle for ${e.type}`);
  }
}

/** The same step, through the tracker (events) or, for the host's own calls, the collectors. */
function applyThroughTracker(tracker: WorkerStateTracker, m: Metrics, s: Step): void {
  if (s.kind === 'event') tracker.record(s.event);
  else applyByHand(m, s, false);
}

beforeAll(() => {
  useFixedClock();
});
afterAll(() => {
  jest.useRealTimers();
});

describe('events written in place', () => {
  it.each<[string, RegistryContentType]>([
    ['a plain registry', Registry.PROMETHEUS_CONTENT_TYPE],
    ['an OpenMetrics registry (exemplars)', Registry.OPENMETRICS_CONTENT_TYPE],
  ])('print what prom-client prints for the same calls in the same order, on %s', async (_name, contentType) => {
    const openMetrics = contentType === Registry.OPENMETRICS_CONTENT_TYPE;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 80 }), async (steps) => {
        const ours = registryOf(contentType);
        const oursMetrics = newMetrics(ours);
        const tracker = new WorkerStateTracker({ metrics: oursMetrics, tick: NEVER });
        const errors: string[] = [];
        tracker.errors$.subscribe((e) => errors.push(e.message));
        const theirs = registryOf(contentType);
        const theirMetrics = newMetrics(theirs);
        for (const s of steps) {
          applyThroughTracker(tracker, oursMetrics, s);
          applyByHand(theirMetrics, s, openMetrics);
        }
        const [a, b] = [await ours.metrics(), await theirs.metrics()];
        await tracker.close();
        expect(errors).toEqual([]);
        expect(a).toBe(b);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps counting into a series after the host removed it or reset the collector', async () => {
    const registry = new Registry();
    const metrics = newMetrics(registry);
    const tracker = new WorkerStateTracker({ metrics, tick: NEVER });
    tracker.record({ type: 'proxy_request', app: 'a', status: 200, seconds: 0.2 });
    metrics.proxyRequests.remove({ app: 'a', status: '2xx' });
    metrics.proxyRequestDuration.reset();
    tracker.record({ type: 'proxy_request', app: 'a', status: 204, seconds: 0.3 });
    const text = await registry.metrics();
    expect(text).toContain('blockyard_proxy_requests_total{app="a",status="2xx"} 1\n');
    expect(text).toContain('blockyard_proxy_request_seconds_sum 0.3\n');
    expect(text).toContain('blockyard_proxy_request_seconds_count 1\n');
    await tracker.close();
  });
});
