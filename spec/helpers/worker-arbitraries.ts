/**
 * fast-check arbitraries of worker records, shared by the property tests: valid records, near
 * misses (one field replaced by anything), hostile values and throwing getters.
 */
import fc from 'fast-check';
import type { ActiveWorker } from '../../lib';

/** A valid record, every optional field present or not. */
export const validWorker: fc.Arbitrary<ActiveWorker> = fc.record(
  {
    appId: fc.string({ minLength: 1, maxLength: 8 }),
    bundleId: fc.string({ maxLength: 4 }),
    draining: fc.boolean(),
    idleSince: fc.option(fc.date({ noInvalidDate: true }), { nil: null }),
    startedAt: fc.date({ noInvalidDate: true }),
    sessions: fc.nat(50),
  },
  { requiredKeys: ['appId', 'draining', 'startedAt', 'sessions'] },
);

/** `worker` with `key` turned into a getter that throws. */
export function withThrowingGetter<T extends object>(worker: T, key: string): T {
  return Object.defineProperty({ ...worker }, key, {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
}

/** Anything at all, built on `valid`: valid workers, near misses, and hostile values. */
export function anyWorkerFrom(valid: fc.Arbitrary<ActiveWorker>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          valid,
          fc.constantFrom('appId', 'draining', 'sessions', 'startedAt', 'idleSince', 'bundleId'),
          fc.oneof(
            fc.anything(),
            fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 1.5, '', null, new Date('x'), Symbol('s')),
          ),
        )
        .map(([w, key, value]) => ({ ...w, [key]: value })),
    },
    { weight: 1, arbitrary: fc.anything() },
    { weight: 1, arbitrary: valid.map((w) => withThrowingGetter(w, 'sessions')) },
  );
}

/** Anything at all: valid workers, near misses, and hostile values. */
export const anyWorker: fc.Arbitrary<unknown> = anyWorkerFrom(validWorker);

/**
 * One change an orchestrator makes to its worker table between ticks, on worker ids 0 … `maxId`:
 * a record set (`workerFor(id)` gives it), a worker deleted, or a record's `draining` and
 * `sessions` changed in place.
 */
export function tableOperation(maxId: number, workerFor: (id: number) => fc.Arbitrary<unknown>) {
  return fc.oneof(
    fc
      .integer({ min: 0, max: maxId })
      .chain((id) => fc.record({ op: fc.constant('set' as const), id: fc.constant(id), worker: workerFor(id) })),
    fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 0, max: maxId }) }),
    fc.record({
      op: fc.constant('mutate' as const),
      id: fc.integer({ min: 0, max: maxId }),
      draining: fc.boolean(),
      sessions: fc.nat(3),
    }),
  );
}
