/**
 * Workers by app: `countsByApp$` and, with `byApp`, `blockyard_app_workers{app,state}`. Read as
 * a scraper reads them; expected values are written out by hand.
 */
import { Registry, type Gauge } from 'prom-client';
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
import { trackerFixture } from '../helpers/tracker-fixture';
import { busy, draining, idle, snapshot } from '../helpers/workers';

const fx = trackerFixture();
const track = fx.track;

/** `{ busy, idle, draining, workers, sessions }`, written short. */
const counts = (b: number, i: number, d: number, sessions: number): StateCounts => ({
  busy: b,
  idle: i,
  draining: d,
  workers: b + i + d,
  sessions,
});

/** Every `blockyard_app_workers` series, as `app/state → value`, sorted. */
function appSeries(samples: readonly Sample[]): Record<string, number> {
  const found = samples
    .filter((s) => s.name === 'blockyard_app_workers')
    .map((s) => [`${s.labels.app}/${s.labels.state}`, s.value] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(found);
}

/** The three series of each app, as `app/state → value`. */
function seriesOf(apps: Record<string, readonly [number, number, number]>): Record<string, number> {
  const out: [string, number][] = [];
  for (const [app, [b, i, d]] of Object.entries(apps)) {
    out.push([`${app}/busy`, b], [`${app}/draining`, d], [`${app}/idle`, i]);
  }
  return Object.fromEntries(out.sort(([a], [b]) => a.localeCompare(b)));
}

describe('byApp: blockyard_app_workers', () => {
  it('sets all three states of every app with a worker, and removes an app at the first tick it has none', async () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks, byApp: true });
    const records = new Map<string, ActiveWorker>([
      ['w1', busy(2, { appId: 'sales' })],
      ['w2', idle({ appId: 'sales' })],
      ['w3', draining(1, { appId: 'forecast' })],
    ]);
    tracker.feed(records);
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ sales: [1, 1, 0], forecast: [0, 0, 1] }));

    records.delete('w3'); // forecast's last worker leaves
    records.set('w4', idle({ appId: 'survey' }));
    (records.get('w2') as ActiveWorker).sessions = 1; // changed in place
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ sales: [2, 0, 0], survey: [0, 1, 0] }));

    records.clear();
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual({});
    expect(errors).toEqual([]);
  });

  it('keeps each app right when a new app takes the place of one that left', async () => {
    // The tracker reuses the slot of an app left without workers: the new app must not inherit
    // the old one's label or counts.
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, byApp: true });
    tracker.feed(snapshot({ a1: busy(1, { appId: 'old' }), a2: busy(1, { appId: 'old' }), b1: idle({ appId: 'b' }) }));
    ticks.next();
    tracker.feed(snapshot({ b1: idle({ appId: 'b' }), n1: draining(0, { appId: 'new' }) }));
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ b: [0, 1, 0], new: [0, 0, 1] }));
    tracker.feed(
      snapshot({ b1: idle({ appId: 'b' }), n1: draining(0, { appId: 'new' }), o1: busy(1, { appId: 'old' }) }),
    );
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ b: [0, 1, 0], new: [0, 0, 1], old: [1, 0, 0] }));
  });

  it('shares the maxApps bound with the event counters: later apps add up under __overflow__', async () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks, byApp: true, maxApps: 2 });
    // An event takes the first slot of the bound, the first worker's app the second.
    tracker.record({ type: 'proxy_request', app: 'from-events', status: 200 });
    tracker.feed(
      snapshot({
        w1: busy(1, { appId: 'first' }),
        w2: idle({ appId: 'second' }),
        w3: draining(0, { appId: 'third' }),
        w4: idle({ appId: 'second' }),
        w5: busy(3, { appId: 'first' }),
      }),
    );
    ticks.next();
    tracker.record({ type: 'health_check_failed', app: 'second' });
    const samples = await scrape(fx.registry);
    expect(appSeries(samples)).toEqual(seriesOf({ first: [2, 0, 0], __overflow__: [0, 2, 1] }));
    expect(
      samples.filter((s) => s.name === 'blockyard_health_checks_failed_total').map((s) => [s.labels.app, s.value]),
    ).toEqual([['__overflow__', 1]]);
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      ['bound', 'app', 'more than 2 distinct app names; "second" and later new apps are counted as __overflow__'],
    ]);
  });

  it('removes __overflow__ only when every app folded into it has no worker left', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, byApp: true, maxApps: 1 });
    const records = new Map<string, ActiveWorker>([
      ['w1', idle({ appId: 'kept' })],
      ['w2', idle({ appId: 'x' })],
      ['w3', busy(1, { appId: 'y' })],
    ]);
    tracker.feed(records);
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ kept: [0, 1, 0], __overflow__: [1, 1, 0] }));
    records.delete('w2');
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ kept: [0, 1, 0], __overflow__: [1, 0, 0] }));
    records.delete('w3');
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ kept: [0, 1, 0] }));
  });

  it('counts a worker whose appId is not a string under app="unknown"', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, byApp: true });
    const byApp: ReadonlyMap<string, StateCounts>[] = [];
    tracker.countsByApp$.subscribe((m) => byApp.push(m));
    tracker.feed(snapshot({ w1: busy(2, { appId: 42 as unknown as string }), w2: idle({ appId: 'ok' }) }));
    ticks.next();
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ ok: [0, 1, 0], unknown: [1, 0, 0] }));
    expect(byApp.at(-1)).toEqual(
      new Map([
        ['', counts(1, 0, 0, 2)],
        ['ok', counts(0, 1, 0, 0)],
      ]),
    );
  });

  it('reads a worker’s appId once, when it appears, not on every tick', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, byApp: true, countTransitions: true });
    let reads = 0;
    const record = {
      ...busy(1),
      get appId(): string {
        reads += 1;
        return 'counted';
      },
    };
    const records = new Map<string, unknown>([['w1', record]]);
    tracker.feed(records as unknown as SnapshotInput);
    for (let i = 0; i < 5; i += 1) ticks.next();
    expect(reads).toBe(1);
  });

  it('fails at construction, naming the option, when the registry already holds the gauge', () => {
    track({ tick: new Subject<void>(), byApp: true });
    const again = (): WorkerStateTracker => new WorkerStateTracker({ metrics: fx.metrics, tick: 10, byApp: true });
    expect(again).toThrow(TypeError);
    expect(again).toThrow(
      'WorkerStateTracker: byApp: metrics.registry already holds blockyard_app_workers; one tracker per registry can have byApp on',
    );
  });

  it('reports a gauge that throws on errors$ and goes on with the tick, the next app series still set', async () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks, byApp: true });
    const gauge = fx.registry.getSingleMetric('blockyard_app_workers') as Gauge<'app' | 'state'>;
    const labels = gauge.labels.bind(gauge) as (...values: string[]) => Gauge.Internal<'app' | 'state'>;
    gauge.labels = ((...values: string[]) => {
      if (values[0] === 'broken') throw new Error('label store full');
      return labels(...values);
    }) as typeof gauge.labels;
    tracker.feed(snapshot({ w1: idle({ appId: 'broken' }), w2: busy(1, { appId: 'fine' }) }));
    ticks.next();
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['tick', 'setting blockyard_app_workers failed: label store full'],
    ]);
    expect(emitted).toEqual([counts(1, 1, 0, 1)]);
    expect(appSeries(await scrape(fx.registry))).toEqual(seriesOf({ fine: [1, 0, 0] }));
  });

  it('registers nothing without the option', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    tracker.feed(snapshot({ w1: busy(1, { appId: 'a' }) }));
    ticks.next();
    const names = new Set((await scrape(fx.registry)).map((s) => s.name));
    expect([...names].filter((name) => /^blockyard_(app_workers|worker_transitions|tracker_)/.test(name))).toEqual([]);
  });
});

