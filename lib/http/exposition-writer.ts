/**
 * The exposition writer: a registry's text, byte for byte what prom-client's own
 * `Registry#metrics()` prints, written in slices that never hold the event loop long.
 *
 * prom-client formats every sample afresh on every scrape: it copies the labels, merges the
 * registry's default labels, escapes each label value with three regular expressions and joins
 * small arrays, about 2 µs a sample. At 1000 apps that is 12–23 ms in one synchronous stretch,
 * during which an orchestrator's proxy answers nothing. This writer formats the same samples
 * with the same rules, with two differences:
 *
 * - A sample's text before its value (`name{labels} `) depends only on its labels, which a
 *   collector keeps in one object per series for the series' life; that text is kept in a
 *   WeakMap on that object and checked against the object's current keys and values before
 *   each use, so a scrape after the first formats only values.
 * - The whole line of a series that has not moved is kept too, as text and as UTF-8 bytes in
 *   the collector's {@link LineArena}, in the order the series are written: a stretch of such
 *   series is copied from there into the answer in one step, with no string made for it.
 * - It reads one collector at a time (a collector's values come from one synchronous read, so
 *   a histogram's buckets, `_sum` and `_count` are never torn) and gives the event loop a turn
 *   whenever it has worked for {@link SLICE_MS} since the last one.
 *
 *     prom-client:  [████████████ 14 ms ████████████]--------------------
 *     this writer:  [█]-[█]-[█]-[█]-------------------   (slices of ½ ms; others run between)
 *
 * Anything the writer does not recognize (a registry without prom-client's default-label
 * field) is rendered by prom-client itself; see render-registry.ts.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ExpositionFormat } from './content-negotiation';
import { ChunkedText } from './chunked-text';
import { LineArena, type Placement } from './line-arena';
import type { OutputBuffers } from './output-buffers';

/** How long the writer works before it gives the event loop a turn, in milliseconds. */
const SLICE_MS = 0.5;

/** How many samples the writer formats (or series it lists) between two looks at the clock. */
const SAMPLES_PER_CLOCK_READ = 128;

/** What prom-client reads from a collector: what `registry.getMetricsAsArray()` holds. */
export interface Collector {
  name: string;
  readonly type?: string;
  readonly help?: string;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>> | MetricObjectWithValues<MetricValue<string>>;
  getForPromString?(): Promise<MetricObjectWithValues<MetricValue<string>>>;
}

/** One collector to write, and the name it was registered under. */
export interface Family {
  readonly collector: Collector;
  /** The registry's key for it: its name, even after an OpenMetrics scrape stripped `_total`. */
  readonly registeredName: string;
}

/** One sample as prom-client's collectors hand them out. */
interface Sample {
  readonly value?: unknown;
  readonly labels?: Record<string, unknown> | null;
  readonly sharedLabels?: Record<string, unknown> | null;
  readonly metricName?: string;
  readonly exemplar?: { readonly labelSet?: unknown; readonly value?: unknown; readonly timestamp?: unknown } | null;
}

/**
 * A series' text before its value and what it was made from, and its last line (with where
 * the line's bytes lie in its collector's {@link LineArena}, once placed there).
 */
interface CachedPrefix extends Placement {
  readonly metricName: string;
  /** How many labels the series was made from. */
  readonly labelCount: number;
  /**
   * Its first two labels, kept in the entry itself rather than in lists of their own: a scrape
   * checks every series' labels, and on a host whose other work between scrapes has pushed the
   * cache out of the CPU's caches, each object read per series is a miss (see bench/README.md).
   * The contract's series have at most two labels.
   */
  readonly key0: string | undefined;
  readonly value0: unknown;
  readonly key1: string | undefined;
  readonly value1: unknown;
  /** The keys and values past the second, in order, for a series with more labels. */
  readonly more: { readonly keys: readonly string[]; readonly values: readonly unknown[] } | undefined;
  readonly prefix: string;
  /** The value last written. */
  value: unknown;
  /**
   * The whole line of {@link value}, with its newline, once two scrapes in a row wrote it: a
   * series that has not moved is one line, its bytes placed in the collector's arena (where
   * the {@link Placement} fields say). A series that moved is written as two pieces, its prefix
   * and its value, and no line is made for it (see {@link writeSample}).
   */
  line: string | undefined;
}

