/**
 * Memory under hostile cardinality: millions of `proxy_request` events (and one health-check
 * failure every tenth event) over 50,000 distinct app names, into a tracker with the default
 * `maxApps`, scraping now and then as Prometheus would. Prints one JSON line with the heap
 * (after a full GC) before, at checkpoints and after, and what the last exposition holds.
 *
 * Needs `global.gc`: run it with `--expose-gc` (bench/scrape.ts does, in a child process):
 *
 *     node --expose-gc -r ts-node/register/transpile-only bench/memory-growth.ts [events] [apps]
 */
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { AppOverflow, WorkerStateTracker, newMetrics } from '../lib';

/** What one run measured (bytes of V8 heap in use after a full GC). */
export interface MemoryGrowth {
  readonly events: number;
  readonly distinctApps: number;
  readonly maxApps: number;
  readonly scrapes: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly growth: number;
  /** Heap after each further third of the events. */
  readonly checkpoints: readonly { readonly events: number; readonly heap: number }[];
  /** Series of `blockyard_proxy_requests_total` in the last exposition. */
  readonly proxySeries: number;
  /** Series of `blockyard_health_checks_failed_total` in the last exposition. */
  readonly healthSeries: number;
  /** Distinct `app` label values in the last exposition (bound: maxApps + unknown + overflow). */
  readonly appLabelValues: number;
  /** Requests counted under the overflow value, and in all (nothing is lost). */
  readonly overflowRequests: number;
  readonly countedRequests: number;
  /** Errors reported on errors$ (the one overflow report expected). */
  readonly errorsReported: number;
  readonly seconds: number;
}

const STATUSES = [200, 200, 200, 204, 301, 404, 500, 503, 101];

function heapUsed(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function measure(events: number, apps: number, gc: () => void): Promise<MemoryGrowth> {
  const names = Array.from({ length: apps }, (_, i) => `tenant-${i.toString(36)}-app`);
  const registry = new Registry();
  const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: NEVER });
  let errorsReported = 0;
  const subscription = tracker.errors$.subscribe(() => (errorsReported += 1));
  let scrapes = 0;
  const scrapeEvery = 100_000;
  // Warm up the JIT before the baseline, on the `unknown` app only: every app series the run
  // creates (up to the bound) counts as growth.
  for (let i = 0; i < 1000; i += 1) tracker.record({ type: 'proxy_request', status: 200 + (i % 400) });
  await registry.metrics();
  const heapBefore = heapUsed(gc);
  const checkpoints: { events: number; heap: number }[] = [];
  const started = process.hrtime.bigint();
  let seed = 7;
  for (let n = 1; n <= events; n += 1) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const app = seed % 97 === 0 ? undefined : names[seed % apps];
    tracker.record({
      type: 'proxy_request',
      app,
      status: STATUSES[seed % STATUSES.length] as number,
      seconds: (seed % 1000) / 500,
    });
    if (n % 10 === 0) tracker.record({ type: 'health_check_failed', app: names[(seed >> 3) % apps] as string });
    if (n % scrapeEvery === 0) {
      await registry.metrics();
      scrapes += 1;
    }
    if (n % Math.floor(events / 3) === 0) checkpoints.push({ events: n, heap: heapUsed(gc) });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const exposition = await registry.metrics();
  scrapes += 1;
  const heapAfter = heapUsed(gc);
  // Read `names` after the last reading, so the baseline's app names stay alive through it.
  const distinctApps = new Set(names).size;

  const appValues = new Set<string>();
  let proxySeries = 0;
  let healthSeries = 0;
  let overflowRequests = 0;
  let countedRequests = 0;
  for (const line of exposition.split('\n')) {
    const app = /app="([^"]*)"/.exec(line)?.[1];
    if (app === undefined) continue;
    appValues.add(app);
    if (line.startsWith('blockyard_proxy_requests_total{')) {
      proxySeries += 1;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      countedRequests += value;
      if (app === AppOverflow) overflowRequests += value;
    } else if (line.startsWith('blockyard_health_checks_failed_total{')) {
      healthSeries += 1;
    }
  }
  subscription.unsubscribe();
  tracker.stop();
  return {
    events,
    distinctApps,
    maxApps: 1000, // the default
    scrapes,
    heapBefore,
    heapAfter,
    growth: heapAfter - heapBefore,
    checkpoints,
    proxySeries,
    healthSeries,
    appLabelValues: appValues.size,
    overflowRequests,
    countedRequests: countedRequests - 1000,
    errorsReported,
    seconds,
  };
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('memory-growth needs global.gc: run node with --expose-gc');
  const events = Number(process.argv[2] ?? '3000000');
  const apps = Number(process.argv[3] ?? '50000');
  process.stdout.write(`${JSON.stringify(await measure(events, apps, gc))}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