describe('countsByApp$', () => {
  it('emits one map per tick whose sums are that tick’s counts, and replays the latest to a late subscriber', () => {
    const ticks = new Subject<void>();
    const { tracker, emitted } = track({ tick: ticks, byApp: true });
    const maps: ReadonlyMap<string, StateCounts>[] = [];
    tracker.countsByApp$.subscribe((m) => maps.push(m));
    const records = new Map<string, ActiveWorker>([
      ['w1', busy(3, { appId: 'a' })],
      ['w2', draining(2, { appId: 'b' })],
      ['w3', idle({ appId: 'a' })],
    ]);
    tracker.feed(records);
    ticks.next();
    records.delete('w2');
    ticks.next();
    expect(maps).toEqual([
      new Map([
        ['a', counts(1, 1, 0, 3)],
        ['b', counts(0, 0, 1, 2)],
      ]),
      new Map([['a', counts(1, 1, 0, 3)]]),
    ]);
    expect(emitted).toEqual([counts(1, 1, 1, 5), counts(1, 1, 0, 3)]);
    const late: ReadonlyMap<string, StateCounts>[] = [];
    tracker.countsByApp$.subscribe((m) => late.push(m));
    expect(late).toEqual([new Map([['a', counts(1, 1, 0, 3)]])]);
  });

  it.each([false, true])(
    'gives a first subscriber its first map at the next tick, and never a stale one (byApp: %p)',
    (byApp) => {
      // Sessions by app are counted only while someone subscribes, byApp or not.
      const ticks = new Subject<void>();
      const { tracker } = track({ tick: ticks, byApp });
      const records = new Map<string, ActiveWorker>([['w1', busy(1, { appId: 'a' })]]);
      tracker.feed(records);
      ticks.next();
      const first: ReadonlyMap<string, StateCounts>[] = [];
      const sub = tracker.countsByApp$.subscribe((m) => first.push(m));
      expect(first).toEqual([]);
      ticks.next();
      expect(first).toEqual([new Map([['a', counts(1, 0, 0, 1)]])]);
      sub.unsubscribe();
      records.set('w2', idle({ appId: 'b' }));
      ticks.next();
      const again: ReadonlyMap<string, StateCounts>[] = [];
      tracker.countsByApp$.subscribe((m) => again.push(m));
      expect(again).toEqual([]);
      ticks.next();
      expect(again).toEqual([
        new Map([
          ['a', counts(1, 0, 0, 1)],
          ['b', counts(0, 1, 0, 0)],
        ]),
      ]);
    },
  );

  it('joins diffing that transitions$ started without making it report every worker again', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    const records = new Map<string, ActiveWorker>([
      ['w1', busy(1, { appId: 'a' })],
      ['w2', idle({ appId: 'b' })],
    ]);
    tracker.feed(records);
    ticks.next();
    seen.length = 0;
    const maps: ReadonlyMap<string, StateCounts>[] = [];
    tracker.countsByApp$.subscribe((m) => maps.push(m));
    (records.get('w2') as ActiveWorker).draining = true;
    ticks.next();
    expect(seen).toEqual([{ workerId: 'w2', appId: 'b', from: 'idle', to: 'draining' }]);
    expect(maps).toEqual([
      new Map([
        ['a', counts(1, 0, 0, 1)],
        ['b', counts(0, 0, 1, 0)],
      ]),
    ]);
  });

  it('reports a throwing subscriber, naming the stream, and completes on close()', async () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks, byApp: true });
    let completed = false;
    tracker.countsByApp$.subscribe({
      next: () => {
        throw new Error('panel bug');
      },
      complete: () => (completed = true),
    });
    tracker.feed(snapshot({ w1: idle({ appId: 'a' }) }));
    ticks.next();
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      ['subscriber', 'countsByApp$', 'a subscriber of countsByApp$ threw: panel bug'],
    ]);
    await tracker.close();
    expect(completed).toBe(true);
  });
});

