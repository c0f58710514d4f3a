import { Registry } from 'prom-client';
import { Subject, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { EMPTY_COUNTS, type SnapshotInput, type StateCounts, type WorkerTransition } from '../../lib';
import { trackerFixture } from '../helpers/tracker-fixture';
import { scrape, scrapeValue, valueOf } from '../helpers/scrape';
import { busy, draining, idle, snapshot, snapshotOf } from '../helpers/workers';

const counts = (b: number, i: number, d: number, sessions = b): StateCounts => ({
  busy: b,
  idle: i,
  draining: d,
  workers: b + i + d,
  sessions,
});

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Reads `blockyard_workers{state}` as a scraper would. */
async function stateGauges(registry: Registry): Promise<Record<string, number>> {
  const samples = await scrape(registry);
  return {
    busy: valueOf(samples, 'blockyard_workers', { state: 'busy' }),
    idle: valueOf(samples, 'blockyard_workers', { state: 'idle' }),
    draining: valueOf(samples, 'blockyard_workers', { state: 'draining' }),
  };
}

const fx = trackerFixture();
const track = fx.track;

describe('WorkerStateTracker: reconciliation ticks', () => {
  it('emits the counts of the latest snapshot at each tick', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const ticks = hot('--t-----t-----t-----t--');
      const snaps = hot('-a----b-----------c----', {
        a: snapshotOf(1, 0, 0),
        b: snapshotOf(2, 1, 0),
        c: snapshotOf(0, 0, 3),
      });
      const { tracker } = track({ tick: ticks });
      tracker.connect(snaps);
      expectObservable(tracker.counts$).toBe('--A-----B-----B-----C--', {
        A: counts(1, 0, 0),
        B: counts(2, 1, 0),
        C: counts(0, 0, 3, 0),
      });
    });
  });

  it('ticks on a period with the given scheduler, and stop() completes counts$', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const { tracker } = track({ tick: 10, scheduler });
      tracker.feed(snapshotOf(1, 1, 1));
      scheduler.schedule(() => tracker.feed(snapshotOf(2, 0, 0)), 15);
      scheduler.schedule(() => tracker.stop(), 35);
      expectObservable(tracker.counts$).toBe('10ms A 9ms B 9ms B 4ms |', {
        A: counts(1, 1, 1),
        B: counts(2, 0, 0),
      });
    });
  });

  it('sets all three state gauges, zeros included, before counts$ emits', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const seen: Promise<unknown>[] = [];
    tracker.counts$.subscribe(() => seen.push(fx.metrics.workersByState.get()));
    tracker.feed(snapshotOf(3, 2, 1));
    ticks.next();
    tracker.feed(snapshotOf(0, 4, 0));
    ticks.next();
    expect(await stateGauges(fx.registry)).toEqual({ busy: 0, idle: 4, draining: 0 });
    const atFirstTick = (await seen[0]) as { values: { labels: { state: string }; value: number }[] };
    expect(Object.fromEntries(atFirstTick.values.map((v) => [v.labels.state, v.value]))).toEqual({
      busy: 3,
      idle: 2,
      draining: 1,
    });
  });

  it('exports the three states at 0 before any snapshot, and counts$ stays silent until one', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const emitted: StateCounts[] = [];
    tracker.counts$.subscribe((c) => emitted.push(c));
    ticks.next();
    ticks.next();
    expect(emitted).toEqual([]);
    expect(await stateGauges(fx.registry)).toEqual({ busy: 0, idle: 0, draining: 0 });
    tracker.feed(new Map());
    ticks.next();
    expect(emitted).toEqual([EMPTY_COUNTS]);
  });

  it('lets draining win over busy, and counts sessions of draining workers', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const emitted: StateCounts[] = [];
    tracker.counts$.subscribe((c) => emitted.push(c));
    tracker.feed(snapshot({ a: draining(4), b: busy(2), c: idle(), d: draining(0) }));
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 1, draining: 2, workers: 4, sessions: 6 }]);
  });

  it('drops a worker that left the snapshot at the next tick', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const records = new Map([
      ['w1', busy()],
      ['w2', idle()],
    ]);
    tracker.feed(records);
    ticks.next();
    expect(await stateGauges(fx.registry)).toEqual({ busy: 1, idle: 1, draining: 0 });
    records.delete('w1'); // the orchestrator mutates its own map in place
    ticks.next();
    expect(await stateGauges(fx.registry)).toEqual({ busy: 0, idle: 1, draining: 0 });
  });

  it('gives a late subscriber the latest counts at once', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    tracker.feed(snapshotOf(2, 0, 0));
    ticks.next();
    const late: StateCounts[] = [];
    tracker.counts$.subscribe((c) => late.push(c));
    expect(late).toEqual([counts(2, 0, 0)]);
  });
});

