/**
 * Exposition: which text format a scrape gets, rendering a registry in that format with
 * prom-client's own formatter, and one serialization shared by concurrent scrapes.
 *
 * prom-client fixes one format per registry, and its OpenMetrics rendering renames counters in
 * place (`metric.name` loses its `_total` suffix for good, in `Registry#metrics()`). Rendering
 * the other format by registering the same collectors in a second registry would therefore
 * corrupt the 0.0.4 names. Here every scrape instead renders through a throwaway *view*: an
 * object whose prototype is the served registry (so prom-client's `metrics()` runs unchanged,
 * with the registry's default labels) but whose `contentType` is the negotiated one and whose
 * metrics are wrappers carrying the name each collector was registered under. Nothing shared is
 * mutated, so scrapes of both formats can run at once in any order.
 *
 * @packageDocumentation
 */
import { gzipSync } from 'node:zlib';
import {
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type RegistryContentType,
} from 'prom-client';
import { describe } from './describe';


/** A text format a scrape can get: Prometheus text 0.0.4, or OpenMetrics 1.0.0. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** The `Content-Type` answered with each format, as prom-client spells it. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, PrometheusContentType | OpenMetricsContentType>> =
  Object.freeze({
    prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
    openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
  });

/** One media range of an `Accept` or `Accept-Encoding` header. */
interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

function parseRanges(header: string | readonly string[] | undefined): MediaRange[] {
  const text = Array.isArray(header) ? header.join(',') : typeof header === 'string' ? header : '';
  const ranges: MediaRange[] = [];
  for (const part of text.slice(0, 4096).split(',')) {
    const [rawType = '', ...rawParams] = part.split(';');
    const type = rawType.trim().toLowerCase();
    if (type === '') continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const param of rawParams) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (key === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      } else {
        params.set(key, value);
      }
    }
    ranges.push({ type, params, q });
  }
  // Highest preference first; equal preferences keep the order the client wrote.
  return ranges.map((r, i) => ({ r, i })).sort((a, b) => b.r.q - a.r.q || a.i - b.i).map(({ r }) => r);
}

/**
 * The format a scraper asked for in its `Accept` header. OpenMetrics 1.0.0 when the most
 * preferred acceptable range is `application/openmetrics-text` (any version but 0.0.1, which
 * prom-client cannot write), else Prometheus text 0.0.4, which every scraper reads: like Go's
 * promhttp, a header naming nothing we serve still gets text rather than a 406.
 *
 * Prometheus itself sends `application/openmetrics-text;version=1.0.0,…;q=0.75,
 * text/plain;version=0.0.4;q=0.5,*∕*;q=0.1`, and so gets OpenMetrics.
 */
export function negotiateFormat(accept: string | readonly string[] | undefined): ExpositionFormat {
  for (const range of parseRanges(accept)) {
    if (range.q <= 0) continue;
    const version = range.params.get('version');
    if (range.type === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) {
      return 'openmetrics';
    }
    if (range.type === 'text/plain' && (version === undefined || version === '0.0.4')) return 'prometheus';
    if (range.type === '*/*' || range.type === 'text/*') return 'prometheus';
  }
  return 'prometheus';
}

/** Whether an `Accept-Encoding` header accepts gzip (explicitly, or through `*`). */
export function acceptsGzip(acceptEncoding: string | readonly string[] | undefined): boolean {
  let star = false;
  for (const range of parseRanges(acceptEncoding)) {
    if (range.type === 'gzip' || range.type === 'x-gzip') return range.q > 0;
    if (range.type === '*') star = range.q > 0;
  }
  return star;
}

/**
 * Where a scrape's metrics come from. A plain prom-client `Registry` is one (the handlers wrap
 * it as a source whose `gather()` resolves to the registry itself); cluster mode's
 * {@link ClusterAggregator} is another, whose registry is built anew for each scrape from every
 * worker's metrics. Implement it to serve metrics assembled some other way.
 */
export interface MetricsSource {
  /**
   * The local registry: where a handler registers its own collectors (the optional
   * self-metrics). What {@link gather} returns includes it.
   */
  readonly registry: Registry;
  /** The registry to render for one scrape. May reject; the scrape then fails with a 500. */
  gather(): Promise<Registry>;
}

