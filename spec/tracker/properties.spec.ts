/**
 * Property-based tests (fast-check) of the tracker: for any snapshot, nothing throws, counts
 * are consistent, and exactly the invalid entries are reported.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import {
  WorkerStateTracker,
  deriveStateCounts,
  invalidWorkerReason,
  newMetrics,
  workerState,
  type ActiveWorker,
  type SnapshotInput,
  type TelemetryError,
  type WorkerState,
  type WorkerTransition,
} from '../../lib';
import { anyWorker, tableOperation, validWorker } from '../helpers/worker-arbitraries';

describe('deriveStateCounts, for any snapshot', () => {
  it.each([false, true])(
    'never throws; counts are non-negative integers summing to the number of valid workers (strict: %p)',
    (strict) => {
      fc.assert(
        fc.property(fc.array(anyWorker, { maxLength: 40 }), (workers) => {
          const map = new Map(workers.map((w, i) => [`w${i}`, w]));
          const counts = deriveStateCounts(map as unknown as SnapshotInput, { strict });
          const valid = workers.filter((w) => invalidWorkerReason(w, { strict }) === undefined) as ActiveWorker[];
          for (const v of Object.values(counts)) expect(Number.isInteger(v) && v >= 0).toBe(true);
          expect(counts.busy + counts.idle + counts.draining).toBe(valid.length);
          expect(counts.workers).toBe(valid.length);
          expect(counts.sessions).toBe(valid.reduce((s, w) => s + w.sessions, 0));
          const byState = (state: WorkerState): number => valid.filter((w) => workerState(w) === state).length;
          expect([counts.busy, counts.idle, counts.draining]).toEqual([
            byState('busy'),
            byState('idle'),
            byState('draining'),
          ]);
          // The same entries as an array of pairs count the same.
          expect(deriveStateCounts([...map] as unknown as SnapshotInput, { strict })).toEqual(counts);
        }),
        { numRuns: 300 },
      );
    },
  );

  it('never throws on values that are not snapshots at all', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => deriveStateCounts(value as SnapshotInput)).not.toThrow();
      }),
    );
  });
});

/**
 * Each worker's state as rebuilt from `tracker.transitions$` alone: applied in order, each
 * transition must start from the state the last one left (checked on the way).
 */
function followTransitions(tracker: WorkerStateTracker): Map<string, WorkerState> {
  const states = new Map<string, WorkerState>();
  tracker.transitions$.subscribe((t: WorkerTransition) => {
    expect(t.from).toBe(states.get(t.workerId) ?? null);
    if (t.to === null) states.delete(t.workerId);
    else states.set(t.workerId, t.to);
  });
  return states;
}

describe('the tracker, for any snapshot', () => {
  it('reports exactly the invalid entries, and sets the gauges from the valid ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyWorker, { maxLength: 30 }), fc.boolean(), async (workers, strict) => {
        const registry = new Registry();
        const ticks = new Subject<void>();
        const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: ticks, strictSnapshots: strict });
        const errors: TelemetryError[] = [];
        tracker.errors$.subscribe((e) => errors.push(e));
        const map = new Map(workers.map((w, i) => [`w${i}`, w]));
        expect(() => tracker.feed(map as unknown as SnapshotInput)).not.toThrow();
        ticks.next();
        tracker.stop();
        const invalidIds = workers.flatMap((w, i) =>
          invalidWorkerReason(w, { strict }) === undefined ? [] : [`"w${i}"`],
        );
        expect(errors.map((e) => /^snapshot entry ("w\d+")/.exec(e.message)?.[1])).toEqual(invalidIds);
        const expected = deriveStateCounts(map as unknown as SnapshotInput, { strict });
        const text = await registry.metrics();
        expect(text).toContain(`blockyard_workers{state="busy"} ${expected.busy}\n`);
        expect(text).toContain(`blockyard_workers{state="idle"} ${expected.idle}\n`);
        expect(text).toContain(`blockyard_workers{state="draining"} ${expected.draining}\n`);
      }),
      { numRuns: 150 },
    );
  });

  it("emits transitions that, applied in order, rebuild each snapshot's states", () => {
    const step = fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), validWorker), { maxLength: 16 });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
        const ticks = new Subject<void>();
        const tracker = new WorkerStateTracker({ metrics: newMetrics(new Registry()), tick: ticks });
        const states = followTransitions(tracker);
        for (const entries of steps) {
          const snapshot = new Map(entries.map(([id, w]) => [`w${id}`, w]));
          tracker.feed(snapshot);
          ticks.next();
          const expected = new Map([...snapshot].map(([id, w]) => [id, workerState(w)]));
          expect(new Map([...states].sort())).toEqual(new Map([...expected].sort()));
        }
        tracker.stop();
      }),
      { numRuns: 300 },
    );
  });

  it("emits transitions that rebuild the valid workers' states when one Map is changed in place, whatever else it holds", () => {
    // The walk compares each worker with the one at the same position in the last walk, and
    // falls back to matching by id, or to an entry-by-entry walk, when that stops working: the
    // mutations below (new, moved, removed and changed workers; invalid and throwing entries)
    // drive every one of those paths, on the same Map, as an orchestrator does.
    const operation = tableOperation(12, () => anyWorker);
    fc.assert(
      fc.property(
        fc.array(fc.array(operation, { maxLength: 6 }), { minLength: 1, maxLength: 10 }),
        (ticksOfOperations) => {
          const ticks = new Subject<void>();
          const tracker = new WorkerStateTracker({ metrics: newMetrics(new Registry()), tick: ticks });
          const states = followTransitions(tracker);
          const snapshot = new Map<string, unknown>();
          tracker.feed(snapshot as unknown as SnapshotInput);
          for (const operations of ticksOfOperations) {
            for (const o of operations) {
              const id = `w${o.id}`;
              if (o.op === 'set') snapshot.set(id, o.worker);
              else if (o.op === 'delete') snapshot.delete(id);
              else {
                const worker = snapshot.get(id);
                if (worker !== undefined && invalidWorkerReason(worker) === undefined) {
                  Object.assign(worker as ActiveWorker, { draining: o.draining, sessions: o.sessions });
                }
              }
            }
            ticks.next();
            const expected = new Map<string, WorkerState>();
            for (const [id, w] of snapshot)
              if (invalidWorkerReason(w) === undefined) expected.set(id, workerState(w as ActiveWorker) as WorkerState);
            expect(new Map([...states].sort())).toEqual(new Map([...expected].sort()));
          }
          tracker.stop();
        },
      ),
      { numRuns: 500 },
    );
  });
});
