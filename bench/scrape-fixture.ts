/**
 * Two identical registries for the scrape benchmarks: one filled the way production fills it
 * (a tracker recording events and reconciling a snapshot, so its scrape-time hooks run), one
 * filled with plain prom-client calls to the same values. Every collector of the contract
 * holds something: proxy requests for every app and status class, health-check failures per
 * app, the three histograms, every counter and gauge. Their expositions are byte-identical,
 * which {@link scrapeFixture} checks, so a benchmark compares rendering paths and nothing else.
 */
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { Subject } from 'rxjs';
import { countByHand } from './reconcile';
import {
  STATUS_CLASSES,
  STOP_REASONS,
  WorkerStateTracker,
  newMetrics,
  type ActiveWorker,
  type Metrics,
  type TelemetryEvent,
} from '../lib';

/** A filled pair of registries, and how to release the tracker behind `ours`. */
export interface ScrapeFixture {
  /** Filled through a tracker, as in production. */
  readonly ours: Registry;
  /** The same values, set with plain prom-client calls. */
  readonly plain: Registry;
  /** Stops the tracker (no timer is running; this only completes its streams). */
  stop(): void;
}

/** The per-app counters, whose series move between two scrapes of a busy orchestrator. */
const PER_APP_COUNTERS = ['blockyard_proxy_requests_total', 'blockyard_health_checks_failed_total'];

/**
 * Adds 1 to every series of the per-app counters of `registry`, in place in prom-client's
 * records, as `inc()` does (and as the tracker's own writes do): between two scrapes of a busy
 * orchestrator most of them have moved. In place, so that a benchmark times the scrape, not
 * 6,000 `labels(…).inc()` calls (about 300 ns each) that both sides would pay alike.
 */
export function everySeriesMover(registry: Registry): () => void {
  const records = PER_APP_COUNTERS.flatMap((name) => {
    const counter = registry.getSingleMetric(name) as unknown as { hashMap: Record<string, { value: number }> };
    return Object.values(counter.hashMap);
  });
  if (records.length === 0) throw new Error('scrape fixture: no per-app series to move');
  return () => {
    for (const record of records) record.value += 1;
  };
}

/** One representative status code per class, lowest class first (as STATUS_CLASSES). */
const CODES = [101, 200, 302, 404, 503];

/** How many requests app `i` answered in status class `c`: deterministic, never zero. */
function requestCount(i: number, c: number): number {
  return 1 + ((i * 7 + c * 3) % 20);
}

/** The duration of request `k` of a series, in seconds: spread over every bucket. */
function requestSeconds(i: number, c: number, k: number): number {
  return ((i + c + k) % 40) / 4;
}

/** A small snapshot: 5 busy, 3 idle and 2 draining workers, 9 sessions. */
function snapshot(): Map<string, ActiveWorker> {
  const workers = new Map<string, ActiveWorker>();
  const startedAt = new Date('2026-01-01T00:00:00Z');
  for (let i = 0; i < 10; i += 1) {
    const draining = i >= 8;
    const sessions = i < 5 ? 1 + (i % 3) : i === 9 ? 1 : 0;
    workers.set(`w${i}`, { appId: `app-${i}`, draining, sessions, startedAt, idleSince: null });
  }
  return workers;
}

/** Every event the fixture records, in order; the plain fill replays the same values. */
function* events(apps: number): Generator<TelemetryEvent> {
  for (let i = 0; i < apps; i += 1) {
    for (let c = 0; c < CODES.length; c += 1) {
      for (let k = 0; k < requestCount(i, c); k += 1) {
        yield { type: 'proxy_request', app: `app-${i}`, status: CODES[c] as number, seconds: requestSeconds(i, c, k) };
      }
    }
  }
  for (let k = 0; k < 7; k += 1) yield { type: 'proxy_request', status: 404, seconds: requestSeconds(0, 3, k) };
  for (let i = 0; i < apps; i += 1) {
    for (let k = 0; k <= i % 3; k += 1) yield { type: 'health_check_failed', app: `app-${i}` };
  }
  for (let k = 0; k < 12; k += 1) yield { type: 'worker_spawned', coldStartSeconds: 0.4 + k * 5 };
  for (let k = 0; k < 6; k += 1)
    yield { type: 'worker_stopped', reason: STOP_REASONS[k % 3] as (typeof STOP_REASONS)[number] };
  for (let k = 0; k < 4; k += 1) yield { type: 'bundle_uploaded' };
  for (let k = 0; k < 5; k += 1) yield { type: 'bundle_restored', ok: k !== 4, seconds: 3 + k * 100 };
  for (let k = 0; k < 2; k += 1) yield { type: 'audit_entry_dropped' };
  for (let k = 0; k < 3; k += 1) yield { type: 'session_opened' };
}

