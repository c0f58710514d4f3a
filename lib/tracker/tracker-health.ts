/**
 * The tracker's own health (the `selfMetrics` option): when a tick last completed, how long
 * ticks take, how old the reconciled snapshot was, how many entries it left out, and how many
 * problems it reported, by origin.
 *
 * Without these, an orchestrator that stops feeding snapshots is invisible: the tracker keeps
 * reconciling the last snapshot it got, and `blockyard_workers` looks healthy while it is
 * frozen. The snapshot age grows from the moment feeding stops; the last reconcile timestamp
 * stops moving when ticks stop.
 *
 *     feed():         -a----------------------
 *     tick:           ---t-----t-----t-----t--
 *     snapshot age:   ---2-----8-----14----20-   (time since a was fed; 0 with `source`)
 *     last reconcile: ---T1----T2----T3----T4-   (Unix time of each completed tick)
 *
 * Times are read when they happen: the tick's duration and the snapshot's age from
 * `performance.now()` (monotonic), the timestamp from `Date.now()`. Both are the global ones
 * at the time of the call, so jest's fake timers drive them in tests.
 *
 * @packageDocumentation
 */
import type { Counter } from 'prom-client';
import { TELEMETRY_ERROR_ORIGINS, type TelemetryErrorOrigin } from '../errors';
import type { HealthCollectors } from './opt-in-collectors';

/** A monotonic clock in milliseconds: `performance.now()`, as it is at the time of the call. @internal */
export function monotonicNow(): number {
  return globalThis.performance.now();
}

/** What one completed tick tells the health collectors. @internal */
export interface CompletedTick {
  /** {@link monotonicNow} when the tick started. */
  readonly startedAt: number;
  /** Milliseconds since the tick's snapshot was handed over; 0 when it was pulled. */
  readonly snapshotAgeMs: number;
  /** Snapshot entries the tick left out. */
  readonly invalidWorkers: number;
}

/** Keeps the `selfMetrics` collectors current. @internal */
export class TrackerHealth {
  private readonly errorsByOrigin: ReadonlyMap<TelemetryErrorOrigin, Counter.Internal>;

  constructor(private readonly collectors: HealthCollectors) {
    // Every origin from the start at 0: a first error shows as an increase, not a new series.
    this.errorsByOrigin = new Map(
      TELEMETRY_ERROR_ORIGINS.map((origin) => {
        const child = collectors.errors.labels(origin);
        child.inc(0);
        return [origin, child];
      }),
    );
  }

  /** Counts one report on `errors$`. */
  countError(origin: TelemetryErrorOrigin): void {
    this.errorsByOrigin.get(origin)?.inc();
  }

  /** Records a tick that completed now. */
  tickCompleted(tick: CompletedTick): void {
    const c = this.collectors;
    c.reconcileDuration.observe(Math.max(0, monotonicNow() - tick.startedAt) / 1000);
    c.lastReconcile.set(Date.now() / 1000);
    c.snapshotAge.set(tick.snapshotAgeMs / 1000);
    c.invalidWorkers.set(tick.invalidWorkers);
  }
}
