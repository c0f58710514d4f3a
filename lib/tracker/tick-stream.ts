/**
 * Where reconciliation ticks come from.
 *
 * A period in milliseconds becomes a timer; any Observable is taken as it is, so an
 * orchestrator can reconcile at the end of its own autoscaler tick, as the Go server does.
 *
 *     period 1000 ms:  ---------t---------t---------t--   (t every 1000 ms)
 *     tick$ given:     --t--t-----------t-------------   (ticks whenever the caller emits)
 *
 * @packageDocumentation
 */
import { EMPTY, Observable, interval, isObservable, retry, tap, timer, type SchedulerLike } from 'rxjs';
import { MAX_TIMER_MS } from '../options';

/** How many times in a row a caller's tick Observable may error before ticking stops. @internal */
export const MAX_TICK_RETRIES = 5;

/**
 * Whether `tick` is a valid period, an integer number of milliseconds from 1 to
 * {@link MAX_TIMER_MS} (Node's timers truncate a fraction and cannot wait longer), or an
 * Observable. @internal
 */
export function isValidTick(tick: unknown): tick is number | Observable<unknown> {
  return (
    isObservable(tick) || (Number.isSafeInteger(tick) && (tick as number) >= 1 && (tick as number) <= MAX_TIMER_MS)
  );
}

/**
 * A timer that does not hold the process open: telemetry must never keep a host alive that
 * has finished its work (RxJS's `interval` on the default scheduler would). Used when no
 * scheduler is given; with one (tests), RxJS's `interval` on that scheduler is used.
 */
function unrefInterval(periodMs: number): Observable<number> {
  return new Observable<number>((subscriber) => {
    let n = 0;
    const handle = setInterval(() => subscriber.next(n++), periodMs);
    handle.unref();
    return () => clearInterval(handle);
  });
}

/**
 * The tick stream for `tick`. A caller's Observable that errors is reported through `onError`
 * and subscribed again (after a turn of the scheduler), up to {@link MAX_TICK_RETRIES} times in
 * a row; a tick in between resets the count. After that, ticking stops and `onError` says so;
 * everything else of the tracker keeps working. A caller's Observable that completes is
 * reported too: the gauges would otherwise stay frozen at the last tick's counts without a
 * word (the tracker's own stop() unsubscribes, which is not a completion).
 * @internal
 */
export function tickStream(
  tick: number | Observable<unknown>,
  scheduler: SchedulerLike | undefined,
  onError: (message: string, cause: unknown) => void,
): Observable<unknown> {
  if (typeof tick === 'number') {
    return scheduler === undefined ? unrefInterval(tick) : interval(tick, scheduler);
  }
  let gaveUp = false;
  return tick.pipe(
    retry({
      resetOnSuccess: true,
      delay: (err: unknown, attempt: number) => {
        if (attempt > MAX_TICK_RETRIES) {
          gaveUp = true;
          onError(`the tick Observable errored ${attempt} times in a row; ticking has stopped`, err);
          return EMPTY;
        }
        onError(`the tick Observable errored; subscribing again (attempt ${attempt} of ${MAX_TICK_RETRIES})`, err);
        return scheduler === undefined ? timer(0) : timer(0, scheduler);
      },
    }),
    tap({
      complete: () => {
        // Giving up after the retries completes the stream too; that was reported already.
        if (!gaveUp) onError('the tick Observable completed; ticking has stopped', undefined);
      },
    }),
  );
}
