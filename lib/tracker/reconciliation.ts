/**
 * The reconciliation loop: snapshots in, gauges set and `counts$` / `transitions$` /
 * `countsByApp$` out, once per tick.
 *
 *     tick$:         --t-----t-----t-----t--
 *     feed():        -a----b-----------c----   (snapshots pushed, connected or pulled)
 *     counts$:       --A-----B-----B-----C--   (counts of the latest snapshot at each tick)
 *     countsByApp$:  --A'----B'----B'----C'-   (the same, by app)
 *     transitions$:  --x-----y-----------z--   (per-worker changes between sampled snapshots)
 *
 * Each tick samples the latest snapshot (or pulls one from `source`), walks it once
 * ({@link SnapshotReconciler}), sets the three `blockyard_workers{state}` children (zeros
 * included) and, with `healGauges`, the worker and session gauges, then the opt-in collectors
 * (`byApp`, `countTransitions`, `selfMetrics`), then publishes. Nothing here throws into the
 * caller: rejected input and contained failures go to the error channel, and the next tick
 * runs.
 *
 * The walk diffs each worker's state against the last tick's (for transitions) only while
 * something needs it: a subscriber of `transitions$` or `countsByApp$`, or `byApp` or
 * `countTransitions`. Per-app counts follow from those transitions ({@link AppTally}), kept while
 * `byApp` is on or `countsByApp$` has a subscriber.
 *
 * @packageDocumentation
 */
import {
  ReplaySubject,
  Subject,
  Subscription,
  UnsubscriptionError,
  defer,
  finalize,
  isObservable,
  type Observable,
} from 'rxjs';
import { describeValue, messageOf } from '../describe-value';
import { StateBusy, StateDraining, StateIdle } from '../labels';
import { AppTally } from './app-tally';
import type { AppWorkersGauge } from './app-workers-gauge';
import type { ErrorChannel } from './error-channel';
import { NOT_RECONCILED, SnapshotReconciler, isSnapshotLike } from './snapshot-reconciler';
import type { WorkerTransition } from './state-diff';
import { tickStream } from './tick-stream';
import { monotonicNow, type TrackerHealth } from './tracker-health';
import type { TrackerSettings } from './tracker-options';
import type { TransitionCounter } from './transition-counter';
import type { SnapshotInput, StateCounts } from './worker-state';

/** The most ticks run back to back when subscribers keep asking for one from inside a tick. */
const MAX_TICKS_IN_A_ROW = 100;

/** A gauge child the tick sets. */
interface Settable {
  set(value: number): void;
}

/** What the opt-in options add to each tick; each `undefined` while its option is off. @internal */
export interface TickExtras {
  /** `byApp`: `blockyard_app_workers`. */
  readonly appWorkers: AppWorkersGauge | undefined;
  /** `countTransitions`: `blockyard_worker_transitions_total`. */
  readonly transitionCounter: TransitionCounter | undefined;
  /** `selfMetrics`: the tracker's own health. */
  readonly health: TrackerHealth | undefined;
}

/** Snapshots, ticks and what each tick derives. @internal */
export class Reconciliation {
  /** Counts derived at each tick, after the gauges are set; replays the latest. */
  readonly counts$: Observable<StateCounts>;
  /**
   * Per-worker state changes between consecutive sampled snapshots, found while diffing runs
   * (see the module comment). A subscriber that starts diffing starts it from an empty
   * baseline: the next tick reports every present worker as appearing.
   */
  readonly transitions$: Observable<WorkerTransition>;
  /**
   * Counts by app id at each tick, after the gauges are set; replays the latest while it has
   * subscribers. A first subscriber gets its first map at the next tick.
   */
  readonly countsByApp$: Observable<ReadonlyMap<string, StateCounts>>;

