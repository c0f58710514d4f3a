/**
 * Property-based tests (fast-check) of the opt-in views: for any run of snapshots, the per-app
 * counts add up to the server-wide ones and match a model written here, the transitions counted
 * are the transitions that happened (and those `transitions$` emitted), and the per-app series
 * stay within the `maxApps` bound however many apps come and go.
 *
 * The model is this file's own: which records count, each one's state, and the app a worker
 * counts under (the `appId` its record had when it appeared: a worker serves one app for its
 * life), with no call into the library.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import {
  WorkerStateTracker,
  newMetrics,
  type ActiveWorker,
  type SnapshotInput,
  type StateCounts,
  type WorkerTransition,
} from '../../lib';
import { scrape, type Sample } from '../helpers/scrape';
import { anyWorkerFrom, tableOperation, validWorker, withThrowingGetter } from '../helpers/worker-arbitraries';

type State = 'busy' | 'idle' | 'draining';

/** What the model reads of one record: `undefined` when the tracker must leave it out. */
interface Modelled {
  readonly state: State;
  readonly sessions: number;
  /** The record's `appId` when it is a string, else '' (also when reading it throws). */
  readonly appId: string;
}

/** The model of one record: valid when `draining` is a boolean and `sessions` a non-negative integer. */
function model(record: unknown): Modelled | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  let draining: unknown;
  let sessions: unknown;
  try {
    draining = (record as Record<string, unknown>).draining;
    sessions = (record as Record<string, unknown>).sessions;
  } catch {
    return undefined;
  }
  if (typeof draining !== 'boolean' || typeof sessions !== 'number') return undefined;
  if (!Number.isInteger(sessions) || sessions < 0) return undefined;
  let appId = '';
  try {
    const raw = (record as Record<string, unknown>).appId;
    if (typeof raw === 'string') appId = raw;
  } catch {
    // counted under ''
  }
  return { state: draining ? 'draining' : sessions > 0 ? 'busy' : 'idle', sessions, appId };
}

/** One tick of the model: each counted worker's state, sessions and app. */
type ModelTick = Map<string, { readonly state: State; readonly sessions: number; readonly app: string }>;

/**
 * The model of a tick over `entries`, given the last one: a worker present in both keeps the
 * app it had; one appearing takes its record's. An iterable's repeated id counts once (the
 * first).
 */
function modelTick(entries: Iterable<readonly [string, unknown]>, last: ModelTick): ModelTick {
  const tick: ModelTick = new Map();
  for (const [id, record] of entries) {
    if (tick.has(id)) continue;
    const m = model(record);
    if (m === undefined) continue;
    tick.set(id, { state: m.state, sessions: m.sessions, app: last.get(id)?.app ?? m.appId });
  }
  return tick;
}

/** The model's counts of each app. */
function modelByApp(tick: ModelTick): Map<string, StateCounts> {
  const byApp = new Map<string, { busy: number; idle: number; draining: number; workers: number; sessions: number }>();
  for (const w of tick.values()) {
    const c = byApp.get(w.app) ?? { busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 };
    c[w.state] += 1;
    c.workers += 1;
    c.sessions += w.sessions;
    byApp.set(w.app, c);
  }
  return byApp;
}

/** The transitions from one model tick to the next, as `from>to` → how many (`none` = absent). */
function modelTransitions(last: ModelTick, next: ModelTick): Map<string, number> {
  const pairs = new Map<string, number>();
  const add = (pair: string): void => {
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
  };
  for (const [id, w] of next) {
    const before = last.get(id)?.state ?? 'none';
    if (before !== w.state) add(`${before}>${w.state}`);
  }
  for (const [id, w] of last) if (!next.has(id)) add(`${w.state}>none`);
  return pairs;
}

/** Sorted entries, for comparing maps whatever their order. */
const sorted = <V>(map: ReadonlyMap<string, V>): [string, V][] => [...map].sort(([a], [b]) => (a < b ? -1 : 1));

/** `blockyard_worker_transitions_total` as `from>to` → value, zeros left out. */
function countedTransitions(samples: readonly Sample[]): Map<string, number> {
  return new Map(
    samples
      .filter((s) => s.name === 'blockyard_worker_transitions_total' && s.value > 0)
      .map((s) => [`${s.labels.from}>${s.labels.to}`, s.value]),
  );
}

