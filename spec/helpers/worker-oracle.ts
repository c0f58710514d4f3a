/**
 * The rules by which a worker record counts, written out again from the docs (docs/tracker.md,
 * CONTRACT.md) rather than taken from lib/: the one oracle tests compare the tracker with, so
 * that no test passes by comparing the library with itself.
 *
 * - A record counts when `draining` is a boolean and `sessions` a non-negative integer; with
 *   strict validation also when `appId` is a non-empty string, `startedAt` a valid Date,
 *   `idleSince` a valid Date, null or absent, and `bundleId` a string or absent. A record whose
 *   fields cannot be read (a getter throws) does not count.
 * - Its state: draining wins, then busy when it has sessions, else idle.
 */

/** A worker state, as the oracle names it. */
export type OracleState = 'busy' | 'idle' | 'draining';

/** Counts by state, and the totals, as the tracker's `counts$` should emit them. */
export interface OracleCounts {
  readonly busy: number;
  readonly idle: number;
  readonly draining: number;
  readonly workers: number;
  readonly sessions: number;
}

function isValidDate(value: unknown): boolean {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** The state `worker` counts in, or `undefined` when it does not count. Never throws. */
export function oracleState(worker: unknown, strict = false): OracleState | undefined {
  try {
    if (worker === null || typeof worker !== 'object') return undefined;
    const w = worker as Record<string, unknown>;
    const draining = w.draining;
    const sessions = w.sessions;
    if (typeof draining !== 'boolean') return undefined;
    if (typeof sessions !== 'number' || !Number.isInteger(sessions) || sessions < 0) return undefined;
    if (strict) {
      if (typeof w.appId !== 'string' || w.appId === '') return undefined;
      if (!isValidDate(w.startedAt)) return undefined;
      if (w.idleSince !== undefined && w.idleSince !== null && !isValidDate(w.idleSince)) return undefined;
      if (w.bundleId !== undefined && typeof w.bundleId !== 'string') return undefined;
    }
    if (draining) return 'draining';
    return sessions > 0 ? 'busy' : 'idle';
  } catch {
    return undefined;
  }
}

/** The counts of `entries` (`[workerId, worker]` pairs with unique ids). */
export function oracleCounts(entries: Iterable<readonly [unknown, unknown]>, strict = false): OracleCounts {
  const counts = { busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 };
  for (const [, worker] of entries) {
    const state = oracleState(worker, strict);
    if (state === undefined) continue;
    counts[state] += 1;
    counts.workers += 1;
    counts.sessions += (worker as { sessions: number }).sessions;
  }
  return counts;
}
