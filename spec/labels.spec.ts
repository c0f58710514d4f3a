import {
  AppUnknown,
  ReasonCrashed,
  ReasonGraceful,
  ReasonIdleTimeout,
  STATUS_CLASSES,
  STOP_REASONS,
  StateBusy,
  StateDraining,
  StateIdle,
  WORKER_STATES,
  proxyStatusClass,
} from '../lib';
import { statusClassIndex } from '../lib/labels';

describe('label values', () => {
  it('match the Go constants byte for byte', () => {
    expect([ReasonGraceful, ReasonCrashed, ReasonIdleTimeout]).toEqual(['graceful', 'crashed', 'idle_timeout']);
    expect([StateBusy, StateIdle, StateDraining]).toEqual(['busy', 'idle', 'draining']);
    expect(AppUnknown).toBe('unknown');
  });

  it('lists every reason and state once, frozen', () => {
    expect(STOP_REASONS).toEqual(['graceful', 'crashed', 'idle_timeout']);
    expect(WORKER_STATES).toEqual(['busy', 'idle', 'draining']);
    expect(Object.isFrozen(STOP_REASONS)).toBe(true);
    expect(Object.isFrozen(WORKER_STATES)).toBe(true);
    expect(Object.isFrozen(STATUS_CLASSES)).toBe(true);
  });
});

describe('proxyStatusClass: every status-class case of the Go tests', () => {
  it.each([
    [0, '1xx'],
    [-1, '1xx'],
    [-500, '1xx'],
    [100, '1xx'],
    [101, '1xx'],
    [199, '1xx'],
    [200, '2xx'],
    [204, '2xx'],
    [299, '2xx'],
    [300, '3xx'],
    [304, '3xx'],
    [399, '3xx'],
    [400, '4xx'],
    [404, '4xx'],
    [418, '4xx'],
    [499, '4xx'],
    [500, '5xx'],
    [502, '5xx'],
    [520, '5xx'],
    [599, '5xx'],
    [600, '5xx'],
    [999, '5xx'],
    [Number.MAX_SAFE_INTEGER, '5xx'],
    [Number.MIN_SAFE_INTEGER, '1xx'],
  ])('maps %p to %p', (code, expected) => {
    expect(proxyStatusClass(code)).toBe(expected);
  });

  it('agrees with the Go comparison chain for every integer from -1000 to 1000', () => {
    const goClass = (code: number): string =>
      code >= 500 ? '5xx' : code >= 400 ? '4xx' : code >= 300 ? '3xx' : code >= 200 ? '2xx' : '1xx';
    for (let code = -1000; code <= 1000; code += 1) {
      expect(proxyStatusClass(code)).toBe(goClass(code));
      expect(STATUS_CLASSES[statusClassIndex(code)]).toBe(goClass(code));
    }
  });

  it('never throws, even on values that are not numbers', () => {
    expect(proxyStatusClass(Number.NaN)).toBe('1xx');
    expect(proxyStatusClass(Infinity)).toBe('5xx');
    expect(proxyStatusClass(undefined as unknown as number)).toBe('1xx');
  });
});
