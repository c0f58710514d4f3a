/**
 * Per-worker diffing of derived states between consecutive walks, for `transitions$`.
 *
 * Orchestrators keep their records in a Map that changes little between ticks, and a Map
 * iterates in insertion order. So the previous walk is kept as parallel arrays (id, record,
 * state code), and the worker at position i of this walk is compared with position i of the
 * last one: a compare of ids (the same string object, while the snapshot keeps its shape) and a
 * byte compare of states, updated in place, no lookup, nothing allocated. From the first
 * position where the ids differ (the snapshot changed shape), the rest of the walk is matched
 * by id through an index of the rest of the previous walk, built once for that walk. Workers of
 * the previous walk that this walk did not see have left. In-place changes are undone if the
 * walk fails, so the baseline is always a completed walk. A worker's record is kept by
 * reference, as of when it appeared or last changed state, and its `appId` read only when a
 * transition is reported, so an unchanged worker costs no read of its strings (a worker serves
 * one app for its life, so the record of its last change names the app it leaves from).
 *
 * Each transition is also kept as a move (its app index, and its from and to as codes) for the
 * counts that follow from transitions: `blockyard_worker_transitions_total` and, while an
 * {@link AppTally} is attached, the workers of each app. With a tally, each worker's app index
 * is kept beside it in the baseline, found once when it appears, so a tick adds a worker's
 * sessions to its app with an array write and a transition moves one unit between apps' counts.
 *
 * @packageDocumentation
 */
import { describeValue } from '../describe-value';
import { StateBusy, StateDraining, StateIdle, type WorkerState } from '../labels';
import type { AppTally } from './app-tally';

/**
 * One worker's change of derived state between two consecutive sampled snapshots. `null`
 * means absent: `from: null` is a worker that appeared, `to: null` one that left (or whose
 * record stopped being valid, since it no longer counts).
 */
export interface WorkerTransition {
  /** The worker's key in the snapshot, as a string. */
  readonly workerId: string;
  /**
   * The worker record's `appId` ('' when it is not a string); for a departure, from the record
   * seen when the worker last appeared, changed state or moved in the snapshot.
   */
  readonly appId: string;
  /** The state at the previous sampled snapshot; `null` when the worker was absent. */
  readonly from: WorkerState | null;
  /** The state at this snapshot; `null` when the worker has left (or no longer counts). */
  readonly to: WorkerState | null;
}

/**
 * How far past the cursor a walk out of step with the baseline looks for the next id before it
 * builds an index: a run of up to this many workers removed together costs a few compares.
 */
const LOOKAHEAD = 16;

/**
 * The code of "absent" in a move: `from` of a worker that appeared, `to` of one that left. The
 * state codes (worker-state.ts) are 0 … 2, so a move's pair of codes is `from * 4 + to`.
 * @internal
 */
export const CODE_NONE = 3;

/** The state of each code in a transition, `null` for {@link CODE_NONE}. */
const STATE_OR_NONE: readonly (WorkerState | null)[] = [StateBusy, StateIdle, StateDraining, null];

/**
 * A worker id as the string transitions carry. A Map keyed by something other than strings
 * still counts (ids label nothing), so a key whose conversion throws (an object with a
 * throwing `toString`, or none at all) gets its description instead of failing the tick.
 * @internal
 */
export function idString(id: unknown): string {
  if (typeof id === 'string') return id;
  try {
    return String(id);
  } catch {
    return describeValue(id);
  }
}

/** A worker record's `appId` when it is a string, else ''; never throws. */
function appIdOf(worker: unknown): string {
  try {
    const appId = (worker as { appId?: unknown }).appId;
    return typeof appId === 'string' ? appId : '';
  } catch {
    return '';
  }
}

/** One walk's workers, as parallel arrays reused from walk to walk. */
class WalkRecord {
  ids: string[] = [];
  workers: unknown[] = [];
  codes = new Uint8Array(1024);
  /** Each worker's app index in the attached {@link AppTally} (0 while none is attached). */
  apps = new Int32Array(1024);
  length = 0;

