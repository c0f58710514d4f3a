/**
 * The reconciliation walk: one pass over a snapshot that validates each entry, counts workers
 * by state and, when asked, diffs each worker's state against the previous walk.
 *
 * Only the two fields that decide a worker's state (`draining`, `sessions`) are read by
 * default; strict validation also checks the others (see worker-validation.ts).
 *
 * This runs on every tick over every worker, so it is written for the hot path. A Map that
 * nobody diffs is counted over `values()` with locals and plain comparisons: no key is read, no
 * `[key, value]` array is made, nothing is allocated per worker, and the try/catch that guards
 * against throwing getters sits outside the loop. Only when that finds an invalid entry (or
 * something throws) is the snapshot walked again entry by entry, to name each rejected one.
 * With `transitions$` subscribed the walk also compares each worker's state with the last
 * walk's ({@link StateDiff}), allocating nothing either while the snapshot keeps its shape. When
 * the snapshot is the Map the last walk went through, and no entry was added or removed since
 * (which a Map iterator left at the end of that walk tells for certain), the ids are the
 * baseline's and are not read at all; otherwise each is read and compared. With an
 * {@link AppTally} attached (per-app counts), each diffing walk also adds every worker's
 * sessions to its app, by the app index the diff keeps beside it.
 *
 * @packageDocumentation
 */
import { describeValue, messageOf } from '../describe-value';

import type { AppTally } from './app-tally';
import { StateDiff, idString, type WorkerTransition } from './state-diff';
import { CODE_BUSY, CODE_IDLE, INVALID_STATE, stateCode, type SnapshotInput, type StateCounts } from './worker-state';
import { findWorkerProblem, hasValidDescriptiveFields } from './worker-validation';

/**
 * A problem a walk found: a snapshot entry left out (its worker id where known, the field,
 * and why), or, with `field` = `snapshot` and no worker id, a snapshot that could not be
 * walked at all.
 * @internal
 */
export interface SnapshotProblem {
  readonly workerId: unknown;
  readonly field: string;
  readonly message: string;
}

/** Options of a {@link SnapshotReconciler}. @internal */
export interface ReconcilerOptions {
  /** Also check the fields that do not decide a worker's state (appId, startedAt, idleSince, bundleId). */
  readonly strict?: boolean;
  /**
   * The one channel for what a walk could not count: each rejected entry (at most
   * `maxRejectionsPerWalk` a walk, then one sum), and a snapshot that could not be walked.
   */
  readonly report?: (problem: SnapshotProblem) => void;
  /** Rejections described one by one per walk; the rest are summed up in one more report. */
  readonly maxRejectionsPerWalk?: number;
}

/**
 * What {@link SnapshotReconciler.reconcile} returns for a snapshot it could not walk to the
 * end (not iterable, or its iterator threw); the problem went to the `report` channel.
 * @internal
 */
export const NOT_RECONCILED: unique symbol = Symbol('the snapshot could not be walked');

/**
 * What a fast walk of a Map returns when an entry is not valid (or something threw): it stops
 * without reporting, and the snapshot is walked again entry by entry, which names each
 * rejected entry.
 */
const NEEDS_ENTRY_WALK: unique symbol = Symbol('walk again entry by entry');

/**
 * What the walk of an unchanged Map returns when the Map's entries were added or removed
 * after all: it is walked again by id.
 */
const SHAPE_CHANGED: unique symbol = Symbol('walk again by id');

// Map's own methods, called on the snapshot: a subclass's overrides (or a Proxy's traps) do not
// decide what the walk sees, and the iterators are Map iterators, whose semantics the walk of
// an unchanged Map relies on. Unbound on purpose: each is called with the snapshot as `this`.
/* eslint-disable @typescript-eslint/unbound-method */
const mapKeys = Map.prototype.keys;
const mapValues = Map.prototype.values;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')?.get as (this: Map<unknown, unknown>) => number;
/* eslint-enable @typescript-eslint/unbound-method */

/** A completed diffing walk of a Map: its counts, and an iterator at its end (see endOfLastWalk). */
interface MapWalk {
  readonly counts: StateCounts;
  readonly end: Iterator<unknown>;
}

/**
 * Walks snapshots, one at a time. Keeps reusable state between walks (for diffing and for
 * duplicate detection), so one reconciler serves one tracker.
 * @internal
 */
export class SnapshotReconciler {
  /** Diff each walk against the previous one and fill {@link transitions}. */
  trackTransitions = false;

  private readonly strict: boolean;
  private readonly report: ((problem: SnapshotProblem) => void) | undefined;
  private readonly maxRejections: number;

