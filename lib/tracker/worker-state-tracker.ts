/**
 * `WorkerStateTracker`: the orchestrator's one object for telemetry. It wires three parts
 * together and exposes their streams:
 *
 * - the reconciliation loop (`reconciliation.ts`): snapshots in, `blockyard_workers{state}`
 *   and `counts$` / `transitions$` out, once per tick;
 * - the event recorder (the events family): `record()` into the counters and histograms,
 *   accepted events out on `events$`;
 * - the error channel (`error-channel.ts`): `errors$`, where everything the other two reject
 *   or contain is reported instead of thrown.
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
import { EventRecorder, type TelemetryEvent } from '../events';
import { ErrorChannel } from './error-channel';
import { GuardedObservable } from './guarded-observable';
import { Reconciliation } from './reconciliation';
import type { WorkerTransition } from './state-diff';
import { checkTrackerOptions, type WorkerStateTrackerOptions } from './tracker-options';
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
    const errors = this.errors;
    this.reconciliation = new Reconciliation(settings, errors);
    this.recorder = new EventRecorder(settings.metrics, {
      maxApps: settings.maxApps,
      report: (error) => errors.emit(error),
    });
    // What a subscriber throws is reported, naming the stream; it never ends a stream.
    const guarded = <T>(stream: Observable<T>, name: string): Observable<T> =>
      new GuardedObservable(stream, (err) =>
        errors.report('subscriber', `a subscriber threw: ${messageOf(err)}`, name, err),
      );
    this.counts$ = guarded(this.reconciliation.counts$, 'counts$');
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
   * Stops ticking, flushes buffered counts, completes every stream and releases the timer.
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
