/**
 * The options of a `WorkerStateTracker`, their defaults, and their one check at construction.
 *
 * @packageDocumentation
 */
import type { Observable, SchedulerLike } from 'rxjs';
import { describeValue } from '../describe-value';
import { DEFAULT_MAX_APPS } from '../events';
import type { Metrics } from '../metrics';
import { MAX_TIMER_MS, OptionChecks, isRegistry } from '../options';
import { isValidTick } from './tick-stream';
import type { SnapshotInput } from './worker-state';

/** Options of a {@link WorkerStateTracker}. */
export interface WorkerStateTrackerOptions {
  /** The collectors to feed, from `newMetrics()`. */
  readonly metrics: Metrics;
  /**
   * When to reconcile: a period in milliseconds (an integer, 1 … 2^31-1), or any Observable whose
   * emissions are ticks (for instance a Subject the orchestrator emits on at the end of its
   * own autoscaler tick).
   */
  readonly tick: number | Observable<unknown>;
  /**
   * Pulls a snapshot on each tick, instead of (or as well as) `feed()` / `connect()`. May
   * return `undefined` for "nothing new": the latest fed snapshot is used then.
   */
  readonly source?: () => SnapshotInput | undefined;
  /**
   * The RxJS scheduler for a period tick (tests pass a TestScheduler). Without it the period
   * runs on an unref'd Node timer that never holds the process open; with one, the timer is
   * the scheduler's own (RxJS's `asyncScheduler` holds the process open until `stop()`).
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Also set `blockyard_workers_active` and `blockyard_sessions_active` to the snapshot's
   * totals on each tick, so a missed spawn, stop or session event cannot leave them wrong for
   * longer than one tick. Default true; false keeps the Go server's behaviour exactly (those
   * gauges move only with events).
   */
  readonly healGauges?: boolean;
  /**
   * Also check, on every tick, the worker fields that decide no count (`appId`, `startedAt`,
   * `idleSince`, `bundleId`), rejecting entries where they are malformed. Default false: the
   * fields that decide how a worker counts (`draining`, `sessions`) are always checked; the
   * others cost a memory access per worker per tick to check (to strings and Dates the count
   * never touches) and change no metric. Turn it on in tests or staging to catch orchestrator
   * bugs.
   */
  readonly strictSnapshots?: boolean;
  /**
   * The most distinct `app` label values (default 1000). Later apps are counted under
   * `__overflow__`, and the first overflow is reported once on `errors$`.
   */
  readonly maxApps?: number;
  /**
   * The most invalid snapshot entries described one by one on `errors$` per tick (default
   * 100); the rest are summed up in one more report, so a broken snapshot of a million
   * entries cannot flood the channel.
   */
  readonly maxRejectionsPerTick?: number;
  /**
   * Also keep workers by app: registers `blockyard_app_workers{app,state}` on
   * `metrics.registry` (construction throws if the registry holds that name already) and sets
   * it on every tick, all three states for every app that has a worker; an app's series are
   * removed at the first tick it has none. App label values share the `maxApps` bound with the
   * event counters (later apps add up under `__overflow__`). Default false. The per-app counts
   * follow the transitions the tick finds, so this also turns on diffing (see `transitions$`);
   * `countsByApp$` works with or without it.
   */
  readonly byApp?: boolean;
  /**
   * Also count worker transitions: registers `blockyard_worker_transitions_total{from,to}`
   * (`none`, `busy`, `idle`, `draining`; `none` is a worker appearing or leaving) and adds every
   * transition each tick finds, the same ones `transitions$` reports, whether or not anyone
   * subscribes to it. Default false; turns on diffing.
   */
  readonly countTransitions?: boolean;
  /**
   * Also report the tracker's own health: registers `blockyard_tracker_last_reconcile_timestamp_seconds`,
   * `blockyard_tracker_reconcile_duration_seconds`, `blockyard_tracker_snapshot_age_seconds`,
   * `blockyard_tracker_invalid_workers` and `blockyard_tracker_errors_total{origin}`, kept current
   * on every tick and every report on `errors$`. The snapshot age is what shows an orchestrator
   * that stopped feeding: the gauges look healthy while the tracker reconciles an old snapshot.
   * Default false.
   */
  readonly selfMetrics?: boolean;
}

