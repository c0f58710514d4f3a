/**
 * `blockyard_app_workers{app,state}` (the `byApp` option), set from the per-app counts after
 * each tick.
 *
 * App ids come from the orchestrator's records, so the `app` label goes through the tracker's
 * one `maxApps` bound, shared with the event counters: apps past it add up under
 * `__overflow__`, whose three series are the sums of theirs, and a worker whose `appId` is not
 * a string counts under `unknown`. Every app with a worker has all three states (zeros
 * included); an app's series are removed at the first tick it has none, so no stale series
 * stay in the exposition. At most `maxApps` + 2 app values, three series each.
 *
 * The counts move only with transitions, so a tick touches the series of the apps whose
 * counts moved: no label hash per app per tick.
 *
 *     tick:       --1--------2--------3--   (1: a and b appear; 2: b's worker turns busy; 3: a's last leaves)
 *     app="a":    --idle=1-----------(removed)
 *     app="b":    --idle=1---busy=1,idle=0---
 *
 * @packageDocumentation
 */
import type { Gauge } from 'prom-client';
import { messageOf } from '../describe-value';
import type { BoundedAppLabels } from '../events';
import { AppUnknown, WORKER_STATES } from '../labels';
import type { AppTally } from './app-tally';

/** A gauge child the publisher sets. */
interface Settable {
  set(value: number): void;
}

/** Sets `blockyard_app_workers` from an {@link AppTally}. @internal */
export class AppWorkersGauge {
  /** By app index: the counts last added to its label's, three per app. */
  private published = new Int32Array(3 * 64);
  /** By app index: its label's slot, found when the app gets its first worker. */
  private labelOfApp = new Int32Array(64);
  private readonly slotOfLabel = new Map<string, number>();
  private readonly labels: string[] = [];
  /** By label slot: the sums of its apps' counts, three per label. */
  private labelCounts = new Int32Array(3 * 64);
  /** By label slot: the three children while its series exist. */
  private readonly children: (readonly Settable[] | undefined)[] = [];
  /** Label slots whose sums moved since the last update. */
  private readonly dirtyLabels = new Set<number>();

  constructor(
    private readonly gauge: Gauge<'app' | 'state'>,
    private readonly apps: BoundedAppLabels,
  ) {}

  /**
   * Adds what moved in `tally` since its last settle to the labels' sums, then sets (or removes)
   * the series of every label whose sums moved. Call before `tally.settle()`. Throws only what
   * prom-client throws, after every label was tried; the sums stay right either way.
   */
  update(tally: AppTally): void {
    for (const app of tally.dirty) this.addMoves(tally, app);
    let failure: unknown;
    for (const slot of this.dirtyLabels) {
      try {
        this.setSeries(slot);
      } catch (err) {
        failure ??= err;
      }
    }
    this.dirtyLabels.clear();
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(messageOf(failure));
  }

  /** Moves app `app`'s change since it was last published into its label's sums. */
  private addMoves(tally: AppTally, app: number): void {
    if (3 * app + 3 > this.published.length) this.published = grown(this.published, 3 * app + 3);
    if (app >= this.labelOfApp.length) this.labelOfApp = grown(this.labelOfApp, app + 1);
    const p = 3 * app;
    const published = this.published;
    const wasEmpty = published[p] === 0 && published[p + 1] === 0 && published[p + 2] === 0;
    if (wasEmpty) {
      // An app index gets its label when its app gets a worker (a released index, reused by
      // another app, starts from zeros again).
      const appId = tally.idOf(app);
      this.labelOfApp[app] = this.slotOf(appId === '' ? AppUnknown : this.apps.resolve(appId));
    }
    const slot = this.labelOfApp[app] as number;
    let moved = false;
    for (let code = 0; code < 3; code += 1) {
      const now = tally.workersIn(app, code);
      const delta = now - (published[p + code] as number);
      if (delta !== 0) {
        moved = true;
        published[p + code] = now;
        this.labelCounts[3 * slot + code] = (this.labelCounts[3 * slot + code] as number) + delta;
      }
    }
    if (moved) this.dirtyLabels.add(slot);
  }

  /** The slot of label value `label`, given one the first time. */
  private slotOf(label: string): number {
    let slot = this.slotOfLabel.get(label);
    if (slot === undefined) {
      slot = this.labels.length;
      this.labels.push(label);
      this.slotOfLabel.set(label, slot);
      if (3 * slot + 3 > this.labelCounts.length) this.labelCounts = grown(this.labelCounts, 3 * slot + 3);
    }
    return slot;
  }

  /** Sets the three series of label `slot`, or removes them once it has no worker. */
  private setSeries(slot: number): void {
    const app = this.labels[slot] as string;
    const counts = this.labelCounts;
    if (counts[3 * slot] === 0 && counts[3 * slot + 1] === 0 && counts[3 * slot + 2] === 0) {
      if (this.children[slot] === undefined) return;
      this.children[slot] = undefined;
      for (const state of WORKER_STATES) this.gauge.remove({ app, state });
      return;
    }
    const children = (this.children[slot] ??= WORKER_STATES.map((state) => this.gauge.labels(app, state)));
    for (let code = 0; code < 3; code += 1) (children[code] as Settable).set(counts[3 * slot + code] as number);
  }
}

/** A copy of `array` with room for at least `length` elements (twice as many as before, at least). */
function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const copy = new Int32Array(Math.max(length, array.length * 2));
  copy.set(array);
  return copy;
}
