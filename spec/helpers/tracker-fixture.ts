/**
 * A fresh registry, metrics and trackers for each test, stopped after it: the set-up every
 * tracker spec shares. Call `trackerFixture()` at the top of a spec file and read `registry`
 * and `metrics` from it inside tests (they are new for each test).
 */
import { Registry } from 'prom-client';
import {
  WorkerStateTracker,
  newMetrics,
  type Metrics,
  type StateCounts,
  type TelemetryError,
  type WorkerStateTrackerOptions,
} from '../../lib';

/** A tracker built by {@link TrackerFixture.track}, with what it reported and emitted. */
export interface TrackedTracker {
  readonly tracker: WorkerStateTracker;
  /** Everything on `errors$`, in order. */
  readonly errors: TelemetryError[];
  /** Everything on `counts$`, in order. */
  readonly emitted: StateCounts[];
}

export interface TrackerFixture {
  /** This test's registry. */
  readonly registry: Registry;
  /** This test's metrics, on {@link registry}. */
  readonly metrics: Metrics;
  /** A tracker on this test's metrics, stopped after the test. */
  readonly track: (options: Omit<WorkerStateTrackerOptions, 'metrics'>) => TrackedTracker;
}

/** Registers the beforeEach / afterEach hooks and returns the fixture they fill. */
export function trackerFixture(): TrackerFixture {
  let registry: Registry | undefined;
  let metrics: Metrics | undefined;
  let trackers: WorkerStateTracker[] = [];
  beforeEach(() => {
    registry = new Registry();
    metrics = newMetrics(registry);
    trackers = [];
  });
  afterEach(() => {
    for (const t of trackers) t.stop();
  });
  const fixture: TrackerFixture = {
    get registry(): Registry {
      if (registry === undefined) throw new Error('trackerFixture: read registry inside a test');
      return registry;
    },
    get metrics(): Metrics {
      if (metrics === undefined) throw new Error('trackerFixture: read metrics inside a test');
      return metrics;
    },
    track: (options) => {
      const tracker = new WorkerStateTracker({ metrics: fixture.metrics, ...options });
      trackers.push(tracker);
      const errors: TelemetryError[] = [];
      const emitted: StateCounts[] = [];
      tracker.errors$.subscribe((e) => errors.push(e));
      tracker.counts$.subscribe((c) => emitted.push(c));
      return { tracker, errors, emitted };
    },
  };
  return fixture;
}
