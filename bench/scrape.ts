/**
 * Scrape: what serving the metrics costs, and what hostile cardinality costs in memory.
 *
 * - exposition: CPU time and bytes of one full exposition at 10 and 1000 apps, ours (the path
 *   `metricsHandler` renders through: `SharedExposition` → `renderRegistry`, to a Buffer)
 *   against plain `registry.metrics()` (to a Buffer, as any server sends it) on an identical
 *   registry, in both text formats. Goal: within 1.1x.
 * - concurrent: a real `serveMetrics` and a plain node:http server answering
 *   `await registry.metrics()`, both at 1000 apps in a child process of their own
 *   (scrape-servers.ts), loaded by Debian's `wrk` from this process: one scraper
 *   (`-t1 -c1`), then 16 (`-c16`, one wrk thread when pinned), 10 s each; ours also with `Accept-Encoding: gzip`, as
 *   Prometheus scrapes. Goal: our p99 under 16 scrapers within 3x our lone p99. Skipped, with
 *   a note, when `wrk` is not installed.
 * - memory: millions of events over 50,000 app names into a tracker with the default
 *   `maxApps`, in a child process run with `--expose-gc` (memory-growth.ts): heap before,
 *   after and growth, and the series the exposition holds.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import type { ExpositionFormat } from '../lib';
import { SharedExposition } from '../lib/http/shared-exposition';
import { compare, median, msRow, type ComparisonResult } from './harness';
import type { MemoryGrowth } from './memory-growth';
import { everySeriesMover, scrapeFixture } from './scrape-fixture';
import type { GcWork } from './scrape-servers';

/** A figure that is not a ratio: bytes, latencies, rates, heap sizes. */
export interface Figure {
  readonly case: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** The bound it must keep, when it has one, and whether it did. */
  readonly goal?: string;
  readonly met?: boolean;
}

/** What one part of this benchmark adds to the report. */
export interface BenchSection {
  /** Rows of the main table (ours against a floor, as ratios). */
  readonly results: ComparisonResult[];
  /** Rows of the figures table. */
  readonly figures: Figure[];
  /** Anything skipped, and why. */
  readonly notes: string[];
}

const ROOT = join(__dirname, '..');

/**
 * Resolves on the next turn of the event loop. Each scrape of the exposition case starts in a
 * turn of its own, as an HTTP request does. Called back to back instead, the floor never
 * yields to the event loop while ours does once per scrape (the turn that lets concurrent
 * scrapes share a render): the work V8 queues on the event loop (garbage-collection steps)
 * then ran only during our blocks and was billed to us, which moved the 10-app ratio between
 * 1.05x and 1.27x from one process to the next. With one turn before each call on both sides
 * it stayed within 0.95x–1.08x, whichever case ran first.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Nothing to do before a scrape: the static rows' registries stay as they are. */
const noop = (): void => undefined;

