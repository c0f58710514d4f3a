/**
 * Builders for worker records and snapshots, so tests say only what matters to them.
 */
import type { ActiveWorker, WorkerSnapshot } from '../../lib';

const EPOCH = new Date('2026-01-01T00:00:00Z');

/** A valid idle worker of app "app", with `overrides` applied. */
export function worker(overrides: Partial<ActiveWorker> = {}): ActiveWorker {
  return { appId: 'app', draining: false, startedAt: EPOCH, sessions: 0, idleSince: null, ...overrides };
}

/** A busy worker (`sessions` sessions, default 1). */
export function busy(sessions = 1, overrides: Partial<ActiveWorker> = {}): ActiveWorker {
  return worker({ sessions, ...overrides });
}

/** An idle worker. */
export function idle(overrides: Partial<ActiveWorker> = {}): ActiveWorker {
  return worker({ sessions: 0, idleSince: EPOCH, ...overrides });
}

/** A draining worker (with `sessions` sessions, default 0). */
export function draining(sessions = 0, overrides: Partial<ActiveWorker> = {}): ActiveWorker {
  return worker({ draining: true, sessions, ...overrides });
}

/** A snapshot from `{ workerId: worker }`. */
export function snapshot(workers: Record<string, ActiveWorker>): WorkerSnapshot {
  return new Map(Object.entries(workers));
}

/** A snapshot of `b` busy, `i` idle and `d` draining workers (ids w0, w1, …). */
export function snapshotOf(b: number, i: number, d: number): WorkerSnapshot {
  const map = new Map<string, ActiveWorker>();
  let n = 0;
  for (let k = 0; k < b; k += 1) map.set(`w${n++}`, busy());
  for (let k = 0; k < i; k += 1) map.set(`w${n++}`, idle());
  for (let k = 0; k < d; k += 1) map.set(`w${n++}`, draining());
  return map;
}