/** The plain fill: what prom-client holds after the tracker recorded {@link events}. */
function fillPlain(m: Metrics, apps: number): void {
  const counts = snapshot();
  for (let i = 0; i < apps; i += 1) {
    for (let c = 0; c < CODES.length; c += 1) {
      for (let k = 0; k < requestCount(i, c); k += 1) m.proxyRequestDuration.observe(requestSeconds(i, c, k));
    }
  }
  for (let k = 0; k < 7; k += 1) m.proxyRequestDuration.observe(requestSeconds(0, 3, k));
  // The tracker hands prom-client its buffered request counts app by app, class by class,
  // with the unknown app last (the order it first saw them): the same series order here.
  for (let i = 0; i < apps; i += 1) {
    for (let c = 0; c < CODES.length; c += 1) {
      m.proxyRequests.labels(`app-${i}`, STATUS_CLASSES[c] as string).inc(requestCount(i, c));
    }
  }
  m.proxyRequests.labels('unknown', '4xx').inc(7);
  for (let i = 0; i < apps; i += 1) {
    for (let k = 0; k <= i % 3; k += 1) m.healthChecksFailed.labels(`app-${i}`).inc();
  }
  for (let k = 0; k < 12; k += 1) {
    m.workersSpawned.inc();
    m.coldStartDuration.observe(0.4 + k * 5);
  }
  for (let k = 0; k < 6; k += 1) m.workersStopped.labels(STOP_REASONS[k % 3] as string).inc();
  m.bundlesUploaded.inc(4);
  for (let k = 0; k < 5; k += 1) {
    if (k !== 4) {
      m.bundleRestoresSucceeded.inc();
      m.buildDuration.observe(3 + k * 100);
    } else {
      m.bundleRestoresFailed.inc();
    }
  }
  m.auditEntriesDropped.inc(2);
  const { busy, idle, draining, sessions } = countByHand(counts);
  m.workersByState.labels('busy').set(busy);
  m.workersByState.labels('idle').set(idle);
  m.workersByState.labels('draining').set(draining);
  m.workersActive.set(counts.size);
  m.sessionsActive.set(sessions);
}

/** A fresh registry in `format` (prom-client fixes one format per registry). */
function registryIn(format: 'prometheus' | 'openmetrics'): Registry {
  // prom-client types a registry by its format; ours are served and filled alike in either.
  if (format === 'prometheus') return new Registry();
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry as unknown as Registry;
}

/**
 * Two registries in `format` holding the same values for `apps` apps. Resolves once both are
 * filled and their expositions compared; rejects if they differ.
 */
export async function scrapeFixture(
  apps: number,
  format: 'prometheus' | 'openmetrics' = 'prometheus',
): Promise<ScrapeFixture> {
  const ours = registryIn(format);
  const ticks = new Subject<void>();
  const tracker = new WorkerStateTracker({ metrics: newMetrics(ours), tick: ticks, maxApps: Math.max(apps, 1000) });
  const problems: string[] = [];
  const subscription = tracker.errors$.subscribe((e) => problems.push(e.message));
  for (const event of events(apps)) tracker.record(event);
  tracker.feed(snapshot());
  ticks.next();
  if (problems.length > 0) throw new Error(`scrape fixture: the tracker rejected input: ${problems[0]}`);

  const plain = registryIn(format);
  fillPlain(newMetrics(plain), apps);

  const [a, b] = [await ours.metrics(), await plain.metrics()];
  if (a !== b) {
    let at = 0;
    while (at < a.length && a[at] === b[at]) at += 1;
    throw new Error(
      `scrape fixture: the two registries differ at byte ${at}: ${JSON.stringify(a.slice(at - 80, at + 80))}`,
    );
  }
  return {
    ours,
    plain,
    stop: () => {
      subscription.unsubscribe();
      tracker.stop();
    },
  };
}