  private readonly counts = new ReplaySubject<StateCounts>(1);
  private readonly transitions = new Subject<WorkerTransition>();
  /** Made anew when its first subscriber comes, so that it never replays a map gone stale. */
  private byApp = new ReplaySubject<ReadonlyMap<string, StateCounts>>(1);
  private readonly reconciler: SnapshotReconciler;
  private readonly gauges: { readonly busy: Settable; readonly idle: Settable; readonly draining: Settable };
  private readonly subscriptions = new Subscription();
  private readonly tally = new AppTally();
  private latest: SnapshotInput | undefined;
  /** {@link monotonicNow} when {@link latest} was handed over. */
  private latestFedAt = 0;
  /** The age of the snapshot the running tick sampled, in milliseconds (0 when pulled). */
  private sampledAgeMs = 0;
  private transitionSubscribers = 0;
  private byAppSubscribers = 0;
  /** Whether the tally is kept (byApp, or a countsByApp$ subscriber). */
  private tallying = false;
  /** Whether the tally holds the counts of the last completed tick (and, if it has them, its sessions). */
  private tallyCurrent = false;
  private closed = false;
  private ticking = false;
  private tickAgain = false;

  constructor(
    private readonly settings: TrackerSettings,
    private readonly errors: ErrorChannel,
    private readonly extras: TickExtras,
  ) {
    const byState = settings.metrics.workersByState;
    this.gauges = {
      busy: byState.labels(StateBusy),
      idle: byState.labels(StateIdle),
      draining: byState.labels(StateDraining),
    };
    this.reconciler = new SnapshotReconciler({
      strict: settings.strictSnapshots,
      maxRejectionsPerWalk: settings.maxRejectionsPerTick,
      report: (problem) => errors.report('snapshot', problem.message, problem.field),
    });
    this.counts$ = this.counts.asObservable();
    this.transitions$ = this.countingSubscribers(
      () => {
        this.transitionSubscribers += 1;
        return this.transitions;
      },
      () => (this.transitionSubscribers -= 1),
    );
    this.countsByApp$ = this.countingSubscribers(
      () => {
        if (this.byAppSubscribers === 0 && !this.closed) {
          this.byApp = new ReplaySubject(1);
          if (this.byAppCurrent()) this.byApp.next(this.tally.countsByApp());
        }
        this.byAppSubscribers += 1;
        return this.byApp;
      },
      () => (this.byAppSubscribers -= 1),
    );
    this.updateDiffing();
  }

  /**
   * A stream whose subscribers diffing follows: `subscribe` counts one in and returns what it
   * gets, `unsubscribe` counts it out, and diffing is updated after each.
   */
  private countingSubscribers<T>(subscribe: () => Observable<T>, unsubscribe: () => void): Observable<T> {
    return defer(() => {
      const stream = subscribe();
      this.updateDiffing();
      return stream;
    }).pipe(
      finalize(() => {
        unsubscribe();
        this.updateDiffing();
      }),
    );
  }

  /**
   * Turns diffing and per-app counting on or off for what needs them now. Diffing that stops
   * forgets its baseline, so diffing that starts again starts from an empty one.
   */
  private updateDiffing(): void {
    const tallying = this.settings.byApp || this.byAppSubscribers > 0;
    const diffing = tallying || this.settings.countTransitions || this.transitionSubscribers > 0;
    if (!diffing && this.reconciler.trackTransitions) this.reconciler.resetTransitions();
    this.reconciler.trackTransitions = diffing;
    if (tallying !== this.tallying) {
      this.tallying = tallying;
      this.tallyCurrent = false;
      this.reconciler.useAppTally(tallying ? this.tally : undefined);
    }
    // Sessions by app are for countsByApp$ alone: without a subscriber, a tick adds nothing
    // per worker to the diff's cost, byApp or not.
    this.tally.sessionsWanted = this.byAppSubscribers > 0;
  }

  /**
   * {@link monotonicNow} for the health collectors; 0 without them, so that a tick without
   * `selfMetrics` reads no clock.
   */
  private clock(): number {
    return this.extras.health === undefined ? 0 : monotonicNow();
  }

