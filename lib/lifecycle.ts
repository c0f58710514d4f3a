/**
 * One lifecycle for everything long-lived: an idempotent `close(): Promise<void>`.
 *
 * The tracker, the metrics server, the cluster aggregator, the tracing set-up and a cluster
 * worker's sharing all hold something (a timer, a socket, listeners, globals) until closed.
 * Each has `close()`: it resolves once what it holds is released, never rejects, and returns
 * the same promise (or an already resolved one) when called again, so a shutdown path can
 * close everything in any order without guarding. The names they had before stay as synonyms:
 * `tracker.stop()`, and the functions `initTracing` and `shareWorkerMetrics` give back, which
 * are callable and carry `close` too.
 *
 * @packageDocumentation
 */

/** Something that holds resources until it is closed. */
export interface Closable {
  /** Releases what it holds. Idempotent; resolves once done; never rejects. */
  close(): Promise<void>;
}

/**
 * A function that stops something, and carries the same as `close()`: `stop()` and
 * `stop.close()` are one idempotent call, resolving to the same promise.
 */
export type StopFunction = (() => Promise<void>) & Closable;

/**
 * Makes `stop` idempotent (later calls return the first call's promise) and callable both
 * ways: as a function and as `close()`.
 * @internal
 */
export function stopFunction(stop: () => Promise<void>): StopFunction {
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => (done ??= stop());
  return Object.assign(once, { close: once });
}