  // Running totals of the entry-by-entry walk (fields, so the visitor can add to them).
  private busy = 0;
  private idle = 0;
  private draining = 0;
  private sessions = 0;
  private rejected = 0;

  private readonly diff = new StateDiff();
  /**
   * Where the last walk ended, when it was a completed diffing walk of a Map: that Map, and an
   * iterator of it that has yielded every entry the walk saw but has not finished. A Map
   * iterator yields the entries added after it was made, so on the next tick this one yields
   * something exactly when an entry was added since; with the size unchanged, none was
   * removed either, and the Map holds the same ids in the same order as the baseline. The
   * walk then reads no ids at all (see walkUnchangedShape).
   */
  private endOfLastWalk: { readonly map: Map<unknown, unknown>; readonly iterator: Iterator<unknown> } | undefined;
  private readonly idsOfIterable = new Set<unknown>();
  private readonly visitMapEntry = (worker: unknown, id: unknown): void => {
    this.visit(id, worker);
  };

  constructor(options: ReconcilerOptions = {}) {
    this.strict = options.strict ?? false;
    this.report = options.report;
    this.maxRejections = options.maxRejectionsPerWalk ?? 100;
  }

  /** The transitions found by the last completed walk (only while tracking). */
  get transitions(): readonly WorkerTransition[] {
    return this.diff.transitions;
  }

  /**
   * The codes of each of {@link transitions}, `from * 4 + to`, where 3 is absent (a worker
   * appearing or leaving) and 0 … 2 are the state codes.
   */
  get transitionCodes(): readonly number[] {
    return this.diff.movePairs;
  }

  /** Snapshot entries the last walk left out (not valid, repeated, not a pair). */
  get rejectedByLastWalk(): number {
    return this.rejected;
  }

  /**
   * Keeps per-app counts in `tally` while diffing, from the next walk on (`undefined`: none).
   * Takes effect only while {@link trackTransitions} is on.
   */
  useAppTally(tally: AppTally | undefined): void {
    this.diff.useTally(tally);
  }

  /**
   * Walks `snapshot` and returns its counts, or {@link NOT_RECONCILED} when it cannot be walked
   * to the end (it is not iterable, or its iterator threw), having reported why. A failed walk
   * changes nothing: the diff baseline stays that of the last completed walk.
   */
  reconcile(snapshot: unknown): StateCounts | typeof NOT_RECONCILED {
    let isMap: boolean;
    try {
      // A Proxy's getPrototypeOf trap runs here, and may throw (or start throwing after feed()
      // accepted the same object).
      isMap = snapshot instanceof Map;
    } catch (err) {
      return this.unreadable(`inspecting the snapshot threw: ${messageOf(err)}`);
    }
    // Only the walk that follows may use where the last one ended, and only if it was a Map's.
    const lastEnd = this.endOfLastWalk;
    this.endOfLastWalk = undefined;
    if (isMap) {
      const map = snapshot as Map<unknown, unknown>;
      const counts = this.trackTransitions
        ? this.countAndDiffValidMap(map, lastEnd?.map === map ? lastEnd.iterator : undefined)
        : this.countValidMap(map);
      if (counts !== NEEDS_ENTRY_WALK) {
        this.rejected = 0;
        return counts;
      }
    }
    this.busy = 0;
    this.idle = 0;
    this.draining = 0;
    this.sessions = 0;
    this.rejected = 0;
    if (this.trackTransitions) this.diff.begin();
    try {
      if (isMap) {
        Map.prototype.forEach.call(snapshot, this.visitMapEntry);
      } else if (isSnapshotLike(snapshot)) {
        this.walkIterable(snapshot);
      } else {
        return this.unreadable(
          `snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${describeValue(snapshot)}`,
        );
      }
    } catch (err) {
      this.diff.abandon();
      return this.unreadable(`iterating the snapshot threw: ${messageOf(err)}`);
    }
    if (this.rejected > this.maxRejections && this.report !== undefined) {
      const more = this.rejected - this.maxRejections;
      this.report({
        workerId: undefined,
        field: 'worker',
        message: `${more} more invalid snapshot ${more === 1 ? 'entry was' : 'entries were'} left out of this tick`,
      });
    }
    if (this.trackTransitions) this.diff.commit();
    return {
      busy: this.busy,
      idle: this.idle,
      draining: this.draining,
      workers: this.busy + this.idle + this.draining,
      sessions: this.sessions,
    };
  }

