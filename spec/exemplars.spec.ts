import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { Histogram, Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { activeTraceRef } from '../lib/exemplars';
import { newMetrics, type Metrics } from '../lib/metrics';
import { WorkerStateTracker } from '../lib/tracker/worker-state-tracker';
import { installInMemoryTracing, resetTracing } from './helpers/in-memory-tracing';
import { exemplarsOf, openMetricsRegistry } from './helpers/openmetrics-exemplars';
import { parseExposition, valueOf } from './helpers/scrape';

const TRACE = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
const PROXY = 'blockyard_proxy_request_seconds';
const COLD = 'blockyard_cold_start_seconds';

const trackers: WorkerStateTracker[] = [];
afterEach(() => {
  for (const t of trackers.splice(0)) t.stop();
  resetTracing();
});

function trackerOf(metrics: Metrics): WorkerStateTracker {
  const tracker = new WorkerStateTracker({ metrics, tick: NEVER });
  trackers.push(tracker);
  return tracker;
}

/** Runs `fn` with a span active whose context is `ids`, sampled or not. */
function withSpan<T>(ids: { traceId: string; spanId: string }, sampled: boolean, fn: () => T): T {
  const span = trace.wrapSpanContext({ ...ids, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE });
  return context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
}

describe('exemplars on a plain (Prometheus 0.0.4) registry', () => {
  it('change nothing: same collectors, and the exposition is byte for byte the same with or without traces', async () => {
    installInMemoryTracing();
    const traced = newMetrics(new Registry());
    const untraced = newMetrics(new Registry());
    // prom-client's own observe, not our wrapper.
    const plain = (Histogram.prototype as unknown as { observeWithoutExemplar: unknown }).observeWithoutExemplar;
    // The method itself is compared (identity), never called.
    const observeOf = (histogram: object): unknown => (histogram as { observe: unknown }).observe;
    expect(observeOf(traced.proxyRequestDuration)).toBe(plain);
    expect(observeOf(traced.coldStartDuration)).toBe(plain);

    const a = trackerOf(traced);
    a.record({ type: 'proxy_request', app: 'demo', status: 200, seconds: 0.2, trace: TRACE });
    a.record({ type: 'worker_spawned', coldStartSeconds: 3, trace: TRACE });
    withSpan(TRACE, true, () => a.record({ type: 'proxy_request', app: 'demo', status: 500, seconds: 1.5 }));
    const b = trackerOf(untraced);
    b.record({ type: 'proxy_request', app: 'demo', status: 200, seconds: 0.2 });
    b.record({ type: 'worker_spawned', coldStartSeconds: 3 });
    b.record({ type: 'proxy_request', app: 'demo', status: 500, seconds: 1.5 });

    const text = await traced.registry.metrics();
    expect(text).toBe(await untraced.registry.metrics());
    expect(text).not.toContain('trace_id');
    expect(valueOf(parseExposition(text), `${PROXY}_count`)).toBe(2);
  });
});

describe('exemplars on an OpenMetrics registry', () => {
  it('enables exemplars on the two traced histograms only', () => {
    const metrics = newMetrics(openMetricsRegistry());
    const flag = (h: object): unknown => (h as { enableExemplars?: unknown }).enableExemplars;
    expect(flag(metrics.proxyRequestDuration)).toBe(true);
    expect(flag(metrics.coldStartDuration)).toBe(true);
    expect(flag(metrics.buildDuration)).toBe(false);
  });

  it('keeps every collector working the plain way, as Go calls them', async () => {
    const metrics = newMetrics(openMetricsRegistry());
    metrics.proxyRequestDuration.observe(0.2);
    metrics.proxyRequestDuration.observe({}, 0.3);
    metrics.proxyRequestDuration.observe({ value: 0.4 });
    metrics.proxyRequestDuration.startTimer()();
    metrics.coldStartDuration.observe(3);
    metrics.buildDuration.observe(12);
    metrics.workersSpawned.inc();
    metrics.workersActive.inc(2);
    metrics.proxyRequests.inc({ app: 'demo', status: '2xx' });
    const samples = parseExposition(await metrics.registry.metrics());
    expect(valueOf(samples, `${PROXY}_count`)).toBe(4);
    expect(valueOf(samples, `${PROXY}_sum`)).toBeGreaterThanOrEqual(0.9);
    expect(valueOf(samples, `${COLD}_count`)).toBe(1);
    expect(valueOf(samples, 'blockyard_build_seconds_count')).toBe(1);
    expect(valueOf(samples, 'blockyard_workers_spawned_total')).toBe(1);
    expect(valueOf(samples, 'blockyard_workers_active')).toBe(2);
    expect(valueOf(samples, 'blockyard_proxy_requests_total', { app: 'demo', status: '2xx' })).toBe(1);
    expect(() => metrics.proxyRequestDuration.observe(Number.NaN)).toThrow(TypeError); // as before
  });

  it("attaches the event's trace to the bucket a proxy_request lands in", async () => {
    const metrics = newMetrics(openMetricsRegistry());
    trackerOf(metrics).record({ type: 'proxy_request', app: 'demo', status: 200, seconds: 0.2, trace: TRACE });
    const text = await metrics.registry.metrics();
    const [exemplar, ...others] = exemplarsOf(text, PROXY);
    expect(others).toEqual([]);
    expect(exemplar).toMatchObject({
      le: '0.25',
      value: 0.2,
      labels: { trace_id: TRACE.traceId, span_id: TRACE.spanId },
    });
    expect(Math.abs((exemplar?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(text).toMatch(
      new RegExp(
        `^${PROXY}_bucket\\{le="0.25"\\} 1 # \\{trace_id="${TRACE.traceId}",span_id="${TRACE.spanId}"\\} 0.2 \\d+(\\.\\d+)?$`,
        'm',
      ),
    );
  });

  it('attaches the trace of a cold start to blockyard_cold_start_seconds', async () => {
    const metrics = newMetrics(openMetricsRegistry());
    trackerOf(metrics).record({ type: 'worker_spawned', coldStartSeconds: 3, trace: TRACE });
    expect(exemplarsOf(await metrics.registry.metrics(), COLD)).toEqual([
      expect.objectContaining({ le: '4', value: 3, labels: { trace_id: TRACE.traceId, span_id: TRACE.spanId } }),
    ]);
  });

  it('uses the active sampled span when the event carries no trace, and that trace is exported', async () => {
    const tracing = installInMemoryTracing();
    const metrics = newMetrics(openMetricsRegistry());
    const tracker = trackerOf(metrics);
    const span = trace.getTracer('t').startSpan('proxy');
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      tracker.record({ type: 'proxy_request', app: 'demo', status: 200, seconds: 0.03 });
      tracker.record({ type: 'worker_spawned', coldStartSeconds: 0.7 });
    });
    span.end();
    const text = await metrics.registry.metrics();
    const ids = { trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId };
    expect(exemplarsOf(text, PROXY)).toEqual([expect.objectContaining({ le: '0.05', labels: ids })]);
    expect(exemplarsOf(text, COLD)).toEqual([expect.objectContaining({ le: '1', labels: ids })]);
    // The round trip: the exemplar's trace id is the trace of an exported span.
    expect(tracing.spans().map((s) => s.spanContext().traceId)).toContain(ids.trace_id);
  });

  it("prefers the event's explicit trace over the active span", async () => {
    const metrics = newMetrics(openMetricsRegistry());
    const tracker = trackerOf(metrics);
    const other = { traceId: 'f'.repeat(32), spanId: 'e'.repeat(16) };
    withSpan(other, true, () => tracker.record({ type: 'proxy_request', status: 200, seconds: 0.2, trace: TRACE }));
    expect(exemplarsOf(await metrics.registry.metrics(), PROXY)[0]?.labels.trace_id).toBe(TRACE.traceId);
  });

  it('leaves no exemplar without a trace, for an unsampled span, or for an all-zero trace', async () => {
    const metrics = newMetrics(openMetricsRegistry());
    const tracker = trackerOf(metrics);
    tracker.record({ type: 'proxy_request', status: 200, seconds: 0.2 });
    withSpan(TRACE, false, () => tracker.record({ type: 'proxy_request', status: 200, seconds: 0.2 }));
    tracker.record({
      type: 'proxy_request',
      status: 200,
      seconds: 0.2,
      trace: { traceId: '0'.repeat(32), spanId: '0'.repeat(16) },
    });
    const text = await metrics.registry.metrics();
    expect(exemplarsOf(text, PROXY)).toEqual([]);
    expect(valueOf(parseExposition(text), `${PROXY}_count`)).toBe(3);
  });
});

describe('activeTraceRef', () => {
  it("is the active sampled span's ids, and undefined otherwise", () => {
    expect(activeTraceRef()).toBeUndefined();
    installInMemoryTracing(); // an async context manager, so context.with takes effect
    expect(withSpan(TRACE, true, activeTraceRef)).toEqual(TRACE);
    expect(withSpan(TRACE, false, activeTraceRef)).toBeUndefined();
    expect(withSpan({ traceId: '0'.repeat(32), spanId: TRACE.spanId }, true, activeTraceRef)).toBeUndefined();
  });
});
