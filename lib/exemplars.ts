/**
 * Exemplars: the trace behind an observation, attached to its histogram bucket.
 *
 * A `proxy_request` event recorded while a span is active (or carrying an explicit `trace`)
 * leaves `{trace_id, span_id}` on its bucket of `blockyard_proxy_request_seconds`; a
 * `worker_spawned` event does the same on `blockyard_cold_start_seconds`. From a latency
 * spike on a dashboard one click then opens a trace that caused it.
 *
 * prom-client keeps exemplars only on collectors created with `enableExemplars: true`, which
 * it allows only on an OpenMetrics registry, and there it turns `observe()` into an
 * object-only form. So: on an OpenMetrics registry `newMetrics` enables exemplars on those two
 * histograms ({@link exemplarConfig}) and wraps their `observe` so that the plain calls the Go
 * code makes (`observe(0.2)`) keep working ({@link acceptPlainObserve}); on a plain registry
 * nothing changes, and its 0.0.4 exposition stays byte for byte what it was.
 *
 * @packageDocumentation
 */
import { isSpanContextValid, isValidSpanId, isValidTraceId, trace, TraceFlags } from '@opentelemetry/api';
import { Registry, type Histogram, type LabelValues, type ObserveDataWithExemplar } from 'prom-client';

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

/** A histogram prom-client created with `enableExemplars: true` (a field its typings omit). */
type MaybeExemplarHistogram = Histogram & { readonly enableExemplars?: unknown };

/**
 * The extra collector configuration for a histogram with exemplars on `registry`:
 * `{ enableExemplars: true }` on an OpenMetrics registry, `{}` on any other (where prom-client
 * refuses exemplars). Spread it into the histogram's configuration.
 * @internal
 */
export function exemplarConfig(registry: { readonly contentType?: unknown }): { enableExemplars?: true } {
  return registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE ? { enableExemplars: true } : {};
}

/** Whether prom-client keeps exemplars on `histogram` (created with `enableExemplars: true`). @internal */
export function hasExemplars(histogram: Histogram): boolean {
  return (histogram as MaybeExemplarHistogram).enableExemplars === true;
}

/**
 * Makes the `observe` of each histogram created with exemplars accept the plain forms again,
 * `observe(value)` and `observe(labels, value)`, besides prom-client's object form
 * `observe({ value, labels, exemplarLabels })`. Histograms without exemplars are left alone.
 * @internal
 */
export function acceptPlainObserve(...histograms: Histogram[]): void {
  for (const histogram of histograms) {
    if (!hasExemplars(histogram)) continue;
    const objectForm = histogram.observe.bind(histogram) as (data: ObserveDataWithExemplar<string>) => void;
    const observe = (first: number | LabelValues<string> | ObserveDataWithExemplar<string>, value?: number): void => {
      if (typeof first === 'number') objectForm({ value: first });
      else if (value !== undefined) objectForm({ labels: first as LabelValues<string>, value });
      else objectForm(first as ObserveDataWithExemplar<string>);
    };
    histogram.observe = observe;
  }
}

/**
 * The trace of the active span, when there is one that is sampled, for an exemplar or an
 * event's `trace`. Read it where the work happens (in the request's handler) and pass it on
 * when the event is recorded later, outside the request's context. Never throws.
 */
export function activeTraceRef(): TraceRef | undefined {
  try {
    const span = trace.getActiveSpan();
    if (span === undefined) return undefined;
    const sc = span.spanContext();
    if (!isSpanContextValid(sc) || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
    return { traceId: sc.traceId, spanId: sc.spanId };
  } catch {
    return undefined;
  }
}

/**
 * Observes `value` on `histogram` with an exemplar of `traceRef`, or of the active sampled span
 * when `traceRef` is not given. Without an exemplar to attach (a histogram without exemplars,
 * any histogram of a plain registry, or no sampled trace) the value goes to `observePlain`,
 * which must be `histogram.observe(value)` or do the same (the events' direct writer). An
 * explicit `traceRef` with all-zero ids leaves no exemplar. Throws what `observe` throws (a
 * non-finite value); the tracker's recorder reports that on `errors$`.
 * @internal
 */
export function observeWithExemplar(
  histogram: Histogram,
  value: number,
  traceRef: TraceRef | undefined,
  observePlain: (value: number) => void,
): void {
  if (!hasExemplars(histogram)) {
    observePlain(value);
    return;
  }
  const ref = traceRef ?? activeTraceRef();
  if (ref === undefined || !isValidTraceId(ref.traceId) || !isValidSpanId(ref.spanId)) {
    observePlain(value);
    return;
  }
  histogram.observe({ value, exemplarLabels: { trace_id: ref.traceId, span_id: ref.spanId } });
}
