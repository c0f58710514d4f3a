/**
 * Worker records, snapshots and counts, and the one rule that gives a worker its state.
 *
 * States are derived from the worker records on every reconciliation tick, never tracked as
 * transitions: whatever events were missed, one snapshot is enough to know the truth. The
 * rule (draining wins, else busy when it has sessions, else idle) is defined here, once, as
 * {@link stateCode}; every walk of a snapshot and {@link workerState} go through it.
 *
 * @packageDocumentation
 */
import { StateBusy, StateDraining, StateIdle, type WorkerState } from '../labels';

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

/** The counts of an empty snapshot. */
export const EMPTY_COUNTS: StateCounts = Object.freeze({
  busy: 0,
  idle: 0,
  draining: 0,
  workers: 0,
  sessions: 0,
});

/*
 * State codes: a worker's state as a small integer, so the walks compare and store states as
 * bytes (a Uint8Array per walk) instead of strings. STATE_OF_CODE turns one back into its label.
 */
/** The code of {@link StateBusy}. @internal */
export const CODE_BUSY = 0;
/** The code of {@link StateIdle}. @internal */
export const CODE_IDLE = 1;
/** The code of {@link StateDraining}. @internal */
export const CODE_DRAINING = 2;
/** What {@link stateCode} answers for a record whose `draining` or `sessions` is malformed. @internal */
export const INVALID_STATE = -1;
/** The state label of each code, indexed by code. @internal */
export const STATE_OF_CODE: readonly WorkerState[] = Object.freeze([StateBusy, StateIdle, StateDraining]);

/** Whether `value` is a valid session count: a non-negative integer. @internal */
export function isSessionCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/**
 * The worker-state rule: the state code of a worker from the two fields that decide it, or
 * {@link INVALID_STATE} when they are not a boolean and a non-negative integer. Draining wins;
 * else busy when it has sessions; else idle. Small, so the JIT inlines it into the walks.
 * @internal
 */
export function stateCode(draining: unknown, sessions: unknown): number {
  if (!isSessionCount(sessions)) return INVALID_STATE;
  if (draining === true) return CODE_DRAINING;
  if (draining !== false) return INVALID_STATE;
  return sessions > 0 ? CODE_BUSY : CODE_IDLE;
}

/**
 * The state of a worker by the rule the tracker counts with: draining wins, then busy when it
 * has sessions, else idle. `undefined` for a record the tracker would leave out (`draining`
 * not a boolean, `sessions` not a non-negative integer); {@link invalidWorkerReason} says why.
 */
export function workerState(worker: Pick<ActiveWorker, 'draining' | 'sessions'>): WorkerState | undefined {
  return STATE_OF_CODE[stateCode(worker.draining, worker.sessions)];
}
