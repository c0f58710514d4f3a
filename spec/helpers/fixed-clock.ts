/**
 * A fixed wall clock for tests that compare renderings whose exemplars carry `Date.now()`:
 * jest's fake timers at 2026-12-02T10:00:00Z, with `setImmediate`, `nextTick` and
 * `queueMicrotask` left real, since the exposition writer gives the event loop turns with them.
 */
export function useFixedClock(): void {
  jest.useFakeTimers({
    now: new Date('2026-12-02T10:00:00Z'),
    doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'],
  });
}
