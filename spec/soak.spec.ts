/**
 * Soak: the library running as inside a busy orchestrator, for about 25 s of real time.
 *
 * 100,000 workers churn in one Map mutated in place (sessions change, some drain, some leave,
 * new ones join) while the tracker ticks for real every 100 ms; thousands of events a second
 * of every kind are recorded (a known number of each, plus invalid ones), and four scrapers
 * read a real `serveMetrics` on 127.0.0.1 the whole time, in both formats, gzipped or not.
 *
 * Real time is the point here (a soak of a running system), so the run lasts a fixed span;
 * every wait on something to happen polls with a deadline (wait-until.ts). At the end:
 * every counter equals the valid events recorded of its kind, the gauges equal the last
 * snapshot, errors$ carried exactly the invalid events, the heap stayed under a stated bound,
 * and stop() + close() left no handle open.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import {
  STOP_REASONS,
  TelemetryError,
  WorkerStateTracker,
  newMetrics,
  serveMetrics,
  type ActiveWorker,
  type StopReason,
  type TelemetryEvent,
} from '../lib';
import { Registry } from 'prom-client';
import { httpRequest } from './helpers/http-client';
import { parseExposition, valueOf, type Sample } from './helpers/scrape';
import { watchHandles } from './helpers/watch-handles';
import { waitUntil } from './helpers/wait-until';

/** How long workers churn, events flow and scrapers scrape. */
const SOAK_MS = 25_000;
const WORKERS = 100_000;
const APPS = 200;
/** Churn and events are produced in steps this far apart: 100 events a step, 5,000 a second. */
const STEP_MS = 20;
const EVENTS_PER_STEP = 100;
const SCRAPERS = 4;
/** Pause between two scrapes of one scraper (the four together scrape about 50 times a second). */
const SCRAPE_PAUSE_MS = 60;
/** Heap growth allowed over the run, measured after a full GC (all of it, map churn included). */
const HEAP_BOUND_WITH_GC = 16 * 2 ** 20;
/** Without a GC to call the heap holds garbage too, so only a generous bound holds. */
const HEAP_BOUND_WITHOUT_GC = 256 * 2 ** 20;