  /** Reports a snapshot that could not be walked, and says so to the caller. */
  private unreadable(message: string): typeof NOT_RECONCILED {
    this.report?.({ workerId: undefined, field: 'snapshot', message });
    return NOT_RECONCILED;
  }

  /** Forgets the diff baseline: the next tracked walk reports every worker as appearing. */
  resetTransitions(): void {
    this.endOfLastWalk = undefined;
    this.diff.reset();
  }

  /**
   * The hot path: counts a Map whose entries are all valid, in one pass with locals. Returns
   * {@link NEEDS_ENTRY_WALK}, having reported nothing, as soon as an entry is invalid or
   * anything throws.
   */
  private countValidMap(map: Map<unknown, unknown>): StateCounts | typeof NEEDS_ENTRY_WALK {
    const strict = this.strict;
    let busy = 0;
    let idle = 0;
    let draining = 0;
    let sessions = 0;
    try {
      // Map's own values() (see mapValues), called as a method when it is the one the Map has:
      // through mapValues.call this loop was about 12 % slower at 100k workers.
      const values = map.values === mapValues ? map.values() : mapValues.call(map);
      // No null/object check: reading a field of null throws (caught below) and a field of any
      // other primitive is undefined, which fails the checks that follow.
      for (const w of values as IterableIterator<Record<string, unknown>>) {
        // The rule of stateCode (worker-state.ts) written out: this loop, the one every tick
        // runs when nobody diffs, was about 6 % slower through the call.
        const isDraining = w.draining;
        const count = w.sessions as number;
        if (!Number.isInteger(count) || count < 0) return NEEDS_ENTRY_WALK;
        if (strict && !hasValidDescriptiveFields(w)) return NEEDS_ENTRY_WALK;
        if (isDraining === true) draining += 1;
        else if (isDraining !== false) return NEEDS_ENTRY_WALK;
        else if (count > 0) busy += 1;
        else idle += 1;
        sessions += count;
      }
    } catch {
      return NEEDS_ENTRY_WALK;
    }
    return { busy, idle, draining, workers: busy + idle + draining, sessions };
  }

  /**
   * {@link countValidMap} while diffing: the same checks, each worker also handed to the diff.
   * On an invalid entry, or when anything throws, the diff's walk is dropped and
   * {@link NEEDS_ENTRY_WALK} returned, as there. `lastEnd` is where the last walk of this same
   * Map ended, if it did.
   */
  private countAndDiffValidMap(
    map: Map<unknown, unknown>,
    lastEnd: Iterator<unknown> | undefined,
  ): StateCounts | typeof NEEDS_ENTRY_WALK {
    if (lastEnd !== undefined) {
      const walked = this.guardedDiffWalk(map, lastEnd);
      if (walked !== SHAPE_CHANGED) return walked;
    }
    const walked = this.guardedDiffWalk(map, undefined);
    // The walk by id never answers SHAPE_CHANGED; the type cannot tell.
    return walked === SHAPE_CHANGED ? NEEDS_ENTRY_WALK : walked;
  }

  /**
   * Runs one diffing walk of `map` (walkUnchangedShape when `lastEnd` is given, else
   * walkAndDiffValidMap) with the try/catch one call up from its loop, and commits it, or drops
   * it when it answers a sentinel (passed on) or throws ({@link NEEDS_ENTRY_WALK}).
   */
  private guardedDiffWalk(
    map: Map<unknown, unknown>,
    lastEnd: Iterator<unknown> | undefined,
  ): StateCounts | typeof NEEDS_ENTRY_WALK | typeof SHAPE_CHANGED {
    const diff = this.diff;
    diff.begin();
    let walked: MapWalk | typeof NEEDS_ENTRY_WALK | typeof SHAPE_CHANGED;
    try {
      walked = lastEnd === undefined ? this.walkAndDiffValidMap(map) : this.walkUnchangedShape(map, lastEnd);
    } catch {
      walked = NEEDS_ENTRY_WALK;
    }
    if (walked === NEEDS_ENTRY_WALK || walked === SHAPE_CHANGED) {
      diff.abandon();
      return walked;
    }
    // Every worker walked was valid and counted, so the count is also the number walked.
    diff.commit(walked.counts.workers);
    this.endOfLastWalk = { map, iterator: walked.end };
    return walked.counts;
  }

