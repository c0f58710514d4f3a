import { Registry } from 'prom-client';
import {
  NEVER,
  Observable,
  Subject,
  Subscriber,
  asyncScheduler,
  defer,
  interval,
  map,
  throwError,
  type SchedulerLike,
} from 'rxjs';
import {
  WorkerStateTracker,
  deriveStateCounts,
  newMetrics,
  type Metrics,
  type SnapshotInput,
  type TelemetryEvent,
  type WorkerStateTrackerOptions,
} from '../../lib';
import { messageOf } from '../../lib/describe-value';
import { errorWithMessage, trappingProxy, unprintable } from '../helpers/hostile-values';
import { trackerFixture } from '../helpers/tracker-fixture';
import { scrape, valueOf } from '../helpers/scrape';
import { busy, idle, snapshot, snapshotOf, worker } from '../helpers/workers';

const fx = trackerFixture();
const track = fx.track;
afterEach(() => {
  jest.useRealTimers();
});

describe('bad snapshots are reported and the pipeline keeps ticking', () => {
  it('rejects invalid entries one by one, naming the field, while valid entries of the same snapshot count', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    const entries: [unknown, unknown][] = [
      ['ok1', busy(2)],
      ['neg', worker({ sessions: -1 })],
      ['nan', worker({ sessions: Number.NaN })],
      ['frac', worker({ sessions: 1.5 })],
      ['inf', worker({ sessions: Infinity })],
      ['str', { ...worker(), sessions: '3' }],
      ['drain', { ...worker(), draining: 'yes' }],
      ['null', null],
      ['sym', Symbol('w')],
      [
        'getter',
        Object.defineProperty({ ...worker() }, 'sessions', {
          get() {
            throw new Error('boom');
          },
        }),
      ],
      ['ok2', idle()],
      // Malformed fields that decide no count: still counted by default (their state is known).
      ['date', { ...idle(), startedAt: new Date('nope') }],
      ['noapp', { ...idle(), appId: '' }],
    ];
    tracker.feed(new Map(entries) as unknown as SnapshotInput);
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 3, draining: 0, workers: 4, sessions: 2 }]);
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      ['snapshot', 'sessions', 'snapshot entry "neg": sessions must be a non-negative integer, got number -1'],
      ['snapshot', 'sessions', 'snapshot entry "nan": sessions must be a non-negative integer, got number NaN'],
      ['snapshot', 'sessions', 'snapshot entry "frac": sessions must be a non-negative integer, got number 1.5'],
      ['snapshot', 'sessions', 'snapshot entry "inf": sessions must be a non-negative integer, got number Infinity'],
      ['snapshot', 'sessions', 'snapshot entry "str": sessions must be a non-negative integer, got "3"'],
      ['snapshot', 'draining', 'snapshot entry "drain": draining must be a boolean, got "yes"'],
      ['snapshot', 'worker', 'snapshot entry "null": worker must be an object, got null'],
      ['snapshot', 'worker', 'snapshot entry "sym": worker must be an object, got symbol w'],
      ['snapshot', 'worker', 'snapshot entry "getter": reading the worker threw: boom'],
    ]);
    tracker.feed(snapshotOf(0, 0, 1));
    ticks.next();
    expect(emitted[1]).toEqual({ busy: 0, idle: 0, draining: 1, workers: 1, sessions: 0 });
  });

  it.each([
    ['a Map', (entries: [string, unknown][]) => new Map(entries)],
    ['an array of entries', (entries: [string, unknown][]) => entries],
  ])(
    'leaves out an entry whose getter throws anything, reports it in short, and counts the rest (%s)',
    (_kind, toSnapshot) => {
      const ticks = new Subject<void>();
      const { tracker, errors, emitted } = track({ tick: ticks });
      const throwing = (thrown: unknown): object =>
        Object.defineProperty({ ...worker() }, 'sessions', {
          get() {
            throw thrown;
          },
        });
      tracker.feed(
        toSnapshot([
          ['a', busy(2)],
          ['symbol', throwing(errorWithMessage(Symbol('lost')))],
          ['null', throwing(errorWithMessage(null))],
          ['unprintable', throwing(unprintable())],
          ['proxy', throwing(trappingProxy())],
          ['huge', throwing(new Error('h'.repeat(1 << 20)))],
          ['b', idle()],
        ]) as unknown as SnapshotInput,
      );
      ticks.next();
      expect(emitted).toEqual([{ busy: 1, idle: 1, draining: 0, workers: 2, sessions: 2 }]);
      const prefix = 'snapshot entry "huge": reading the worker threw: ';
      expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
        [
          'snapshot',
          'worker',
          'snapshot entry "symbol": reading the worker threw: an Error whose message is symbol lost',
        ],
        ['snapshot', 'worker', 'snapshot entry "null": reading the worker threw: an Error whose message is null'],
        [
          'snapshot',
          'worker',
          'snapshot entry "unprintable": reading the worker threw: an unprintable error (an object)',
        ],
        [
          'snapshot',
          'worker',
          'snapshot entry "proxy": reading the worker threw: an unprintable error (an unreadable value)',
        ],
        ['snapshot', 'worker', `${prefix}${'h'.repeat(1023 - prefix.length)}…`],
      ]);
    },
  );

  it('with strictSnapshots, also rejects malformed fields that decide no count', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks, strictSnapshots: true });
    tracker.feed(
      new Map<string, unknown>([
        ['ok', busy(1)],
        ['noapp', { ...worker(), appId: '' }],
        ['date', { ...worker(), startedAt: new Date('nope') }],
        ['nodate', { ...worker(), startedAt: '2026-01-01' }],
        ['idle', { ...worker(), idleSince: 'yesterday' }],
        ['bundle', { ...worker(), bundleId: 7 }],
      ]) as unknown as SnapshotInput,
    );
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 0, draining: 0, workers: 1, sessions: 1 }]);
    expect(errors.map((e) => [e.field, e.message])).toEqual([
      ['appId', 'snapshot entry "noapp": appId must be a non-empty string, got ""'],
      ['startedAt', 'snapshot entry "date": startedAt must be a valid Date, got Date Invalid Date'],
      ['startedAt', 'snapshot entry "nodate": startedAt must be a valid Date, got "2026-01-01"'],
      ['idleSince', 'snapshot entry "idle": idleSince must be a valid Date, null or absent, got "yesterday"'],
      ['bundleId', 'snapshot entry "bundle": bundleId must be a string or absent, got number 7'],
    ]);
  });

  it('counts a Map with ids that are not strings, and names them as strings in transitions$', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    const seen: unknown[] = [];
    tracker.transitions$.subscribe((t) => seen.push(t.workerId));
    const unprintable = Object.create(null) as object;
    tracker.feed(
      new Map<unknown, unknown>([
        [42, busy()],
        ['', idle()],
        [unprintable, idle()],
      ]) as unknown as SnapshotInput,
    );
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 2, draining: 0, workers: 3, sessions: 1 }]);
    expect(seen).toEqual(['42', '', 'an object']);
    expect(errors).toEqual([]);
  });

  it('walks a Map subclass by what it holds, whatever its keys() and values() say', () => {
    // Every walk (counting, diffing by id or by position, entry by entry) uses Map's own
    // iterators, so they all see the same workers.
    class Lying<K, V> extends Map<K, V> {
      override keys(): MapIterator<K> {
        return new Map<K, V>().keys();
      }
      override values(): MapIterator<V> {
        return new Map<K, V>().values();
      }
    }
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    const records = new Lying<string, unknown>([
      ['a', busy()],
      ['b', idle()],
    ]);
    tracker.feed(records as unknown as SnapshotInput);
    ticks.next();
    const seen: unknown[] = [];
    tracker.transitions$.subscribe((t) => seen.push(`${t.workerId}:${t.to}`));
    ticks.next();
    records.set('b', busy());
    ticks.next();
    expect(emitted.map((c) => c.busy)).toEqual([1, 1, 2]);
    expect(seen).toEqual(['a:busy', 'b:idle', 'b:busy']);
    expect(errors).toEqual([]);
  });

  it('sums up rejections beyond maxRejectionsPerTick in one report', () => {
    const ticks = new Subject<void>();
    const { tracker, errors } = track({ tick: ticks, maxRejectionsPerTick: 2 });
    const bad = new Map(Array.from({ length: 1000 }, (_, i) => [`w${i}`, worker({ sessions: -1 })]));
    tracker.feed(bad);
    ticks.next();
    expect(errors.map((e) => e.message)).toEqual([
      'snapshot entry "w0": sessions must be a non-negative integer, got number -1',
      'snapshot entry "w1": sessions must be a non-negative integer, got number -1',
      '998 more invalid snapshot entries were left out of this tick',
    ]);
  });

  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [42, 'number 42'],
    ['abc', '"abc"'],
    [{ a: 1 }, 'an object'],
  ])('feed(%p) is rejected and the previous snapshot stays', (bad, described) => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    tracker.feed(snapshotOf(1, 0, 0));
    tracker.feed(bad as unknown as SnapshotInput);
    ticks.next();
    expect(emitted).toEqual([{ busy: 1, idle: 0, draining: 0, workers: 1, sessions: 1 }]);
    expect(errors.map((e) => e.message)).toEqual([
      `snapshot must be a Map or an iterable of [workerId, worker] pairs, got ${described}`,
    ]);
  });

  it('skips a tick whose snapshot iterator throws, keeping the gauges, then recovers', async () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    tracker.feed(snapshotOf(2, 0, 0));
    ticks.next();
    tracker.feed({
      [Symbol.iterator]() {
        throw new Error('no cursor');
      },
    });
    ticks.next();
    expect(emitted).toHaveLength(1);
    expect(errors.map((e) => e.message)).toEqual(['iterating the snapshot threw: no cursor']);
    expect(valueOf(await scrape(fx.registry), 'blockyard_workers', { state: 'busy' })).toBe(2);
    tracker.feed(snapshotOf(0, 1, 0));
    ticks.next();
    expect(emitted).toHaveLength(2);
  });

  it('survives a snapshot that turns hostile after feed() accepted it (a Proxy whose trap starts throwing)', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    let looks = 0;
    const turncoat = new Proxy(new Map([['w1', busy(1)]]), {
      getPrototypeOf(target) {
        looks += 1;
        if (looks > 1) throw new Error('trap sprung');
        return Reflect.getPrototypeOf(target);
      },
    });
    tracker.feed(turncoat);
    expect(() => ticks.next()).not.toThrow();
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['snapshot', 'inspecting the snapshot threw: trap sprung'],
    ]);
    tracker.feed(snapshotOf(0, 2, 0));
    ticks.next();
    expect(emitted).toEqual([{ busy: 0, idle: 2, draining: 0, workers: 2, sessions: 0 }]);
    const hostile = new Proxy([], {
      getPrototypeOf() {
        throw new Error('trap');
      },
    });
    expect(deriveStateCounts(hostile)).toEqual({ busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 });
  });

  it('reports a source() that throws or returns garbage, and keeps pulling', () => {
    const ticks = new Subject<void>();
    const results: (() => unknown)[] = [
      () => {
        throw new Error('db down');
      },
      () => 17,
      () => snapshotOf(1, 1, 0),
    ];
    let call = 0;
    const { errors, emitted } = track({ tick: ticks, source: () => (results[call++] as () => SnapshotInput)() });
    ticks.next();
    ticks.next();
    ticks.next();
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['source', 'source() threw: db down'],
      ['source', 'source() must return a Map, an iterable of [workerId, worker] pairs or undefined, got number 17'],
    ]);
    expect(emitted).toEqual([{ busy: 1, idle: 1, draining: 0, workers: 2, sessions: 1 }]);
  });
});

