/**
 * The reconciliation walk: one pass over a snapshot that validates each entry, counts workers
 * by state and, when asked, diffs each worker's state against the previous walk.
 *
 * This runs on every tick over every worker, so it is written for the hot path: entries are
 * checked with plain comparisons (no allocation for a valid worker), Maps are walked with
 * `forEach` (no `[key, value]` array per entry), and the per-worker state kept for diffing is
 * updated in place, so a snapshot that has not changed shape allocates nothing per worker.
 *
 * @packageDocumentation
 */
import { describe } from './describe';
import { messageOf } from './errors';
import { StateBusy, StateDraining, StateIdle, type WorkerState } from './labels';
import type { StateCounts } from './worker-state';
import { findWorkerProblem } from './worker-validation';

/**
 * One worker's change of derived state between two consecutive sampled snapshots. `null`
 * means absent: `from: null` is a worker that appeared, `to: null` one that left (or whose
 * record stopped being valid, since it no longer counts).
 */
export interface WorkerTransition {
  readonly workerId: string;
  readonly appId: string;
  readonly from: WorkerState | null;
  readonly to: WorkerState | null;
}

/** A rejected snapshot entry: the worker id where known, the field, and why. @internal */
export interface EntryRejection {
  readonly workerId: unknown;
  readonly field: string;
  readonly message: string;
}

/** Options of a {@link SnapshotReconciler}. @internal */
export interface ReconcilerOptions {
  /** Check every field of every entry (default true). Off, only the fields counted are read. */
  readonly validate?: boolean;
  /** Called for each rejected entry, at most `maxRejectionsPerWalk` times a walk. */
  readonly onRejected?: (rejection: EntryRejection) => void;
  /** Rejections described one by one per walk; the rest are summed up in one more report. */
  readonly maxRejectionsPerWalk?: number;
}

// State codes used in the hot loop instead of strings.
const BUSY = 0;
const IDLE = 1;
const DRAINING = 2;
const INVALID = -1;
const STATE_OF_CODE: readonly WorkerState[] = [StateBusy, StateIdle, StateDraining];

/** Per-worker state kept between walks for diffing; mutated in place. */
interface TrackedWorker {
  appId: string;
  /** The state as of the last completed walk; null for a worker first seen in this walk. */
  committed: WorkerState | null;
  /** The state found by the walk in progress. */
  pending: WorkerState | null;
  /** The walk that last saw this worker. */
  seenInWalk: number;
}

/**
 * Walks snapshots, one at a time. Keeps reusable state between walks (for diffing and for
 * duplicate detection), so one reconciler serves one tracker.
 * @internal
 */
export class SnapshotReconciler {
  /** Diff each walk against the previous one and fill {@link transitions}. */
  trackTransitions = false;
  /** The transitions found by the last completed walk (only while tracking). */
  readonly transitions: WorkerTransition[] = [];

  private readonly validate: boolean;
  private readonly onRejected: ((rejection: EntryRejection) => void) | undefined;
  private readonly maxRejections: number;

  // Running totals of the walk in progress (fields, not locals, so the visitor can add).
  private busy = 0;
  private idle = 0;
  private draining = 0;
  private sessions = 0;
  private rejected = 0;

  private walk = 0;
  private readonly tracked = new Map<string, TrackedWorker>();
  private readonly idsOfIterable = new Set<string>();
  private readonly visitMapEntry = (worker: unknown, id: unknown): void => {
    this.visit(id, worker);
  };

  constructor(options: ReconcilerOptions = {}) {
    this.validate = options.validate ?? true;
    this.onRejected = options.onRejected;
    this.maxRejections = options.maxRejectionsPerWalk ?? 100;
  }

  /**
   * Walks `snapshot` and returns its counts, or `undefined` when it cannot be walked to the end
   * (it is not iterable, or its iterator threw); `onFailure` then says why. A failed walk
   * changes nothing: the diff baseline stays that of the last completed walk.
   */
  reconcile(snapshot: unknown, onFailure?: (message: string) => void): StateCounts | undefined {
    this.busy = 0;
    this.idle = 0;
    this.draining = 0;
    this.sessions = 0;
    this.rejected = 0;
    this.walk += 1;
    this.transitions.length = 0;
    try {
      if (snapshot instanceof Map) {
        Map.prototype.forEach.call(snapshot, this.visitMapEntry);
      } else if (isIterable(snapshot)) {
        this.walkIterable(snapshot);
      } else {
        onFailure?.(`snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${describe(snapshot)}`);
        return undefined;
      }
    } catch (err) {
      this.abandonWalk();
      onFailure?.(`iterating the snapshot threw: ${messageOf(err)}`);
      return undefined;
    }
    if (this.rejected > this.maxRejections && this.onRejected !== undefined) {
      const more = this.rejected - this.maxRejections;
      this.onRejected({
        workerId: undefined,
        field: 'worker',
        message: `${more} more invalid snapshot ${more === 1 ? 'entry was' : 'entries were'} left out of this tick`,
      });
    }
    if (this.trackTransitions) this.commitWalk();
    return {
      busy: this.busy,
      idle: this.idle,
      draining: this.draining,
      workers: this.busy + this.idle + this.draining,
      sessions: this.sessions,
    };
  }