/** Per collector, per format and default labels: each series' cached prefix. */
interface PrefixCache {
  readonly defaults: string;
  readonly byLabels: WeakMap<object, CachedPrefix>;
  /**
   * The family's sample name as of the last scrape: this scrape uses that same string when the
   * name has not changed, so that checking a cached line's name is a compare of two pointers.
   */
  sampleName: string;
  /** Where the cached lines' bytes are placed, once a line is made. */
  arena: LineArena | undefined;
}

const caches = new WeakMap<Collector, { prometheus?: PrefixCache; openmetrics?: PrefixCache }>();

/** Turns of the event loop the writer takes, and the clock it reads; replaceable in tests. */
export interface Pacer {
  /** Milliseconds from some fixed origin. */
  now(): number;
  /** Resolves on a later turn of the event loop. */
  pause(): Promise<void>;
}

/** The pacer of production: `performance.now()` and `setImmediate`. */
export const EVENT_LOOP_PACER: Pacer = {
  now: () => performance.now(),
  pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
};

/**
 * Writes `families` in `format`, with `defaultLabels` (a registry's, or null when it has
 * none) merged into every sample, exactly as prom-client's `Registry#metrics()` would for the
 * same collectors. Rejects when a collector's `get()` does, as prom-client does, unless
 * `leaveOut` is given: each collector that throws or rejects is then told to it and left out,
 * and every other family keeps the bytes it has when nothing fails. With `buffers`, the bytes
 * are written into a buffer taken from it (the caller gives it back once nothing reads them).
 */
export async function writeExposition(
  families: readonly Family[],
  format: ExpositionFormat,
  defaultLabels: Record<string, unknown> | null,
  pacer: Pacer = EVENT_LOOP_PACER,
  leaveOut?: (registeredName: string, error: unknown) => void,
  buffers?: OutputBuffers,
): Promise<Buffer> {
  const openMetrics = format === 'openmetrics';
  const defaults = defaultLabels === null ? '' : signatureOf(defaultLabels);
  const out = new ChunkedText(lastSize[format] + (lastSize[format] >> 3), buffers);
  let written = 0;
  const slices = new Slices(pacer, out);
  for (const family of families) {
    if (slices.due()) await slices.next();
    const { collector } = family;
    let read: CollectorRead;
    try {
      read = await readCollector(collector);
    } catch (err) {
      // Without `leaveOut`, a collector that fails fails the whole exposition, as in prom-client.
      if (leaveOut === undefined) throw err;
      leaveOut(family.registeredName, err);
      continue;
    }
    // Families are separated by a blank line in text 0.0.4, by nothing in OpenMetrics.
    if (written > 0 && !openMetrics) out.line('');
    written += 1;
    const type = read.type;
    const counter = openMetrics && type === 'counter';
    // OpenMetrics names a counter's family without `_total` (its samples keep it).
    const name = escapeString(counter ? family.registeredName.replace(/_total$/, '') : family.registeredName);
    out.line(`# HELP ${name} ${escapeString(read.help as string)}`);
    out.line(`# TYPE ${name} ${type as string}`);
    const cache = cacheFor(collector, format, defaults);
    // Made once per family: the samples of a counter are named `x_total` in OpenMetrics.
    let sampleName = counter ? `${name}_total` : name;
    if (sampleName === cache.sampleName) sampleName = cache.sampleName;
    else cache.sampleName = sampleName;
    const { records } = read;
    if (records !== undefined) {
      // A prom-client Counter's or Gauge's records, walked as their lines are written (see
      // readCollector): a key deleted during a pause is not visited (`for … in` skips keys
      // deleted before their turn), one added may or may not be, as if it came a moment later.
      let i = 0;
      for (const key in records) {
        writeSample(out, records[key] as Sample, sampleName, counter, openMetrics, defaultLabels, cache);
        i += 1;
        if ((i & (SAMPLES_PER_CLOCK_READ - 1)) === 0 && slices.due()) await slices.next();
      }
      continue;
    }
    // `||` as prom-client reads them: any falsy `values` is none.
    // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
    const listed = (read.values as Iterable<Sample> | undefined) || [];
    const samples = Array.isArray(listed) ? (listed as readonly Sample[]) : [...listed];
    for (let i = 0; i < samples.length; i += 1) {
      if ((i & (SAMPLES_PER_CLOCK_READ - 1)) === SAMPLES_PER_CLOCK_READ - 1 && slices.due()) await slices.next();
      writeSample(out, samples[i] as Sample, sampleName, counter, openMetrics, defaultLabels, cache);
    }
  }
  // As prom-client joins them: text ends with a newline, OpenMetrics with `# EOF` (each after an
  // empty line when there is no family at all).
  if (written === 0) out.line('');
  if (openMetrics) out.line('# EOF');
  const bytes = out.finish();
  // What the caller does next with the bytes runs in this turn too, and writing a 365 KB answer
  // into a socket costs about as much as a slice: after a slice that has worked a while, the
  // bytes are handed over on a turn of their own.
  if (slices.worked() >= SLICE_MS / 2) await slices.next();
  lastSize[format] = bytes.length;
  return bytes;
}

