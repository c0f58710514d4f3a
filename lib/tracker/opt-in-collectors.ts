/**
 * The tracker's opt-in collectors: not part of the Go server's contract, each registered only
 * when its option is on, on the same registry as the contract's. Their names, types and labels
 * are fixed (shared/CONTRACT.md, "Opt-in collectors beside the contract") so that dashboards
 * and alerts can rely on them.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OptionChecks } from '../options';
import type { TrackerSettings } from './tracker-options';

/** `byApp`: workers by app and state. */
const APP_WORKERS_METRIC_NAME = 'blockyard_app_workers';
/** `countTransitions`: worker transitions by from and to. */
const TRANSITIONS_METRIC_NAME = 'blockyard_worker_transitions_total';
/** `selfMetrics`: the tracker's own health, in the order of {@link HealthCollectors}. */
const HEALTH_METRIC_NAMES: readonly string[] = Object.freeze([
  'blockyard_tracker_last_reconcile_timestamp_seconds',
  'blockyard_tracker_reconcile_duration_seconds',
  'blockyard_tracker_snapshot_age_seconds',
  'blockyard_tracker_invalid_workers',
  'blockyard_tracker_errors_total',
]);

/**
 * Ticks: from a few thousand workers (tens of µs) to a million (hundreds of ms) and a tick that
 * is stuck; 10 µs … 1 s, about three buckets a decade.
 */
const RECONCILE_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]);

/** The `selfMetrics` collectors. */
export interface HealthCollectors {
  /** `blockyard_tracker_last_reconcile_timestamp_seconds`: Unix time of the last tick that completed. */
  readonly lastReconcile: Gauge;
  /** `blockyard_tracker_reconcile_duration_seconds`: one tick, 10 µs … 1 s. */
  readonly reconcileDuration: Histogram;
  /** `blockyard_tracker_snapshot_age_seconds`: at the last tick, since its snapshot was handed over. */
  readonly snapshotAge: Gauge;
  /** `blockyard_tracker_invalid_workers`: snapshot entries left out of the last tick. */
  readonly invalidWorkers: Gauge;
  /** `blockyard_tracker_errors_total{origin}`: every report on `errors$`. */
  readonly errors: Counter<'origin'>;
}

/** The collectors the options asked for; `undefined` where an option is off. */
export interface OptInCollectors {
  /** labels: app (bounded by `maxApps`), state (busy, idle, draining). */
  readonly appWorkers: Gauge<'app' | 'state'> | undefined;
  /** labels: from, to (none, busy, idle, draining). */
  readonly transitions: Counter<'from' | 'to'> | undefined;
  readonly health: HealthCollectors | undefined;
}

/**
 * Registers the collectors `settings` asks for on `settings.metrics.registry`. Throws a
 * `TypeError` naming the option, and registers nothing, when the registry already holds one of
 * their names (another tracker with the same option on the same registry: two would overwrite
 * each other's series).
 * @internal
 */
export function registerOptInCollectors(settings: TrackerSettings): OptInCollectors {
  const registry = settings.metrics.registry;
  const check = new OptionChecks('WorkerStateTracker');
  const wanted: (readonly [string, readonly string[]])[] = [
    ['byApp', settings.byApp ? [APP_WORKERS_METRIC_NAME] : []],
    ['countTransitions', settings.countTransitions ? [TRANSITIONS_METRIC_NAME] : []],
    ['selfMetrics', settings.selfMetrics ? HEALTH_METRIC_NAMES : []],
  ];
  for (const [option, names] of wanted) {
    const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined);
    if (taken.length > 0) {
      check.fail(
        `${option}: metrics.registry already holds ${taken.join(', ')}; one tracker per registry can have ${option} on`,
      );
    }
  }
  const registers = [registry];
  return {
    appWorkers: settings.byApp
      ? new Gauge({
          name: APP_WORKERS_METRIC_NAME,
          help: 'Number of workers by app and state (busy, idle, draining), derived on each reconciliation tick.',
          labelNames: ['app', 'state'] as const,
          registers,
        })
      : undefined,
    transitions: settings.countTransitions
      ? new Counter({
          name: TRANSITIONS_METRIC_NAME,
          help: 'Total number of worker state transitions between ticks, by from and to state (none: appearing or leaving).',
          labelNames: ['from', 'to'] as const,
          registers,
        })
      : undefined,
    health: settings.selfMetrics ? healthCollectors(registers) : undefined,
  };
}

function healthCollectors(registers: Registry[]): HealthCollectors {
  const [lastReconcile, reconcileDuration, snapshotAge, invalidWorkers, errors] = HEALTH_METRIC_NAMES as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    lastReconcile: new Gauge({
      name: lastReconcile,
      help: 'Unix time of the last reconciliation tick that completed (0 before the first).',
      registers,
    }),
    reconcileDuration: new Histogram({
      name: reconcileDuration,
      help: 'Time one reconciliation tick takes, in seconds.',
      buckets: [...RECONCILE_DURATION_BUCKETS],
      registers,
    }),
    snapshotAge: new Gauge({
      name: snapshotAge,
      help: 'At the last tick, seconds since its snapshot was handed over (0 when pulled through source on each tick).',
      registers,
    }),
    invalidWorkers: new Gauge({
      name: invalidWorkers,
      help: 'Snapshot entries left out of the last tick as invalid.',
      registers,
    }),
    errors: new Counter({
      name: errors,
      help: 'Total number of problems reported on the tracker error channel, by origin.',
      labelNames: ['origin'] as const,
      registers,
    }),
  };
}