describe('subscribers cannot break the streams or the host', () => {
  it('a throwing counts$ subscriber is reported on errors$ and no stream ends', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    tracker.counts$.subscribe(() => {
      throw new Error('dashboard bug');
    });
    tracker.transitions$.subscribe(() => {
      throw new Error('log sink bug');
    });
    tracker.events$.subscribe({
      next: () => {
        throw new Error('audit bug');
      },
    });
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    ticks.next();
    tracker.record({ type: 'bundle_uploaded' });
    expect(emitted).toHaveLength(2);
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      ['subscriber', 'transitions$', 'a subscriber of transitions$ threw: log sink bug'],
      ['subscriber', 'counts$', 'a subscriber of counts$ threw: dashboard bug'],
      ['subscriber', 'counts$', 'a subscriber of counts$ threw: dashboard bug'],
      ['subscriber', 'events$', 'a subscriber of events$ threw: audit bug'],
    ]);
  });

  it('a raw Subscriber that throws cannot throw out of record(), and later subscribers still get the event', () => {
    const { tracker, errors } = track({ tick: NEVER });
    tracker.events$.subscribe(
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- a raw Subscriber is what this test is about
      new Subscriber({
        next: () => {
          throw new Error('raw subscriber bug');
        },
        error: () => undefined,
        complete: () => undefined,
      }),
    );
    const seen: string[] = [];
    tracker.events$.subscribe((e) => seen.push(e.type));
    expect(() => tracker.record({ type: 'session_opened' })).not.toThrow();
    expect(seen).toEqual(['session_opened']);
    expect(errors.map((e) => e.message)).toEqual(['a subscriber of events$ threw: raw subscriber bug']);
  });

  it('an observer whose every property read throws is reported, not thrown out of subscribe()', () => {
    const { tracker, errors } = track({ tick: NEVER });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no such thing');
        },
        getPrototypeOf() {
          throw new Error('no prototype either');
        },
      },
    );
    expect(() => tracker.counts$.subscribe(hostile)).not.toThrow();
    expect(errors.map((e) => e.message)).toEqual(['a subscriber of counts$ threw: no such thing']);
  });

  it('unsubscribing a piped chain unsubscribes it from the stream', () => {
    const ticks = new Subject<void>();
    const { tracker } = track({ tick: ticks });
    const piped: number[] = [];
    const subscription = tracker.counts$.pipe(map((c) => c.workers)).subscribe((n) => piped.push(n));
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    subscription.unsubscribe();
    ticks.next();
    expect(piped).toEqual([1]);
    const transitions: string[] = [];
    const tracked = tracker.transitions$.pipe(map((t) => t.workerId)).subscribe((id) => transitions.push(id));
    tracked.unsubscribe();
    tracker.feed(snapshotOf(2, 0, 0));
    ticks.next();
    expect(transitions).toEqual([]);
  });

  it('a subscriber that feeds and ticks again gets that tick after the running one, in order', async () => {
    const ticks = new Subject<void>();
    const { tracker, emitted } = track({ tick: ticks });
    const seen: string[] = [];
    let again = true;
    tracker.transitions$.subscribe((t) => {
      seen.push(`${t.workerId}:${t.from ?? 'none'}->${t.to ?? 'none'}`);
      if (again) {
        again = false;
        tracker.feed(new Map([['w9', idle()]]));
        ticks.next();
      }
    });
    tracker.feed(
      new Map([
        ['w1', busy(1)],
        ['w2', busy(1)],
      ]),
    );
    ticks.next();
    expect(seen).toEqual(['w1:none->busy', 'w2:none->busy', 'w9:none->idle', 'w1:busy->none', 'w2:busy->none']);
    expect(emitted.map((c) => c.workers)).toEqual([2, 1]);
    expect(valueOf(await scrape(fx.registry), 'blockyard_workers', { state: 'idle' })).toBe(1);
    expect(valueOf(await scrape(fx.registry), 'blockyard_workers', { state: 'busy' })).toBe(0);
  });

  it('a subscriber that ticks again on every tick cannot hold the host in a loop', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    tracker.counts$.subscribe(() => ticks.next());
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    expect(emitted).toHaveLength(100);
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['tick', 'subscribers asked for a tick from inside each of 100 ticks in a row; the next one was dropped'],
    ]);
    // The next tick from outside runs as usual.
    ticks.next();
    expect(emitted).toHaveLength(200);
  });

  it('a throwing errors$ subscriber goes to the process warning channel, not an uncaught exception', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const { tracker, errors } = track({ tick: NEVER });
      tracker.errors$.subscribe(() => {
        throw new Error('logger down');
      });
      tracker.record({ type: 'nope' } as unknown as TelemetryEvent);
      tracker.record({ type: 'nope' } as unknown as TelemetryEvent);
      expect(errors).toHaveLength(2);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn).toHaveBeenCalledWith('blockyard-telemetry: an errors$ subscriber threw: logger down');
    } finally {
      warn.mockRestore();
    }
  });

  it('lets operator chains own their errors without touching the source', () => {
    const ticks = new Subject<void>();
    const { tracker, emitted } = track({ tick: ticks });
    const downstream: unknown[] = [];
    tracker.counts$
      .pipe(
        map(() => {
          throw new Error('bad projection');
        }),
      )
      .subscribe({ error: (e: unknown) => downstream.push(messageOf(e)) });
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    ticks.next();
    expect(emitted).toHaveLength(2);
    expect(downstream).toEqual(['bad projection']);
  });
});