/** A full GC, when one can be had: `global.gc` under `--expose-gc`, else V8's flag set late. */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function heapUsed(gc: (() => void) | undefined): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** A seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The status class, computed here independently of the library (CONTRACT.md). */
function classOf(status: number): string {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

/** What the test recorded, kept independently of the library. */
class Expected {
  readonly proxy = new Map<string, number>();
  readonly health = new Map<string, number>();
  readonly stopped = new Map<StopReason, number>(STOP_REASONS.map((r) => [r, 0]));
  spawned = 0;
  coldStarts = 0;
  coldStartSum = 0;
  uploaded = 0;
  restoresOk = 0;
  restoresFailed = 0;
  builds = 0;
  buildSum = 0;
  audit = 0;
  sessionEvents = 0;
  proxyTotal = 0;
  proxySeconds = 0;
  proxySecondsSum = 0;
  healthTotal = 0;
  valid = 0;
  /** The field each invalid event should be reported for, in recording order. */
  readonly invalidFields: string[] = [];
}

/** Running totals a mid-run scrape is checked against. */
interface Totals {
  readonly proxy: number;
  readonly health: number;
  readonly spawned: number;
  readonly proxySeconds: number;
}

function totalsOf(e: Expected): Totals {
  return { proxy: e.proxyTotal, health: e.healthTotal, spawned: e.spawned, proxySeconds: e.proxySeconds };
}

function sum(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((total, s) => total + s.value, 0);
}

/** Invalid events of every kind, each with the field it must be reported for. */
const INVALID: readonly (readonly [unknown, string])[] = [
  [{ type: 'proxy_request', app: 'a', status: Number.NaN }, 'status'],
  [{ type: 'proxy_request', app: '', status: 200 }, 'app'],
  [{ type: 'proxy_request', app: 'a', status: 200, seconds: -1 }, 'seconds'],
  [{ type: 'proxy_request', app: 'a', status: 200, trace: { traceId: 'nope', spanId: 'x' } }, 'trace'],
  [{ type: 'worker_spawned', coldStartSeconds: Infinity }, 'coldStartSeconds'],
  [{ type: 'worker_stopped', reason: 'exploded' }, 'reason'],
  [{ type: 'bundle_restored', ok: 'yes' }, 'ok'],
  [{ type: 'health_check_failed', app: 42 }, 'app'],
  [{ type: 'worker_teleported' }, 'type'],
  [null, 'event'],
  [
    {
      type: 'proxy_request',
      get status(): number {
        throw new Error('getter exploded');
      },
    },
    'event',
  ],
];

const STATUSES = [0, 101, 200, 200, 200, 204, 301, 304, 404, 418, 499, 500, 503, 599, 600];

describe('soak: 100k churning workers, real ticks, thousands of events a second, concurrent scrapes', () => {
  // Releases what the test started even when an expectation failed halfway (all idempotent).
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('loses nothing, ends with gauges equal to the last snapshot, stays within its heap bound and leaves nothing open', async () => {
    const handles = watchHandles();
    cleanups.push(() => handles.dispose());
    const rand = random(20_260_101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    const apps = Array.from({ length: APPS }, (_, i) => `app-${i}`);

    // The orchestrator's records: one Map, mutated in place for the whole run.
    const workers = new Map<string, ActiveWorker>();
    const ids: string[] = [];
    let nextId = 0;
    const join = (): void => {
      const id = `w${nextId++}`;
      const sessions = rand() < 0.5 ? 0 : 1 + Math.floor(rand() * 4);
      workers.set(id, {
        appId: pick(apps),
        draining: false,
        startedAt: new Date(),
        sessions,
        idleSince: sessions === 0 ? new Date() : null,
      });
      ids.push(id);
    };
    const leave = (): void => {
      const at = Math.floor(rand() * ids.length);
      const id = ids[at] as string;
      ids[at] = ids[ids.length - 1] as string;
      ids.pop();
      workers.delete(id);
    };
    const someWorker = (): ActiveWorker => workers.get(ids[Math.floor(rand() * ids.length)] as string) as ActiveWorker;
    for (let i = 0; i < WORKERS; i += 1) join();

    const registry = new Registry();
    const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: 100 });
    const errors: TelemetryError[] = [];
    let ticks = 0;
    let eventsOut = 0;
    const subscriptions = [
      tracker.errors$.subscribe((e) => errors.push(e)),
      tracker.counts$.subscribe(() => (ticks += 1)),
      tracker.events$.subscribe(() => (eventsOut += 1)),
    ];
    cleanups.push(() => tracker.stop());
    tracker.feed(workers);
    const server = await serveMetrics({ registry, port: 0 });
    cleanups.push(() => server.close());
    const expected = new Expected();

    const record = (event: TelemetryEvent): void => {
      tracker.record(event);
      expected.valid += 1;
    };
    /** One event of a kind drawn by weight, its expected effect counted here. */
    const oneEvent = (): void => {
      const r = rand();
      if (r < 0.7) {
        const app = rand() < 0.05 ? undefined : pick(apps);
        const status = pick(STATUSES);
        const seconds = rand() < 0.8 ? Math.floor(rand() * 12_000) / 1000 : undefined;
        const key = `${app ?? 'unknown'} ${classOf(status)}`;
        expected.proxy.set(key, (expected.proxy.get(key) ?? 0) + 1);
        expected.proxyTotal += 1;
        if (seconds !== undefined) {
          expected.proxySeconds += 1;
          expected.proxySecondsSum += seconds;
        }
        const trace =
          rand() < 0.01 ? { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' } : undefined;
        record({ type: 'proxy_request', app, status, seconds, trace });
      } else if (r < 0.75) {
        const app = pick(apps);
        expected.health.set(app, (expected.health.get(app) ?? 0) + 1);
        expected.healthTotal += 1;
        record({ type: 'health_check_failed', app });
      } else if (r < 0.8) {
        const coldStartSeconds = rand() < 0.5 ? Math.floor(rand() * 70_000) / 1000 : undefined;
        expected.spawned += 1;
        if (coldStartSeconds !== undefined) {
          expected.coldStarts += 1;
          expected.coldStartSum += coldStartSeconds;
        }
        record({ type: 'worker_spawned', coldStartSeconds });
      } else if (r < 0.85) {
        const reason = pick(STOP_REASONS);
        expected.stopped.set(reason, (expected.stopped.get(reason) ?? 0) + 1);
        record({ type: 'worker_stopped', reason });
      } else if (r < 0.93) {
        expected.sessionEvents += 1;
        record({ type: rand() < 0.5 ? 'session_opened' : 'session_closed' });
      } else if (r < 0.95) {
        expected.uploaded += 1;
        record({ type: 'bundle_uploaded' });
      } else if (r < 0.98) {
        const ok = rand() < 0.8;
        const seconds = rand() < 0.9 ? Math.floor(rand() * 700_000) / 1000 : undefined;
        if (ok) {
          expected.restoresOk += 1;
          if (seconds !== undefined) {
            expected.builds += 1;
            expected.buildSum += seconds;
          }
        } else {
          expected.restoresFailed += 1;
        }
        record({ type: 'bundle_restored', ok, seconds });
      } else {
        expected.audit += 1;
        record({ type: 'audit_entry_dropped' });
      }
    };
    /** One step of the run: churn the workers, record a batch of events and one invalid one. */
    const step = (): void => {
      for (let k = 0; k < 200; k += 1) {
        const w = someWorker();
        if (w.draining) continue;
        w.sessions = rand() < 0.4 ? 0 : 1 + Math.floor(rand() * 4);
        w.idleSince = w.sessions === 0 ? new Date() : null;
      }
      for (let k = 0; k < 4; k += 1) someWorker().draining = true;
      for (let k = 0; k < 8; k += 1) leave();
      for (let k = 0; k < 8; k += 1) join();
      for (let k = 0; k < EVENTS_PER_STEP; k += 1) oneEvent();
      const [event, field] = pick(INVALID);
      tracker.record(event as TelemetryEvent);
      expected.invalidFields.push(field);
    };

    // Warm up: the first ticks and a scrape, then the heap baseline.
    await waitUntil('the first ticks', () => (ticks >= 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    expect((await httpRequest(server.url)).status).toBe(200);
    const gc = findGc();
    const heapBefore = heapUsed(gc);
    const ticksBefore = ticks;

    // The run: steps on a real interval, scrapers in parallel, until SOAK_MS has passed.
    const started = Date.now();
    let steps = 0;
    const stepsDone = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (Date.now() - started >= SOAK_MS) {
          clearInterval(timer);
          resolve();
          return;
        }
        step();
        steps += 1;
      }, STEP_MS);
    });
    let running = true;
    cleanups.push(() => (running = false));
    const scrapeProblems: string[] = [];
    let scrapes = 0;
    const scraper = async (n: number): Promise<void> => {
      const headers: Record<string, string> = {};
      if (n % 2 === 1) headers.Accept = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
      if (n >= 2) headers['Accept-Encoding'] = 'gzip';
      while (running) {
        const before = totalsOf(expected);
        const answer = await httpRequest(server.url, { headers });
        const after = totalsOf(expected);
        scrapes += 1;
        if (answer.status !== 200) {
          scrapeProblems.push(`scraper ${n}: status ${answer.status}: ${answer.text.slice(0, 200)}`);
        } else {
          const body = answer.headers['content-encoding'] === 'gzip' ? gunzipSync(answer.body) : answer.body;
          const samples = parseExposition(body.toString('utf8'));
          // A scrape sees every event recorded before it was sent, and none not yet recorded.
          const seen: Totals = {
            proxy: sum(samples, 'blockyard_proxy_requests_total'),
            health: sum(samples, 'blockyard_health_checks_failed_total'),
            spawned: sum(samples, 'blockyard_workers_spawned_total'),
            proxySeconds: sum(samples, 'blockyard_proxy_request_seconds_count'),
          };
          for (const key of Object.keys(seen) as (keyof Totals)[]) {
            if (seen[key] < before[key] || seen[key] > after[key]) {
              scrapeProblems.push(`scraper ${n}: ${key} ${seen[key]} outside [${before[key]}, ${after[key]}]`);
            }
          }
          if (samples.filter((s) => s.name === 'blockyard_workers').length !== 3) {
            scrapeProblems.push(`scraper ${n}: blockyard_workers does not have its 3 series`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, SCRAPE_PAUSE_MS));
      }
    };
    const scrapers = Array.from({ length: SCRAPERS }, (_, n) => scraper(n));
    await stepsDone;

    // Settle: one tick after the last change, then stop scraping.
    const ticksAtEnd = ticks;
    await waitUntil('a tick after the last change', () => (ticks > ticksAtEnd ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    running = false;
    await Promise.all(scrapers);
    const runTicks = ticks - ticksBefore;

    const final = await httpRequest(server.url);
    expect(final.status).toBe(200);
    const samples = parseExposition(final.text);
    const heapAfter = heapUsed(gc);

    // Scale: the run was what it claims to be.
    expect(steps * EVENTS_PER_STEP).toBeGreaterThanOrEqual((SOAK_MS / STEP_MS) * EVENTS_PER_STEP * 0.5);
    expect(runTicks).toBeGreaterThanOrEqual((SOAK_MS / 100) * 0.5);
    expect(scrapes).toBeGreaterThanOrEqual(100);
    expect(workers.size).toBe(WORKERS);
    expect(scrapeProblems).toEqual([]);

    // Nothing lost: every counter equals the valid events recorded of its kind.
    expect(eventsOut).toBe(expected.valid);
    for (const [key, count] of expected.proxy) {
      const [app, status] = key.split(' ') as [string, string];
      expect([key, valueOf(samples, 'blockyard_proxy_requests_total', { app, status })]).toEqual([key, count]);
    }
    expect(samples.filter((s) => s.name === 'blockyard_proxy_requests_total')).toHaveLength(expected.proxy.size);
    for (const [app, count] of expected.health) {
      expect([app, valueOf(samples, 'blockyard_health_checks_failed_total', { app })]).toEqual([app, count]);
    }
    expect(samples.filter((s) => s.name === 'blockyard_health_checks_failed_total')).toHaveLength(expected.health.size);
    for (const [reason, count] of expected.stopped) {
      expect(valueOf(samples, 'blockyard_workers_stopped_total', { reason })).toBe(count);
    }
    expect(valueOf(samples, 'blockyard_workers_spawned_total')).toBe(expected.spawned);
    expect(valueOf(samples, 'blockyard_bundles_uploaded_total')).toBe(expected.uploaded);
    expect(valueOf(samples, 'blockyard_bundle_restores_succeeded_total')).toBe(expected.restoresOk);
    expect(valueOf(samples, 'blockyard_bundle_restores_failed_total')).toBe(expected.restoresFailed);
    expect(valueOf(samples, 'blockyard_audit_entries_dropped_total')).toBe(expected.audit);
    expect(valueOf(samples, 'blockyard_proxy_request_seconds_count')).toBe(expected.proxySeconds);
    expect(valueOf(samples, 'blockyard_proxy_request_seconds_sum')).toBeCloseTo(expected.proxySecondsSum, 3);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_count')).toBe(expected.coldStarts);
    expect(valueOf(samples, 'blockyard_cold_start_seconds_sum')).toBeCloseTo(expected.coldStartSum, 3);
    expect(valueOf(samples, 'blockyard_build_seconds_count')).toBe(expected.builds);
    expect(valueOf(samples, 'blockyard_build_seconds_sum')).toBeCloseTo(expected.buildSum, 3);
    expect(expected.sessionEvents).toBeGreaterThan(0);

    // The gauges equal the last snapshot, counted here without the library.
    let busy = 0;
    let idle = 0;
    let draining = 0;
    let sessions = 0;
    for (const w of workers.values()) {
      if (w.draining) draining += 1;
      else if (w.sessions > 0) busy += 1;
      else idle += 1;
      sessions += w.sessions;
    }
    expect(draining).toBeGreaterThan(0);
    expect({
      busy: valueOf(samples, 'blockyard_workers', { state: 'busy' }),
      idle: valueOf(samples, 'blockyard_workers', { state: 'idle' }),
      draining: valueOf(samples, 'blockyard_workers', { state: 'draining' }),
      workers: valueOf(samples, 'blockyard_workers_active'),
      sessions: valueOf(samples, 'blockyard_sessions_active'),
    }).toEqual({ busy, idle, draining, workers: workers.size, sessions });

    // errors$ carried the invalid events, each for its field, and nothing else.
    expect(errors.map((e) => e.origin).filter((o) => o !== 'event')).toEqual([]);
    expect(errors.map((e) => e.field)).toEqual(expected.invalidFields);

    // The heap: after a full GC when one could be had, else a generous bound.
    const bound = gc === undefined ? HEAP_BOUND_WITHOUT_GC : HEAP_BOUND_WITH_GC;
    expect(heapAfter - heapBefore).toBeLessThanOrEqual(bound);

    // stop() and close() leave nothing open: no timer, server or socket beyond the baseline.
    tracker.stop();
    for (const s of subscriptions) s.unsubscribe();
    await server.close();
    await handles.released('every timer, socket and server of the run to be released', 5_000);
    handles.dispose();
    process.stdout.write(
      `soak: ${steps} steps, ${expected.valid} valid + ${expected.invalidFields.length} invalid events, ` +
        `${runTicks} ticks, ${scrapes} scrapes, heap ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB ` +
        `(${gc === undefined ? 'no GC' : 'after GC'})\n`,
    );
  }, 90_000);
});
