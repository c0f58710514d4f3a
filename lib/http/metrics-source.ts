/**
 * Where a scrape's metrics come from: a registry, or a source that assembles one per scrape
 * (cluster mode's aggregator).
 *
 * @packageDocumentation
 */
import type { Registry } from 'prom-client';
import { isRegistry, type OptionChecks } from '../options';
import { warnIfTrackersRecordElsewhere } from '../tracked-registries';

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
 * Accepts a prom-client `Registry`, a {@link MetricsSource}, or an object holding the registry
 * to serve under `registry` (the `Metrics` that `newMetrics()` returns), and throws a
 * `TypeError` naming the `registry` option of `check`'s owner for anything else (at
 * construction, never at scrape time).
 * @internal
 */
export function toMetricsSource(value: unknown, check: OptionChecks): MetricsSource {
  if (isMetricsSource(value)) return value;
  if (isRegistry(value)) return registrySource(value);
  const held = holdsRegistry(value);
  if (held !== undefined) return registrySource(held);
  return check.reject('registry', 'a prom-client Registry, a MetricsSource, or the object newMetrics() returns', value);
}

/** The registry an object holds under `registry` (as `Metrics` does), if it holds one. */
function holdsRegistry(value: unknown): Registry | undefined {
  try {
    const registry = (value as { registry?: unknown } | null)?.registry;
    return isRegistry(registry) ? registry : undefined;
  } catch {
    return undefined;
  }
}

/** A registry as a source: gathering resolves to the registry itself. */
function registrySource(registry: Registry): MetricsSource {
  return {
    registry,
    gather: () => {
      warnIfTrackersRecordElsewhere(registry);
      return Promise.resolve(registry);
    },
  };
}