/** How many errors in a row of a tick Observable are retried, as documented. */
const MAX_TICK_RETRIES = 5;

describe('the tick source', () => {
  it('resubscribes to an erroring tick Observable, then stops after MAX_TICK_RETRIES in a row', () => {
    jest.useFakeTimers();
    let subscriptions = 0;
    const failing = new Observable<number>((subscriber) => {
      subscriptions += 1;
      subscriber.error(new Error('clock broke'));
    });
    const { tracker, errors } = track({ tick: failing });
    jest.runAllTimers();
    expect(subscriptions).toBe(MAX_TICK_RETRIES + 1);
    expect(errors.map((e) => e.origin)).toEqual(Array(MAX_TICK_RETRIES + 1).fill('tick'));
    expect(errors.at(-1)?.message).toBe(
      `the tick Observable errored ${MAX_TICK_RETRIES + 1} times in a row; ticking has stopped`,
    );
    tracker.record({ type: 'bundle_uploaded' });
    expect(errors).toHaveLength(MAX_TICK_RETRIES + 1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports a tick Observable that completes, once, and keeps everything else working', () => {
    const ticks = new Subject<void>();
    const { tracker, errors, emitted } = track({ tick: ticks });
    tracker.feed(snapshotOf(1, 0, 0));
    ticks.next();
    ticks.complete();
    expect(emitted).toHaveLength(1);
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['tick', 'the tick Observable completed; ticking has stopped'],
    ]);
    tracker.record({ type: 'bundle_uploaded' });
    tracker.stop();
    expect(errors).toHaveLength(1);
  });

  it('says nothing of completion when stop() ends ticking, or when the retries gave up', () => {
    jest.useFakeTimers();
    const ticks = new Subject<void>();
    const stopped = track({ tick: ticks });
    stopped.tracker.stop();
    expect(stopped.errors).toEqual([]);
    const failing = new Observable<number>((subscriber) => subscriber.error(new Error('clock broke')));
    const gaveUp = track({ tick: failing });
    jest.runAllTimers();
    expect(gaveUp.errors.filter((e) => e.message.includes('completed'))).toEqual([]);
    expect(gaveUp.errors).toHaveLength(MAX_TICK_RETRIES + 1);
  });

  it('recovers when the tick Observable works again after an error', () => {
    jest.useFakeTimers();
    let attempt = 0;
    const flaky = defer(() => {
      attempt += 1;
      return attempt === 1 ? throwError(() => new Error('hiccup')) : interval(100, asyncScheduler);
    });
    const { tracker, errors, emitted } = track({ tick: flaky });
    tracker.feed(snapshotOf(1, 0, 0));
    jest.advanceTimersByTime(350);
    expect(errors.map((e) => e.message)).toEqual([
      `the tick Observable errored; subscribing again (attempt 1 of ${MAX_TICK_RETRIES})`,
    ]);
    expect(emitted).toHaveLength(3);
    tracker.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports a scheduler that throws, instead of letting RxJS rethrow it in the host', () => {
    const broken: SchedulerLike = {
      now: () => 0,
      schedule: () => {
        throw new Error('no timers here');
      },
    };
    const { tracker, errors } = track({ tick: 1000, scheduler: broken });
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['tick', 'the tick scheduler failed; ticking has stopped: no timers here'],
    ]);
    tracker.record({ type: 'bundle_uploaded' });
    expect(() => tracker.stop()).not.toThrow();
  });

  it('ticks every period with no scheduler, on a timer that does not hold the process open', () => {
    jest.useFakeTimers();
    const { tracker, emitted } = track({ tick: 1000 });
    tracker.feed(snapshot({ a: idle() }));
    jest.advanceTimersByTime(3500);
    expect(emitted).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(1);
    tracker.stop();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('stop()', () => {
  it('completes every stream, is idempotent, and turns later calls into no-ops', async () => {
    jest.useFakeTimers();
    const { tracker, emitted } = track({ tick: 50 });
    const completed: string[] = [];
    tracker.counts$.subscribe({ complete: () => completed.push('counts$') });
    tracker.transitions$.subscribe({ complete: () => completed.push('transitions$') });
    tracker.events$.subscribe({ complete: () => completed.push('events$') });
    tracker.errors$.subscribe({ complete: () => completed.push('errors$') });
    tracker.record({ type: 'proxy_request', app: 'a', status: 500 });
    tracker.stop();
    tracker.stop();
    expect(completed.sort()).toEqual(['counts$', 'errors$', 'events$', 'transitions$']);
    expect(jest.getTimerCount()).toBe(0);
    tracker.feed(snapshotOf(1, 0, 0));
    tracker.record({ type: 'proxy_request', app: 'a', status: 500 });
    expect(tracker.connect(new Subject<SnapshotInput>()).closed).toBe(true);
    jest.advanceTimersByTime(500);
    expect(emitted).toEqual([]);
    // Counts buffered before stop() were handed to prom-client; those after were ignored.
    jest.useRealTimers();
    expect(valueOf(await scrape(fx.registry), 'blockyard_proxy_requests_total', { app: 'a', status: '5xx' })).toBe(1);
  });
});

describe('stop() never throws', () => {
  it('even when a connected Observable or the tick Observable throws in its teardown', () => {
    const throwingTeardown = (what: string): Observable<never> =>
      new Observable<never>(() => () => {
        throw new Error(`${what} teardown broke`);
      });
    const { tracker, errors } = track({ tick: throwingTeardown('tick') });
    tracker.connect(throwingTeardown('snapshots'));
    const completed: string[] = [];
    tracker.counts$.subscribe({ complete: () => completed.push('counts$') });
    tracker.errors$.subscribe({ complete: () => completed.push('errors$') });
    expect(() => tracker.stop()).not.toThrow();
    expect(completed.sort()).toEqual(['counts$', 'errors$']);
    expect(errors.map((e) => [e.origin, e.message])).toEqual([
      ['tick', 'ending the ticks threw: tick teardown broke'],
      ['source', 'unsubscribing from the snapshot Observable threw: snapshots teardown broke'],
    ]);
  });

  it('nor does unsubscribing what connect() returned, nor connect() given a hostile Proxy', () => {
    const { tracker, errors } = track({ tick: NEVER });
    const subscription = tracker.connect(
      new Observable<never>(() => () => {
        throw new Error('teardown broke');
      }),
    );
    expect(() => subscription.unsubscribe()).not.toThrow();
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(() => tracker.connect(hostile as unknown as Observable<SnapshotInput>)).not.toThrow();
    expect(errors.map((e) => e.message)).toEqual([
      'unsubscribing from the snapshot Observable threw: teardown broke',
      'connect() needs an Observable of snapshots, got an unreadable value',
    ]);
  });
});

describe('construction fails fast on bad options', () => {
  const ok = (): Metrics => newMetrics(new Registry());
  it.each<[string, () => unknown, RegExp]>([
    ['no options', () => undefined, /options must be an object with at least \{ metrics, tick \}, got undefined/],
    ['no metrics', () => ({ tick: 10 }), /metrics must be the object newMetrics\(\) returns, got undefined/],
    [
      'a registry as metrics',
      () => ({ metrics: new Registry(), tick: 10 }),
      /metrics must be the object newMetrics\(\) returns, got a Registry/,
    ],
    [
      'metrics missing a collector',
      () => {
        const { buildDuration: _left, ...partial } = newMetrics(new Registry());
        return { metrics: partial as unknown as Metrics, tick: 10 };
      },
      /metrics must be the object newMetrics\(\) returns; its buildDuration is undefined, not a collector/,
    ],
    [
      'metrics with a number for a collector',
      () => ({ metrics: { ...newMetrics(new Registry()), workersSpawned: 5 } as unknown as Metrics, tick: 10 }),
      /its workersSpawned is number 5, not a collector/,
    ],
    [
      'a zero tick',
      () => ({ metrics: ok(), tick: 0 }),
      /^WorkerStateTracker: tick must be a period in milliseconds \(an integer from 1 to 2147483647\) or an Observable, got number 0$/,
    ],
    ['a fractional tick', () => ({ metrics: ok(), tick: 0.5 }), /tick must be .* got number 0.5$/],
    ['a tick between integers', () => ({ metrics: ok(), tick: 1000.5 }), /tick must be .* got number 1000.5$/],
    ['an infinite tick', () => ({ metrics: ok(), tick: Infinity }), /tick must be .* got number Infinity$/],
    ['a negative tick', () => ({ metrics: ok(), tick: -5 }), /got number -5/],
    ['a NaN tick', () => ({ metrics: ok(), tick: Number.NaN }), /got number NaN/],
    [
      'a tick too long for a timer',
      () => ({ metrics: ok(), tick: 2 ** 31 }),
      /to 2147483647\) or an Observable, got number 2147483648$/,
    ],
    ['a string tick', () => ({ metrics: ok(), tick: '1s' }), /got "1s"/],
    ['a promise tick', () => ({ metrics: ok(), tick: Promise.resolve() }), /got a Promise/],
    [
      'a non-function source',
      () => ({ metrics: ok(), tick: 10, source: new Map() }),
      /source must be a function returning a snapshot, got a Map/,
    ],
    [
      'a bad scheduler',
      () => ({ metrics: ok(), tick: 10, scheduler: {} }),
      /scheduler must be an RxJS scheduler, got an object/,
    ],
    [
      'a non-boolean healGauges',
      () => ({ metrics: ok(), tick: 10, healGauges: 'no' }),
      /healGauges must be a boolean, got "no"/,
    ],
    [
      'a zero maxApps',
      () => ({ metrics: ok(), tick: 10, maxApps: 0 }),
      /maxApps must be a positive integer, got number 0/,
    ],
    [
      'a non-boolean byApp',
      () => ({ metrics: ok(), tick: 10, byApp: 'yes' }),
      /WorkerStateTracker: byApp must be a boolean, got "yes"/,
    ],
    [
      'a non-boolean countTransitions',
      () => ({ metrics: ok(), tick: 10, countTransitions: 1 }),
      /countTransitions must be a boolean, got number 1/,
    ],
    [
      'a non-boolean selfMetrics',
      () => ({ metrics: ok(), tick: 10, selfMetrics: null }),
      /selfMetrics must be a boolean, got null/,
    ],
    [
      'an opt-in collector with metrics whose registry is not a Registry',
      () => ({ metrics: { ...ok(), registry: {} } as unknown as Metrics, tick: 10, selfMetrics: true }),
      /metrics must be the object newMetrics\(\) returns; its registry is an object, not a prom-client Registry/,
    ],
    [
      'a misspelt option',
      () => ({ metrics: ok(), tick: 10, heal_gauges: false }),
      /unknown option "heal_gauges"; known: metrics, tick/,
    ],
  ])('rejects %s with a TypeError', (_name, options, message) => {
    const build = (): WorkerStateTracker => new WorkerStateTracker(options() as WorkerStateTrackerOptions);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });
});
