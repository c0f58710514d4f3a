/**
 * `WorkerStateTracker`: the orchestrator's one object for telemetry. It wires three parts
 * together and exposes their streams:
 *
 * - the reconciliation loop (`reconciliation.ts`): snapshots in, `blockyard_workers{state}`
 *   (and the opt-in collectors) and `counts$` / `countsByApp$` / `transitions$` out, once per
 *   tick;
 * - the event recorder (the events family): `record()` into the counters and histograms,
 *   accepted events out on `events$`;
 * - the error channel (`error-channel.ts`): `errors$`, where everything the other two reject
 *   or contain is reported instead of thrown.
 *
 * The `app` label bound (`maxApps`) is one per tracker, shared by the event counters and
 * `blockyard_app_workers`, so the bound holds for the tracker as a whole.
 *
 *     tick$:         --t-----t-----t-----t--
 *     feed():        -a----b-----------c----
 *     counts$:       --A-----B-----B-----C--
 *     record():      ---e--x-----e----------   (x = invalid)
 *     events$:       ---e--------e----------
 *     errors$:       ------x----------------
 *
 * @packageDocumentation
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import { messageOf } from '../describe-value';
import type { TelemetryError } from '../errors';
import { BoundedAppLabels, EventRecorder, type TelemetryEvent } from '../events';
import { noteTrackedRegistry } from '../tracked-registries';
import { AppWorkersGauge } from './app-workers-gauge';
import { ErrorChannel } from './error-channel';
import { GuardedObservable } from './guarded-observable';
import { registerOptInCollectors } from './opt-in-collectors';
import { Reconciliation } from './reconciliation';
import type { WorkerTransition } from './state-diff';
import { TrackerHealth } from './tracker-health';
import { checkTrackerOptions, type WorkerStateTrackerOptions } from './tracker-options';
import { TransitionCounter } from './transition-counter';
import type { SnapshotInput, StateCounts } from './worker-state';

/**
 * Turns the orchestrator's worker snapshots and events into the contract's metrics, and into
 * streams callers can subscribe to.
 *
 * Construction validates the options and throws a `TypeError` naming the bad one; after that,
 * no method throws. Call {@link close} (or its synonym {@link stop}) when done: it completes
 * every stream and releases the timer (without the `scheduler` option, the timer never holds
 * the process open).
 */
export class WorkerStateTracker {
  /**
   * Counts derived at each tick, emitted after the gauge is set. A late subscriber gets the
   * latest counts at once. Nothing is emitted before the first snapshot.
   */
  readonly counts$: Observable<StateCounts>;
  /**
   * The counts of each app at each tick, emitted after the gauges are set: app id (a record's
   * `appId`; '' where it is not a string) → `{ busy, idle, draining, workers, sessions }`. Apps
   * with no worker are absent; the sums over apps are the counts `counts$` emits for the same
   * tick. A late subscriber gets the latest map at once, as with `counts$`, but a first one
   * (nobody else subscribed) gets its first map at the next tick: sessions by app are counted
   * only while someone subscribes, so that `byApp` alone costs a tick no work per worker. Costs
   * nothing while nobody subscribes and `byApp` is off.
   *
   *     tick$:         --t-----t-----t--
   *     countsByApp$:  --M-----M-----M--   (M = Map { app → counts } of that tick's snapshot)
   */
  readonly countsByApp$: Observable<ReadonlyMap<string, StateCounts>>;
  /**
   * Per-worker state changes between consecutive sampled snapshots (`null` = absent). Diffing
   * runs while this stream or `countsByApp$` has a subscriber, and all the time with `byApp` or
   * `countTransitions`. A subscriber that starts diffing starts from an empty baseline, so the
   * next tick reports every present worker as appearing (`from: null`); one that joins while
   * diffing runs gets the changes from the next tick on.
   */
  readonly transitions$: Observable<WorkerTransition>;
  /** Every accepted event, as recorded (a clean copy of what was passed to `record()`). */
  readonly events$: Observable<TelemetryEvent>;
  /**
   * Every rejected input and contained failure, with a message naming the field and value.
   * Reports made before anyone subscribed (for instance while the tracker was being built) are
   * kept, up to 100, and delivered to the first subscriber.
   */
  readonly errors$: Observable<TelemetryError>;