  push(id: string, worker: unknown, code: number, app: number): number {
    const i = this.length;
    if (i === this.codes.length) {
      const codes = new Uint8Array(this.codes.length * 2);
      codes.set(this.codes);
      this.codes = codes;
      const apps = new Int32Array(codes.length);
      apps.set(this.apps);
      this.apps = apps;
    }
    this.ids[i] = id;
    this.workers[i] = worker;
    this.codes[i] = code;
    this.apps[i] = app;
    this.length = i + 1;
    return i;
  }

  /** Forgets the contents, keeping the storage. */
  clear(): void {
    this.length = 0;
  }

  /** Drops references held past the length when they are many, so departed workers can be freed. */
  release(): void {
    if (this.ids.length > this.length * 2 + 1024) {
      this.ids.length = this.length;
      this.workers.length = this.length;
    }
  }

  /**
   * Forgets the contents and the references to them, keeping the storage for the next walk
   * (up to about twice `keep` entries): growing it again from nothing on every walk that
   * changes shape cost more than clearing it.
   */
  forget(keep: number): void {
    this.ids.fill('', 0, this.length);
    this.workers.fill(undefined, 0, this.length);
    this.length = 0;
    if (this.ids.length > keep * 2 + 1024) {
      this.ids.length = 0;
      this.workers.length = 0;
    }
  }
}

/** @internal */
export class StateDiff {
  /** Transitions found by the walk in progress / the last completed walk. */
  readonly transitions: WorkerTransition[] = [];
  /** The codes of each transition, `from * 4 + to` ({@link CODE_NONE} = absent), in order. */
  readonly movePairs: number[] = [];
  /** The app index of each transition's worker (0 while no tally is attached), in order. */
  readonly moveApps: number[] = [];
  /**
   * The baseline: the last completed walk. Updated in place while the walk in progress is
   * aligned with it (same id at the same position), which is the common case.
   */
  private baseline = new WalkRecord();
  /** The walk's workers from the first misaligned position on. */
  private tail = new WalkRecord();
  /** Position in the walk in progress. */
  private position = 0;
  /** The first position where the walk stopped matching the baseline; -1 while aligned. */
  private splitAt = -1;
  /** Baseline positions changed in place by the walk in progress, and their codes before. */
  private readonly undoPositions: number[] = [];
  private readonly undoCodes: number[] = [];
  /** Which baseline workers from `splitAt` on the walk has seen (1 = seen), by position - splitAt. */
  private seen = new Uint8Array(1024);
  /**
   * The next baseline position the walk expects, from `splitAt` on. Workers that stay in a Map
   * keep their order (new and re-added ones go to its end), so after a removal the walk
   * usually finds the next worker at this position, or a few past it.
   */
  private cursor = 0;
  /** Baseline positions the cursor passed over without a match (removed, or moved to the end). */
  private readonly skipped: number[] = [];
  /**
   * id → baseline position, for the positions the cursor had not matched when it was built:
   * the skipped ones and all from the cursor on. Built only when an id is not found near the
   * cursor, so removals and additions at the end cost no index.
   */
  private baselineIndex: Map<string, number> | undefined;
  /** The per-app counts kept from this diff's moves, if any. */
  private tally: AppTally | undefined;
  /** The tally asked for, attached when the next walk begins. */
  private wantedTally: AppTally | undefined;

  /**
   * Keeps `tally` (or, with `undefined`, none) from the next walk on. Attaching one fills it
   * from the baseline, reading the `appId` of each worker once; its sessions are known from
   * the next completed walk. Applied when a walk begins, so never in the middle of one.
   */
  useTally(tally: AppTally | undefined): void {
    this.wantedTally = tally;
  }

  /**
   * Sessions by app index of the walk in progress, for a walk that adds each aligned worker's
   * sessions itself (`appSessions[aligned().apps[i]] += sessions`); `undefined` without a
   * tally, or while its sessions are not wanted. Read it after {@link begin}; valid until the
   * walk calls {@link visitUnaligned}.
   */
  get appSessions(): Float64Array | undefined {
    const tally = this.tally;
    return tally?.sessionsOn === true ? tally.walking : undefined;
  }