/**
 * The size of the last exposition written in each format, to start the next one's buffer
 * with room enough: growing it means copying what is written.
 */
const lastSize: Record<ExpositionFormat, number> = { prometheus: 0, openmetrics: 0 };

/**
 * The slices one exposition is written in: whoever works in it asks {@link Slices.due} now and
 * then, and when it says so gives the event loop a turn with {@link Slices.next}, which first
 * writes the lines gathered so far (the slice's work ends with it).
 */
class Slices {
  private start: number;

  constructor(
    private readonly pacer: Pacer,
    private readonly out: ChunkedText,
  ) {
    this.start = pacer.now();
  }

  /** How long this slice has worked, in milliseconds. */
  worked(): number {
    return this.pacer.now() - this.start;
  }

  /** Whether this slice has worked for {@link SLICE_MS}. */
  due(): boolean {
    return this.worked() >= SLICE_MS;
  }

  /** Ends this slice, and resolves when the next one starts, on a later turn of the event loop. */
  async next(): Promise<void> {
    this.out.flush();
    await this.pacer.pause();
    this.start = this.pacer.now();
  }
}

/** What the writer reads of a collector for one scrape. */
interface CollectorRead {
  readonly type: unknown;
  readonly help: unknown;
  /** The samples its `get()` or `getForPromString()` gave. */
  readonly values: unknown;
  /** Or, for a prom-client Counter or Gauge, the records its samples are, to walk as they are written. */
  readonly records: Record<string, unknown> | undefined;
}

/**
 * A collector's values for one scrape, as prom-client's `metrics()` reads them:
 * `getForPromString()` when it has one, else `get()`. A prom-client Counter or Gauge, whose
 * `get()` is prom-client's own, gives its records themselves, after its `collect()` has run:
 * its `get()` lists them with `Object.values()`, which on the dictionary of 5,000 series a
 * 1000-app counter holds takes about 1.7 ms in one stretch, and makes a list a scrape drops
 * (40 KB at 5,000 series). The writer walks the records instead (`for … in`, 0.6–0.8 ms for
 * those 5,000), in slices, writing each series' line as it reaches it: the records are objects
 * prom-client updates in place, a series' value is read once, when its line is written, so a
 * series is never torn by a pause.
 */
async function readCollector(collector: Collector): Promise<CollectorRead> {
  if (typeof collector.getForPromString === 'function') return readOf(await collector.getForPromString());
  if (seriesOf(collector) === undefined) return readOf(await collector.get());
  const collect = (collector as { collect?: unknown }).collect;
  if (typeof collect === 'function') {
    const pending: unknown = collect.call(collector);
    if (pending instanceof Promise) await pending;
  }
  // Read after collect(), which may have replaced the records (a reset, new series).
  return { type: collector.type, help: collector.help, values: undefined, records: seriesOf(collector) ?? {} };
}

/** What `get()` or `getForPromString()` gave, as the writer reads it. */
function readOf(data: MetricObjectWithValues<MetricValue<string>>): CollectorRead {
  return { type: data.type, help: data.help, values: data.values, records: undefined };
}

/**
 * A prom-client Counter's or Gauge's records, when `collector` is one whose `get()` is prom-client's
 * own (so it returns exactly these records, in this order); `undefined` for any other collector.
 */
function seriesOf(collector: Collector): Record<string, unknown> | undefined {
  const own = (collector as { get?: unknown }).get;
  if (own !== COUNTER_GET && own !== GAUGE_GET) return undefined;
  const records = (collector as { hashMap?: unknown }).hashMap;
  return records !== null && typeof records === 'object' ? (records as Record<string, unknown>) : undefined;
}

// prom-client's own get() of its Counter and Gauge, to know a collector that uses them.
// eslint-disable-next-line @typescript-eslint/unbound-method
const COUNTER_GET: unknown = Counter.prototype.get;
// eslint-disable-next-line @typescript-eslint/unbound-method
const GAUGE_GET: unknown = Gauge.prototype.get;

