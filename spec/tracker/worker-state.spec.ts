import { EMPTY_COUNTS, deriveStateCounts, invalidWorkerReason, workerState, type SnapshotInput } from '../../lib';
import { busy, draining, idle, snapshot, snapshotOf, worker } from '../helpers/workers';

describe('workerState', () => {
  it('lets draining win, then busy when sessions > 0, else idle', () => {
    expect(workerState({ draining: true, sessions: 3 })).toBe('draining');
    expect(workerState({ draining: true, sessions: 0 })).toBe('draining');
    expect(workerState({ draining: false, sessions: 1 })).toBe('busy');
    expect(workerState({ draining: false, sessions: 0 })).toBe('idle');
  });
});

describe('deriveStateCounts', () => {
  it('counts a snapshot by state, with workers and sessions totals', () => {
    expect(deriveStateCounts(snapshot({ a: busy(2), b: busy(1), c: idle(), d: draining(5) }))).toEqual({
      busy: 2,
      idle: 1,
      draining: 1,
      workers: 4,
      sessions: 8,
    });
  });

  it('counts an empty snapshot as zeros', () => {
    expect(deriveStateCounts(new Map())).toEqual(EMPTY_COUNTS);
  });

  it('accepts an array of entries and a generator as well as a Map', () => {
    const expected = { busy: 1, idle: 2, draining: 3, workers: 6, sessions: 1 };
    expect(deriveStateCounts(snapshotOf(1, 2, 3))).toEqual(expected);
    expect(deriveStateCounts([...snapshotOf(1, 2, 3)])).toEqual(expected);
    function* gen(): Generator<[string, ReturnType<typeof busy>]> {
      yield ['a', busy()];
      yield ['b', idle()];
    }
    expect(deriveStateCounts(gen())).toEqual({ busy: 1, idle: 1, draining: 0, workers: 2, sessions: 1 });
  });

  it('leaves invalid entries out and never throws, whatever it is given', () => {
    const mixed = new Map<string, unknown>([
      ['ok', busy()],
      ['bad', worker({ sessions: -3 })],
      ['null', null],
    ]);
    expect(deriveStateCounts(mixed as unknown as SnapshotInput)).toEqual({
      busy: 1,
      idle: 0,
      draining: 0,
      workers: 1,
      sessions: 1,
    });
    for (const hostile of [null, undefined, 42, 'abc', {}, Symbol('x'), () => 1]) {
      expect(deriveStateCounts(hostile as SnapshotInput)).toEqual(EMPTY_COUNTS);
    }
  });

  it('keeps nothing between calls: the same Map counts the same again, and as it is after a change', () => {
    const s = new Map(snapshotOf(3, 2, 1));
    expect(deriveStateCounts(s)).toEqual({ busy: 3, idle: 2, draining: 1, workers: 6, sessions: 3 });
    expect(deriveStateCounts(s)).toEqual({ busy: 3, idle: 2, draining: 1, workers: 6, sessions: 3 });
    s.set('w0', draining(4));
    s.delete('w3');
    expect(deriveStateCounts(s)).toEqual({ busy: 2, idle: 1, draining: 2, workers: 5, sessions: 6 });
  });
});

describe('invalidWorkerReason', () => {
  it('accepts a valid worker, with or without the optional fields', () => {
    expect(invalidWorkerReason(worker())).toBeUndefined();
    expect(invalidWorkerReason(worker({ bundleId: 'b1', idleSince: new Date() }))).toBeUndefined();
    const { idleSince: _drop, ...withoutIdle } = worker();
    expect(invalidWorkerReason(withoutIdle)).toBeUndefined();
  });

  it('checks the fields telemetry reads by default, and every field when strict', () => {
    const badDate = { ...worker(), startedAt: new Date('x') };
    expect(invalidWorkerReason(badDate)).toBeUndefined();
    expect(invalidWorkerReason(badDate, { strict: true })).toBe(
      'startedAt must be a valid Date, got Date Invalid Date',
    );
    expect(deriveStateCounts(new Map([['a', badDate]])).workers).toBe(1);
    expect(deriveStateCounts(new Map([['a', badDate]]), { strict: true }).workers).toBe(0);
  });

  it('names the field and quotes the value', () => {
    expect(invalidWorkerReason(worker({ sessions: 2.5 }))).toBe(
      'sessions must be a non-negative integer, got number 2.5',
    );
    expect(invalidWorkerReason({ ...worker(), appId: 'x'.repeat(10_000) })).toBeUndefined();
    expect(invalidWorkerReason({ ...worker(), appId: 5n }, { strict: true })).toBe(
      'appId must be a non-empty string, got bigint 5',
    );
    const long = invalidWorkerReason({ ...worker(), draining: 'y'.repeat(10_000) }) ?? '';
    expect(long.length).toBeLessThan(120);
  });

  it('reports a Proxy whose traps throw instead of throwing', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(invalidWorkerReason(hostile)).toBe('reading the worker threw: trap');
  });
});
