/**
 * Where a scrape's metrics come from: a registry, or a source that assembles one per scrape
 * (cluster mode's aggregator).
 *
 * @packageDocumentation
 */
import type { Registry } from 'prom-client';
import { isRegistry, type OptionChecks } from '../options';

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

function isMetricsSource(value: unknown): value is MetricsSource {
  try {
    const s = value as Partial<MetricsSource> | null;
    return s !== null && typeof s === 'object' && typeof s.gather === 'function' && isRegistry(s.registry);
  } catch {
    return false;
  }
}

/**
 * Accepts a prom-client `Registry` or a {@link MetricsSource}, and throws a `TypeError` naming
 * the `registry` option of `check`'s owner for anything else (at construction, never at scrape
 * time).
 * @internal
 */
export function toMetricsSource(value: unknown, check: OptionChecks): MetricsSource {
  if (isMetricsSource(value)) return value;
  if (isRegistry(value)) {
    const registry = value;
    return { registry, gather: () => Promise.resolve(registry) };
  }
  return check.reject('registry', 'a prom-client Registry or a MetricsSource', value);
}