function cacheFor(collector: Collector, format: ExpositionFormat, defaults: string): PrefixCache {
  let byFormat = caches.get(collector);
  if (byFormat === undefined) {
    byFormat = {};
    caches.set(collector, byFormat);
  }
  let cache = byFormat[format];
  if (cache?.defaults !== defaults) {
    cache = { defaults, byLabels: new WeakMap(), sampleName: '', arena: undefined };
    byFormat[format] = cache;
  }
  return cache;
}

/**
 * Writes one sample's line, `name{labels} value` (and its exemplar, in OpenMetrics): from the
 * cache when the sample's labels object is the one it was made from and still holds the same
 * keys and values, else formatted as prom-client formats it. A series whose value has not moved
 * since the last scrape is written as its whole cached line; one that moved, as its cached prefix
 * and the value's text, two pieces: making a line for every series that moved was most of what
 * such a scrape allocated (about 140 bytes a series, held by the cache until the next move).
 */
function writeSample(
  out: ChunkedText,
  sample: Sample,
  sampleName: string,
  counter: boolean,
  openMetrics: boolean,
  defaultLabels: Record<string, unknown> | null,
  cache: PrefixCache,
): void {
  // prom-client's destructuring default: the family's name when metricName is undefined only.
  let metricName = sampleName;
  if (sample.metricName !== undefined) metricName = counter ? `${sample.metricName}_total` : sample.metricName;
  const { labels, value, exemplar } = sample;
  // In OpenMetrics, a sample's exemplar follows its value on the same line.
  let suffix = '';
  if (exemplar && openMetrics) {
    const labelSet = formatLabels(exemplar.labelSet as Record<string, unknown>).join(',');
    suffix = ` # {${labelSet}} ${valueText(exemplar.value)} ${exemplar.timestamp as string}`;
  }
  // Only samples without shared labels are cached: histograms' buckets carry a fresh `{ le }`
  // object on every read, keyed by nothing stable.
  const cacheable = sample.sharedLabels === undefined && labels !== null && typeof labels === 'object';
  let cached = cacheable ? cache.byLabels.get(labels) : undefined;
  if (cacheable && (cached?.metricName !== metricName || !holdsSame(labels, cached))) {
    if (cached !== undefined) LineArena.release(cached);
    cached = cachedPrefix(metricName, labels, defaultLabels, cache);
  }
  if (cached === undefined) {
    out.line(formatPrefix(metricName, labels, sample.sharedLabels, defaultLabels) + valueText(value) + suffix);
    return;
  }
  if (suffix !== '') {
    // The cached line holds no exemplar: the prefix, then the value with the exemplar.
    out.piece(cached.prefix);
    out.piece(`${valueText(value)}${suffix}\n`);
    return;
  }
  if (cached.value === value && cached.line !== undefined) {
    writeLine(out, cached, cached.line, cache);
    return;
  }
  const text = `${valueText(value)}\n`;
  if (cached.value === value) {
    // The second scrape in a row with this value: from now on, one piece.
    cached.line = flat(cached.prefix, text);
    writeLine(out, cached, cached.line, cache);
    return;
  }
  cached.value = value;
  cached.line = undefined;
  LineArena.release(cached);
  out.piece(cached.prefix);
  out.piece(text);
}

/**
 * Writes `cached`'s whole line `line` from its collector's arena, placing it there first when
 * it is not in the current one (its first write as a line, or the arena was replaced since): the
 * lines of a series that has not moved are placed in the order they are written, and a run of
 * them is copied in one step.
 */
function writeLine(out: ChunkedText, cached: CachedPrefix, line: string, cache: PrefixCache): void {
  if (cached.arena === undefined || cached.arena !== cache.arena) {
    if (cache.arena?.place(line, cached) !== true) {
      // Full (or none yet): a new arena, made with room for this line whatever its length.
      const arena = new LineArena(cache.arena?.sizeAfter(line) ?? LineArena.sizeFor(line));
      cache.arena = arena;
      arena.place(line, cached);
    }
  }
  out.placed(line, (cached.arena as LineArena).bytes, cached.lineStart, cached.lineEnd);
}

/**
 * Formats and caches the prefix of the series whose labels are `labels`; `undefined` (nothing
 * cached) when a label's value is neither a string nor a number, which prints as whatever its
 * conversion says at the time.
 */
