/**
 * Workers by app, for `countsByApp$` and `blockyard_app_workers`, kept from what the diffing
 * walk already finds.
 *
 * Reading each worker's `appId` and looking it up in a Map on every tick would cost more than
 * the rest of the walk. A worker serves one app for its life, so its app is looked up once,
 * when it appears, and kept as a small index beside it in the diff's baseline (`StateDiff`). A
 * transition then moves one unit between the state counts of that app (a worker appearing or
 * leaving adds or takes one), and, while sessions are wanted (`countsByApp$` has a subscriber),
 * a tick adds each worker's sessions to its app with one array write; the gauge of `byApp` needs
 * no sessions, so without a subscriber no worker costs anything more than the diff. The index of
 * an app left without a worker is given to the next new app, so the table holds at most as many
 * apps as there are workers.
 *
 *     walk:     begin ── appOf(new worker's app) … walking[app] += sessions … ── commit (moves applied)
 *     publish:  dirty apps read (the gauge) ── countsByApp() ── settle (empty apps released)
 *
 * @packageDocumentation
 */
import type { StateCounts } from './worker-state';

/** Apps the arrays hold before they first grow. */
const INITIAL_APPS = 64;

/** Per-app counts and sessions, by app index. @internal */
export class AppTally {
  /**
   * Sessions by app index of the walk in progress, written by the walks; zeroed when one
   * begins. Replaced when it grows (only in {@link appOf}), so a walk may hold it in a local
   * only while it assigns no app.
   */
  walking = new Float64Array(INITIAL_APPS);
  /** Apps whose counts moved since the last {@link settle}: the ones whose series may change. */
  readonly dirty: number[] = [];
  /** Whether the walks should add sessions by app, from the next walk on. */
  sessionsWanted = false;
  /** Whether the walk in progress adds sessions by app (set when it begins). */
  sessionsOn = false;
  /** Whether {@link countsByApp} has the sessions of the last completed walk. */
  hasSessions = false;

  private readonly indexOfApp = new Map<string, number>();
  private ids: string[] = [];
  /** Workers by app index and state code: `counts[3 * app + code]`. */
  private counts = new Int32Array(3 * INITIAL_APPS);
  /** Sessions by app index of the last completed walk. */
  private committed = new Float64Array(INITIAL_APPS);
  private isDirty = new Uint8Array(INITIAL_APPS);
  /** Indexes of apps that lost their last worker, for the next new apps. */
  private readonly free: number[] = [];
  /** Indexes handed out so far (the arrays' used length). */
  private used = 0;
  /** Apps given an index during the walk in progress: released again if it is dropped. */
  private readonly fresh: number[] = [];

  /** The index of `appId`, given one if it has none: called once per worker, when it appears. */
  appOf(appId: string): number {
    const known = this.indexOfApp.get(appId);
    if (known !== undefined) return known;
    const app = this.free.pop() ?? this.used++;
    if (app >= this.committed.length) this.grow(app + 1);
    this.ids[app] = appId;
    this.indexOfApp.set(appId, app);
    this.fresh.push(app);
    return app;
  }

  /** The app id of index `app`. */
  idOf(app: number): string {
    return this.ids[app] ?? '';
  }

  /** Workers of index `app` in state `code` (0 busy, 1 idle, 2 draining). */
  workersIn(app: number, code: number): number {
    return this.counts[3 * app + code] as number;
  }

  /** Starts a walk: its sessions from zero, if it adds them. */
  beginWalk(): void {
    this.sessionsOn = this.sessionsWanted;
    if (this.sessionsOn) this.walking.fill(0, 0, this.used);
    this.fresh.length = 0;
  }

  /**
   * Moves one worker of `app` from state code `from` to `to`; a code above 2 is absent (the
   * worker appeared, or left).
   */
  move(app: number, from: number, to: number): void {
    const counts = this.counts;
    if (from < 3) counts[3 * app + from] = (counts[3 * app + from] as number) - 1;
    if (to < 3) counts[3 * app + to] = (counts[3 * app + to] as number) + 1;
    if (this.isDirty[app] === 0) {
      this.isDirty[app] = 1;
      this.dirty.push(app);
    }
  }

  /** Completes a walk whose moves were applied: its sessions, if it added them, become the latest. */
  commitWalk(): void {
    if (this.sessionsOn) {
      const done = this.walking;
      this.walking = this.committed;
      this.committed = done;
    }
    this.hasSessions = this.sessionsOn;
    this.fresh.length = 0;
  }

  /** Drops a walk: the apps it gave an index to, and that have no worker, give it back. */
  abandonWalk(): void {
    for (const app of this.fresh) if (this.workersOf(app) === 0) this.release(app);
    this.fresh.length = 0;
  }

  /** Forgets the moves since the last call, releasing the apps they left without a worker. */
  settle(): void {
    for (const app of this.dirty) {
      this.isDirty[app] = 0;
      if (this.workersOf(app) === 0) this.release(app);
    }
    this.dirty.length = 0;
  }

  /** Forgets every app. */
  clear(): void {
    this.indexOfApp.clear();
    this.ids = [];
    this.counts.fill(0);
    this.committed.fill(0);
    this.walking.fill(0);
    this.isDirty.fill(0);
    this.free.length = 0;
    this.dirty.length = 0;
    this.fresh.length = 0;
    this.used = 0;
    this.hasSessions = false;
  }

  /**
   * The counts of every app with a worker, as of the last completed walk; its sessions are those
   * of that walk when {@link hasSessions}.
   */
  countsByApp(): Map<string, StateCounts> {
    const byApp = new Map<string, StateCounts>();
    for (const [appId, app] of this.indexOfApp) {
      const busy = this.workersIn(app, 0);
      const idle = this.workersIn(app, 1);
      const draining = this.workersIn(app, 2);
      const workers = busy + idle + draining;
      if (workers > 0) byApp.set(appId, { busy, idle, draining, workers, sessions: this.committed[app] as number });
    }
    return byApp;
  }

  private workersOf(app: number): number {
    return this.workersIn(app, 0) + this.workersIn(app, 1) + this.workersIn(app, 2);
  }

  private release(app: number): void {
    this.indexOfApp.delete(this.ids[app] as string);
    this.ids[app] = '';
    this.committed[app] = 0;
    this.free.push(app);
  }

  private grow(apps: number): void {
    const size = Math.max(apps, this.committed.length * 2);
    const counts = new Int32Array(3 * size);
    counts.set(this.counts);
    this.counts = counts;
    for (const name of ['walking', 'committed'] as const) {
      const grown = new Float64Array(size);
      grown.set(this[name]);
      this[name] = grown;
    }
    const isDirty = new Uint8Array(size);
    isDirty.set(this.isDirty);
    this.isDirty = isDirty;
  }
}
