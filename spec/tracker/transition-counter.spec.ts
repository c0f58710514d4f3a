/**
 * `countTransitions`: `blockyard_worker_transitions_total{from,to}`, read as a scraper reads it.
 */
import { Subject } from 'rxjs';
import { WorkerStateTracker, type ActiveWorker, type WorkerTransition } from '../../lib';
import { scrape, type Sample } from '../helpers/scrape';
import { trackerFixture } from '../helpers/tracker-fixture';
import { busy, draining, idle, snapshot } from '../helpers/workers';

const fx = trackerFixture();
const track = fx.track;

/** Every `blockyard_worker_transitions_total` series, as `from>to → value`. */
function transitionSeries(samples: readonly Sample[]): Record<string, number> {
  return Object.fromEntries(
    samples
      .filter((s) => s.name === 'blockyard_worker_transitions_total')
      .map((s) => [`${s.labels.from}>${s.labels.to}`, s.value]),
  );
}

/** The twelve series, all at 0 but those given. */
function expected(nonZero: Record<string, number>): Record<string, number> {
  const all: Record<string, number> = {};
  const ends = ['busy', 'idle', 'draining', 'none'];
  for (const from of ends) for (const to of ends) if (from !== to) all[`${from}>${to}`] = 0;
  return { ...all, ...nonZero };
}

describe('countTransitions: blockyard_worker_transitions_total', () => {
  it('exports the twelve possible series at 0 from the start', async () => {
    track({ tick: new Subject<void>(), countTransitions: true });
    expect(transitionSeries(await scrape(fx.registry))).toEqual(expected({}));
  });

  it('counts appearing, changing and leaving workers with nobody subscribed to transitions$', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, countTransitions: true });
    const records = new Map<string, ActiveWorker>([
      ['w1', idle()],
      ['w2', busy(2)],
      ['w3', draining()],
    ]);
    tracker.feed(records);
    ticks.next();
    expect(transitionSeries(await scrape(fx.registry))).toEqual(
      expected({ 'none>idle': 1, 'none>busy': 1, 'none>draining': 1 }),
    );
    (records.get('w1') as ActiveWorker).sessions = 1;
    (records.get('w2') as ActiveWorker).draining = true;
    records.delete('w3');
    ticks.next();
    ticks.next(); // nothing changed: nothing counted
    (records.get('w1') as ActiveWorker).sessions = 0;
    ticks.next();
    expect(transitionSeries(await scrape(fx.registry))).toEqual(
      expected({
        'none>idle': 1,
        'none>busy': 1,
        'none>draining': 1,
        'idle>busy': 1,
        'busy>draining': 1,
        'draining>none': 1,
        'busy>idle': 1,
      }),
    );
  });

  it('counts the transitions transitions$ emits, and a late subscriber gets only changes', async () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks, countTransitions: true });
    tracker.feed(snapshot({ a: idle(), b: busy() }));
    ticks.next();
    // Diffing ran before this subscriber came: it gets the next tick's changes, not every
    // worker appearing again (which would also disagree with the counter).
    const seen: WorkerTransition[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t));
    tracker.feed(snapshot({ a: busy(), c: draining() }));
    ticks.next();
    expect(seen).toEqual([
      { workerId: 'a', appId: 'app', from: 'idle', to: 'busy' },
      { workerId: 'c', appId: 'app', from: null, to: 'draining' },
      { workerId: 'b', appId: 'app', from: 'busy', to: null },
    ]);
    expect(transitionSeries(await scrape(fx.registry))).toEqual(
      expected({ 'none>idle': 1, 'none>busy': 1, 'idle>busy': 1, 'none>draining': 1, 'busy>none': 1 }),
    );
  });

  it('fails at construction, naming the option, when the registry already holds the counter', () => {
    track({ tick: new Subject<void>(), countTransitions: true });
    const again = (): WorkerStateTracker =>
      new WorkerStateTracker({ metrics: fx.metrics, tick: 10, countTransitions: true });
    expect(again).toThrow(TypeError);
    expect(again).toThrow(
      'WorkerStateTracker: countTransitions: metrics.registry already holds blockyard_worker_transitions_total; one tracker per registry can have countTransitions on',
    );
  });
});
