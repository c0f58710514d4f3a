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
import { CODE_BUSY, CODE_DRAINING, CODE_IDLE, StateDiff, type WorkerTransition } from './state-diff';
import type { StateCounts } from './worker-state';
import { findWorkerProblem } from './worker-validation';

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

const INVALID = -1;

/**
 * Walks snapshots, one at a time. Keeps reusable state between walks (for diffing and for
 * duplicate detection), so one reconciler serves one tracker.
 * @internal
 */
export class SnapshotReconciler {
  /** Diff each walk against the previous one and fill {@link transitions}. */
  trackTransitions = false;
  /** The transitions found by the last completed walk (only while tracking). */
  get transitions(): readonly WorkerTransition[] {
    return this.diff.transitions;
  }

  private readonly validate: boolean;
  private readonly onRejected: ((rejection: EntryRejection) => void) | undefined;
  private readonly maxRejections: number;

  // Running totals of the walk in progress (fields, not locals, so the visitor can add).
  private busy = 0;
  private idle = 0;
  private draining = 0;
  private sessions = 0;
  private rejected = 0;

  private readonly diff = new StateDiff();
  private readonly idsOfIterable = new Set<unknown>();
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
    if (this.trackTransitions) this.diff.begin();
    try {
      if (snapshot instanceof Map) {
        // The hot path: a Map, nobody diffing. Counted with locals over values() (no key, no
        // entry array); if any entry is invalid, the walk is redone below with ids, to say which.
        if (!this.trackTransitions && this.countValidMap(snapshot)) return this.result();
        this.busy = this.idle = this.draining = this.sessions = 0;
        Map.prototype.forEach.call(snapshot, this.visitMapEntry);
      } else if (isIterable(snapshot)) {
        this.walkIterable(snapshot);
      } else {
        onFailure?.(`snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${describe(snapshot)}`);
        return undefined;
      }
    } catch (err) {
      this.diff.abandon();
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
    if (this.trackTransitions) this.diff.commit();
    return this.result();
  }

  private result(): StateCounts {
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
    this.diff.reset();
  }

  /**
   * Counts a Map whose entries are all valid, in one pass with locals. Returns false, having
   * counted nothing, as soon as an entry is invalid or reading one throws; the caller then walks
   * again the slow way, which names each rejected entry.
   */
  private countValidMap(map: Map<unknown, unknown>): boolean {
    const validate = this.validate;
    let busy = 0;
    let idle = 0;
    let draining = 0;
    let sessions = 0;
    for (const worker of map.values()) {
      if (worker === null || typeof worker !== 'object') return false;
      const w = worker as Record<string, unknown>;
      let isDraining: unknown;
      let count: unknown;
      try {
        isDraining = w.draining;
        count = w.sessions;
        if (validate && !isValidRest(w)) return false;
      } catch {
        return false;
      }
      if (typeof count !== 'number' || !(count >= 0) || !Number.isInteger(count)) return false;
      if (isDraining === true) draining += 1;
      else if (isDraining !== false) return false;
      else if (count > 0) busy += 1;
      else idle += 1;
      sessions += count;
    }
    this.busy = busy;
    this.idle = idle;
    this.draining = draining;
    this.sessions = sessions;
    return true;
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
        if (ids.has(id)) {
          this.reject(id, 'workerId', `duplicate worker id ${describe(id)}; the first entry counts`);
          continue;
        }
        ids.add(id);
        this.visit(id, entry[1]);
      }
    } finally {
      ids.clear();
    }
  }

  private visit(id: unknown, worker: unknown): void {
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
          code = draining ? CODE_DRAINING : count > 0 ? CODE_BUSY : CODE_IDLE;
        }
      }
      if (code === INVALID) {
        const found = findWorkerProblem(worker);
        this.reject(id, found?.field ?? 'worker', found?.message ?? 'worker is not valid');
        return;
      }
      if (this.trackTransitions) {
        const appId = (worker as { appId: unknown }).appId;
        this.track(typeof id === 'string' ? id : String(id), typeof appId === 'string' ? appId : '', code);
      }
    } catch (err) {
      this.reject(id, 'worker', `reading the worker threw: ${messageOf(err)}`);
      return;
    }
    if (code === CODE_BUSY) this.busy += 1;
    else if (code === CODE_IDLE) this.idle += 1;
    else this.draining += 1;
    this.sessions += sessions;
  }

  private track(id: string, appId: string, code: number): void {
    this.diff.visit(id, appId, code);
  }

  private reject(workerId: unknown, field: string, message: string): void {
    this.rejected += 1;
    if (this.onRejected === undefined || this.rejected > this.maxRejections) return;
    const prefix = workerId === undefined ? 'snapshot: ' : `snapshot entry ${describe(workerId)}: `;
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