/** Adds `more` into `total`. */
function addInto(total: Map<string, number>, more: ReadonlyMap<string, number>): void {
  for (const [k, v] of more) total.set(k, (total.get(k) ?? 0) + v);
}

// Worker ids w0 … w11, each serving one app of a few (or '' via a non-string or throwing appId).
const APPS = ['sales', 'forecast', 'survey', 'clinic', ''];
const recordOf = (id: number): fc.Arbitrary<unknown> =>
  anyWorkerFrom(validWorker.map((w) => ({ ...w, appId: APPS[id % APPS.length] as string }))).chain((w) =>
    // A valid record whose appId getter throws, now and then.
    fc.constantFrom(w, w, w, model(w) === undefined ? w : withThrowingGetter(w as object, 'appId')),
  );

const operation = fc.oneof(
  tableOperation(11, recordOf),
  // The orchestrator hands over another snapshot: a copy of the Map, or its entries as pairs.
  fc.record({ op: fc.constant('replace' as const), as: fc.constantFrom('map' as const, 'pairs' as const) }),
);

/** One change an orchestrator makes to its worker table between ticks. */
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

/** Applies one tick's operations to `records`; returns what to feed, if the snapshot was replaced. */
function apply(records: Map<string, unknown>, operations: readonly Operation[]): SnapshotInput | undefined {
  let replaced: SnapshotInput | undefined;
  for (const o of operations) {
    if (o.op === 'replace') {
      replaced = (o.as === 'map' ? new Map(records) : [...records]) as unknown as SnapshotInput;
      continue;
    }
    const id = `w${o.id}`;
    if (o.op === 'set') records.set(id, o.worker);
    else if (o.op === 'delete') records.delete(id);
    else {
      const w = records.get(id);
      if (model(w) !== undefined) Object.assign(w as ActiveWorker, { draining: o.draining, sessions: o.sessions });
    }
  }
  return replaced;
}