  /**
   * The walk of a Map that holds the same ids in the same order as the baseline (see
   * endOfLastWalk): the worker at position i is the baseline's worker i, so no id is compared,
   * only each state with the baseline's. Returns {@link SHAPE_CHANGED} when entries were added
   * or removed since the last walk, or during this one (a getter can run code), for the caller
   * to drop this walk and walk again by id; {@link NEEDS_ENTRY_WALK} on an invalid entry. May
   * throw.
   */
  private walkUnchangedShape(
    map: Map<unknown, unknown>,
    lastEnd: Iterator<unknown>,
  ): MapWalk | typeof NEEDS_ENTRY_WALK | typeof SHAPE_CHANGED {
    const strict = this.strict;
    const diff = this.diff;
    const base = diff.aligned();
    const n = base.length;
    if (mapSize.call(map) !== n) return SHAPE_CHANGED;
    const baseIds = base.ids;
    const baseCodes = base.codes;
    const baseApps = base.apps;
    const appSessions = diff.appSessions;
    let busy = 0;
    let idle = 0;
    let draining = 0;
    let sessions = 0;
    // A worker removed and another added since the last walk keep the size but shift every
    // later position, which only the check after the loop can tell for certain. Many
    // differences from the baseline at once far more often mean that than as many workers
    // changing state in one tick: past 64 + n/64 of them, the walk gives up for one by id.
    const mostChanges = 64 + (n >>> 6);
    let changes = 0;
    const values = mapValues.call(map) as Iterator<Record<string, unknown>>;
    for (let i = 0; i < n; i += 1) {
      const next = values.next();
      if (next.done === true) return SHAPE_CHANGED;
      const worker = next.value;
      const isDraining = worker.draining;
      const count = worker.sessions as number;
      const code = stateCode(isDraining, count);
      if (code === INVALID_STATE || (strict && !hasValidDescriptiveFields(worker))) return NEEDS_ENTRY_WALK;
      sessions += count;
      if (appSessions !== undefined) addSessions(appSessions, baseApps[i] as number, count);
      if (code === CODE_BUSY) busy += 1;
      else if (code === CODE_IDLE) idle += 1;
      else draining += 1;
      if (baseCodes[i] !== code) {
        if ((changes += 1) > mostChanges) return SHAPE_CHANGED;
        diff.changeInPlace(i, baseIds[i] as string, worker, code);
      }
    }
    // Entries added since the last walk, or during this one (a getter can run code), come after
    // where it ended: lastEnd yields them.
    if (lastEnd.next().done !== true || mapSize.call(map) !== n) return SHAPE_CHANGED;
    // `values` stopped after n entries without finishing: the next tick's lastEnd.
    return { counts: { busy, idle, draining, workers: busy + idle + draining, sessions }, end: values };
  }

  /**
   * The walk by id, for a Map that is not known to hold the baseline's ids (another Map, or
   * entries added or removed since). Returns {@link NEEDS_ENTRY_WALK} on an invalid entry; may
   * throw.
   *
   * Two loops share the iterators: the first runs while the snapshot keeps the baseline's shape
   * and does one compare of ids and one byte compare of states per worker (the diff's aligned
   * case inlined with locals, see StateDiff.aligned); from the first worker out of place, the
   * second hands the rest to the diff. This split, and the try/catch one call up
   * (guardedDiffWalk), made this walk about a sixth faster at 100k workers than one loop with a
   * flag and the guard inside. Most of what is left is the compare of ids, about 2.5 ns a
   * worker: a call into V8's string equality. Comparing records or positions instead would not
   * be exact (a record moved to a new key can land where the old key stood), hence
   * walkUnchangedShape for the common case, which proves the ids unchanged without reading them.
   */
  private walkAndDiffValidMap(map: Map<unknown, unknown>): MapWalk | typeof NEEDS_ENTRY_WALK {
    const strict = this.strict;
    const diff = this.diff;
    let busy = 0;
    let idle = 0;
    let draining = 0;
    let sessions = 0;
    const base = diff.aligned();
    const baseIds = base.ids;
    const baseCodes = base.codes;
    const baseApps = base.apps;
    const baseLength = base.length;
    // Valid until the first visitUnaligned, which may grow it: the first loop ends there.
    const appSessions = diff.appSessions;
    let i = 0;
    // Each worker's state comes from stateCode; the counting that follows is written out with
    // locals in each diffing loop: counts kept in fields or an array measured 3–6 % slower.
    // Keys and values walked in lockstep: no [key, value] array per entry. `ids` never runs past
    // the last entry (`values` finds the end first), so it is where this walk ended.
    const ids = mapKeys.call(map);
    const values = mapValues.call(map) as IterableIterator<Record<string, unknown>>;
    for (const worker of values) {
      const id: unknown = ids.next().value;
      const isDraining = worker.draining;
      const count = worker.sessions as number;
      const code = stateCode(isDraining, count);
      if (code === INVALID_STATE || (strict && !hasValidDescriptiveFields(worker))) return NEEDS_ENTRY_WALK;
      sessions += count;
      if (code === CODE_BUSY) busy += 1;
      else if (code === CODE_IDLE) idle += 1;
      else draining += 1;
      if (i < baseLength && baseIds[i] === id) {
        if (appSessions !== undefined) addSessions(appSessions, baseApps[i] as number, count);
        if (baseCodes[i] !== code) diff.changeInPlace(i, id as string, worker, code);
        i += 1;
      } else {
        diff.visitUnaligned(i, idString(id), worker, code, count);
        i += 1;
        break;
      }
    }
    // The rest, from the first worker out of place (none when the first loop ran to the end:
    // `values` is then finished).
    for (const worker of values) {
      const id: unknown = ids.next().value;
      const isDraining = worker.draining;
      const count = worker.sessions as number;
      const code = stateCode(isDraining, count);
      if (code === INVALID_STATE || (strict && !hasValidDescriptiveFields(worker))) return NEEDS_ENTRY_WALK;
      sessions += count;
      if (code === CODE_BUSY) busy += 1;
      else if (code === CODE_IDLE) idle += 1;
      else draining += 1;
      diff.visitUnaligned(i, idString(id), worker, code, count);
      i += 1;
    }
    return { counts: { busy, idle, draining, workers: busy + idle + draining, sessions }, end: ids };
  }

