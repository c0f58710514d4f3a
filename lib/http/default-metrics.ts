/**
 * Node's process metrics on the served registry, one option away: prom-client's
 * `collectDefaultMetrics`, as the Go server serves `go_*` and `process_*` beside its own.
 *
 * They belong to the registry, not to a handler or a listener: registered once per registry
 * (two handlers serving one registry share them), read at scrape time like any collector. Two
 * of them watch the process between scrapes, for its life: a GC performance observer and an
 * event-loop-delay monitor. Neither holds the event loop open (a process, or a jest run with
 * `--detectOpenHandles`, ends as it would without them), and prom-client offers no way to
 * stop them, so closing a server leaves them to the registry.
 *
 * @packageDocumentation
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { messageOf } from '../describe-value';
import type { OptionChecks } from '../options';

/** A default metric that every platform has: its presence means they are registered. */
const MARKER = 'process_cpu_user_seconds_total';

/** The registries given their default metrics here. */
const equipped = new WeakSet<Registry>();

/**
 * Registers prom-client's default metrics on `registry` unless they are there already (from
 * an earlier call, or from the application's own `collectDefaultMetrics`). When one of their
 * names is taken by another collector, removes the ones it had registered and throws a
 * `TypeError` naming the `defaultMetrics` option of `check`'s owner.
 * @internal
 */
export function defaultMetricsOn(registry: Registry, check: OptionChecks): void {
  if (equipped.has(registry) || registry.getSingleMetric(MARKER) !== undefined) return;
  const before = new Set(registry.getMetricsAsArray());
  try {
    collectDefaultMetrics({ register: registry });
  } catch (err) {
    for (const metric of registry.getMetricsAsArray()) {
      if (!before.has(metric)) registry.removeSingleMetric(metric.name);
    }
    check.fail(`defaultMetrics: cannot register prom-client's default metrics: ${messageOf(err)}`);
  }
  equipped.add(registry);
}
