/**
 * Per-worker diffing of derived states between consecutive walks, for `transitions$`.
 *
 * Orchestrators keep their records in a Map that changes little between ticks, and a Map
 * iterates in insertion order. So the previous walk is kept as parallel arrays (id, app, state
 * code), and the worker at position i of this walk is first compared with position i of the
 * last one: one string compare and one byte compare, no lookup, nothing allocated. Only when
 * the snapshot has changed shape (a worker added or removed before position i) is an id→position
 * index of the previous walk built, once for that walk. Workers of the previous walk that this
 * walk did not see have left.
 *
 * @packageDocumentation
 */
import { StateBusy, StateDraining, StateIdle, type WorkerState } from './labels';

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

/** State codes (indexes into {@link STATE_OF_CODE}) as the walk produces them. @internal */
export const CODE_BUSY = 0;
/** @internal */
export const CODE_IDLE = 1;
/** @internal */
export const CODE_DRAINING = 2;
/** @internal */
export const STATE_OF_CODE: readonly WorkerState[] = [StateBusy, StateIdle, StateDraining];

/** One walk's workers, as parallel arrays reused from walk to walk. */
class WalkRecord {
  ids: string[] = [];
  appIds: string[] = [];
  codes = new Uint8Array(1024);
  length = 0;

  push(id: string, appId: string, code: number): number {
    const i = this.length;
    if (i === this.codes.length) {
      const grown = new Uint8Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.ids[i] = id;
    this.appIds[i] = appId;
    this.codes[i] = code;
    this.length = i + 1;
    return i;
  }

  /** Forgets the contents, keeping the storage; drops references past the new length. */
  clear(): void {
    this.length = 0;
  }
}

/** @internal */
export class StateDiff {
  /** Transitions found by the walk in progress / the last completed walk. */
  readonly transitions: WorkerTransition[] = [];
  private previous = new WalkRecord();
  private current = new WalkRecord();
  /** Which workers of the previous walk this walk has seen (1 = seen). */
  private seen = new Uint8Array(1024);
  private seenCount = 0;
  /** id → position in the previous walk; built only when positions stop matching. */
  private previousIndex: Map<string, number> | undefined;

  /** Starts a walk. */
  begin(): void {
    this.transitions.length = 0;
    this.current.clear();
    this.seenCount = 0;
    this.previousIndex = undefined;
    if (this.seen.length < this.previous.length) this.seen = new Uint8Array(this.previous.length * 2);
    else this.seen.fill(0, 0, this.previous.length);
  }

  /** Records one valid worker of the walk in progress. */
  visit(id: string, appId: string, code: number): void {
    const i = this.current.push(id, appId, code);
    const prev = this.previous;
    let j = i < prev.length && prev.ids[i] === id ? i : -1;
    if (j < 0) j = this.indexOfPrevious(id);
    if (j >= 0 && this.seen[j] === 0) {
      this.seen[j] = 1;
      this.seenCount += 1;
      const before = prev.codes[j] as number;
      if (before !== code) {
        this.transitions.push({ workerId: id, appId, from: STATE_OF_CODE[before] as WorkerState, to: STATE_OF_CODE[code] as WorkerState });
      }
    } else {
      this.transitions.push({ workerId: id, appId, from: null, to: STATE_OF_CODE[code] as WorkerState });
    }
  }

  /** Completes the walk: adds departures, and makes this walk the baseline for the next. */
  commit(): void {
    const prev = this.previous;
    if (this.seenCount < prev.length) {
      for (let j = 0; j < prev.length; j += 1) {
        if (this.seen[j] === 0) {
          this.transitions.push({
            workerId: prev.ids[j] as string,
            appId: prev.appIds[j] as string,
            from: STATE_OF_CODE[prev.codes[j] as number] as WorkerState,
            to: null,
          });
        }
      }
    }
    this.previous = this.current;
    this.current = prev;
    this.trim(this.current);
    this.previousIndex = undefined;
  }

  /** Drops a failed walk: the baseline stays that of the last completed walk. */
  abandon(): void {
    this.transitions.length = 0;
    this.current.clear();
    this.previousIndex = undefined;
  }

  /** Forgets the baseline: the next walk reports every worker as appearing. */
  reset(): void {
    this.abandon();
    this.previous.clear();
    this.trim(this.previous);
    this.trim(this.current);
  }

  private indexOfPrevious(id: string): number {
    let index = this.previousIndex;
    if (index === undefined) {
      index = new Map();
      const prev = this.previous;
      for (let j = 0; j < prev.length; j += 1) index.set(prev.ids[j] as string, j);
      this.previousIndex = index;
    }
    return index.get(id) ?? -1;
  }

  /** Releases references held past a record's length, so departed workers' ids can be freed. */
  private trim(record: WalkRecord): void {
    if (record.ids.length > record.length * 2 + 1024) {
      record.ids.length = record.length;
      record.appIds.length = record.length;
    }
  }
}