describe('per-app counts through the walk’s fallbacks', () => {
  /** Each tick: the sums of countsByApp$ by state, next to counts$, and the scraped series. */
  async function tickAndCompare(
    registry: Registry,
    ticks: Subject<void>,
    maps: ReadonlyMap<string, StateCounts>[],
    totals: StateCounts[],
  ): Promise<void> {
    ticks.next();
    const map = maps.at(-1) as ReadonlyMap<string, StateCounts>;
    const sum = { busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 };
    for (const c of map.values()) {
      sum.busy += c.busy;
      sum.idle += c.idle;
      sum.draining += c.draining;
      sum.workers += c.workers;
      sum.sessions += c.sessions;
    }
    expect(sum).toEqual(totals.at(-1));
    const samples = await scrape(registry);
    for (const state of ['busy', 'idle', 'draining'] as const) {
      const byApp = samples
        .filter((s) => s.name === 'blockyard_app_workers' && s.labels.state === state)
        .reduce((n, s) => n + s.value, 0);
      const whole = samples.find((s) => s.name === 'blockyard_workers' && s.labels.state === state)?.value;
      expect([state, byApp]).toEqual([state, whole]);
    }
  }

  it('stays equal to the server-wide counts with invalid entries, throwing getters, in-place changes and a replaced snapshot', async () => {
    const registry = new Registry();
    const ticks = new Subject<void>();
    const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: ticks, byApp: true });
    const maps: ReadonlyMap<string, StateCounts>[] = [];
    const totals: StateCounts[] = [];
    const reports: string[] = [];
    tracker.errors$.subscribe((e) => reports.push(e.message));
    tracker.countsByApp$.subscribe((m) => maps.push(m));
    tracker.counts$.subscribe((c) => totals.push(c));
    const records = new Map<string, unknown>([
      ['w1', busy(2, { appId: 'a' })],
      ['w2', idle({ appId: 'b' })],
      ['w3', draining(1, { appId: 'a' })],
    ]);
    tracker.feed(records as unknown as SnapshotInput);
    await tickAndCompare(registry, ticks, maps, totals);
    expect(maps.at(-1)).toEqual(
      new Map([
        ['a', counts(1, 0, 1, 3)],
        ['b', counts(0, 1, 0, 0)],
      ]),
    );
    // An invalid entry: left out of both.
    records.set('w2', { ...idle({ appId: 'b' }), sessions: -1 });
    await tickAndCompare(registry, ticks, maps, totals);
    expect(maps.at(-1)).toEqual(new Map([['a', counts(1, 0, 1, 3)]]));
    // A getter that throws, and a change in place.
    records.set(
      'w4',
      Object.defineProperty({ ...busy(1, { appId: 'c' }) }, 'sessions', {
        enumerable: true,
        get(): number {
          throw new Error('record lock');
        },
      }),
    );
    (records.get('w1') as ActiveWorker).sessions = 0;
    await tickAndCompare(registry, ticks, maps, totals);
    expect(maps.at(-1)).toEqual(new Map([['a', counts(0, 1, 1, 1)]]));
    // The valid record comes back; the throwing one stays out.
    records.set('w2', idle({ appId: 'b' }));
    await tickAndCompare(registry, ticks, maps, totals);
    // Another snapshot altogether, as an array of pairs, then a Map again.
    tracker.feed([
      ['w9', busy(4, { appId: 'd' })],
      ['w1', idle({ appId: 'a' })],
    ]);
    await tickAndCompare(registry, ticks, maps, totals);
    expect(maps.at(-1)).toEqual(
      new Map([
        ['a', counts(0, 1, 0, 0)],
        ['d', counts(1, 0, 0, 4)],
      ]),
    );
    tracker.feed(snapshot({ w5: busy(1, { appId: 'e' }) }));
    await tickAndCompare(registry, ticks, maps, totals);
    expect(maps.at(-1)).toEqual(new Map([['e', counts(1, 0, 0, 1)]]));
    expect(reports).toEqual([
      'snapshot entry "w2": sessions must be a non-negative integer, got number -1',
      'snapshot entry "w2": sessions must be a non-negative integer, got number -1',
      'snapshot entry "w4": reading the worker threw: record lock',
      'snapshot entry "w4": reading the worker threw: record lock',
    ]);
    tracker.stop();
  });
});
