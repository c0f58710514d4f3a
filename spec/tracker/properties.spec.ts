/**
 * Property-based tests (fast-check) of the tracker: for any snapshot, nothing throws, counts
 * are the oracle's (spec/helpers/worker-oracle.ts, the rules written out independently of
 * lib/), and exactly the invalid entries are reported.
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
  type WorkerTransition,
} from '../../lib';
import { anyWorker, tableOperation, validWorker } from '../helpers/worker-arbitraries';
import { oracleCounts, oracleState, type OracleState } from '../helpers/worker-oracle';

describe('deriveStateCounts, for any snapshot', () => {
  it.each([false, true])(
    'counts as the oracle does, as a Map and as an array of pairs, and agrees with workerState and invalidWorkerReason (strict: %p)',
    (strict) => {
      fc.assert(
        fc.property(fc.array(anyWorker, { maxLength: 40 }), (workers) => {
          const map = new Map(workers.map((w, i) => [`w${i}`, w]));
          const expected = oracleCounts(map, strict);
          expect(deriveStateCounts(map as unknown as SnapshotInput, { strict })).toEqual(expected);
          expect(deriveStateCounts([...map] as unknown as SnapshotInput, { strict })).toEqual(expected);
          for (const w of workers) {
            const state = oracleState(w, strict);
            expect(invalidWorkerReason(w, { strict }) === undefined).toBe(state !== undefined);
            if (state !== undefined) expect(workerState(w as ActiveWorker)).toBe(state);
          }
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
 * Each worker's state as rebuilt from `tracker.transitions$` alone. The subscriber only
 * collects: an `expect` inside it would throw into the tracker's own guard, which reports it on
 * `errors$` and goes on, so a broken transition would pass unseen. `check()` applies what was
 * collected since the last call, in order, and asserts that each transition starts from the
 * state the last one left, outside the stream.
 */
function followTransitions(tracker: WorkerStateTracker): { states: Map<string, OracleState>; check: () => void } {
  const states = new Map<string, OracleState>();
  const pending: WorkerTransition[] = [];
  tracker.transitions$.subscribe((t: WorkerTransition) => pending.push(t));
  const check = (): void => {
    for (const t of pending.splice(0)) {
      expect([t.workerId, t.from]).toEqual([t.workerId, states.get(t.workerId) ?? null]);
      if (t.to === null) states.delete(t.workerId);
      else states.set(t.workerId, t.to);
    }
  };
  return { states, check };
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
        const invalidIds = workers.flatMap((w, i) => (oracleState(w, strict) === undefined ? [`"w${i}"`] : []));
        expect(errors.map((e) => /^snapshot entry ("w\d+")/.exec(e.message)?.[1])).toEqual(invalidIds);
        const expected = oracleCounts(map, strict);
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
        const { states, check } = followTransitions(tracker);
        for (const entries of steps) {
          const snapshot = new Map(entries.map(([id, w]) => [`w${id}`, w]));
          tracker.feed(snapshot);
          ticks.next();
          check();
          const expected = new Map([...snapshot].map(([id, w]) => [id, oracleState(w)]));
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
          const { states, check } = followTransitions(tracker);
          const snapshot = new Map<string, unknown>();
          tracker.feed(snapshot as unknown as SnapshotInput);
          for (const operations of ticksOfOperations) {
            for (const o of operations) {
              const id = `w${o.id}`;
              if (o.op === 'set') snapshot.set(id, o.worker);
              else if (o.op === 'delete') snapshot.delete(id);
              else {
                const worker = snapshot.get(id);
                if (worker !== undefined && oracleState(worker) !== undefined) {
                  Object.assign(worker as ActiveWorker, { draining: o.draining, sessions: o.sessions });
                }
              }
            }
            ticks.next();
            check();
            const expected = new Map<string, OracleState>();
            for (const [id, w] of snapshot) {
              const state = oracleState(w);
              if (state !== undefined) expected.set(id, state);
            }
            expect(new Map([...states].sort())).toEqual(new Map([...expected].sort()));
          }
          tracker.stop();
        },
      ),
      { numRuns: 500 },
    );
  });
});