describe('WorkerStateTracker: snapshot sources', () => {
  it('samples pushed snapshots: only the latest before a tick counts', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const { tracker } = track({ tick: cold('----t---t') });
      const values = { a: snapshotOf(1, 0, 0), b: snapshotOf(0, 1, 0), c: snapshotOf(0, 0, 1) };
      cold('-a-b---c').subscribe((k) => tracker.feed(values[k as keyof typeof values]));
      expectObservable(tracker.counts$).toBe('----B---C', { B: counts(0, 1, 0), C: counts(0, 0, 1, 0) });
    });
  });

  it('pulls from source() on each tick', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let n = 0;
      const { tracker } = track({ tick: cold('-t-t-t'), source: () => snapshotOf((n += 1), 0, 0) });
      expectObservable(tracker.counts$).toBe('-A-B-C', { A: counts(1, 0, 0), B: counts(2, 0, 0), C: counts(3, 0, 0) });
    });
  });

  it('falls back to the latest fed snapshot when source() returns undefined', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let pulled: SnapshotInput | undefined = snapshotOf(1, 0, 0);
      const { tracker } = track({ tick: cold('-t-t-t'), source: () => pulled });
      cold('--x').subscribe(() => {
        pulled = undefined;
        tracker.feed(snapshotOf(0, 2, 0));
      });
      expectObservable(tracker.counts$).toBe('-A-B-B', { A: counts(1, 0, 0), B: counts(0, 2, 0) });
    });
  });

  it('connect() feeds until unsubscribed, and reports an erroring snapshot Observable', () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks });
    const snaps = new Subject<SnapshotInput>();
    const emitted: StateCounts[] = [];
    tracker.counts$.subscribe((c) => emitted.push(c));
    const sub = tracker.connect(snaps);
    snaps.next(snapshotOf(1, 0, 0));
    ticks.next();
    sub.unsubscribe();
    snaps.next(snapshotOf(5, 0, 0));
    ticks.next();
    expect(emitted).toEqual([counts(1, 0, 0), counts(1, 0, 0)]);

    tracker.connect(throwError(() => new Error('orchestrator went away')));
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['source', 'the connected snapshot Observable errored: orchestrator went away'],
    ]);
    ticks.next();
    expect(emitted).toHaveLength(3);
  });

  it('accepts any iterable of [id, worker] pairs, rejecting repeated ids', () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks });
    const emitted: StateCounts[] = [];
    tracker.counts$.subscribe((c) => emitted.push(c));
    tracker.feed([
      ['a', busy(3)],
      ['b', idle()],
      ['a', idle()],
    ]);
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 1, draining: 0, workers: 2, sessions: 3 }]);
    expect(errors.map((e) => e.message)).toEqual([
      'snapshot entry "a": duplicate worker id "a"; the first entry counts',
    ]);
  });
});

