/**
 * The tracker's error channel: `errors$`, and the reports made before anyone listens.
 *
 * Nothing the tracker does at run time throws into its host; what it rejects or contains is
 * reported here instead. A host usually subscribes right after construction, but reports can
 * come before (a bad first snapshot pulled at once, a tick Observable that fails as it is
 * subscribed to), so the first subscriber also gets what was reported before it, up to
 * {@link EARLY_ERRORS_KEPT} reports.
 *
 *     report():  -a--b-------c---d--
 *     errors$:           ^(ab)c---d--   (^ = the first subscription)
 *
 * @packageDocumentation
 */
import { Subject, concat, defer, from, type Observable } from 'rxjs';
import { messageOf } from '../describe-value';
import { TelemetryError, type TelemetryErrorOrigin } from '../errors';
import { GuardedObservable } from './guarded-observable';

/** How many reports made before the first `errors$` subscriber are kept for it. */
const EARLY_ERRORS_KEPT = 100;

/** `errors$` and the way to report on it. @internal */
export class ErrorChannel {
  /** Every report, the early ones first for the first subscriber; see the module comment. */
  readonly errors$: Observable<TelemetryError>;

  private readonly subject = new Subject<TelemetryError>();
  private readonly early: TelemetryError[] = [];
  private subscribed = false;
  private counter: ((origin: TelemetryErrorOrigin) => void) | undefined;

  constructor() {
    const withEarlyOnes = defer(() => {
      this.subscribed = true;
      return concat(from(this.early.splice(0)), this.subject);
    });
    this.errors$ = new GuardedObservable(withEarlyOnes, (err) => {
      // A subscriber of errors$ itself threw: reporting it on errors$ could loop forever, so
      // it goes to Node's warning channel instead, which never throws.
      process.emitWarning(`blockyard-telemetry: an errors$ subscriber threw: ${messageOf(err)}`);
    });
  }

  /** Reports a problem: `origin`, a message naming the field and quoting the value, the cause. */
  report(origin: TelemetryErrorOrigin, message: string, field?: string, cause?: unknown): void {
    this.emit(new TelemetryError(origin, message, { field, cause }));
  }

  /**
   * Calls `count` with the origin of every later report, whether or not anyone subscribes (the
   * `selfMetrics` counter of reports).
   */
  countWith(count: (origin: TelemetryErrorOrigin) => void): void {
    this.counter = count;
  }

  /** Reports `error` as it is; kept for the first subscriber while there is none. */
  emit(error: TelemetryError): void {
    if (this.subject.closed) return;
    try {
      this.counter?.(error.origin);
    } catch {
      // The counter is a prom-client child the tracker made; reporting its failure here could
      // loop, and the report itself still goes out below.
    }
    if (this.subscribed) this.subject.next(error);
    else if (this.early.length < EARLY_ERRORS_KEPT) this.early.push(error);
  }

  /** Completes `errors$`; later reports are dropped. */
  close(): void {
    this.subject.complete();
  }
}