  /** Whether the tally holds the counts and sessions by app of the last completed tick. */
  private byAppCurrent(): boolean {
    return this.tallyCurrent && this.tally.hasSessions;
  }

  /** Subscribes to the ticks; what fails there is reported, never thrown. */
  start(): void {
    const reportTick = (message: string, cause?: unknown): void =>
      this.errors.report('tick', message, undefined, cause);
    let ticks: Subscription | undefined;
    try {
      ticks = tickStream(this.settings.tick, this.settings.scheduler, reportTick).subscribe({
        next: () => this.onTick(),
        // Only a caller's scheduler can get here (a caller's tick Observable is retried, then
        // completes): without this handler RxJS would rethrow the error on a timer, in the host.
        error: (err: unknown) => reportTick(`the tick scheduler failed; ticking has stopped: ${messageOf(err)}`, err),
      });
    } catch (err) {
      // A caller's scheduler or tick Observable that throws as it is subscribed to.
      reportTick(`subscribing to the ticks threw; ticking has stopped: ${messageOf(err)}`, err);
    }
    this.subscriptions.add(
      guardedTeardown(ticks, (err) => reportTick(`ending the ticks threw: ${messageOf(err)}`, err)),
    );
  }

  /** See `WorkerStateTracker.feed`. */
  feed(snapshot: SnapshotInput): void {
    if (this.closed) return;
    if (!isSnapshotLike(snapshot)) {
      this.errors.report(
        'snapshot',
        `snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${describeValue(snapshot)}`,
        'snapshot',
      );
      return;
    }
    this.latest = snapshot;
    this.latestFedAt = this.clock();
  }

  /** See `WorkerStateTracker.connect`. */
  connect(snapshots$: Observable<SnapshotInput>): Subscription {
    if (this.closed) return Subscription.EMPTY;
    const report = (message: string, field?: string, cause?: unknown): void =>
      this.errors.report('source', message, field, cause);
    if (!isObservableSafe(snapshots$)) {
      report(`connect() needs an Observable of snapshots, got ${describeValue(snapshots$)}`, 'snapshots$');
      return Subscription.EMPTY;
    }
    const subscription = new Subscription();
    let inner: Subscription | undefined;
    try {
      inner = snapshots$.subscribe({
        next: (snapshot) => this.feed(snapshot),
        error: (err: unknown) => report(`the connected snapshot Observable errored: ${messageOf(err)}`, undefined, err),
      });
    } catch (err) {
      report(`subscribing to the snapshot Observable threw: ${messageOf(err)}`, undefined, err);
    }
    // The Observable's own teardown may throw (or its subscribe may have returned something
    // that is not a Subscription): that is reported, never thrown out of unsubscribe() or stop().
    subscription.add(
      guardedTeardown(inner, (err) =>
        report(`unsubscribing from the snapshot Observable threw: ${messageOf(err)}`, undefined, err),
      ),
    );
    this.subscriptions.add(subscription);
    subscription.add(() => this.subscriptions.remove(subscription));
    return subscription;
  }

  /** Stops ticking, lets go of the snapshot and completes the streams. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.subscriptions.unsubscribe();
    } catch (err) {
      // Every teardown added is guarded; this only keeps close() whole if one ever is not.
      this.errors.report('source', `stopping threw: ${messageOf(err)}`, undefined, err);
    }
    this.latest = undefined;
    this.counts.complete();
    this.byApp.complete();
    this.transitions.complete();
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
          this.errors.report(
            'tick',
            `subscribers asked for a tick from inside each of ${MAX_TICKS_IN_A_ROW} ticks in a row; the next one was dropped`,
          );
          break;
        }
        runs += 1;
        this.tickAgain = false;
        this.tickOnce();
      } while (this.askedAgain());
    } finally {
      this.ticking = false;
    }
  }

  /** Whether a subscriber asked for another tick during the one that ran, and did not close. */
  private askedAgain(): boolean {
    return this.tickAgain && !this.closed;
  }