function isRegistry(value: unknown): value is Registry {
  const r = value as Partial<Registry> | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.metrics === 'function' &&
    typeof r.getMetricsAsArray === 'function' &&
    typeof r.getSingleMetric === 'function'
  );
}

function isMetricsSource(value: unknown): value is MetricsSource {
  const s = value as Partial<MetricsSource> | null;
  return s !== null && typeof s === 'object' && typeof s.gather === 'function' && isRegistry(s.registry);
}

/**
 * Accepts a prom-client `Registry` or a {@link MetricsSource}, and throws a `TypeError` naming
 * `option` for anything else (at construction, never at scrape time).
 * @internal
 */
export function toMetricsSource(value: unknown, option: string): MetricsSource {
  if (isMetricsSource(value)) return value;
  if (isRegistry(value)) {
    const registry = value;
    return { registry, gather: () => Promise.resolve(registry) };
  }
  throw new TypeError(`${option} must be a prom-client Registry or a MetricsSource, got ${describe(value)}`);
}

/** What prom-client reads from a collector: what `registry.getMetricsAsArray()` holds. */
interface Collector {
  name: string;
  readonly type?: string;
  readonly help?: string;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>> | MetricObjectWithValues<MetricValue<string>>;
  getForPromString?(): Promise<MetricObjectWithValues<MetricValue<string>>>;
}

/**
 * The name `collector` was registered under in `registry`. Normally its `name`; but once an
 * OpenMetrics registry has rendered a counter, prom-client has stripped `_total` from that
 * name, and the registry still holds the collector under the full one.
 */
function registeredName(registry: Registry<RegistryContentType>, collector: Collector): string {
  const name = collector.name;
  if (registry.getSingleMetric(name) !== (collector as unknown)) {
    const full = `${name}_total`;
    if (registry.getSingleMetric(full) === (collector as unknown)) return full;
  }
  return name;
}

/**
 * The family name of a collector in `format`: OpenMetrics names a counter without `_total`.
 * `type` is prom-client's run-time type string (its typings declare a numeric enum instead).
 */
function familyName(name: string, type: unknown, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
}

/**
 * Renders `registry` in `format` with prom-client's own `metrics()`, leaving the registry and
 * its collectors untouched (see the module comment). Counters are named `x_total` in 0.0.4
 * and `# TYPE x counter` + `x_total` in OpenMetrics, whatever format the registry was created
 * with; exemplars appear only in OpenMetrics, as prom-client writes them.
 */
export function renderRegistry(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<string> {
  const collectors = registry.getMetricsAsArray() as unknown as Collector[];
  // The common cases need no view: prom-client's own metrics() as it is.
  // - A registry scraped in its own OpenMetrics format: the renaming prom-client does there is
  //   the one the view undoes for text scrapes (registeredName), so it is harmless.
  // - A text registry scraped as text, with every collector under the name it was registered
  //   with (no OpenMetrics rendering has renamed a counter it shares).
  if (format === 'openmetrics' && registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE) {
    return registry.metrics();
  }
  if (
    format === 'prometheus' &&
    registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE &&
    collectors.every((c) => registry.getSingleMetric(c.name) === (c as unknown))
  ) {
    return registry.metrics();
  }
  const views = collectors.map((collector) => {
    const name = registeredName(registry, collector);
    return {
      name,
      type: collector.type,
      help: collector.help,
      async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
        const data =
          typeof collector.getForPromString === 'function'
            ? await collector.getForPromString()
            : await collector.get();
        return { ...data, name: familyName(name, data.type, format) };
      },
    };
  });
  const view = Object.create(registry, {
    contentType: { value: CONTENT_TYPES[format] },
    getMetricsAsArray: { value: () => views },
  }) as Registry;
  return view.metrics();
}

/**
 * `registry.getMetricsAsJSON()` (default labels applied), with every collector under the name
 * it was registered with, even after an OpenMetrics rendering stripped a counter's `_total`.
 * Cluster workers send this to the primary.
 */