function cachedPrefix(
  metricName: string,
  labels: Record<string, unknown>,
  defaultLabels: Record<string, unknown> | null,
  cache: PrefixCache,
): CachedPrefix | undefined {
  const keys: string[] = [];
  const values: unknown[] = [];
  for (const key in labels) {
    const labelValue = labels[key];
    if (typeof labelValue !== 'string' && typeof labelValue !== 'number') return undefined;
    keys.push(key);
    values.push(labelValue);
  }
  const prefix = flat(formatPrefix(metricName, labels, undefined, defaultLabels), '');
  const cached: CachedPrefix = {
    metricName,
    labelCount: keys.length,
    key0: keys[0],
    value0: values[0],
    key1: keys[1],
    value1: values[1],
    more: keys.length > 2 ? { keys: keys.slice(2), values: values.slice(2) } : undefined,
    prefix,
    // A value no sample holds: the first write of the series is always "moved".
    value: UNWRITTEN,
    line: undefined,
    arena: undefined,
    lineStart: 0,
    lineEnd: 0,
  };
  cache.byLabels.set(labels, cached);
  return cached;
}

/** The value of a series not written yet, equal to no sample's value. */
const UNWRITTEN: unique symbol = Symbol('unwritten');

/**
 * `a` followed by `b`, as one flat string. `a + b` would make a rope of the two (and `a` is
 * itself a rope of the parts it was formatted from), which every later scrape would walk again
 * when it joins the lines; a cached line is built once and written thousands of times.
 */
function flat(a: string, b: string): string {
  return [a, b].join('');
}

/** Whether `labels` holds exactly the keys and values `cached` was made from, in order. */
function holdsSame(labels: Record<string, unknown>, cached: CachedPrefix): boolean {
  let i = 0;
  for (const key in labels) {
    const value = labels[key];
    if (i === 0) {
      if (key !== cached.key0 || value !== cached.value0) return false;
    } else if (i === 1) {
      if (key !== cached.key1 || value !== cached.value1) return false;
    } else {
      const more = cached.more;
      if (more?.keys[i - 2] !== key || more.values[i - 2] !== value) return false;
    }
    i += 1;
  }
  return i === cached.labelCount;
}

/** A sample's text before its value, by prom-client's rules (`getMetricsAsString`). */
function formatPrefix(
  metricName: string,
  sampleLabels: Record<string, unknown> | null | undefined,
  sampleShared: Record<string, unknown> | null | undefined,
  defaultLabels: Record<string, unknown> | null,
): string {
  // prom-client's destructuring defaults: `{}` for undefined only (null throws below, as there).
  let labels = sampleLabels === undefined ? {} : sampleLabels;
  const shared = sampleShared === undefined ? {} : sampleShared;
  if (defaultLabels !== null) labels = { ...labels, ...defaultLabels, ...labels };
  const parts = formatLabels(labels as Record<string, unknown>, shared as Record<string, unknown>);
  const flattenedShared = formatLabels(shared as Record<string, unknown>).join(',');
  if (flattenedShared !== '') parts.push(flattenedShared);
  return parts.length > 0 ? `${metricName}{${parts.join(',')}} ` : `${metricName} `;
}

/** `name="value"` for each label not in `exclude`, as prom-client's `formatLabels`. */
function formatLabels(labels: Record<string, unknown>, exclude?: Record<string, unknown>): string[] {
  const formatted: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (exclude === undefined || !Object.prototype.hasOwnProperty.call(exclude, name)) {
      formatted.push(`${name}="${escapeLabelValue(value)}"`);
    }
  }
  return formatted;
}

function escapeLabelValue(value: unknown): string {
  // prom-client leaves a value that is not a string as it is, for a template to print (which
  // throws for a symbol, as there).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-template-expression -- the template's conversion is the point
  if (typeof value !== 'string') return `${value as string}`;
  return escapeString(value).replace(/"/g, '\\"');
}

function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample's value as prom-client's `getValueAsString` prints it: `Nan`, `-Inf`, `+Inf`, or
 * the number. Like there, anything that is not a finite number (undefined, a string) prints as
 * an infinity, by how it compares with 0.
 */
function valueText(value: unknown): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return (value as number) < 0 ? '-Inf' : '+Inf';
  return `${value as number}`;
}

/** The default labels as one string, to tell when they changed between scrapes. */
function signatureOf(defaultLabels: Record<string, unknown>): string {
  let signature = '';
  for (const key in defaultLabels) signature += `${key}\u0000${String(defaultLabels[key])}\u0000`;
  return signature;
}