describe('WorkerStateTracker: transitions$', () => {
  it('reports appear, change and leave between sampled snapshots (changes in walk order, then departures)', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const ticks = hot('-t--t--t--t');
      const snaps = hot('a--b--c--d-', {
        a: snapshot({ w1: idle({ appId: 'x' }) }),
        b: snapshot({ w1: busy(1, { appId: 'x' }), w2: idle({ appId: 'y' }) }),
        c: snapshot({ w1: busy(2, { appId: 'x' }), w2: idle({ appId: 'y' }) }),
        d: snapshot({ w2: draining(0, { appId: 'y' }) }),
      });
      const { tracker } = track({ tick: ticks });
      tracker.connect(snaps);
      const t = (workerId: string, appId: string, from: string | null, to: string | null): WorkerTransition =>
        ({ workerId, appId, from, to }) as WorkerTransition;
      expectObservable(tracker.transitions$).toBe('-a--(bc)--(de)', {
        a: t('w1', 'x', null, 'idle'),
        b: t('w1', 'x', 'idle', 'busy'),
        c: t('w2', 'y', null, 'idle'),
        d: t('w2', 'y', 'idle', 'draining'),
        e: t('w1', 'x', 'busy', null),
      });
    });
  });

  it('diffs by worker id when the snapshot changes shape or order', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    tracker.feed(snapshot({ a: idle(), b: busy(), c: idle(), d: draining() }));
    ticks.next();
    seen.length = 0;
    // Reordered, one removed from the middle, one added, one changed.
    tracker.feed(snapshot({ d: draining(), e: busy(), a: busy(), c: idle() }));
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'e', appId: 'app', from: null, to: 'busy' },
      { workerId: 'a', appId: 'app', from: 'idle', to: 'busy' },
      { workerId: 'b', appId: 'app', from: 'busy', to: null },
    ]);
    seen.length = 0;
    ticks.next();
    expect(seen).toEqual([]);
  });

  it('reports each change once when an invalid entry follows a changed one in a Map', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    const records = new Map([
      ['a', idle()],
      ['b', idle()],
      ['c', idle()],
    ]);
    tracker.feed(records);
    ticks.next();
    seen.length = 0;
    // 'a' changes in place, then 'b' is invalid: the fast walk gives up and the slow one
    // (which names 'b') must find 'a''s change against the baseline, not against its own edit.
    records.set('a', busy());
    records.set('b', { ...idle(), sessions: -1 });
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'a', appId: 'app', from: 'idle', to: 'busy' },
      { workerId: 'b', appId: 'app', from: 'idle', to: null },
    ]);
    seen.length = 0;
    ticks.next();
    expect(seen).toEqual([]);
  });

  it('treats an entry that turns invalid as gone, and a first subscriber as starting from empty', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const records = new Map([['w1', busy()]]);
    tracker.feed(records);
    ticks.next(); // no subscriber yet: no diffing
    const seen: WorkerTransition[] = [];
    const sub = tracker.transitions$.subscribe((t) => seen.push(t));
    ticks.next();
    records.set('w1', { ...busy(), sessions: -1 });
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'w1', appId: 'app', from: null, to: 'busy' },
      { workerId: 'w1', appId: 'app', from: 'busy', to: null },
    ]);
    sub.unsubscribe();
  });

  it('starts from empty again when the last subscriber has left and a new one comes', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    tracker.feed(snapshot({ w1: busy() }));
    const first: WorkerTransition[] = [];
    const sub = tracker.transitions$.subscribe((t) => first.push(t));
    ticks.next();
    sub.unsubscribe();
    ticks.next(); // nobody listens: no diffing
    const second: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => second.push(t));
    ticks.next();
    // The worker is the same busy one throughout: only a baseline forgotten when the last
    // subscriber left makes it appear again for the new subscriber.
    expect(first).toEqual([{ workerId: 'w1', appId: 'app', from: null, to: 'busy' }]);
    expect(second).toEqual([{ workerId: 'w1', appId: 'app', from: null, to: 'busy' }]);
  });

  it('sees a worker moved to a new key in the same Map, even where record and position are unchanged', () => {
    // Between ticks, 'a' is renamed 'x' with its record, and 'b' deleted and set again: the Map
    // holds the same records, in the same positions, at the same size. Only the ids differ.
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    const a = idle();
    const b = busy();
    const records = new Map([
      ['a', a],
      ['b', b],
    ]);
    tracker.feed(records);
    ticks.next();
    ticks.next(); // the baseline now comes from a walk of this same, unchanged Map
    seen.length = 0;
    records.delete('a');
    records.delete('b');
    records.set('x', a);
    records.set('b', b);
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'x', appId: 'app', from: null, to: 'idle' },
      { workerId: 'a', appId: 'app', from: 'idle', to: null },
    ]);
  });

  it("stays exact when a worker's getter adds and removes workers in the middle of a tick", () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const states = new Map<string, string>();
    tracker.transitions$.subscribe((t) => (t.to === null ? states.delete(t.workerId) : states.set(t.workerId, t.to)));
    const records = new Map<string, unknown>();
    for (let i = 0; i < 8; i += 1) records.set(`w${i}`, i % 2 === 0 ? idle() : busy());
    let mutate = false;
    // w2's sessions getter deletes a worker ahead of the walk and adds one, keeping the size.
    records.set('w2', {
      ...busy(),
      get sessions(): number {
        if (mutate) {
          mutate = false;
          records.delete('w5');
          records.set('w8', draining());
        }
        return 1;
      },
    });
    tracker.feed(records as unknown as SnapshotInput);
    ticks.next();
    ticks.next();
    mutate = true;
    ticks.next();
    const expected = new Map<string, string>();
    for (const id of records.keys())
      expected.set(id, id === 'w8' ? 'draining' : id === 'w2' || Number(id.slice(1)) % 2 === 1 ? 'busy' : 'idle');
    expect(new Map([...states].sort())).toEqual(new Map([...expected].sort()));
    expect(states.has('w5')).toBe(false);
  });

  it('keeps the baseline of the last complete walk when a snapshot iterator throws halfway', () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks });
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    tracker.feed(snapshot({ a: idle() }));
    ticks.next();
    function* broken(): Generator<[string, ReturnType<typeof busy>]> {
      yield ['a', busy()];
      yield ['b', idle()];
      throw new Error('cursor lost');
    }
    tracker.feed({ [Symbol.iterator]: broken });
    ticks.next();
    expect(errors.map((e) => e.message)).toEqual(['iterating the snapshot threw: cursor lost']);
    tracker.feed(snapshot({ a: busy(), c: idle() }));
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'a', appId: 'app', from: null, to: 'idle' },
      { workerId: 'a', appId: 'app', from: 'idle', to: 'busy' },
      { workerId: 'c', appId: 'app', from: null, to: 'idle' },
    ]);
  });
});