  private walkIterable(snapshot: Iterable<unknown>): void {
    const ids = this.idsOfIterable;
    ids.clear();
    try {
      for (const entry of snapshot) {
        if (!Array.isArray(entry)) {
          this.reject(
            undefined,
            'entry',
            `snapshot entry must be a [workerId, worker] pair, got ${describeValue(entry)}`,
          );
          continue;
        }
        const id: unknown = entry[0];
        if (ids.has(id)) {
          this.reject(id, 'workerId', `duplicate worker id ${describeValue(id)}; the first entry counts`);
          continue;
        }
        ids.add(id);
        this.visit(id, entry[1]);
      }
    } finally {
      ids.clear();
    }
  }

  /** Checks, counts and (when diffing) tracks one entry; rejects it with its reason if invalid. */
  private visit(id: unknown, worker: unknown): void {
    let code = INVALID_STATE;
    let sessions = 0;
    try {
      if (worker !== null && typeof worker === 'object') {
        const w = worker as Record<string, unknown>;
        const isDraining = w.draining;
        const count = w.sessions;
        code = stateCode(isDraining, count);
        if (code !== INVALID_STATE && this.strict && !hasValidDescriptiveFields(w)) code = INVALID_STATE;
        if (code !== INVALID_STATE) sessions = count as number;
      }
    } catch (err) {
      this.reject(id, 'worker', `reading the worker threw: ${messageOf(err)}`);
      return;
    }
    if (code === INVALID_STATE) {
      const found = findWorkerProblem(worker, this.strict);
      this.reject(id, found?.field ?? 'worker', found?.message ?? 'worker is not valid');
      return;
    }
    if (this.trackTransitions) this.diff.visit(id, worker, code, sessions);
    if (code === CODE_BUSY) this.busy += 1;
    else if (code === CODE_IDLE) this.idle += 1;
    else this.draining += 1;
    this.sessions += sessions;
  }

  private reject(workerId: unknown, field: string, message: string): void {
    this.rejected += 1;
    if (this.report === undefined || this.rejected > this.maxRejections) return;
    const prefix = workerId === undefined ? 'snapshot: ' : `snapshot entry ${describeValue(workerId)}: `;
    this.report({ workerId, field, message: prefix + message });
  }
}

/**
 * Adds a worker's `sessions` to those of its app (index `app`): the one write per worker that
 * per-app sessions cost a diffing walk. Small, so the JIT inlines it.
 */
function addSessions(appSessions: Float64Array, app: number, sessions: number): void {
  appSessions[app] = (appSessions[app] as number) + sessions;
}

/**
 * Whether `value` can be walked as a snapshot: a Map, or an object with an iterator. Never
 * throws (a getter on `Symbol.iterator` that throws makes it not a snapshot). The tracker
 * checks fed and pulled snapshots with it; the walk uses it to choose its path.
 * @internal
 */
export function isSnapshotLike(value: unknown): value is SnapshotInput {
  try {
    return (
      value instanceof Map ||
      (value !== null &&
        typeof value === 'object' &&
        typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function')
    );
  } catch {
    return false;
  }
}
