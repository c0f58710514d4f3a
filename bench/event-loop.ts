/**
 * What a scrape costs the rest of the process: the longest stretch one scrape holds the event
 * loop, and the tail latency of the process's own endpoint while a scraper comes once a
 * second. Each measured in processes (bench/stall-server.ts) that hold the same 1000-app
 * registries and a small `ok` endpoint, one serving ours, one plain prom-client behind
 * node:http, and one sending the same answers rendered and gzipped at start-up: the floor, what
 * sending the bytes alone costs.
 *
 * - stall: for each of {@link STALL_SCRAPES} scrapes one after the other, `reset` the process's
 *   event-loop delay probe, scrape, `report` the probe's largest delay while the scrape was
 *   served (from its request's arrival to its response's end; see bench/stall-server.ts). Per
 *   format (text, OpenMetrics), with and without gzip, ours against plain (the rows) and the
 *   bytes alone (figures).
 * - latency: wrk loads the `ok` endpoint ({@link LATENCY_SECONDS} s, {@link CONNECTIONS}
 *   connections), alone, then while a scraper asks ours (or plain, or the bytes alone) for
 *   OpenMetrics with gzip once a second, as Prometheus does; p99 of each, medians of
 *   {@link LATENCY_RUNS} runs.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { median, msRow, percentile, type ComparisonResult } from './harness';
import { onCore, parseWrk, run, tasksetInstalled, wrkInstalled, type BenchSection, type Figure } from './scrape';

const ROOT = join(__dirname, '..');

/** Scrapes per stall measurement: the largest delay over all of them is the figure. */
const STALL_SCRAPES = 20;
/** Pairs of processes (ours, plain) the stall rows take the median of. */
const STALL_PROCESSES = 5;
/** Scrapes of each format before the measured ones, the first 20 counted apart (see {@link stallSection}). */
const WARM_UP_SCRAPES = 60;
/** How long a window without a scrape lasts, for the machine's own stalls: about a plain scrape. */
const IDLE_WINDOW_MS = 20;
/** Seconds of each wrk run of the latency case. */
const LATENCY_SECONDS = 10;
/** wrk runs per latency case; each figure is their median. */
const LATENCY_RUNS = 3;
/** Concurrent connections on the `ok` endpoint. */
const CONNECTIONS = 8;