/** The options after their check, defaults applied. @internal */
export interface TrackerSettings {
  readonly metrics: Metrics;
  readonly tick: number | Observable<unknown>;
  readonly source: (() => SnapshotInput | undefined) | undefined;
  readonly scheduler: SchedulerLike | undefined;
  readonly healGauges: boolean;
  readonly strictSnapshots: boolean;
  readonly maxApps: number;
  readonly maxRejectionsPerTick: number;
  readonly byApp: boolean;
  readonly countTransitions: boolean;
  readonly selfMetrics: boolean;
}

const OPTION_NAMES: readonly (keyof WorkerStateTrackerOptions)[] = [
  'metrics',
  'tick',
  'source',
  'scheduler',
  'healGauges',
  'strictSnapshots',
  'maxApps',
  'maxRejectionsPerTick',
  'byApp',
  'countTransitions',
  'selfMetrics',
];

/** Each collector of `Metrics` the tracker writes, and a method it calls on it. */
const COLLECTOR_METHODS: readonly (readonly [keyof Metrics, string])[] = [
  ['workersActive', 'set'],
  ['workersByState', 'labels'],
  ['sessionsActive', 'set'],
  ['workersSpawned', 'inc'],
  ['workersStopped', 'labels'],
  ['bundlesUploaded', 'inc'],
  ['bundleRestoresSucceeded', 'inc'],
  ['bundleRestoresFailed', 'inc'],
  ['proxyRequests', 'inc'],
  ['healthChecksFailed', 'inc'],
  ['auditEntriesDropped', 'inc'],
  ['coldStartDuration', 'observe'],
  ['proxyRequestDuration', 'observe'],
  ['buildDuration', 'observe'],
];

/** The default of {@link WorkerStateTrackerOptions.maxRejectionsPerTick}. */
const DEFAULT_MAX_REJECTIONS_PER_TICK = 100;

/**
 * Validates the options once, at construction, naming the bad option and quoting its value,
 * and applies the defaults.
 * @internal
 */
export function checkTrackerOptions(options: WorkerStateTrackerOptions): TrackerSettings {
  const check = new OptionChecks('WorkerStateTracker');
  check.object(options, OPTION_NAMES, 'an object with at least { metrics, tick }');
  const m: unknown = options.metrics;
  if (m === null || typeof m !== 'object' || (m as Partial<Metrics>).workersByState === undefined) {
    check.reject('metrics', 'the object newMetrics() returns', m);
  }
  // Every collector the tracker writes, checked now: one missing would otherwise only show
  // as a failed record() much later.
  for (const [key, method] of COLLECTOR_METHODS) {
    const collector = (m as Record<string, unknown>)[key] as Record<string, unknown> | null | undefined;
    if (typeof collector?.[method] !== 'function') {
      check.fail(
        `metrics must be the object newMetrics() returns; its ${key} is ${describeValue(collector)}, not a collector`,
      );
    }
  }
  const optIn = options.byApp === true || options.countTransitions === true || options.selfMetrics === true;
  if (optIn && !isRegistry((m as Partial<Metrics>).registry)) {
    // The opt-in collectors are registered beside the contract's, on the same registry.
    check.fail(
      `metrics must be the object newMetrics() returns; its registry is ${describeValue((m as Partial<Metrics>).registry)}, not a prom-client Registry`,
    );
  }
  if (!isValidTick(options.tick)) {
    check.reject(
      'tick',
      `a period in milliseconds (an integer from 1 to ${MAX_TIMER_MS}) or an Observable`,
      options.tick,
    );
  }
  const source = check.func('source', options.source, 'a function returning a snapshot');
  const scheduler = check.implementing('scheduler', options.scheduler, 'schedule', 'an RxJS scheduler');
  return {
    metrics: options.metrics,
    tick: options.tick,
    source,
    scheduler,
    healGauges: check.boolean('healGauges', options.healGauges) ?? true,
    strictSnapshots: check.boolean('strictSnapshots', options.strictSnapshots) ?? false,
    maxApps: check.positiveInteger('maxApps', options.maxApps) ?? DEFAULT_MAX_APPS,
    maxRejectionsPerTick:
      check.positiveInteger('maxRejectionsPerTick', options.maxRejectionsPerTick) ?? DEFAULT_MAX_REJECTIONS_PER_TICK,
    byApp: check.boolean('byApp', options.byApp) ?? false,
    countTransitions: check.boolean('countTransitions', options.countTransitions) ?? false,
    selfMetrics: check.boolean('selfMetrics', options.selfMetrics) ?? false,
  };
}