  /**
   * Samples, reconciles, sets the collectors and publishes; whatever throws is reported and
   * the next tick runs. The tick's duration (for `selfMetrics`) runs from sampling to the last
   * collector set: what subscribers do with the result is theirs.
   */
  private tickOnce(): void {
    try {
      const startedAt = this.clock();
      const snapshot = this.sample();
      if (snapshot === undefined) return;
      const counts = this.reconciler.reconcile(snapshot);
      if (counts === NOT_RECONCILED) return;
      this.setGauges(counts);
      this.setOptInCollectors(startedAt);
      this.publish(counts);
    } catch (err) {
      this.errors.report('tick', `a tick failed: ${messageOf(err)}`, undefined, err);
    }
  }

  /**
   * The snapshot for this tick: pulled from `source()` when given, else the latest fed. Notes
   * its age in {@link sampledAgeMs}.
   */
  private sample(): SnapshotInput | undefined {
    const source = this.settings.source;
    this.sampledAgeMs = this.clock() - this.latestFedAt;
    if (source === undefined) return this.latest;
    let pulled: unknown;
    try {
      pulled = source();
    } catch (err) {
      this.errors.report('source', `source() threw: ${messageOf(err)}`, undefined, err);
      return undefined;
    }
    if (pulled === undefined) return this.latest;
    if (!isSnapshotLike(pulled)) {
      this.errors.report(
        'source',
        `source() must return a Map, an iterable of [workerId, worker] pairs or undefined, got ${describeValue(pulled)}`,
        'snapshot',
      );
      return undefined;
    }
    this.latest = pulled;
    this.latestFedAt = this.clock();
    this.sampledAgeMs = 0;
    return pulled;
  }

  /** Sets the contract's gauges from one tick's counts. */
  private setGauges(counts: StateCounts): void {
    this.contain('the gauges', () => {
      this.gauges.busy.set(counts.busy);
      this.gauges.idle.set(counts.idle);
      this.gauges.draining.set(counts.draining);
      if (this.settings.healGauges) {
        this.settings.metrics.workersActive.set(counts.workers);
        this.settings.metrics.sessionsActive.set(counts.sessions);
      }
    });
  }

  /**
   * Brings what the options added up to date with the tick that just completed: the per-app
   * series, the transition counts, then the tracker's own health (last, so that the tick's
   * duration includes the rest). Each is contained on its own.
   */
  private setOptInCollectors(startedAt: number): void {
    const { appWorkers, transitionCounter, health } = this.extras;
    const reconciler = this.reconciler;
    if (this.tallying) {
      if (appWorkers !== undefined) this.contain('blockyard_app_workers', () => appWorkers.update(this.tally));
      this.tally.settle();
      this.tallyCurrent = true;
    }
    if (transitionCounter !== undefined) {
      this.contain('blockyard_worker_transitions_total', () => transitionCounter.count(reconciler.transitionCodes));
    }
    if (health !== undefined) {
      this.contain('the tracker health metrics', () =>
        health.tickCompleted({
          startedAt,
          snapshotAgeMs: this.sampledAgeMs,
          invalidWorkers: reconciler.rejectedByLastWalk,
        }),
      );
    }
  }

  /** Runs `set`, reporting rather than throwing what it throws. */
  private contain(what: string, set: () => void): void {
    try {
      set();
    } catch (err) {
      this.errors.report('tick', `setting ${what} failed: ${messageOf(err)}`, undefined, err);
    }
  }

  /** Publishes one tick: its transitions, its counts by app, then its counts. */
  private publish(counts: StateCounts): void {
    if (this.transitionSubscribers > 0) {
      for (const transition of this.reconciler.transitions) this.transitions.next(transition);
    }
    if (this.byAppSubscribers > 0 && this.byAppCurrent()) this.byApp.next(this.tally.countsByApp());
    this.counts.next(counts);
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
