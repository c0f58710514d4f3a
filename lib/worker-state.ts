/**
 * Worker records, snapshots, and the pure derivation of state counts from a snapshot.
 *
 * States are derived from the worker records on every reconciliation tick, never tracked as
 * transitions: whatever events were missed, one snapshot is enough to know the truth.
 *
 * @packageDocumentation
 */
import { StateBusy, StateDraining, StateIdle, type WorkerState } from './labels';
import { SnapshotReconciler } from './reconciler';
import { findWorkerProblem } from './worker-validation';

/**
 * One worker as the orchestrator knows it: the fields the Go server's `ActiveWorker` carries
 * that telemetry reads.
 */
export interface ActiveWorker {
  /** The app this worker serves. */
  appId: string;
  /** The bundle (app version) the worker runs, where known. */
  bundleId?: string;
  /** Marked for drain: no new sessions are routed to it. Wins over busy. */
  draining: boolean;
  /** Since when the worker has had no sessions; null or absent while it has some. */
  idleSince?: Date | null;
  /** When the worker was spawned. */
  startedAt: Date;
  /** The worker's count of active sessions: a non-negative integer. */
  sessions: number;
}

/** The orchestrator's worker records at one moment, keyed by worker id. */
export type WorkerSnapshot = ReadonlyMap<string, ActiveWorker>;

/**
 * Anything the tracker accepts as a snapshot: a {@link WorkerSnapshot}, or any iterable of
 * `[workerId, worker]` pairs (an array of entries, a generator). Worker ids are unique; in an
 * iterable that repeats one, the first entry counts and the repeat is rejected. Ids are not
 * otherwise checked (they label nothing; `transitions$` carries them as strings): the worker
 * record alone decides whether an entry counts.
 */
export type SnapshotInput = WorkerSnapshot | Iterable<readonly [string, ActiveWorker]>;

/** Counts derived from one snapshot. */
export interface StateCounts {
  /** Workers with one or more sessions that are not draining. */
  readonly busy: number;
  /** Workers with no sessions that are not draining. */
  readonly idle: number;
  /** Workers marked for drain, whatever their sessions. */
  readonly draining: number;
  /** Valid workers in the snapshot: busy + idle + draining. */
  readonly workers: number;
  /** Sessions over all valid workers. */
  readonly sessions: number;
}

/**
 * The state of a valid worker: draining wins, then busy when it has sessions, else idle.
 * Total over valid workers; validate with {@link invalidWorkerReason} first.
 */
export function workerState(worker: Pick<ActiveWorker, 'draining' | 'sessions'>): WorkerState {
  if (worker.draining) return StateDraining;
  return worker.sessions > 0 ? StateBusy : StateIdle;
}

/** How thoroughly worker records are checked: the tracker option `strictSnapshots` in a pure function. */
export interface WorkerValidationOptions {
  /**
   * Also check the fields that decide no count (`appId`, `startedAt`, `idleSince`,
   * `bundleId`). Default false: only `draining` and `sessions`, which decide how a worker counts.
   */
  readonly strict?: boolean;
}

/**
 * Why the tracker would reject `worker` as an {@link ActiveWorker}, naming the field and
 * quoting its value, or `undefined` when it counts. Never throws; a getter that throws is
 * reported as such.
 */
export function invalidWorkerReason(worker: unknown, options: WorkerValidationOptions = {}): string | undefined {
  return findWorkerProblem(worker, options.strict ?? false)?.message;
}

/**
 * Counts the workers of `snapshot` by state: draining wins, then busy when sessions > 0, else
 * idle. Pure and total: entries that are not valid workers are left out, and anything that is
 * not a snapshot (or whose iterator throws) counts as empty. The tracker derives its gauges
 * with the same walk.
 */
export function deriveStateCounts(snapshot: SnapshotInput, options: WorkerValidationOptions = {}): StateCounts {
  return new SnapshotReconciler({ strict: options.strict ?? false }).reconcile(snapshot) ?? EMPTY_COUNTS;
}

/** The counts of an empty snapshot. */
export const EMPTY_COUNTS: StateCounts = Object.freeze({
  busy: 0,
  idle: 0,
  draining: 0,
  workers: 0,
  sessions: 0,
});
