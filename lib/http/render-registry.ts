/**
 * Rendering a registry in either text format, byte for byte as prom-client's own formatter
 * writes it, without touching the registry.
 *
 * Scrapes are written by exposition-writer.ts (prom-client's rules, series text cached, written
 * in slices that leave the event loop free). What follows is the fallback for a registry that
 * does not keep its default labels where prom-client 15 does, and the view the testing kit uses.
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
 * The same view serves a scrape that continues past failing collectors (`errorHandling:
 * 'continue'`): each collector is read on its own first, and the view holds those that gave
 * values, so prom-client's formatter writes every family it serves with the bytes it would
 * have had without the failures.
 *
 * @packageDocumentation
 */
import { Registry, type MetricObjectWithValues, type MetricValue, type RegistryContentType } from 'prom-client';
import { messageOf } from '../describe-value';
import { CONTENT_TYPES, type ExpositionFormat } from './content-negotiation';
import { writeExposition, type Collector } from './exposition-writer';
import type { OutputBuffers } from './output-buffers';

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
 * @internal
 */
export function familyName(name: string, type: unknown, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
}

/** What a collector gave for one scrape, with the name it was registered under. */
type CollectorData = MetricObjectWithValues<MetricValue<string>>;

/** Reads a collector the way prom-client's `metrics()` does: `getForPromString()` if it has one. */
async function read(collector: Collector): Promise<CollectorData> {
  return typeof collector.getForPromString === 'function' ? collector.getForPromString() : collector.get();
}

/**
 * A throwaway registry whose prototype is `registry` (so prom-client's `metrics()` runs
 * unchanged, with the registry's default labels) but whose content type is `format`'s and whose
 * collectors are `collectors`.
 */
function viewOf(
  registry: Registry<RegistryContentType>,
  format: ExpositionFormat,
  collectors: readonly Omit<Collector, 'getForPromString'>[],
): Registry {
  return Object.create(registry, {
    contentType: { value: CONTENT_TYPES[format] },
    getMetricsAsArray: { value: () => collectors },
  }) as Registry;
}

/**
 * Renders `registry` in `format`: byte for byte what prom-client's own `metrics()` prints,
 * written in slices that give the event loop a turn every half millisecond or so (see
 * exposition-writer.ts), and leaving the registry and its collectors untouched. Counters are
 * named `x_total` in 0.0.4 and `# TYPE x counter` + `x_total` in OpenMetrics, whatever format
 * the registry was created with; exemplars appear only in OpenMetrics, as prom-client writes
 * them. Rejects when a collector's `get()` does, as `metrics()` does.
 */
export function renderRegistry(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<string> {
  const defaults = defaultLabelsOf(registry);
  if (defaults === undefined) return renderWithPromClient(registry, format);
  return writeExposition(familiesOf(registry), format, defaults).then((bytes) => bytes.toString('utf8'));
}

/** The collectors of `registry`, each with the name it was registered under. */
function familiesOf(registry: Registry<RegistryContentType>): { collector: Collector; registeredName: string }[] {
  const collectors = registry.getMetricsAsArray() as unknown as Collector[];
  return collectors.map((collector) => ({ collector, registeredName: registeredName(registry, collector) }));
}

/**
 * The registry's default labels as prom-client keeps them (`null` when it has none), or
 * `undefined` when it does not keep them where prom-client 15 does: such a registry is
 * rendered by its own `metrics()`.
 */
function defaultLabelsOf(registry: Registry<RegistryContentType>): Record<string, unknown> | null | undefined {
  const labels: unknown = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels;
  if (labels === null || typeof labels !== 'object') return undefined;
  return Object.keys(labels).length > 0 ? (labels as Record<string, unknown>) : null;
}

/** The rendering of {@link renderRegistry} by prom-client itself, through a view of the registry. */
function renderWithPromClient(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<string> {
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
      async get(): Promise<CollectorData> {
        const data = await read(collector);
        return { ...data, name: familyName(name, data.type, format) };
      },
    };
  });
  return viewOf(registry, format, views).metrics();
}

/** How a scrape treats a collector that throws: the whole scrape fails, or it is left out. */
export type ErrorHandling = 'fail' | 'continue';

/**
 * One collector read on its own: the name it was registered under, and what it gave (its
 * values, `type` and `help` as its `get()` returned them) or what it threw.
 * @internal
 */
export type CollectorRead =
  | { readonly name: string; readonly collector: Readonly<Collector>; readonly data: CollectorData }
  | { readonly name: string; readonly collector: Readonly<Collector>; readonly error: unknown };

