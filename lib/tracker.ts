/**
 * `WorkerStateTracker`: the reconciliation pipeline and the event entry point.
 *
 * On each tick the tracker samples the latest snapshot of the orchestrator's worker records,
 * derives busy / idle / draining counts, sets the `blockyard_workers{state}` gauge (all three
 * children, zeros included) and publishes what it derived:
 *
 *     tick$:         --t-----t-----t-----t--
 *     feed():        -a----b-----------c----   (snapshots pushed, connected or pulled)
 *     counts$:       --A-----B-----B-----C--   (counts of the latest snapshot at each tick)
 *     transitions$:  --x-----y-----------z--   (per-worker changes between sampled snapshots)
 *
 * Events recorded with `record()` go down one stream per kind into the counters and
 * histograms (see `event-recorders.ts`). Nothing here throws into the caller at run time:
 * rejected input and contained failures are reported on `errors$`.
 *
 * @packageDocumentation
 */
import {
  ReplaySubject,
  Subject,
  Subscription,
  UnsubscriptionError,
  concat,
  defer,
  from,
  finalize,
  isObservable,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { BoundedAppLabels, DEFAULT_MAX_APPS } from './app-labels';
import { describe } from './describe';
import { TelemetryError, messageOf, type TelemetryErrorOrigin } from './errors';
import { EventRecorders } from './event-recorders';
import { parseEvent, type TelemetryEvent } from './events';
import { GuardedObservable } from './guarded-observable';
import { AppOverflow, StateBusy, StateDraining, StateIdle } from './labels';
import type { Metrics } from './metrics';
import { SnapshotReconciler, isSnapshotLike } from './reconciler';
import type { WorkerTransition } from './state-diff';
import { MAX_TICK_MS, isValidTick, tickStream } from './ticks';
import type { SnapshotInput, StateCounts } from './worker-state';

/** Options of a {@link WorkerStateTracker}. */
export interface WorkerStateTrackerOptions {
  /** The collectors to feed, from `newMetrics()`. */
  readonly metrics: Metrics;
  /**
   * When to reconcile: a period in milliseconds (1 … 2^31-1), or any Observable whose
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
}

/** How many reports made before the first `errors$` subscriber are kept for it. */
export const EARLY_ERRORS_KEPT = 100;

const OPTION_NAMES = new Set([
  'metrics',
  'tick',
  'source',
  'scheduler',
  'healGauges',
  'strictSnapshots',
  'maxApps',
  'maxRejectionsPerTick',
]);

/**
 * Turns the orchestrator's worker snapshots and events into the contract's metrics, and into
 * streams callers can subscribe to.
 *
 * Construction validates the options and throws a `TypeError` naming the bad one; after that,
 * no method throws. Call {@link stop} when done: it completes every stream and releases the
 * timer (without the `scheduler` option, the timer never holds the process open).
 */
export class WorkerStateTracker {
  /**
   * Counts derived at each tick, emitted after the gauge is set. A late subscriber gets the
   * latest counts at once. Nothing is emitted before the first snapshot.
   */
  readonly counts$: Observable<StateCounts>;
  /**
   * Per-worker state changes between consecutive sampled snapshots (`null` = absent). Diffing
   * runs only while this stream has a subscriber; a first subscriber starts from an empty
   * baseline, so the next tick reports every present worker as appearing (`from: null`).
   */
  readonly transitions$: Observable<WorkerTransition>;
  /** Every accepted event, as recorded (a clean copy of what was passed to `record()`). */
  readonly events$: Observable<TelemetryEvent>;
  /**
   * Every rejected input and contained failure, with a message naming the field and value.
   * Reports made before anyone subscribed (for instance while the tracker was being built) are
   * kept, up to {@link EARLY_ERRORS_KEPT}, and delivered to the first subscriber.
   */
  readonly errors$: Observable<TelemetryError>;

  private readonly metrics: Metrics;
  private readonly source: (() => SnapshotInput | undefined) | undefined;
  private readonly healGauges: boolean;
  private readonly countsSubject = new ReplaySubject<StateCounts>(1);
  private readonly transitionsSubject = new Subject<WorkerTransition>();
  private readonly eventsSubject = new Subject<TelemetryEvent>();
  private readonly errorsSubject = new Subject<TelemetryError>();
  private readonly reconciler: SnapshotReconciler;
  private readonly recorders: EventRecorders;
  private readonly subscriptions = new Subscription();
  private readonly gauges: {
    readonly busy: { set(value: number): void };
    readonly idle: { set(value: number): void };
    readonly draining: { set(value: number): void };
  };
  private readonly earlyErrors: TelemetryError[] = [];
  private errorsSubscribed = false;
  private latest: SnapshotInput | undefined;
  private transitionSubscribers = 0;
  private stopped = false;
  private ticking = false;
  private tickAgain = false;

  constructor(options: WorkerStateTrackerOptions) {
    const opts = checkOptions(options);
    this.metrics = opts.metrics;
    this.source = opts.source;
    this.healGauges = opts.healGauges ?? true;
    const byState = this.metrics.workersByState;
    this.gauges = {
      busy: byState.labels(StateBusy),
      idle: byState.labels(StateIdle),
      draining: byState.labels(StateDraining),
    };
    this.reconciler = new SnapshotReconciler({
      strict: opts.strictSnapshots ?? false,
      maxRejectionsPerWalk: opts.maxRejectionsPerTick ?? 100,
      onRejected: (r) => this.report('snapshot', r.message, r.field),
    });
    const apps = new BoundedAppLabels(opts.maxApps ?? DEFAULT_MAX_APPS, (app, max) =>
      this.report(
        'bound',
        `more than ${max} distinct app names; ${describe(app)} and later new apps are counted as ${AppOverflow}`,
        'app',
      ),
    );
    this.recorders = new EventRecorders(this.metrics, apps, (e) => this.emitError(e));

    const reportSubscriberThrow = (err: unknown): void =>
      this.report('subscriber', `a subscriber threw: ${messageOf(err)}`, undefined, err);
    this.counts$ = new GuardedObservable(this.countsSubject.asObservable(), reportSubscriberThrow);
    this.events$ = new GuardedObservable(this.eventsSubject.asObservable(), reportSubscriberThrow);
    this.transitions$ = new GuardedObservable(
      defer(() => {
        this.transitionSubscribers += 1;
        this.reconciler.trackTransitions = true;
        return this.transitionsSubject;
      }).pipe(
        finalize(() => {
          this.transitionSubscribers -= 1;
          if (this.transitionSubscribers === 0) {
            this.reconciler.trackTransitions = false;
            this.reconciler.resetTransitions();
          }
        }),
      ),
      reportSubscriberThrow,
    );
    const errorsWithEarlyOnes = defer(() => {
      this.errorsSubscribed = true;
      return concat(from(this.earlyErrors.splice(0)), this.errorsSubject);
    });
    this.errors$ = new GuardedObservable(errorsWithEarlyOnes, (err) => {
      // A subscriber of errors$ itself threw: reporting it on errors$ could loop forever, so
      // it goes to Node's warning channel instead, which never throws.
      process.emitWarning(`blockyard-telemetry: an errors$ subscriber threw: ${messageOf(err)}`);
    });

    const reportTick = (message: string, cause?: unknown): void => this.report('tick', message, undefined, cause);
    let ticks: Subscription | undefined;
    try {
      ticks = tickStream(opts.tick, opts.scheduler, reportTick).subscribe({
        next: () => this.onTick(),
        // Only a caller's scheduler can get here (a caller's tick Observable is retried, then
        // completes): without this handler RxJS would rethrow the error on a timer, in the host.
        error: (err: unknown) => reportTick(`the tick scheduler failed; ticking has stopped: ${messageOf(err)}`, err),
      });
    } catch (err) {
      // A caller's scheduler or tick Observable that throws as it is subscribed to.
      reportTick(`subscribing to the ticks threw; ticking has stopped: ${messageOf(err)}`, err);
    }
    this.subscriptions.add(guardedTeardown(ticks, (err) => reportTick(`ending the ticks threw: ${messageOf(err)}`, err)));
  }

  /**
   * Makes `snapshot` the latest snapshot, sampled at the next tick. Rejected (on `errors$`)
   * unless it is a Map or an iterable of `[workerId, worker]` pairs; the previous snapshot then
   * stays. Its entries are checked at the tick that samples it.
   */
  feed(snapshot: SnapshotInput): void {
    if (this.stopped) return;
    if (!isSnapshotLike(snapshot)) {
      this.report(
        'snapshot',
        `snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${describe(snapshot)}`,
        'snapshot',
      );
      return;
    }
    this.latest = snapshot;
  }

  /**
   * Feeds every snapshot `snapshots$` emits, until the returned Subscription is unsubscribed,
   * the Observable ends, or the tracker stops. An error of `snapshots$` is reported on
   * `errors$`; the latest snapshot it fed stays in use.
   */
  connect(snapshots$: Observable<SnapshotInput>): Subscription {
    if (this.stopped) return Subscription.EMPTY;
    if (!isObservableSafe(snapshots$)) {
      this.report('source', `connect() needs an Observable of snapshots, got ${describe(snapshots$)}`, 'snapshots$');
      return Subscription.EMPTY;
    }
    const subscription = new Subscription();
    let inner: Subscription | undefined;
    try {
      inner = snapshots$.subscribe({
        next: (snapshot) => this.feed(snapshot),
        error: (err: unknown) =>
          this.report('source', `the connected snapshot Observable errored: ${messageOf(err)}`, undefined, err),
      });
    } catch (err) {
      this.report('source', `subscribing to the snapshot Observable threw: ${messageOf(err)}`, undefined, err);
    }
    // The Observable's own teardown may throw (or its subscribe may have returned something
    // that is not a Subscription): that is reported, never thrown out of unsubscribe() or stop().
    subscription.add(
      guardedTeardown(inner, (err) =>
        this.report('source', `unsubscribing from the snapshot Observable threw: ${messageOf(err)}`, undefined, err),
      ),
    );
    this.subscriptions.add(subscription);
    subscription.add(() => this.subscriptions.remove(subscription));
    return subscription;
  }

  /**
   * Records one event. Invalid events are reported on `errors$` and not recorded; valid ones
   * go down their kind's stream into the collectors and out on `events$`. Never throws.
   */
  record(event: TelemetryEvent): void {
    if (this.stopped) return;
    const parsed = parseEvent(event);
    if (!parsed.ok) {
      this.report('event', parsed.problem.message, parsed.problem.field);
      return;
    }
    this.recorders.dispatch(parsed.event);
    this.eventsSubject.next(parsed.event);
  }

  /**
   * Hands buffered counts to prom-client now. Never needed before a scrape (every read of a
   * collector does it); useful before reading a collector's internals directly.
   */
  flush(): void {
    this.recorders.flush();
  }

  /**
   * Stops ticking, flushes buffered counts, completes every stream and releases the timer.
   * Idempotent; later calls to `feed`, `connect` and `record` do nothing. The collectors keep
   * their values (a scrape after stop shows the last state).
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.subscriptions.unsubscribe();
    } catch (err) {
      // Every teardown added is guarded; this only keeps stop() whole if one ever is not.
      this.report('source', `stopping threw: ${messageOf(err)}`, undefined, err);
    }
    this.recorders.stop();
    this.latest = undefined;
    this.countsSubject.complete();
    this.transitionsSubject.complete();
    this.eventsSubject.complete();
    this.errorsSubject.complete();
  }

  /**
   * One tick. A tick asked for while one is running (a subscriber of `transitions$` or
   * `counts$` that feeds and ticks again) runs right after it, not inside it: inside, it would
   * rewrite the transitions the running tick is still publishing, and its counts would be
   * overtaken by the older ones. Ticks asked for meanwhile are one: each samples the latest
   * snapshot anyway.
   */
  private onTick(): void {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      let runs = 0;
      do {
        if (runs === MAX_TICKS_IN_A_ROW) {
          // A subscriber that ticks again on every tick would otherwise hold the host's event
          // loop here for good.
          this.report(
            'tick',
            `subscribers asked for a tick from inside each of ${MAX_TICKS_IN_A_ROW} ticks in a row; the next one was dropped`,
          );
          break;
        }
        runs += 1;
        this.tickAgain = false;
        this.tickOnce();
      } while (this.tickAgain && !this.stopped);
    } finally {
      this.ticking = false;
    }
  }

  /** Samples, reconciles and publishes; whatever throws is reported and the next tick runs. */
  private tickOnce(): void {
    try {
      const snapshot = this.sample();
      if (snapshot === undefined) return;
      const counts = this.reconciler.reconcile(snapshot, (message) => this.report('snapshot', message, 'snapshot'));
      if (counts !== undefined) this.publish(counts);
    } catch (err) {
      this.report('tick', `a tick failed: ${messageOf(err)}`, undefined, err);
    }
  }

  /** The snapshot for this tick: pulled from `source()` when given, else the latest fed. */
  private sample(): SnapshotInput | undefined {
    if (this.source === undefined) return this.latest;
    let pulled: unknown;
    try {
      pulled = this.source();
    } catch (err) {
      this.report('source', `source() threw: ${messageOf(err)}`, undefined, err);
      return undefined;
    }
    if (pulled === undefined) return this.latest;
    if (!isSnapshotLike(pulled)) {
      this.report(
        'source',
        `source() must return a Map, an iterable of [workerId, worker] pairs or undefined, got ${describe(pulled)}`,
        'snapshot',
      );
      return undefined;
    }
    this.latest = pulled;
    return pulled;
  }

  /** Sets the gauges from one tick's counts, then publishes transitions and counts. */
  private publish(counts: StateCounts): void {
    try {
      this.gauges.busy.set(counts.busy);
      this.gauges.idle.set(counts.idle);
      this.gauges.draining.set(counts.draining);
      if (this.healGauges) {
        this.metrics.workersActive.set(counts.workers);
        this.metrics.sessionsActive.set(counts.sessions);
      }
    } catch (err) {
      this.report('tick', `setting the gauges failed: ${messageOf(err)}`, undefined, err);
    }
    const transitions = this.reconciler.transitions;
    for (let i = 0; i < transitions.length; i += 1) {
      this.transitionsSubject.next(transitions[i] as WorkerTransition);
    }
    this.countsSubject.next(counts);
  }

  private report(origin: TelemetryErrorOrigin, message: string, field?: string, cause?: unknown): void {
    this.emitError(new TelemetryError(origin, message, { field, cause }));
  }

  private emitError(error: TelemetryError): void {
    if (this.errorsSubject.closed) return;
    if (this.errorsSubscribed) this.errorsSubject.next(error);
    else if (this.earlyErrors.length < EARLY_ERRORS_KEPT) this.earlyErrors.push(error);
  }
}

/** `isObservable`, false where merely looking at `value` throws (a hostile Proxy). */
function isObservableSafe(value: unknown): value is Observable<unknown> {
  try {
    return isObservable(value);
  } catch {
    return false;
  }
}

/**
 * A teardown that unsubscribes `subscription` (anything a caller's `subscribe()` returned) and
 * reports, rather than throws, what that throws.
 */
function guardedTeardown(subscription: unknown, onError: (err: unknown) => void): () => void {
  return () => {
    try {
      (subscription as Subscription | undefined)?.unsubscribe();
    } catch (err) {
      // RxJS gathers what teardowns threw into one UnsubscriptionError with a numbered,
      // multi-line message: each is reported on its own instead.
      if (err instanceof UnsubscriptionError) for (const inner of err.errors as unknown[]) onError(inner);
      else onError(err);
    }
  };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** The most ticks run back to back when subscribers keep asking for one from inside a tick. */
const MAX_TICKS_IN_A_ROW = 100;

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

/** Validates the options once, at construction, naming the bad option and quoting its value. */
function checkOptions(options: WorkerStateTrackerOptions): WorkerStateTrackerOptions {
  const fail = (message: string): never => {
    throw new TypeError(`WorkerStateTracker: ${message}`);
  };
  if (options === null || typeof options !== 'object') {
    return fail(`options must be an object with at least { metrics, tick }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) fail(`unknown option ${describe(key)}; known: ${[...OPTION_NAMES].join(', ')}`);
  }
  const m = options.metrics as Partial<Metrics> | undefined;
  if (m === null || typeof m !== 'object' || m.workersByState === undefined) {
    fail(`metrics must be the object newMetrics() returns, got ${describe(m)}`);
  }
  // Every collector the tracker writes, checked now: one missing would otherwise only show
  // as a failed record() much later.
  for (const [key, method] of COLLECTOR_METHODS) {
    const collector = (m as Record<string, unknown>)[key] as Record<string, unknown> | null | undefined;
    if (typeof collector?.[method] !== 'function') {
      fail(`metrics must be the object newMetrics() returns; its ${key} is ${describe(collector)}, not a collector`);
    }
  }
  if (!isValidTick(options.tick)) {
    fail(
      `tick must be a period in milliseconds (a number above 0, at most ${MAX_TICK_MS}) or an Observable, got ${describe(options.tick)}`,
    );
  }
  if (options.source !== undefined && typeof options.source !== 'function') {
    fail(`source must be a function returning a snapshot, got ${describe(options.source)}`);
  }
  const s = options.scheduler;
  if (s !== undefined && (s === null || typeof s !== 'object' || typeof s.schedule !== 'function')) {
    fail(`scheduler must be an RxJS scheduler, got ${describe(s)}`);
  }
  for (const flag of ['healGauges', 'strictSnapshots'] as const) {
    const v = options[flag];
    if (v !== undefined && typeof v !== 'boolean') fail(`${flag} must be a boolean, got ${describe(v)}`);
  }
  for (const bound of ['maxApps', 'maxRejectionsPerTick'] as const) {
    const v = options[bound];
    if (v !== undefined && !isPositiveInteger(v)) fail(`${bound} must be a positive integer, got ${describe(v)}`);
  }
  return options;
}