describe('WorkerStateTracker: self-healing gauges', () => {
  it('sets workers_active and sessions_active to the snapshot totals on each tick', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    tracker.record({ type: 'worker_spawned' }); // a spawn event whose stop was missed
    tracker.record({ type: 'worker_spawned' });
    tracker.record({ type: 'session_opened' });
    expect(await scrapeValue(fx.registry, 'blockyard_workers_active')).toBe(2);
    tracker.feed(snapshot({ a: busy(4), b: draining(1), c: idle() }));
    ticks.next();
    const samples = await scrape(fx.registry);
    expect(valueOf(samples, 'blockyard_workers_active')).toBe(3);
    expect(valueOf(samples, 'blockyard_sessions_active')).toBe(5);
  });

  it('leaves them to events alone with healGauges: false (the Go behaviour)', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, healGauges: false });
    tracker.record({ type: 'worker_spawned' });
    tracker.feed(snapshotOf(3, 0, 0));
    ticks.next();
    const samples = await scrape(fx.registry);
    expect(valueOf(samples, 'blockyard_workers_active')).toBe(1);
    expect(valueOf(samples, 'blockyard_sessions_active')).toBe(0);
    expect(valueOf(samples, 'blockyard_workers', { state: 'busy' })).toBe(3);
  });

  it('does not touch them before the first snapshot', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    tracker.record({ type: 'worker_spawned' });
    ticks.next();
    expect(await scrapeValue(fx.registry, 'blockyard_workers_active')).toBe(1);
  });
});