/** A measured process: its URLs, one command at a time, and its end. */
interface StallServer {
  readonly metrics: string;
  readonly app: string;
  command(line: 'reset' | 'reset idle' | 'report'): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Which endpoint a stall server runs: see bench/stall-server.ts. */
type Endpoint = 'ours' | 'plain' | 'bytes';

function startStallServer(apps: number, which: Endpoint, pin: boolean): Promise<StallServer> {
  const [command, args] = onCore(pin, 0, process.execPath, [
    '--expose-gc',
    '-r',
    'ts-node/register/transpile-only',
    join(ROOT, 'bench', 'stall-server.ts'),
    String(apps),
    which,
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => reject(new Error(`bench/stall-server.ts exited with ${code} before listening`)));
    void next().then((first) => {
      const urls = JSON.parse(first) as { metrics: string; app: string };
      resolve({
        ...urls,
        async command(line) {
          const answer = next();
          child.stdin.write(`${line}\n`);
          return JSON.parse(await answer) as Record<string, number>;
        },
        async close() {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

/** One scrape with these headers; resolves once the whole answer has been read. */
function scrape(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.once('error', reject);
    req.end();
  });
}

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
const VARIANTS: readonly (readonly [string, Record<string, string>])[] = [
  ['text', {}],
  ['OpenMetrics', { Accept: OPENMETRICS }],
  ['text, gzip', { 'Accept-Encoding': 'gzip' }],
  ['OpenMetrics, gzip', { Accept: OPENMETRICS, 'Accept-Encoding': 'gzip' }],
];

/**
 * The longest event-loop stall of one scrape, ours against plain, in every format, in
 * {@link STALL_PROCESSES} pairs of processes: each pair gives the ratio of the longest stall
 * over {@link STALL_SCRAPES} scrapes, and the row their median, as the in-process rows do (the
 * longest of a few dozen windows on a shared VM catches the machine's own hiccups, 2–4 ms here,
 * in one process in a few). Not pinned to a core: the thread pool (gzip) runs beside the event
 * loop, as on any server. The rows measure a process that has served {@link WARM_UP_SCRAPES}
 * scrapes of the format first, as a server does after its first minutes: over its first scrapes
 * V8 compiles the writer and moves the caches the first scrape built into the old generation,
 * and the second block of 20 still stalled up to 2 ms where later blocks stayed near 1 ms. The
 * first 20 scrapes after start are a figure of their own, ours and plain.
 */
export async function stallSection(apps = 1000): Promise<BenchSection> {
  const stalls = new Map<string, number[]>();
  const longest = new Map<string, number[]>();
  /** The longest stall of the first scrapes of each format, per process. */
  const first = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string, values: readonly number[]): void => {
    map.set(key, [...(map.get(key) ?? []), ...values]);
  };
  for (let p = 0; p < STALL_PROCESSES; p += 1) {
    for (const which of ['ours', 'plain', 'bytes'] as const) {
      const server = await startStallServer(apps, which, false);
      try {
        for (const [variant, headers] of VARIANTS) {
          add(first, `${which} ${variant}`, [Math.max(...(await warmUp(server, headers)))]);
          const measured = await longestStalls(server, headers);
          add(stalls, `${which} ${variant}`, measured);
          add(longest, `${which} ${variant}`, [Math.max(...measured)]);
        }
        add(longest, `${which} idle`, [Math.max(...(await idleStalls(server)))]);
      } finally {
        await server.close();
      }
    }
  }
  const results: ComparisonResult[] = [];
  const figures: Figure[] = [];
  for (const [variant] of VARIANTS) {
    const ours = longest.get(`ours ${variant}`) ?? [];
    const plain = longest.get(`plain ${variant}`) ?? [];
    results.push(
      msRow(
        `event-loop stall per scrape, ${apps} apps, ${variant} (longest of ${STALL_SCRAPES})`,
        'scrape',
        median(ours),
        median(plain),
        0.15,
        ours.map((o, i) => o / (plain[i] as number)),
      ),
    );
    const c = `event-loop stall, ${variant}`;
    const of = (which: Endpoint): number[] => stalls.get(`${which} ${variant}`) ?? [];
    const all = STALL_PROCESSES * STALL_SCRAPES;
    figures.push(
      { case: c, figure: 'ours, median of scrapes', value: median(of('ours')), unit: 'ms' },
      { case: c, figure: `ours, 95th percentile of all ${all} scrapes`, value: percentile(of('ours'), 95), unit: 'ms' },
      {
        case: c,
        figure: `ours, longest of the first ${STALL_SCRAPES} after start (warm-up)`,
        value: median(first.get(`ours ${variant}`) ?? []),
        unit: 'ms',
      },
      { case: c, figure: 'plain, median of scrapes', value: median(of('plain')), unit: 'ms' },
      {
        case: c,
        figure: `plain, longest of the first ${STALL_SCRAPES} after start (warm-up)`,
        value: median(first.get(`plain ${variant}`) ?? []),
        unit: 'ms',
      },
      { case: c, figure: `plain, 95th percentile of all ${all}`, value: percentile(of('plain'), 95), unit: 'ms' },
      {
        case: c,
        figure: 'the same bytes sent, nothing rendered, median of scrapes',
        value: median(of('bytes')),
        unit: 'ms',
      },
      {
        case: c,
        figure: `the same bytes sent, nothing rendered, 95th percentile of all ${all}`,
        value: percentile(of('bytes'), 95),
        unit: 'ms',
      },
      {
        case: c,
        figure: `the same bytes sent, nothing rendered, longest of ${STALL_SCRAPES}`,
        value: median(longest.get(`bytes ${variant}`) ?? []),
        unit: 'ms',
      },
    );
  }
  figures.push({
    case: 'event-loop stall, no scrape',
    figure: `longest of ${STALL_SCRAPES} windows of ${IDLE_WINDOW_MS} ms (the machine's own)`,
    value: median(['ours', 'plain', 'bytes'].flatMap((which) => longest.get(`${which} idle`) ?? [])),
    unit: 'ms',
  });
  return {
    results,
    figures,
    notes: [
      `event-loop stall: the longest time between two turns of the event loop while each scrape was served, from its request's arrival to its response's end (a setImmediate chain); ours, plain and the same bytes precomputed each in a process of its own; median of ${STALL_PROCESSES} sets of processes`,
    ],
  };
}

/** The longest stall of each of {@link STALL_SCRAPES} windows without a scrape. */
async function idleStalls(server: StallServer): Promise<number[]> {
  const stalls: number[] = [];
  for (let i = 0; i < STALL_SCRAPES; i += 1) {
    await server.command('reset idle');
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    stalls.push((await server.command('report')).maxMs as number);
  }
  return stalls;
}

/** The longest stall of each of {@link STALL_SCRAPES} scrapes, one after the other. */
/**
 * {@link WARM_UP_SCRAPES} scrapes of a format, before the measured ones: the stalls of the
 * first {@link STALL_SCRAPES}, and the rest unmeasured.
 */
async function warmUp(server: StallServer, headers: Record<string, string>): Promise<number[]> {
  const first = await longestStalls(server, headers);
  for (let i = STALL_SCRAPES; i < WARM_UP_SCRAPES; i += 1) await scrape(server.metrics, headers);
  return first;
}

async function longestStalls(server: StallServer, headers: Record<string, string>): Promise<number[]> {
  const stalls: number[] = [];
  for (let i = 0; i < STALL_SCRAPES; i += 1) {
    await server.command('reset');
    await scrape(server.metrics, headers);
    stalls.push((await server.command('report')).maxMs as number);
  }
  return stalls;
}

/**
 * p99 of the process's own endpoint, alone and under a 1-per-second scraper: ours, plain, and
 * the floor, a server sending the same bytes precomputed (what sending them alone costs).
 */
export async function latencySection(apps = 1000): Promise<BenchSection> {
  const name = `latency of other work, ${apps} apps`;
  if (!(await wrkInstalled())) {
    return { results: [], figures: [], notes: [`${name}: skipped, wrk is not installed (apt-get install wrk)`] };
  }
  const pin = os.cpus().length >= 2 && (await tasksetInstalled());
  const p99 = new Map<string, number>();
  for (const which of ['ours', 'plain', 'bytes'] as const) {
    const server = await startStallServer(apps, which, pin);
    try {
      const wrk = async (): Promise<number> =>
        parseWrk(
          await run(
            ...onCore(pin, 1, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${LATENCY_SECONDS}s`, '--latency', server.app]),
          ),
        ).p99Ms;
      const withScraper = async (scraped: boolean): Promise<number> => {
        let scraping = scraped;
        const scraper = (async (): Promise<void> => {
          while (scraping) {
            const started = Date.now();
            await scrape(server.metrics, { Accept: OPENMETRICS, 'Accept-Encoding': 'gzip' });
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))));
          }
        })();
        try {
          return await wrk();
        } finally {
          scraping = false;
          await scraper;
        }
      };
      await withScraper(true); // warm-up
      // Alone and scraped in turns, so that a change in the machine lands on both.
      const alone: number[] = [];
      const scraped: number[] = [];
      for (let r = 0; r < LATENCY_RUNS; r += 1) {
        alone.push(await withScraper(false));
        scraped.push(await withScraper(true));
      }
      p99.set(`${which} alone`, median(alone));
      p99.set(`${which} scraped`, median(scraped));
    } finally {
      await server.close();
    }
  }
  const row = (which: Endpoint, goal?: number): ComparisonResult =>
    msRow(
      `${name}: p99 while ${which === 'bytes' ? 'the same bytes precomputed are' : `${which} is`} scraped once a second vs alone (wrk -c${CONNECTIONS})`,
      'request',
      p99.get(`${which} scraped`) as number,
      p99.get(`${which} alone`) as number,
      goal,
    );
  return {
    results: [row('ours', 1.2), row('plain'), row('bytes')],
    figures: [...p99].map(([key, value]) => ({ case: name, figure: `p99, ${key}`, value, unit: 'ms' })),
    notes: [
      `${name}: medians of ${LATENCY_RUNS} wrk runs of ${LATENCY_SECONDS} s each way, alone and scraped in turns${pin ? '; server on core 0, wrk on core 1' : ''}`,
    ],
  };
}