  /** Forgets the diff baseline: the next tracked walk reports every worker as appearing. */
  resetTransitions(): void {
    this.tracked.clear();
    this.transitions.length = 0;
  }

  private walkIterable(snapshot: Iterable<unknown>): void {
    const ids = this.idsOfIterable;
    ids.clear();
    try {
      for (const entry of snapshot) {
        if (!Array.isArray(entry)) {
          this.reject(undefined, 'entry', `snapshot entry must be a [workerId, worker] pair, got ${describe(entry)}`);
          continue;
        }
        const id: unknown = entry[0];
        if (typeof id === 'string') {
          if (ids.has(id)) {
            this.reject(id, 'workerId', `duplicate worker id ${describe(id)}; the first entry counts`);
            continue;
          }
          ids.add(id);
        }
        this.visit(id, entry[1]);
      }
    } finally {
      ids.clear();
    }
  }

  private visit(id: unknown, worker: unknown): void {
    if (typeof id !== 'string' || id === '') {
      this.reject(id, 'workerId', `worker id must be a non-empty string, got ${describe(id)}`);
      return;
    }
    let code = INVALID;
    let sessions = 0;
    try {
      if (worker !== null && typeof worker === 'object') {
        const w = worker as Record<string, unknown>;
        const draining = w.draining;
        const count = w.sessions;
        if (
          (draining === true || draining === false) &&
          typeof count === 'number' &&
          count >= 0 &&
          Number.isInteger(count) &&
          (!this.validate || isValidRest(w))
        ) {
          sessions = count;
          code = draining ? DRAINING : count > 0 ? BUSY : IDLE;
        }
      }
      if (code === INVALID) {
        const found = findWorkerProblem(worker);
        this.reject(id, found?.field ?? 'worker', found?.message ?? 'worker is not valid');
        return;
      }
      if (this.trackTransitions) {
        const appId = (worker as { appId: unknown }).appId;
        this.track(id, typeof appId === 'string' ? appId : '', code);
      }
    } catch (err) {
      this.reject(id, 'worker', `reading the worker threw: ${messageOf(err)}`);
      return;
    }
    if (code === BUSY) this.busy += 1;
    else if (code === IDLE) this.idle += 1;
    else this.draining += 1;
    this.sessions += sessions;
  }

  private track(id: string, appId: string, code: number): void {
    const state = STATE_OF_CODE[code] as WorkerState;
    const known = this.tracked.get(id);
    if (known === undefined) {
      this.tracked.set(id, { appId, committed: null, pending: state, seenInWalk: this.walk });
    } else {
      known.appId = appId;
      known.pending = state;
      known.seenInWalk = this.walk;
    }
  }

  /** Turns the walk's pending states into transitions and the new baseline. */
  private commitWalk(): void {
    this.tracked.forEach(this.commitEntry);
  }

  private readonly commitEntry = (worker: TrackedWorker, id: string): void => {
    if (worker.seenInWalk === this.walk) {
      if (worker.committed !== worker.pending) {
        this.transitions.push({ workerId: id, appId: worker.appId, from: worker.committed, to: worker.pending });
        worker.committed = worker.pending;
      }
    } else {
      this.transitions.push({ workerId: id, appId: worker.appId, from: worker.committed, to: null });
      this.tracked.delete(id);
    }
  };

  /** Undoes what a failed walk added: workers first seen in it were never committed. */
  private abandonWalk(): void {
    this.tracked.forEach(this.dropUncommitted);
  }

  private readonly dropUncommitted = (worker: TrackedWorker, id: string): void => {
    if (worker.committed === null) this.tracked.delete(id);
  };

  private reject(workerId: unknown, field: string, message: string): void {
    this.rejected += 1;
    if (this.onRejected === undefined || this.rejected > this.maxRejections) return;
    const prefix = typeof workerId === 'string' && workerId !== '' ? `snapshot entry ${describe(workerId)}: ` : 'snapshot: ';
    this.onRejected({ workerId, field, message: prefix + message });
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/** The checks beyond the counted fields; same rules as findWorkerProblem, no allocation. */
function isValidRest(w: Record<string, unknown>): boolean {
  const appId = w.appId;
  if (typeof appId !== 'string' || appId.length === 0) return false;
  const startedAt = w.startedAt;
  if (!(startedAt instanceof Date) || Number.isNaN(startedAt.getTime())) return false;
  const idleSince = w.idleSince;
  if (idleSince !== undefined && idleSince !== null) {
    if (!(idleSince instanceof Date) || Number.isNaN(idleSince.getTime())) return false;
  }
  const bundleId = w.bundleId;
  return bundleId === undefined || typeof bundleId === 'string';
}
