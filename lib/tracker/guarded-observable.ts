/**
 * Observables whose subscribers cannot hurt the stream or the host.
 *
 * In RxJS 7 a subscriber callback that throws does not end a Subject, but the error is
 * rethrown on a timer (`reportUnhandledError`), where it becomes an uncaught exception that
 * takes the host process down. The tracker's public streams are wrapped here: a callback given
 * to `subscribe()` runs inside try/catch and what it throws is handed to `onThrow` (the
 * tracker reports it on `errors$`). Operators (`pipe(...)`) subscribe with RxJS's own
 * Subscriber objects; those are guarded the same way (a raw `new Subscriber(...)` forwards a
 * throw straight back into the Subject that called it, and so into `record()`), and stay
 * linked to the stream so that unsubscribing the chain still unsubscribes it. What a callback
 * at the end of a caller's own chain throws is that chain's business: RxJS reports it through
 * its `config.onUnhandledError`, which the caller owns; the tracker's stream never sees it.
 *
 * @packageDocumentation
 */
import { Observable, Subscriber, type Observer, type Subscription } from 'rxjs';

/** @internal */
export class GuardedObservable<T> extends Observable<T> {
  constructor(
    upstream: Observable<T>,
    private readonly onThrow: (err: unknown) => void,
  ) {
    super((subscriber) => upstream.subscribe(subscriber));
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription;
  /** @deprecated Pass an observer object instead, as RxJS 7 advises. */
  override subscribe(
    next?: ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription;
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    let isSubscriber = false;
    try {
      isSubscriber = observerOrNext instanceof Subscriber;
    } catch {
      // A Proxy whose getPrototypeOf trap throws: guarded below like any other object.
    }
    if (isSubscriber) {
      const downstream = observerOrNext as Subscriber<T>;
      const subscription = super.subscribe(this.guard(downstream));
      downstream.add(subscription);
      return subscription;
    }
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext === null || observerOrNext === undefined
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    return super.subscribe(this.guard(observer));
  }

  private guard(observer: Partial<Observer<T>>): Partial<Observer<T>> {
    const { onThrow } = this;
    const call = (fn: ((arg: never) => void) | undefined, self: unknown, arg?: unknown): void => {
      if (typeof fn !== 'function') return;
      try {
        (fn as (arg: unknown) => void).call(self, arg);
      } catch (err) {
        try {
          onThrow(err);
        } catch {
          // onThrow is the tracker's own reporter and does not throw; nothing left to tell.
        }
      }
    };
    let next: ((value: T) => void) | undefined;
    let errorFn: ((err: unknown) => void) | undefined;
    let completeFn: (() => void) | undefined;
    try {
      next = observer.next;
      errorFn = observer.error;
      completeFn = observer.complete;
    } catch (err) {
      onThrow(err);
    }
    return {
      next: (value: T) => call(next, observer, value),
      // Without an error callback a caller still must not crash the host: errors are only
      // ever reported by the tracker's streams, never sent down them, so this is a formality.
      error: (err: unknown) => call(errorFn, observer, err),
      complete: () => call(completeFn, observer),
    };
  }
}
