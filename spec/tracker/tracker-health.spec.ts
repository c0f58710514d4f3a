/**
 * `selfMetrics`: the tracker's own health, read as a scraper reads it. Time is jest's fake
 * clock (timers, `Date` and `performance.now()`), never a real sleep.
 */
import { Counter, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { WorkerStateTracker, newMetrics, type SnapshotInput } from '../../lib';
import { scrape, valueOf, type Sample } from '../helpers/scrape';
import { trackerFixture } from '../helpers/tracker-fixture';
import { busy, idle, snapshot, snapshotOf } from '../helpers/workers';

const fx = trackerFixture();
const track = fx.track;

const START = Date.parse('2026-03-01T12:00:00Z');

beforeEach(() => {
  // Microtasks stay real: a scrape awaits prom-client's promises.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'], now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

/** The single-value health series, by name without the common prefix. */
function health(samples: readonly Sample[]): Record<string, number> {
  const value = (name: string): number => valueOf(samples, `blockyard_tracker_${name}`);
  return {
    last_reconcile_timestamp_seconds: value('last_reconcile_timestamp_seconds'),
    snapshot_age_seconds: value('snapshot_age_seconds'),
    invalid_workers: value('invalid_workers'),
    ticks: value('reconcile_duration_seconds_count'),
  };
}

describe('selfMetrics: the tracker’s own health', () => {
  it('before any tick: never reconciled (timestamp 0), no age, nothing left out, no tick timed', async () => {
    track({ tick: 1000, selfMetrics: true });
    expect(health(await scrape(fx.registry))).toEqual({
      last_reconcile_timestamp_seconds: 0,
      snapshot_age_seconds: 0,
      invalid_workers: 0,
      ticks: 0,
    });
  });

  it('shows the snapshot age growing while the orchestrator stops feeding, and the last completed tick', async () => {
    const { tracker } = track({ tick: 1000, selfMetrics: true });
    tracker.feed(snapshotOf(1, 1, 0)); // at 12:00:00
    jest.advanceTimersByTime(1000);
    expect(health(await scrape(fx.registry))).toMatchObject({
      last_reconcile_timestamp_seconds: START / 1000 + 1,
      snapshot_age_seconds: 1,
      ticks: 1,
    });
    // Five more ticks on the same snapshot: the gauges would look healthy; the age says not.
    jest.advanceTimersByTime(5000);
    expect(health(await scrape(fx.registry))).toMatchObject({
      last_reconcile_timestamp_seconds: START / 1000 + 6,
      snapshot_age_seconds: 6,
      ticks: 6,
    });
    jest.advanceTimersByTime(500);
    tracker.feed(snapshotOf(2, 0, 0)); // fed again half-way to the next tick
    jest.advanceTimersByTime(500);
    expect(health(await scrape(fx.registry))).toMatchObject({
      last_reconcile_timestamp_seconds: START / 1000 + 7,
      snapshot_age_seconds: 0.5,
      ticks: 7,
    });
  });

  it('counts a connected stream’s snapshots as handed over, and a snapshot pulled through source as age 0', async () => {
    const snapshots$ = new Subject<SnapshotInput>();
    const connected = track({ tick: 1000, selfMetrics: true });
    connected.tracker.connect(snapshots$);
    snapshots$.next(snapshotOf(1, 0, 0));
    jest.advanceTimersByTime(3000);
    expect(health(await scrape(fx.registry)).snapshot_age_seconds).toBe(3);

    const registry = new Registry();
    const pulled = new WorkerStateTracker({
      metrics: newMetrics(registry),
      tick: 1000,
      selfMetrics: true,
      source: () => snapshotOf(1, 0, 0),
    });
    jest.advanceTimersByTime(3000);
    expect(health(await scrape(registry))).toMatchObject({ snapshot_age_seconds: 0, ticks: 3 });
    pulled.stop();
  });

  it('times each tick into the duration histogram (10 µs … 1 s)', async () => {
    const ticks = new Subject<void>();
    // A source that takes 3 ms (of the fake clock) to answer.
    track({
      tick: ticks,
      selfMetrics: true,
      source: () => {
        jest.advanceTimersByTime(3);
        return snapshotOf(1, 0, 0);
      },
    });
    ticks.next();
    const samples = await scrape(fx.registry);
    const buckets = samples
      .filter((s) => s.name === 'blockyard_tracker_reconcile_duration_seconds_bucket')
      .map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([
      ['0.00001', 0],
      ['0.000025', 0],
      ['0.00005', 0],
      ['0.0001', 0],
      ['0.00025', 0],
      ['0.0005', 0],
      ['0.001', 0],
      ['0.0025', 0],
      ['0.005', 1],
      ['0.01', 1],
      ['0.025', 1],
      ['0.05', 1],
      ['0.1', 1],
      ['0.25', 1],
      ['0.5', 1],
      ['1', 1],
      ['+Inf', 1],
    ]);
    expect(valueOf(samples, 'blockyard_tracker_reconcile_duration_seconds_sum')).toBeCloseTo(0.003, 9);
  });

  it('gauges the entries the last tick left out', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, selfMetrics: true });
    const records = new Map<string, unknown>([
      ['a', busy()],
      ['b', { ...idle(), sessions: -1 }],
      ['c', { ...idle(), draining: 'yes' }],
    ]);
    tracker.feed(records as unknown as SnapshotInput);
    ticks.next();
    expect(health(await scrape(fx.registry)).invalid_workers).toBe(2);
    records.set('b', idle());
    records.delete('c');
    ticks.next();
    expect(health(await scrape(fx.registry)).invalid_workers).toBe(0);
  });

  it('leaves the last reconcile time alone when a tick cannot walk its snapshot', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, selfMetrics: true });
    tracker.feed(snapshot({ a: busy() }));
    ticks.next();
    jest.advanceTimersByTime(10_000);
    tracker.feed({
      [Symbol.iterator]: () => {
        throw new Error('cursor lost');
      },
    });
    ticks.next();
    expect(health(await scrape(fx.registry))).toMatchObject({
      last_reconcile_timestamp_seconds: START / 1000,
      ticks: 1,
    });
  });

  it('counts every report on errors$ by origin, all six from 0, with or without a subscriber', async () => {
    const registry = new Registry();
    const ticks = new Subject<void>();
    // Nobody subscribes to errors$: 150 reports, more than the 100 kept for a first subscriber.
    const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: ticks, selfMetrics: true });
    for (let i = 0; i < 150; i += 1) tracker.record({ type: 'worker_exploded' } as never);
    tracker.feed('not a snapshot' as never);
    tracker.counts$.subscribe(() => {
      throw new Error('panel bug');
    });
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    const samples = await scrape(registry);
    const byOrigin: Record<string, number> = {};
    for (const s of samples) if (s.name === 'blockyard_tracker_errors_total') byOrigin[s.labels.origin ?? ''] = s.value;
    expect(byOrigin).toEqual({ snapshot: 1, event: 150, source: 0, tick: 0, subscriber: 1, bound: 0 });
    tracker.stop();
  });

  it('fails at construction, naming the option and every name taken', () => {
    track({ tick: new Subject<void>(), selfMetrics: true });
    const again = (): WorkerStateTracker =>
      new WorkerStateTracker({ metrics: fx.metrics, tick: 10, selfMetrics: true });
    expect(again).toThrow(TypeError);
    expect(again).toThrow(
      'WorkerStateTracker: selfMetrics: metrics.registry already holds blockyard_tracker_last_reconcile_timestamp_seconds, blockyard_tracker_reconcile_duration_seconds, blockyard_tracker_snapshot_age_seconds, blockyard_tracker_invalid_workers, blockyard_tracker_errors_total; one tracker per registry can have selfMetrics on',
    );
  });

  it('registers nothing when one name is taken, so a corrected construction succeeds', () => {
    new Counter({ name: 'blockyard_tracker_errors_total', help: 'the host’s own', registers: [fx.registry] });
    const options = { metrics: fx.metrics, tick: 10, byApp: true, countTransitions: true, selfMetrics: true };
    expect(() => new WorkerStateTracker(options)).toThrow(
      'WorkerStateTracker: selfMetrics: metrics.registry already holds blockyard_tracker_errors_total; one tracker per registry can have selfMetrics on',
    );
    expect(fx.registry.getSingleMetric('blockyard_app_workers')).toBeUndefined();
    expect(fx.registry.getSingleMetric('blockyard_worker_transitions_total')).toBeUndefined();
    expect(() => track({ tick: 10, byApp: true, countTransitions: true })).not.toThrow();
  });
});
