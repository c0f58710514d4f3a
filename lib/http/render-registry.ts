/**
 * Rendering a registry in either text format with prom-client's own formatter, without
 * touching the registry.
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
import { Registry, type MetricObjectWithValues, type MetricValue, type RegistryContentType } from 'prom-client';
import { CONTENT_TYPES, type ExpositionFormat } from './content-negotiation';
import { writeExposition, type Collector } from './exposition-writer';

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
 * Renders `registry` in `format`: byte for byte what prom-client's own `metrics()` prints,
 * written in slices that give the event loop a turn every millisecond or so (see
 * exposition-writer.ts), and leaving the registry and its collectors untouched. Counters are
 * named `x_total` in 0.0.4 and `# TYPE x counter` + `x_total` in OpenMetrics, whatever format
 * the registry was created with; exemplars appear only in OpenMetrics, as prom-client writes
 * them. Rejects when a collector's `get()` does, as `metrics()` does.
 */
export function renderRegistry(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<string> {
  const defaults = defaultLabelsOf(registry);
  if (defaults === undefined) return renderWithPromClient(registry, format);
  const collectors = registry.getMetricsAsArray() as unknown as Collector[];
  const families = collectors.map((collector) => ({ collector, registeredName: registeredName(registry, collector) }));
  return writeExposition(families, format, defaults);
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
      async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
        const data =
          typeof collector.getForPromString === 'function' ? await collector.getForPromString() : await collector.get();
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
