/**
 * The bounded label values of the metric contract, and the one function that maps an
 * unbounded input (an HTTP status code) onto them.
 *
 * Every label value a collector can carry is listed here. Prometheus keeps one time series per
 * distinct label set, so a label fed from caller input (a raw status code, a URL path) would
 * let traffic create series without limit. The sets below are small on purpose; the comment
 * above each says why it is bounded and what it deliberately leaves out.
 *
 * @packageDocumentation
 */

/*
 * Reason labels for `blockyard_workers_stopped_total`. Kept small and bounded: cardinality is
 * the number of reasons, shared by all apps. Finer detail (which health check, which signal)
 * belongs in logs and traces, not in a label.
 */
/** Shutdown, app stop or disable, or a drain that completed. */
export const ReasonGraceful = 'graceful';
/** A health check failed or the backend was unreachable. */
export const ReasonCrashed = 'crashed';
/** The autoscaler evicted a worker that had been idle too long. */
export const ReasonIdleTimeout = 'idle_timeout';

/** Why a worker stopped: the `reason` label of `blockyard_workers_stopped_total`. */
export type StopReason = typeof ReasonGraceful | typeof ReasonCrashed | typeof ReasonIdleTimeout;

/** Every stop reason, in contract order. Frozen: the label set is the contract. */
export const STOP_REASONS: readonly StopReason[] = Object.freeze([ReasonGraceful, ReasonCrashed, ReasonIdleTimeout]);

/*
 * Worker states for `blockyard_workers`. Derived from each tick's snapshot, never from
 * transitions, so transient states (starting, crashed) never appear: a worker shows up once a
 * snapshot holds it and disappears the moment a snapshot no longer does. Bounded: 3 series,
 * shared by all apps.
 */
/** One or more active sessions (and not draining). */
export const StateBusy = 'busy';
/** No active sessions and not draining. */
export const StateIdle = 'idle';
/** Marked for drain; no new sessions are routed to it. Draining wins over busy. */
export const StateDraining = 'draining';

/** A worker's derived state: the `state` label of `blockyard_workers`. */
export type WorkerState = typeof StateBusy | typeof StateIdle | typeof StateDraining;

/** Every worker state, in contract order. Frozen: the label set is the contract. */
export const WORKER_STATES: readonly WorkerState[] = Object.freeze([StateBusy, StateIdle, StateDraining]);

/**
 * The `app` label of proxy requests that resolve to no app (a 404 on an unknown name). A
 * sentinel keeps cardinality bounded against arbitrary URL paths: the path a client asked for
 * never becomes a label value.
 */
export const AppUnknown = 'unknown';

/**
 * The `app` label under which requests and health-check failures are counted once the
 * tracker has seen `maxApps` distinct app names. Nothing is lost (the totals stay right); only
 * the per-app split stops growing, so a flood of made-up names cannot create series without
 * limit. Chosen so that it cannot clash with a real app name a URL would carry.
 */
export const AppOverflow = '__overflow__';

/**
 * HTTP status classes: the `status` label of `blockyard_proxy_requests_total`. Bucketing
 * codes into classes rather than keeping raw codes keeps cardinality at five: upstream apps
 * and proxies emit long-tail codes (418, 499, 520, …) that would otherwise each open a series.
 */
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Every status class, lowest first. */
export const STATUS_CLASSES: readonly StatusClass[] = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx']);

/**
 * Returns the "Nxx" status class for an HTTP status code, exactly as the Go package does:
 * code >= 500 is 5xx, >= 400 is 4xx, >= 300 is 3xx, >= 200 is 2xx, and anything lower
 * (including 0 and negative numbers) is 1xx. Codes above 599 are 5xx.
 *
 * Total: it never throws. A value that is not a number (or is NaN) compares false everywhere
 * and lands in 1xx, as it would in Go's integer comparison chain; callers that need to reject
 * such values validate before calling (the tracker does).
 */
export function proxyStatusClass(code: number): StatusClass {
  if (code >= 500) return '5xx';
  if (code >= 400) return '4xx';
  if (code >= 300) return '3xx';
  if (code >= 200) return '2xx';
  return '1xx';
}

/**
 * Index of a status class in {@link STATUS_CLASSES}: the same comparisons as
 * {@link proxyStatusClass}, returning a small integer so hot paths can count into an array.
 * @internal
 */
export function statusClassIndex(code: number): number {
  if (code >= 500) return 4;
  if (code >= 400) return 3;
  if (code >= 300) return 2;
  if (code >= 200) return 1;
  return 0;
}