  /** Starts a walk. */
  begin(): void {
    if (this.wantedTally !== this.tally) this.attach(this.wantedTally);
    this.tally?.beginWalk();
    this.transitions.length = 0;
    this.movePairs.length = 0;
    this.moveApps.length = 0;
    this.position = 0;
    this.splitAt = -1;
    this.tail.clear();
    this.baselineIndex = undefined;
    this.skipped.length = 0;
    this.undoPositions.length = 0;
    this.undoCodes.length = 0;
  }

  /**
   * The baseline's parallel arrays and length, for a walk that checks the aligned case itself
   * with locals (the reconciler's Map loop): while `ids[i] === id`, it compares `codes[i]` and
   * calls {@link changeInPlace} when the state differs; from the
   * first position where ids differ it calls {@link visitUnaligned} for every later worker, and
   * ends with {@link commit} given the number of workers walked. The arrays are only written in
   * place during a walk, so they may be held in locals until `commit`.
   */
  aligned(): {
    readonly ids: readonly string[];
    readonly workers: unknown[];
    readonly codes: Uint8Array;
    readonly apps: Int32Array;
    readonly length: number;
  } {
    return this.baseline;
  }

  /**
   * Records one valid worker (its id, record, state code and sessions) of the walk in
   * progress. Kept small so the JIT inlines it into the walk: the aligned case is a few
   * compares.
   */
  visit(id: unknown, worker: unknown, code: number, sessions: number): void {
    const i = this.position++;
    const base = this.baseline;
    if (this.splitAt < 0 && i < base.length && base.ids[i] === id) {
      const tally = this.tally;
      if (tally?.sessionsOn === true) {
        const app = base.apps[i] as number;
        tally.walking[app] = (tally.walking[app] as number) + sessions;
      }
      if (base.codes[i] !== code) this.changeInPlace(i, id as string, worker, code);
      return;
    }
    // Ids are carried as strings (a Map keyed otherwise still counts); converted off the hot path.
    this.visitUnaligned(i, idString(id), worker, code, sessions);
  }

  /**
   * Records a state change of the worker at aligned position `i`, in place (undone on abandon).
   * Its sessions are the caller's to add (see {@link appSessions}).
   */
  changeInPlace(i: number, id: string, worker: unknown, code: number): void {
    const base = this.baseline;
    const before = base.codes[i] as number;
    this.undoPositions.push(i);
    this.undoCodes.push(before);
    base.codes[i] = code;
    base.workers[i] = worker;
    this.report(id, appIdOf(worker), before, code, base.apps[i] as number);
  }

  /**
   * Records the worker at position `i`, from the first position where ids stopped matching on,
   * its sessions included.
   */
  visitUnaligned(i: number, id: string, worker: unknown, code: number, sessions: number): void {
    if (this.splitAt < 0) this.split(i);
    const base = this.baseline;
    const tally = this.tally;
    const j = this.findUnseen(id);
    let app: number;
    if (j >= 0) {
      this.seen[j - this.splitAt] = 1;
      app = base.apps[j] as number;
      const before = base.codes[j] as number;
      if (before !== code) this.report(id, appIdOf(worker), before, code, app);
    } else {
      // A worker appearing: the one time its app is looked up.
      const appId = appIdOf(worker);
      app = tally === undefined ? 0 : tally.appOf(appId);
      this.report(id, appId, CODE_NONE, code, app);
    }
    this.tail.push(id, worker, code, app);
    if (tally?.sessionsOn === true) tally.walking[app] = (tally.walking[app] as number) + sessions;
  }

  /** The baseline position of `id` not yet matched by this walk, from `splitAt` on; -1 if none. */
  private findUnseen(id: string): number {
    const base = this.baseline;
    const ids = base.ids;
    const from = this.cursor;
    const to = Math.min(base.length, from + LOOKAHEAD);
    for (let j = from; j < to; j += 1) {
      if (ids[j] === id) {
        if (this.seen[j - this.splitAt] !== 0) break;
        for (let k = from; k < j; k += 1) this.skipped.push(k);
        this.cursor = j + 1;
        return j;
      }
    }
    const index = this.baselineIndex ?? this.buildIndex();
    const j = index.get(id);
    if (j === undefined || this.seen[j - this.splitAt] !== 0) return -1;
    if (j >= this.cursor) this.cursor = j + 1; // positions passed over are in the index already
    return j;
  }

