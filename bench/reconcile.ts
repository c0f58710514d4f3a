/**
 * Reconcile: one tick of the tracker on a snapshot of N workers, against a hand-written loop
 * that counts the same snapshot and sets the same gauges with plain prom-client (the floor).
 */
import v8 from 'node:v8';
import { Gauge, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { WorkerStateTracker, newMetrics, type ActiveWorker } from '../lib';
import type { Comparison } from './harness';

/** A snapshot of `n` workers of `apps` apps: a third busy, a third idle, a third draining. */
export function workers(n: number, apps = 50): Map<string, ActiveWorker> {
  const map = new Map<string, ActiveWorker>();
  const started = new Date();
  for (let i = 0; i < n; i += 1) {
    map.set(`w${i}`, {
      appId: `app-${i % apps}`,
      draining: i % 3 === 2,
      startedAt: started,
      sessions: i % 3 === 0 ? 1 + (i % 5) : 0,
      idleSince: i % 3 === 1 ? started : null,
    });
  }
  return map;
}

/** Counts a snapshot by hand, as a host without this library would: the floor's loop. */
export function countByHand(snapshot: ReadonlyMap<string, ActiveWorker>): {
  busy: number;
  idle: number;
  draining: number;
  sessions: number;
} {
  let busy = 0;
  let idle = 0;
  let draining = 0;
  let sessions = 0;
  for (const w of snapshot.values()) {
    if (w.draining) draining += 1;
    else if (w.sessions > 0) busy += 1;
    else idle += 1;
    sessions += w.sessions;
  }
  return { busy, idle, draining, sessions };
}

/** The floor: count and set the gauges by hand with plain prom-client. */
function floorTick(
  snapshot: Map<string, ActiveWorker>,
  byState: Gauge<'state'>,
  active: Gauge,
  sessionsGauge: Gauge,
): void {
  const { busy, idle, draining, sessions } = countByHand(snapshot);
  byState.labels('busy').set(busy);
  byState.labels('idle').set(idle);
  byState.labels('draining').set(draining);
  active.set(busy + idle + draining);
  sessionsGauge.set(sessions);
}

/**
 * What changes in the snapshot's shape before each tick: nothing; a new worker arrives
 * (`'add'`: `transitions$` compares ids, all in place but the last); or the oldest leaves and a
 * new one arrives (`'replace-oldest'`, as when workers are replaced in turn: every later
 * worker's position shifts, so `transitions$` must match them by id).
 */
export type ShapeChange = 'none' | 'add' | 'replace-oldest';

/** What a reconcile case turns on besides the count of workers. */
export interface ReconcileCase {
  /** A subscriber of `transitions$`. */
  readonly transitions?: boolean;
  readonly strictSnapshots?: boolean;
  readonly change?: ShapeChange;
  /**
   * The workers spread over this many apps, with `byApp` and `countTransitions` on (nobody
   * subscribed to anything): the per-app cost against the same server-wide floor.
   */
  readonly byAppOver?: number;
}

/** One tick each of ours and the floor, on a snapshot of `n` workers. */
export function reconcileComparisons(
  n: number,
  { transitions: withTransitions = false, strictSnapshots = false, change = 'none', byAppOver }: ReconcileCase = {},
): { comparison: Comparison; stop: () => void } {
  const byApp = byAppOver !== undefined;
  const snapshot = workers(n, byAppOver);
  const ticks = new Subject<void>();
  const tracker = new WorkerStateTracker({
    metrics: newMetrics(new Registry()),
    tick: ticks,
    strictSnapshots,
    byApp,
    countTransitions: byApp,
  });
  tracker.feed(snapshot);
  let transitions = 0;
  const sub = withTransitions ? tracker.transitions$.subscribe(() => (transitions += 1)) : undefined;

  const floorRegistry = new Registry();
  const byState = new Gauge({ name: 'floor_workers', help: 'h', labelNames: ['state'], registers: [floorRegistry] });
  const active = new Gauge({ name: 'floor_active', help: 'h', registers: [floorRegistry] });
  const sessionsGauge = new Gauge({ name: 'floor_sessions', help: 'h', registers: [floorRegistry] });

  // Flip one worker per tick so the transitions path does real (but bounded) work.
  let flip = 0;
  const some = snapshot.get('w0') as ActiveWorker;
  let next = n;
  const changeShape = (): void => {
    if (change === 'none') return;
    const oldest = snapshot.keys().next().value as string;
    const record = snapshot.get(oldest) as ActiveWorker;
    if (change === 'replace-oldest') snapshot.delete(oldest);
    snapshot.set(`w${next++}`, change === 'add' ? { ...record } : record);
  };
  return {
    comparison: {
      name: `reconcile ${n.toLocaleString('en')} workers${byApp ? ` across ${byAppOver.toLocaleString('en')} apps (byApp, countTransitions)` : ''}${withTransitions ? ' + transitions$' : ''}${strictSnapshots ? ' (strictSnapshots)' : ''}${change === 'none' ? '' : change === 'add' ? ', one added each tick' : ', oldest replaced each tick'}`,
      unit: 'worker',
      unitsPerCall: n,
      ours: () => {
        some.draining = (flip += 1) % 2 === 0;
        changeShape();
        ticks.next();
      },
      floor: () => {
        some.draining = (flip += 1) % 2 === 0;
        changeShape();
        floorTick(snapshot, byState, active, sessionsGauge);
      },
      callsPerRound: Math.max(3, Math.round(2e6 / n)),
      goal: n >= 100_000 && !strictSnapshots && change === 'none' ? goalOf(withTransitions, byApp) : undefined,
    },
    stop: () => {
      sub?.unsubscribe();
      tracker.stop();
    },
  };
}

/** The goal of a steady tick at 100k workers or more, against the server-wide floor. */
function goalOf(withTransitions: boolean, byApp: boolean): number {
  if (byApp) return 2.5;
  return withTransitions ? 4 : 1.5;
}

/**
 * Bytes allocated by one tick, read from V8's new space (where every allocation lands) before
 * and after the tick. A tick allocates a few objects whatever the size (the counts, the
 * emitted transitions); nothing per worker while the snapshot keeps its shape, so the figure
 * must not grow with the number of workers. A tick during which a scavenge ran is measured
 * again; the median of several ticks is reported.
 */
export function bytesPerTick(n: number, withTransitions: boolean): number {
  const snapshot = workers(n);
  const ticks = new Subject<void>();
  const tracker = new WorkerStateTracker({ metrics: newMetrics(new Registry()), tick: ticks });
  tracker.feed(snapshot);
  const sub = withTransitions ? tracker.transitions$.subscribe(() => undefined) : undefined;
  const newSpaceUsed = (): number =>
    v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
  try {
    // Warm up until the walk runs optimized (unoptimized code allocates iterator results).
    for (let i = 0, warm = Math.max(50, 5e6 / n); i < warm; i += 1) ticks.next();
    const samples: number[] = [];
    while (samples.length < 9) {
      const before = newSpaceUsed();
      ticks.next();
      const after = newSpaceUsed();
      if (after >= before) samples.push(after - before); // else a scavenge ran: measure again
    }
    samples.sort((a, b) => a - b);
    return samples[4] as number;
  } finally {
    sub?.unsubscribe();
    tracker.stop();
  }
}