/**
 * Reads every collector of `registry` at once, as prom-client's `metrics()` does, but each on
 * its own: one that throws or rejects gives its error and the others their values. The list of
 * collectors and their names is taken synchronously, when this is called.
 * @internal
 */
export function readCollectors(registry: Registry<RegistryContentType>): Promise<CollectorRead[]> {
  const collectors = registry.getMetricsAsArray() as unknown as Collector[];
  return Promise.all(
    collectors.map(async (collector): Promise<CollectorRead> => {
      const name = registeredName(registry, collector);
      try {
        return { name, collector, data: await read(collector) };
      } catch (error) {
        return { name, collector, error };
      }
    }),
  );
}

/**
 * A view of `registry` (see {@link renderRegistry}) holding the collectors of `reads` with the
 * values they gave, each under its family name in `format`: its `metrics()` renders them with
 * prom-client's own formatter, its `getMetricsAsJSON()` gives them with the default labels.
 * @internal
 */
export function viewOfReads(
  registry: Registry<RegistryContentType>,
  format: ExpositionFormat,
  reads: readonly Extract<CollectorRead, { data: unknown }>[],
): Registry {
  const views = reads.map(({ name, collector, data }) => {
    const named = { ...data, name: familyName(name, data.type, format) };
    return { name: named.name, type: collector.type, help: collector.help, get: () => named };
  });
  return viewOf(registry, format, views);
}

/** A collector left out of a scrape because reading it failed. @internal */
export interface CollectorFailure {
  /** The name it was registered under. */
  readonly name: string;
  /** What its `collect()` or `get()` threw or rejected with. */
  readonly error: unknown;
}

/** One rendering for scrapes: the text, the family each registered name has in it, and what was left out. @internal */
export interface ScrapeRendering {
  /** The exposition, as it is sent. */
  readonly bytes: Buffer;
  /** The same, as text (decoded from `bytes` when first read: most scrapes never need it). */
  readonly text: string;
  /** Registered name → the family name it has in this text (OpenMetrics drops a counter's `_total`). */
  readonly families: ReadonlyMap<string, string>;
  /** The collectors left out (`continue` only; with `fail` a failure rejects instead). */
  readonly failures: readonly CollectorFailure[];
}

/**
 * Renders `registry` in `format` for scrapes. With `fail`, exactly {@link renderRegistry}: the
 * first collector that throws rejects the whole rendering. With `continue`, each collector is
 * read on its own ({@link readCollectors}), those that throw or reject are left out, and the
 * rest is rendered by prom-client's own formatter from the values read, so each family's bytes
 * are those of a rendering without failures. Rejects when collectors failed and none was left:
 * a scrape never answers an empty 200 because of errors. With `buffers`, the bytes may be
 * written into one of its buffers, which the caller gives back once nothing reads them.
 * @internal
 */
export async function renderForScrape(
  registry: Registry<RegistryContentType>,
  format: ExpositionFormat,
  errorHandling: ErrorHandling,
  buffers?: OutputBuffers,
): Promise<ScrapeRendering> {
  // The family names, and the reads (renderRegistry's or readCollectors'), are taken in this
  // same synchronous step: they see the same collectors.
  const collectors = registry.getMetricsAsArray() as unknown as Collector[];
  const families = new Map(
    collectors.map((collector) => {
      const name = registeredName(registry, collector);
      return [name, familyName(name, collector.type, format)];
    }),
  );
  const defaults = defaultLabelsOf(registry);
  const failures: CollectorFailure[] = [];
  let bytes: Buffer;
  if (defaults !== undefined) {
    // With 'continue', the writer leaves out a collector that throws or rejects, and says which.
    const leaveOut =
      errorHandling === 'fail' ? undefined : (name: string, error: unknown) => failures.push({ name, error });
    bytes = await writeExposition(familiesOf(registry), format, defaults, undefined, leaveOut, buffers);
  } else if (errorHandling === 'fail') {
    bytes = Buffer.from(await renderWithPromClient(registry, format), 'utf8');
  } else {
    const reads = await readCollectors(registry);
    for (const r of reads) if ('error' in r) failures.push({ name: r.name, error: r.error });
    const served = reads.filter((r): r is Extract<CollectorRead, { data: unknown }> => 'data' in r);
    bytes = Buffer.from(await viewOfReads(registry, format, served).metrics(), 'utf8');
  }
  if (failures.length > 0 && failures.length === families.size) {
    const each = failures.map((f) => `${f.name}: ${messageOf(f.error)}`).join('; ');
    throw new Error(`every collector failed (${failures.length}): ${each}`, { cause: failures[0]?.error });
  }
  let text: string | undefined;
  return {
    bytes,
    get text(): string {
      return (text ??= bytes.toString('utf8'));
    },
    families,
    failures,
  };
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