export async function registryAsJSON(
  registry: Registry<RegistryContentType>,
): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  // Both lists are taken in this same synchronous step (getMetricsAsJSON reads the collectors
  // before its first await), so they hold the same collectors in the same order.
  const names = (registry.getMetricsAsArray() as unknown as Collector[]).map((c) => registeredName(registry, c));
  const json = await registry.getMetricsAsJSON();
  if (json.length !== names.length) return json;
  return json.map((metric, i) => ({ ...metric, name: names[i] ?? metric.name }));
}

/** One serialization in flight: its text, and its gzip once a scrape asked for it. */
export interface InFlightExposition {
  /** The rendered exposition. */
  readonly text: Promise<Buffer>;
  /** Its gzip, once a scrape of this serialization asked for one. */
  gzipped?: Promise<Buffer>;
}

/** What one rendering produces: the text, and its gzip when a scrape asked before it ended. */
interface Rendering {
  readonly text: Buffer;
  readonly gzipped: Buffer | undefined;
}

/** A serialization's entry, with what only this module needs to see. */
interface Entry extends InFlightExposition {
  readonly rendering: Promise<Rendering>;
  wantsGzip: boolean;
}

const ignore = (): void => undefined;

/**
 * Shares one serialization between the concurrent scrapes of one format: a scrape that
 * arrives while another of the same format is being gathered and rendered joins it rather
 * than starting its own, so N scrapers cost one rendering. Nothing is cached beyond the
 * in-flight promise: a scrape arriving after it settled starts a fresh one and sees fresh
 * values.
 * @internal
 */
export class SharedExposition {
  private readonly inFlight = new Map<ExpositionFormat, Entry>();

  constructor(private readonly source: MetricsSource) {}

  /** Joins the serialization of `format` in flight, or starts one. */
  join(format: ExpositionFormat): InFlightExposition {
    const current = this.inFlight.get(format);
    if (current !== undefined) return current;
    // `entry` is declared on the next line; render() reads it only after its first await.
    const rendering = this.render(format, () => entry.wantsGzip);
    const entry: Entry = { rendering, text: rendering.then((r) => r.text), wantsGzip: false };
    entry.text.catch(ignore);
    this.inFlight.set(format, entry);
    const settle = (): void => this.abandon(format, entry);
    // Also marks `rendering` handled: a rejection nobody waits for any more must not become an
    // unhandled rejection, which would end the host process.
    rendering.then(settle, settle);
    return entry;
  }

  /**
   * Gathers and renders `format`, and compresses the text when `wantsGzip()` says a scrape has
   * asked by then. An async function rather than a chain of `then`s: each `await` of a promise
   * takes one microtask, where a `then` callback that returns a promise takes three.
   */
  private async render(format: ExpositionFormat, wantsGzip: () => boolean): Promise<Rendering> {
    // Rendering is CPU work that runs to completion in microtasks, before Node reads any
    // other socket: started at once, it would be over before a concurrent scrape could join
    // it. Starting it on the next turn of the event loop (setImmediate, after the poll phase)
    // lets every scrape already received join this one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const registry = await this.source.gather();
    const text = Buffer.from(await renderRegistry(registry, format), 'utf8');
    // Compressed in the same step as the render (about 1 ms for 365 KB), when a scrape has
    // asked: Prometheus always does. On the thread pool instead, the event loop would be free
    // to read new scrapes while it compresses, after the render they can no longer join, and
    // each would start a render of its own.
    return { text, gzipped: wantsGzip() ? gzipSync(text) : undefined };
  }

  /** The gzip of `entry`'s text, compressed once however many scrapes ask. */
  gzipped(entry: InFlightExposition): Promise<Buffer> {
    if (entry.gzipped === undefined) {
      const own = entry as Entry;
      own.wantsGzip = true;
      const gzipped = own.rendering.then((r) => r.gzipped ?? gzipSync(r.text));
      gzipped.catch(ignore);
      entry.gzipped = gzipped;
    }
    return entry.gzipped;
  }

  /**
   * Stops sharing `entry` (when it settled, or when a scrape waiting on it timed out), so the
   * next scrape of `format` starts afresh instead of joining a serialization that hangs.
   */
  abandon(format: ExpositionFormat, entry: InFlightExposition): void {
    if (this.inFlight.get(format) === entry) this.inFlight.delete(format);
  }
}