  private buildIndex(): Map<string, number> {
    const ids = this.baseline.ids;
    const index = new Map<string, number>();
    for (const k of this.skipped) index.set(ids[k] as string, k);
    for (let k = this.cursor; k < this.baseline.length; k += 1) index.set(ids[k] as string, k);
    this.baselineIndex = index;
    return index;
  }

  /**
   * Completes the walk: adds departures, and makes this walk the baseline for the next.
   * `walked` is the number of workers walked, for walks that did not go through {@link visit}.
   */
  commit(walked: number = this.position): void {
    this.position = walked;
    const base = this.baseline;
    const from = this.splitAt < 0 ? this.position : this.splitAt;
    for (let j = from; j < base.length; j += 1) {
      if (this.splitAt < 0 || this.seen[j - this.splitAt] === 0) {
        this.report(
          base.ids[j] as string,
          appIdOf(base.workers[j]),
          base.codes[j] as number,
          CODE_NONE,
          base.apps[j] as number,
        );
      }
    }
    if (this.splitAt < 0) {
      base.length = this.position;
    } else if (this.splitAt === 0) {
      // Out of step from the first worker (the oldest one left): this walk is all in the tail,
      // which becomes the baseline as it is, and the old baseline's storage the next tail.
      this.baseline = this.tail;
      this.tail = base;
    } else {
      base.length = this.splitAt;
      const tail = this.tail;
      for (let t = 0; t < tail.length; t += 1) {
        base.push(tail.ids[t] as string, tail.workers[t], tail.codes[t] as number, tail.apps[t] as number);
      }
    }
    const tally = this.tally;
    if (tally !== undefined) {
      const pairs = this.movePairs;
      const apps = this.moveApps;
      for (let k = 0; k < pairs.length; k += 1) {
        const pair = pairs[k] as number;
        tally.move(apps[k] as number, pair >>> 2, pair & 3);
      }
      tally.commitWalk();
    }
    this.finish();
  }

  /** Drops a failed walk: the baseline goes back to that of the last completed walk. */
  abandon(): void {
    const base = this.baseline;
    for (let k = this.undoPositions.length - 1; k >= 0; k -= 1) {
      base.codes[this.undoPositions[k] as number] = this.undoCodes[k] as number;
    }
    this.transitions.length = 0;
    this.movePairs.length = 0;
    this.moveApps.length = 0;
    this.tally?.abandonWalk();
    this.finish();
  }

  /**
   * Forgets the baseline: the next walk reports every worker as appearing. An attached tally
   * is emptied with it.
   */
  reset(): void {
    this.abandon();
    this.baseline.clear();
    this.baseline.release();
    this.tally?.clear();
  }

  /** Makes `tally` the attached one, filled from the baseline (see {@link useTally}). */
  private attach(tally: AppTally | undefined): void {
    this.tally = tally;
    if (tally === undefined) return;
    tally.clear();
    const base = this.baseline;
    for (let j = 0; j < base.length; j += 1) {
      const app = tally.appOf(appIdOf(base.workers[j]));
      base.apps[j] = app;
      tally.move(app, CODE_NONE, base.codes[j] as number);
    }
  }

  private split(at: number): void {
    this.splitAt = at;
    this.cursor = at;
    const size = Math.max(0, this.baseline.length - at);
    if (this.seen.length < size) this.seen = new Uint8Array(size * 2);
    else this.seen.fill(0, 0, size);
  }

  /** Records one transition of worker `id` of app `appId` (index `app`) between two codes. */
  private report(id: string, appId: string, from: number, to: number, app: number): void {
    this.transitions.push({
      workerId: id,
      appId,
      from: STATE_OR_NONE[from] as WorkerState | null,
      to: STATE_OR_NONE[to] as WorkerState | null,
    });
    this.movePairs.push(from * 4 + to);
    this.moveApps.push(app);
  }

  private finish(): void {
    this.undoPositions.length = 0;
    this.undoCodes.length = 0;
    this.tail.forget(this.baseline.length);
    this.baseline.release();
    this.baselineIndex = undefined;
    this.skipped.length = 0;
  }
}