describe('per-app counts, for any run of snapshots', () => {
  it('add up to the server-wide counts of the same tick and match the model, in countsByApp$ and blockyard_app_workers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(operation, { maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (ticksOfOperations, byApp) => {
          const registry = new Registry();
          const ticks = new Subject<void>();
          const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: ticks, byApp });
          const maps: ReadonlyMap<string, StateCounts>[] = [];
          const totals: StateCounts[] = [];
          tracker.countsByApp$.subscribe((m) => maps.push(m));
          tracker.counts$.subscribe((c) => totals.push(c));
          const records = new Map<string, unknown>();
          tracker.feed(records as unknown as SnapshotInput);
          let fed: Iterable<readonly [string, unknown]> = records;
          let last: ModelTick = new Map();
          for (const operations of ticksOfOperations) {
            const replaced = apply(records, operations);
            if (replaced !== undefined) {
              tracker.feed(replaced);
              fed = replaced as Iterable<readonly [string, unknown]>;
            }
            ticks.next();
            const now = modelTick(fed, last);
            last = now;
            const map = maps.at(-1) as ReadonlyMap<string, StateCounts>;
            expect(sorted(map)).toEqual(sorted(modelByApp(now)));
            // The sums over apps are the server-wide counts of the same tick.
            const sums = { busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 };
            for (const c of map.values()) for (const k of Object.keys(sums) as (keyof StateCounts)[]) sums[k] += c[k];
            expect(sums).toEqual(totals.at(-1));
            if (byApp) {
              const samples = await scrape(registry);
              const series = new Map(
                samples
                  .filter((s) => s.name === 'blockyard_app_workers')
                  .map((s) => [`${s.labels.app}/${s.labels.state}`, s.value]),
              );
              const expected = new Map<string, number>();
              for (const [app, c] of modelByApp(now)) {
                const label = app === '' ? 'unknown' : app;
                for (const state of ['busy', 'idle', 'draining'] as const) expected.set(`${label}/${state}`, c[state]);
              }
              expect(sorted(series)).toEqual(sorted(expected));
            }
          }
          tracker.stop();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('transitions counted, for any run of snapshots', () => {
  it('are the transitions that happened, and those transitions$ emitted, whether or not anyone subscribes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(operation, { maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (ticksOfOperations, byApp) => {
          // One tracker whose transitions$ has a subscriber, one whose has none, fed the same.
          const ticks = new Subject<void>();
          const watchedRegistry = new Registry();
          const watched = new WorkerStateTracker({
            metrics: newMetrics(watchedRegistry),
            tick: ticks,
            countTransitions: true,
          });
          const emitted = new Map<string, number>();
          watched.transitions$.subscribe((t: WorkerTransition) =>
            addInto(emitted, new Map([[`${t.from ?? 'none'}>${t.to ?? 'none'}`, 1]])),
          );
          const unwatchedRegistry = new Registry();
          const unwatched = new WorkerStateTracker({
            metrics: newMetrics(unwatchedRegistry),
            tick: ticks,
            countTransitions: true,
            byApp,
          });
          const records = new Map<string, unknown>();
          for (const t of [watched, unwatched]) t.feed(records as unknown as SnapshotInput);
          let fed: Iterable<readonly [string, unknown]> = records;
          let last: ModelTick = new Map();
          const happened = new Map<string, number>();
          for (const operations of ticksOfOperations) {
            const replaced = apply(records, operations);
            if (replaced !== undefined) {
              for (const t of [watched, unwatched]) t.feed(replaced);
              fed = replaced as Iterable<readonly [string, unknown]>;
            }
            ticks.next();
            const now = modelTick(fed, last);
            addInto(happened, modelTransitions(last, now));
            last = now;
            expect(sorted(emitted)).toEqual(sorted(happened));
            expect(sorted(countedTransitions(await scrape(watchedRegistry)))).toEqual(sorted(happened));
            expect(sorted(countedTransitions(await scrape(unwatchedRegistry)))).toEqual(sorted(happened));
          }
          watched.stop();
          unwatched.stop();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('the app label bound, for any number of apps', () => {
  it('keeps blockyard_app_workers within maxApps + 2 app values under 50,000 distinct app ids, its sums exact', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 200 }),
        async (maxApps, waves, eventApps) => {
          const registry = new Registry();
          const ticks = new Subject<void>();
          const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: ticks, byApp: true, maxApps });
          // Events take slots of the same bound.
          for (let a = 0; a < eventApps; a += 1) tracker.record({ type: 'health_check_failed', app: `event-app-${a}` });
          // 50,000 distinct app ids in all, in `waves` snapshots, each worker its own app; the
          // workers of one wave leave in the next.
          const perWave = Math.ceil(50_000 / waves);
          let app = 0;
          const started = new Date(0);
          for (let wave = 0; wave < waves; wave += 1) {
            const records = new Map<string, ActiveWorker>();
            for (let i = 0; i < perWave && app < 50_000; i += 1, app += 1) {
              records.set(`w${app}`, {
                appId: `app-${app}`,
                draining: app % 7 === 0,
                sessions: app % 3,
                startedAt: started,
              });
            }
            tracker.feed(records);
            ticks.next();
            const samples = await scrape(registry);
            const series = samples.filter((s) => s.name === 'blockyard_app_workers');
            const apps = new Set(series.map((s) => s.labels.app));
            expect(apps.size).toBeLessThanOrEqual(maxApps + 2);
            expect(series).toHaveLength(3 * apps.size);
            for (const state of ['busy', 'idle', 'draining'] as const) {
              let expected = 0;
              for (const w of records.values()) {
                const s = w.draining ? 'draining' : w.sessions > 0 ? 'busy' : 'idle';
                if (s === state) expected += 1;
              }
              const sum = series.filter((s) => s.labels.state === state).reduce((n, s) => n + s.value, 0);
              expect([state, sum]).toEqual([state, expected]);
            }
            // An app with a series of its own carries exactly its own worker.
            for (const s of series) {
              if (s.labels.app === '__overflow__') continue;
              const id = Number((s.labels.app as string).slice('app-'.length));
              const w = records.get(`w${id}`) as ActiveWorker;
              const own = w.draining ? 'draining' : w.sessions > 0 ? 'busy' : 'idle';
              expect(s.value).toBe(s.labels.state === own ? 1 : 0);
            }
          }
          tracker.stop();
        },
      ),
      { numRuns: 6 },
    );
  }, 120_000);
});