/** Time and bytes of one full exposition, ours against plain `registry.metrics()`. */
export async function expositionSection(): Promise<BenchSection> {
  const results: ComparisonResult[] = [];
  const figures: Figure[] = [];
  for (const apps of [10, 1000]) {
    for (const format of ['prometheus', 'openmetrics'] as ExpositionFormat[]) {
      const fixture = await scrapeFixture(apps, format);
      try {
        const shared = new SharedExposition({ registry: fixture.ours, gather: () => Promise.resolve(fixture.ours) });
        const plain = fixture.plain;
        const label = `${apps} apps, ${format === 'prometheus' ? 'text 0.0.4' : 'OpenMetrics'}`;
        /**
         * Our scrape against plain `registry.metrics()`, each on a turn of its own after `before`
         * (ours, then the floor's) ran: awaited, as the floor awaits its render (an async function
         * that returns a promise unawaited takes two more microtasks to settle, on our side only).
         */
        const scrapes = (name: string, goal: number | undefined, before = { ours: noop, floor: noop }) =>
          compare(
            {
              name,
              unit: 'scrape',
              unitsPerCall: 1,
              ours: async () => {
                before.ours();
                await nextTurn();
                return await shared.join(format).text;
              },
              floor: async () => {
                before.floor();
                await nextTurn();
                return Buffer.from(await plain.metrics(), 'utf8');
              },
              goal,
            },
            7,
            true,
          );
        // The goal is the issue's, for the 1000-app registry; at 10 apps the fixed costs of a
        // scrape (a turn, a promise per collector) dominate and the row is informational.
        results.push(await scrapes(`scrape exposition, ${label}`, apps >= 1000 ? 0.5 : undefined));
        const entry = shared.join(format);
        const [ours, gzipped, floor] = [
          await entry.text,
          await shared.gzipped(entry),
          Buffer.from(await plain.metrics(), 'utf8'),
        ];
        if (apps >= 1000) {
          // Between two scrapes of a busy orchestrator most series have moved: every per-app
          // series moves before each scrape, on both sides alike.
          const moveOurs = everySeriesMover(fixture.ours);
          const movePlain = everySeriesMover(plain);
          moveOurs();
          movePlain();
          const [oursMoved, plainMoved] = [(await shared.join(format).text).toString('utf8'), await plain.metrics()];
          if (oursMoved !== plainMoved)
            throw new Error(`scrape exposition, ${label}: ours and plain differ once moved`);
          results.push(
            await scrapes(`scrape exposition, ${label}, every per-app series moved since the last`, 0.5, {
              ours: moveOurs,
              floor: movePlain,
            }),
          );
        }
        figures.push(
          { case: `scrape exposition, ${label}`, figure: 'bytes, ours', value: ours.length, unit: 'B' },
          {
            case: `scrape exposition, ${label}`,
            figure: 'bytes, plain registry.metrics()',
            value: floor.length,
            unit: 'B',
          },
          { case: `scrape exposition, ${label}`, figure: 'bytes, ours gzipped', value: gzipped.length, unit: 'B' },
        );
      } finally {
        fixture.stop();
      }
    }
  }
  return { results, figures, notes: [] };
}

/** What wrk reported for one run. */
export interface WrkRun {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requestsPerSecond: number;
  readonly requests: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx answers. */
  readonly errors: number;
}

const TIME_UNITS_MS: Readonly<Record<string, number>> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** The median of each figure over several runs of the same case. */
function medianRun(runs: readonly WrkRun[]): WrkRun {
  return {
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    requests: median(runs.map((r) => r.requests)),
    errors: Math.max(...runs.map((r) => r.errors)),
  };
}

/** Parses the output of `wrk --latency`. Throws when a figure is missing. */
export function parseWrk(output: string): WrkRun {
  const latency = (percentile: string): number => {
    const m = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(output);
    if (m === null) throw new Error(`wrk output has no ${percentile}% latency:\n${output}`);
    return Number(m[1]) * (TIME_UNITS_MS[m[2] as string] as number);
  };
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const total = /^\s*(\d+) requests in /m.exec(output);
  if (rate === null || total === null) throw new Error(`wrk output has no request rate:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors =
    (socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0)) +
    (non2xx === null ? 0 : Number(non2xx[1]));
  return {
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    requestsPerSecond: Number(rate[1]),
    requests: Number(total[1]),
    errors,
  };
}

/** Runs a command to its end; resolves with its stdout, rejects on a failure to start or exit code. */
export function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err || out}`));
    });
  });
}

/** Whether `wrk` can be started (it prints its usage and exits 1 without a URL). */
export function wrkInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', () => resolve(true));
  });
}

/** Whether `taskset` can pin a process to a core (util-linux; absent on some systems). */
export function tasksetInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}

/**
 * `command args`, pinned to `core` when `pin` (the servers to core 0, wrk to core 1): a load
 * generator that shares the server's core steals the time the server's latency is measured
 * in, and on two cores that decides the tail more than the server does.
 */
export function onCore(pin: boolean, core: number, command: string, args: readonly string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, [...args]];
}

/** The servers child: its URLs, and a close that ends it and waits for its exit. */
interface ServersChild {
  readonly ours: string;
  readonly plain: string;
  readonly bytes: string;
  /** What the garbage collector did in the servers' process since the last call (or start-up). */
  gcSince(): Promise<GcWork>;
  close(): Promise<void>;
}

