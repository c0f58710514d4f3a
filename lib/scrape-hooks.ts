/**
 * Scrape-time hooks: functions run just before a collector is read.
 *
 * prom-client calls a collector's `collect()` each time the collector is read (a registry
 * scrape, `getMetricsAsJSON()` for cluster aggregation, or a direct `get()`). The tracker
 * buffers hot-path counts in plain arrays and hands prom-client the totals here, so a proxied
 * request costs an array increment rather than a label-set hash. Hooks are kept per collector
 * so that several trackers (or none) can share one `Metrics`.
 *
 * @packageDocumentation
 */

/** Something prom-client reads: any collector created by `newMetrics`. */
type Collector = object;

const hooks = new WeakMap<Collector, Set<() => void>>();

/**
 * The `collect` function `newMetrics` gives every collector: runs the hooks registered for
 * that collector. A hook that throws is skipped; the scrape goes on with what is there, since
 * a scrape must never fail because of buffered telemetry.
 * @internal
 */
export function runScrapeHooks(this: Collector): void {
  const set = hooks.get(this);
  if (set === undefined) return;
  for (const hook of set) {
    try {
      hook();
    } catch {
      // Hooks are the tracker's own flush functions, which contain their errors; this guard
      // only keeps a scrape alive if one ever does not.
    }
  }
}

/**
 * Registers `hook` to run before each read of `collector`. Returns a function that removes it.
 * @internal
 */
export function onScrape(collector: Collector, hook: () => void): () => void {
  let set = hooks.get(collector);
  if (set === undefined) {
    set = new Set();
    hooks.set(collector, set);
  }
  set.add(hook);
  return () => {
    set.delete(hook);
  };
}