  private readonly errors = new ErrorChannel();
  private readonly reconciliation: Reconciliation;
  private readonly recorder: EventRecorder;
  private readonly events = new Subject<TelemetryEvent>();
  private closed = false;

  constructor(options: WorkerStateTrackerOptions) {
    const settings = checkTrackerOptions(options);
    noteTrackedRegistry(settings.metrics.registry); // for the warning of a scrape of the wrong registry
    const errors = this.errors;
    // Registered first: a name already taken throws here, before anything else is set up.
    const collectors = registerOptInCollectors(settings);
    const report = (error: TelemetryError): void => errors.emit(error);
    const apps = new BoundedAppLabels(settings.maxApps, report);
    const health = collectors.health === undefined ? undefined : new TrackerHealth(collectors.health);
    if (health !== undefined) errors.countWith((origin) => health.countError(origin));
    this.reconciliation = new Reconciliation(settings, errors, {
      appWorkers: collectors.appWorkers === undefined ? undefined : new AppWorkersGauge(collectors.appWorkers, apps),
      transitionCounter:
        collectors.transitions === undefined ? undefined : new TransitionCounter(collectors.transitions),
      health,
    });
    this.recorder = new EventRecorder(settings.metrics, { apps, report });
    // What a subscriber throws is reported, the stream named in the message and in `field`;
    // it never ends a stream.
    const guarded = <T>(stream: Observable<T>, name: string): Observable<T> =>
      new GuardedObservable(stream, (err) =>
        errors.report('subscriber', `a subscriber of ${name} threw: ${messageOf(err)}`, name, err),
      );
    this.counts$ = guarded(this.reconciliation.counts$, 'counts$');
    this.countsByApp$ = guarded(this.reconciliation.countsByApp$, 'countsByApp$');
    this.transitions$ = guarded(this.reconciliation.transitions$, 'transitions$');
    this.events$ = guarded(this.events.asObservable(), 'events$');
    this.errors$ = errors.errors$;
    this.reconciliation.start();
  }

  /**
   * Makes `snapshot` the latest snapshot, sampled at the next tick. Rejected (on `errors$`)
   * unless it is a Map or an iterable of `[workerId, worker]` pairs; the previous snapshot then
   * stays. Its entries are checked at the tick that samples it.
   */
  feed(snapshot: SnapshotInput): void {
    this.reconciliation.feed(snapshot);
  }

  /**
   * Feeds every snapshot `snapshots$` emits, until the returned Subscription is unsubscribed,
   * the Observable ends, or the tracker stops. An error of `snapshots$` is reported on
   * `errors$`; the latest snapshot it fed stays in use.
   */
  connect(snapshots$: Observable<SnapshotInput>): Subscription {
    return this.reconciliation.connect(snapshots$);
  }

  /**
   * Records one event. Invalid events are reported on `errors$` and not recorded; valid ones
   * go into the collectors and out on `events$`. Never throws.
   */
  record(event: TelemetryEvent): void {
    if (this.closed) return;
    const accepted = this.recorder.record(event);
    // Nobody listening is the common case on this hot path: skip RxJS's delivery loop then.
    if (accepted !== undefined && this.events.observed) this.events.next(accepted);
  }

  /**
   * Does nothing: events are written into the collectors as they are recorded, so nothing is
   * ever buffered. Kept so that code written when counts were buffered still compiles.
   * @deprecated Nothing to flush; remove the call.
   */
  flush(): void {
    // Nothing is buffered.
  }

  /**
   * Stops ticking, completes every stream and releases the timer.
   * Idempotent; later calls to `feed`, `connect` and `record` do nothing. The collectors keep
   * their values (a scrape after it shows the last state). Resolves once done (at once: the
   * tracker holds nothing that closes asynchronously); never rejects.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.reconciliation.close();
      this.events.complete();
      this.errors.close();
    }
    return Promise.resolve();
  }

  /** The same as {@link close}, without the promise: what `tracker.stop()` has always done. */
  stop(): void {
    void this.close();
  }
}