function startServers(apps: number, pin: boolean): Promise<ServersChild> {
  const [command, args] = onCore(pin, 0, process.execPath, [
    '-r',
    'ts-node/register/transpile-only',
    join(ROOT, 'bench', 'scrape-servers.ts'),
    String(apps),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const close = async (): Promise<void> => {
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  // The lines the child prints after its URLs answer gcSince() calls, in order. Once it has
  // exited, they fail: a question it will never answer must not hang the bench.
  const waiting: { answer(line: string): void; fail(error: Error): void }[] = [];
  let gone: Error | undefined;
  child.stdin.on('error', () => undefined); // a write after its exit: `gone` reports it
  child.once('close', (code) => {
    gone = new Error(`bench/scrape-servers.ts exited with ${code}`);
    for (const w of waiting.splice(0)) w.fail(gone);
  });
  const gcSince = (): Promise<GcWork> =>
    new Promise((resolve, reject) => {
      if (gone !== undefined) {
        reject(gone);
        return;
      }
      waiting.push({ answer: (line) => resolve(JSON.parse(line) as GcWork), fail: reject });
      child.stdin.write('gc\n');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    const timer = setTimeout(() => {
      void close();
      reject(new Error('bench/scrape-servers.ts did not print its URLs within 60 s'));
    }, 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      for (let line = out.indexOf('\n'); line >= 0; line = out.indexOf('\n')) {
        const text = out.slice(0, line);
        out = out.slice(line + 1);
        if (listening) {
          waiting.shift()?.answer(text);
          continue;
        }
        listening = true;
        clearTimeout(timer);
        try {
          const urls = JSON.parse(text) as { ours: string; plain: string; bytes: string };
          resolve({ ...urls, gcSince, close });
        } catch {
          void close();
          reject(new Error(`bench/scrape-servers.ts printed ${JSON.stringify(text)} instead of its URLs`));
        }
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench/scrape-servers.ts exited with ${code} before listening`));
    });
  });
}

/**
 * Seconds of each wrk run. On fresh TCP connections carrying 365 KB answers from a busy
 * server, wrk's first few answers on each connection take 50–200 ms, a start-up cost that does
 * not grow with the run. Measured against a static server that holds every batch of
 * requests 8 ms and then writes a fixed 365 KB body (no rendering, no GC), 16 connections get
 * 40–60 answers over 50 ms per wrk run however long it lasts (39 in 3 s, 57 in 6 s, 59 in
 * 24 s): over 1 % of a 5-second run, so a 5-second p99 measured the connections' start-up. A
 * 10-second run holds about 12,000 answers, which puts the start-up past the 99th percentile,
 * as it is for Prometheus, which keeps its connection to a target open between scrapes.
 */
const RUN_SECONDS = 10;

/** Pairs of runs (a lone scraper, then 16) of each of our concurrent-scrape cases. */
const PAIRS = 5;

/** Pairs of runs of the floor, the same bytes precomputed: a reference, not a goal. */
const FLOOR_PAIRS = 3;

/** p50, p99 and requests/s of our serveMetrics and of plain node:http, lone and under 16 scrapers. */
export async function concurrentSection(apps = 1000): Promise<BenchSection> {
  const name = `concurrent scrapes, ${apps} apps`;
  if (!(await wrkInstalled())) {
    return { results: [], figures: [], notes: [`${name}: skipped, wrk is not installed (apt-get install wrk)`] };
  }
  const pin = os.cpus().length >= 2 && (await tasksetInstalled());
  const servers = await startServers(apps, pin);
  const runs = new Map<string, WrkRun>();
  /** Per case run in pairs: the collector's work in each of its runs. */
  const gcWork = new Map<string, GcWork[]>();
  /** Per case run in pairs (a lone scraper, then 16, back to back): the ratios of their p99s. */
  const pairRatios = new Map<string, number[]>();
  // Pinned, wrk has one core of its own: one thread drives the 16 connections.
  const threads = pin ? '-t1' : '-t2';
  const wrk = async (url: string, args: readonly string[]): Promise<WrkRun> =>
    parseWrk(await run(...onCore(pin, 1, 'wrk', [...args, `-d${RUN_SECONDS}s`, '--latency', url])));
  try {
    // wrk sends no Accept-Encoding: the goal is measured on plain text, as the issue states.
    // Prometheus asks for gzip, so ours is also loaded that way.
    const gzip = ['-H', 'Accept-Encoding: gzip'];
    // Each of our cases runs in PAIRS pairs, a lone scraper then 16, back to back: the host's
    // speed drifts over a minute, and a pair shares the drift that three lone runs followed by
    // three runs of 16 did not. The row's ratio is the median of the pairs' ratios; the
    // figures, the median run of each case. The same bytes precomputed run the same way: what
    // 16 scrapers cost when a scrape is only the sending of its answer.
    // The collector's work in the servers' process is read around each run: a run of 16
    // scrapers that brings mark-compacts has its tail set by them (see bench/README.md).
    const pairs = async (key: string, url: string, headers: readonly string[], count: number): Promise<void> => {
      const lone: WrkRun[] = [];
      const sixteen: WrkRun[] = [];
      const ratios: number[] = [];
      const gcLone: GcWork[] = [];
      const gcSixteen: GcWork[] = [];
      for (let r = 0; r < count; r += 1) {
        await servers.gcSince();
        const l = await wrk(url, ['-t1', '-c1', ...headers]);
        gcLone.push(await servers.gcSince());
        const m = await wrk(url, [threads, '-c16', ...headers]);
        gcSixteen.push(await servers.gcSince());
        lone.push(l);
        sixteen.push(m);
        ratios.push(m.p99Ms / l.p99Ms);
      }
      runs.set(`${key}, lone`, medianRun(lone));
      runs.set(`${key}, 16 scrapers`, medianRun(sixteen));
      gcWork.set(`${key}, lone`, gcLone);
      gcWork.set(`${key}, 16 scrapers`, gcSixteen);
      pairRatios.set(key, ratios);
    };
    await pairs('ours', servers.ours, [], PAIRS);
    await pairs('ours, gzip', servers.ours, gzip, PAIRS);
    await pairs('bytes', servers.bytes, [], FLOOR_PAIRS);
    await pairs('bytes, gzip', servers.bytes, gzip, FLOOR_PAIRS);
    // The plain server runs once each way, last: under 16 scrapers it leaves a backlog of
    // renderings behind when wrk stops.
    runs.set('plain, lone', await wrk(servers.plain, ['-t1', '-c1']));
    runs.set('plain, 16 scrapers', await wrk(servers.plain, [threads, '-c16']));
  } finally {
    await servers.close();
  }
  const get = (key: string): WrkRun => runs.get(key) as WrkRun;
  /** The row of `key` under 16 scrapers against `key` lone, from its pairs. */
  const pairRow = (rowName: string, key: string, goal?: number): ComparisonResult =>
    msRow(
      `${name}: ${rowName}`,
      'scrape',
      get(`${key}, 16 scrapers`).p99Ms,
      get(`${key}, lone`).p99Ms,
      goal,
      pairRatios.get(key),
    );
  const figures: Figure[] = [];
  for (const [key, r] of runs) {
    const c = `${name}, ${key}`;
    figures.push(
      { case: c, figure: 'p50', value: r.p50Ms, unit: 'ms' },
      { case: c, figure: 'p99', value: r.p99Ms, unit: 'ms' },
      { case: c, figure: 'requests/s', value: r.requestsPerSecond, unit: '/s' },
      { case: c, figure: 'errors', value: r.errors, unit: '', goal: '0', met: r.errors === 0 },
    );
    const gc = gcWork.get(key);
    if (gc !== undefined) {
      figures.push(
        { case: c, figure: 'mark-compacts per run (median)', value: median(gc.map((g) => g.markCompacts)), unit: '' },
        {
          case: c,
          figure: 'time in scavenges per run (median)',
          value: Math.round(median(gc.map((g) => g.scavengeMs))),
          unit: 'ms',
        },
      );
    }
  }
  return {
    results: [
      pairRow('p99 of ours under 16 scrapers vs ours lone (wrk)', 'ours', 3),
      pairRow('p99 of ours under 16 gzip scrapers vs ours lone gzip (wrk)', 'ours, gzip', 3),
      pairRow('p99 of the same bytes precomputed under 16 scrapers vs lone (wrk)', 'bytes'),
      pairRow('p99 of the same bytes precomputed under 16 gzip scrapers vs lone gzip (wrk)', 'bytes, gzip'),
      msRow(
        `${name}: p99 under 16 scrapers, ours vs plain node:http (wrk)`,
        'scrape',
        get('ours, 16 scrapers').p99Ms,
        get('plain, 16 scrapers').p99Ms,
      ),
    ],
    figures,
    notes: [
      pin
        ? `${name}: servers pinned to core 0 and wrk to core 1 (taskset), wrk with one thread`
        : `${name}: not pinned (fewer than 2 cores or no taskset): wrk shares the cores with the servers`,
    ],
  };
}

/** Heap growth and series of a run of `events` events over `apps` app names. */
export async function memorySection(events = 3_000_000, apps = 50_000): Promise<BenchSection> {
  const out = await run(process.execPath, [
    '--expose-gc',
    '-r',
    'ts-node/register/transpile-only',
    join(ROOT, 'bench', 'memory-growth.ts'),
    String(events),
    String(apps),
  ]);
  const m = JSON.parse(out) as MemoryGrowth;
  const c = `memory, ${(events / 1e6).toLocaleString('en')}M proxy_request events over ${apps.toLocaleString('en')} apps`;
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;
  const last = m.checkpoints[m.checkpoints.length - 1];
  const first = m.checkpoints[0];
  const seriesBound = m.maxApps + 2;
  return {
    results: [],
    figures: [
      { case: c, figure: 'heap before (after GC)', value: mb(m.heapBefore), unit: 'MiB' },
      { case: c, figure: 'heap after (after GC)', value: mb(m.heapAfter), unit: 'MiB' },
      {
        case: c,
        figure: 'heap growth',
        value: mb(m.growth),
        unit: 'MiB',
        goal: '<= 16 MiB',
        met: m.growth <= 16 * 2 ** 20,
      },
      {
        case: c,
        figure: `heap growth from ${first?.events.toLocaleString('en')} to ${last?.events.toLocaleString('en')} events`,
        value: mb((last?.heap ?? 0) - (first?.heap ?? 0)),
        unit: 'MiB',
        goal: '<= 1 MiB',
        met: (last?.heap ?? 0) - (first?.heap ?? 0) <= 2 ** 20,
      },
      {
        case: c,
        figure: 'app label values in the exposition',
        value: m.appLabelValues,
        unit: '',
        goal: `<= ${seriesBound} (maxApps + unknown + overflow)`,
        met: m.appLabelValues <= seriesBound,
      },
      {
        case: c,
        figure: 'series of blockyard_proxy_requests_total',
        value: m.proxySeries,
        unit: '',
        goal: `<= ${seriesBound * 5}`,
        met: m.proxySeries <= seriesBound * 5,
      },
      {
        case: c,
        figure: 'series of blockyard_health_checks_failed_total',
        value: m.healthSeries,
        unit: '',
        goal: `<= ${seriesBound}`,
        met: m.healthSeries <= seriesBound,
      },
      {
        case: c,
        figure: 'requests counted (all of them)',
        value: m.countedRequests,
        unit: '',
        goal: `= ${events}`,
        met: m.countedRequests === events,
      },
      { case: c, figure: 'of which under __overflow__', value: m.overflowRequests, unit: '' },
      { case: c, figure: 'scrapes during the run', value: m.scrapes, unit: '' },
      { case: c, figure: 'time to record and scrape', value: Math.round(m.seconds * 100) / 100, unit: 's' },
    ],
    notes: [],
  };
}

/** Formats figures as an aligned table. */
export function figuresTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.case,
    f.figure,
    `${Number.isInteger(f.value) ? f.value : f.value.toFixed(2)}${f.unit === '' ? '' : ` ${f.unit}`}`,
    f.goal === undefined ? '' : `${f.goal} ${f.met ? 'met' : 'NOT MET'}`,
  ]);
  const header = ['case', 'figure', 'value', 'goal'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
