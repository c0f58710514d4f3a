/**
 * Writes into the contract's collectors without prom-client's per-call overhead: the same
 * effect as `counter.inc(labels, n)` and `histogram.observe(value)`, in the same order, at a
 * small fraction of the cost.
 *
 * Every proxied request is counted and timed, so `record()` is the hottest path of the
 * library. prom-client's `inc(labels)` builds a string from the labels and validates them on
 * every call, and `observe(value)` allocates and converts each bucket bound to a property key
 * on every call: about 300 and 240 ns. Go's client pays 80 and 30 ns. Here the first write to a
 * series goes through prom-client's own method, which creates the series and hands back (for
 * a counter) the key it keeps it under; later writes add to that series' record in place, as
 * prom-client's own method would, after checking that the collector still holds that very
 * record (a `reset()` or `remove()` drops it, and the next write then goes through prom-client
 * again). The exposition is therefore byte for byte what prom-client prints for the same calls
 * in the same order: the values, and the order in which a histogram's sum adds them up.
 *
 * The records written are prom-client 15's (`hashMap` entries of `{ value }` for counters,
 * `{ bucketValues, sum, count }` for histograms). A collector whose shape is not that one is
 * written through its public methods on every call, so nothing breaks if prom-client changes;
 * it is only slower.
 *
 * @packageDocumentation
 */
import type { Counter, Histogram, LabelValues } from 'prom-client';
import { hasExemplars, observeWithExemplar, type TraceRef } from '../exemplars';

/** A counter's record of one series, as prom-client 15 keeps it. */
interface CounterRecord {
  value: number;
}

/** An unlabelled histogram's record, as prom-client 15 keeps it. */
interface HistogramRecord {
  readonly bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Where prom-client 15 keeps a collector's records: by the label hash ('' without labels). */
function recordsOf(collector: object): Record<string, unknown> | undefined {
  const records = (collector as { hashMap?: unknown }).hashMap;
  return records !== null && typeof records === 'object' ? (records as Record<string, unknown>) : undefined;
}

/**
 * One series of a counter: {@link add} is `counter.inc(labels, n)`. Keep one per series and
 * reuse it.
 * @internal
 */
export class CounterSeries {
  private record: CounterRecord | undefined;
  private key = '';

  constructor(
    private readonly counter: Counter,
    private readonly labels: LabelValues<string>,
  ) {}

  /** Adds `n` (finite, not negative) to the series. Throws what `inc` throws. */
  add(n: number): void {
    const record = this.record;
    if (record !== undefined && recordsOf(this.counter)?.[this.key] === record) {
      record.value += n;
      return;
    }
    // The first write, or the series was reset or removed since: prom-client's own inc creates
    // it and says under which key.
    // prom-client 15 answers `{ labelHash }`; its typings say void.
    // eslint-disable-next-line @typescript-eslint/no-confusing-void-expression
    const result = this.counter.inc(this.labels, n) as unknown;
    const key = (result as { labelHash?: unknown } | undefined)?.labelHash;
    this.record = undefined;
    if (typeof key !== 'string') return;
    const found = recordsOf(this.counter)?.[key] as Partial<CounterRecord> | undefined;
    if (typeof found?.value === 'number') {
      this.record = found as CounterRecord;
      this.key = key;
    }
  }
}

/**
 * An unlabelled histogram: {@link observe} is `histogram.observe(value)` for a value that is
 * finite (the events are validated before).
 * @internal
 */
export class HistogramWriter {
  private record: HistogramRecord | undefined;
  /** The bucket bounds, and each bound as the property key prom-client counts it under. */
  private readonly bounds: readonly number[];
  private readonly keys: readonly string[];
  /** Whether the histogram keeps exemplars (on an OpenMetrics registry), read once. */
  private readonly exemplars: boolean;

  constructor(private readonly histogram: Histogram) {
    this.exemplars = hasExemplars(histogram);
    const bounds = (histogram as unknown as { upperBounds?: unknown }).upperBounds;
    this.bounds = Array.isArray(bounds) && bounds.every((b) => typeof b === 'number') ? bounds : [];
    this.keys = this.bounds.map(String);
  }

  /**
   * Observes `value` with an exemplar of `trace` (or of the active sampled span) when the
   * histogram keeps exemplars, as `observeWithExemplar` does; in place otherwise.
   */
  observeTraced(value: number, trace: TraceRef | undefined): void {
    if (this.exemplars) observeWithExemplar(this.histogram, value, trace, this.observe);
    else this.observe(value);
  }

  /**
   * Observes `value`, as prom-client's `observe(value)` does. Throws what `observe` throws.
   * A bound function, so it can be handed on as it is.
   */
  readonly observe = (value: number): void => {
    const record = this.record;
    if (record !== undefined && recordsOf(this.histogram)?.[''] === record) {
      // prom-client's order: sum, count, then the first bucket whose bound holds the value.
      record.sum += value;
      record.count += 1;
      const bounds = this.bounds;
      for (let i = 0; i < bounds.length; i += 1) {
        if (value <= (bounds[i] as number)) {
          record.bucketValues[this.keys[i] as string] = (record.bucketValues[this.keys[i] as string] as number) + 1;
          return;
        }
      }
      return;
    }
    this.histogram.observe(value);
    this.record = undefined;
    const found = recordsOf(this.histogram)?.[''] as Partial<HistogramRecord> | undefined;
    if (
      this.bounds.length > 0 &&
      typeof found?.sum === 'number' &&
      typeof found.count === 'number' &&
      typeof found.bucketValues === 'object' &&
      this.keys.every((key) => typeof found.bucketValues?.[key] === 'number')
    ) {
      this.record = found as HistogramRecord;
    }
  };
}
