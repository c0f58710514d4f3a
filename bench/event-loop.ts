/**
 * What a scrape costs the rest of the process: the longest stretch one scrape holds the event
 * loop, and the tail latency of the process's own endpoint while a scraper comes once a
 * second. Both measured in one process (bench/stall-server.ts) holding ours, plain prom-client
 * behind node:http, and a small `ok` endpoint, over the same 1000-app registry.
 *
 * - stall: `reset` the process's event-loop delay probe, make {@link STALL_SCRAPES} scrapes one
 *   after the other, `report` the probe's largest delay. Per format (text, OpenMetrics), with
 *   and without gzip, ours against plain.
 * - latency: wrk loads the `ok` endpoint ({@link LATENCY_SECONDS} s, {@link CONNECTIONS}
 *   connections), alone, then while a scraper asks ours (or plain) for OpenMetrics with gzip
 *   once a second, as Prometheus does; p99 of each, medians of {@link LATENCY_RUNS} runs.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { median, type ComparisonResult } from './harness';
import { onCore, parseWrk, run, tasksetInstalled, wrkInstalled, type BenchSection, type Figure } from './scrape';

const ROOT = join(__dirname, '..');

/** Scrapes per stall measurement: the largest delay over all of them is the figure. */
const STALL_SCRAPES = 20;
/** Seconds of each wrk run of the latency case. */
const LATENCY_SECONDS = 10;
/** wrk runs per latency case; each figure is their median. */
const LATENCY_RUNS = 3;
/** Concurrent connections on the `ok` endpoint. */
const CONNECTIONS = 8;

/** The measured process: its URLs, one command at a time, and its end. */
interface StallServer {
  readonly ours: string;
  readonly plain: string;
  readonly app: string;
  command(line: 'reset' | 'report'): Promise<Record<string, number>>;
  close(): Promise<void>;
}

function startStallServer(apps: number, pin: boolean): Promise<StallServer> {
  const [command, args] = onCore(pin, 0, process.execPath, [
    '-r',
    'ts-node/register/transpile-only',
    join(ROOT, 'bench', 'stall-server.ts'),
    String(apps),
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
      const urls = JSON.parse(first) as { ours: string; plain: string; app: string };
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

/** The longest event-loop stall of one scrape, ours against plain, in every format. */
export async function stallSection(apps = 1000): Promise<BenchSection> {
  const pin = os.cpus().length >= 2 && (await tasksetInstalled());
  const server = await startStallServer(apps, pin);
  const results: ComparisonResult[] = [];
  const figures: Figure[] = [];
  try {
    const longest = async (url: string, headers: Record<string, string>): Promise<number[]> => {
      // Each scrape measured on its own: the probe's largest delay during that scrape.
      const stalls: number[] = [];
      for (let i = 0; i < STALL_SCRAPES; i += 1) {
        await server.command('reset');
        await scrape(url, headers);
        stalls.push((await server.command('report')).maxMs as number);
      }
      return stalls;
    };
    for (const [variant, headers] of VARIANTS) {
      await longest(server.ours, headers); // warm both up: caches, JIT
      await longest(server.plain, headers);
      const ours = await longest(server.ours, headers);
      const plain = await longest(server.plain, headers);
      const [oursMax, plainMax] = [Math.max(...ours), Math.max(...plain)];
      results.push({
        name: `event-loop stall per scrape, ${apps} apps, ${variant} (longest of ${STALL_SCRAPES})`,
        unit: 'scrape',
        oursNsPerUnit: oursMax * 1e6,
        floorNsPerUnit: plainMax * 1e6,
        medianRatio: oursMax / plainMax,
        ratios: [oursMax / plainMax],
        goal: 0.15,
        met: oursMax / plainMax <= 0.15,
      });
      figures.push(
        { case: `event-loop stall, ${variant}`, figure: 'ours, median of scrapes', value: median(ours), unit: 'ms' },
        { case: `event-loop stall, ${variant}`, figure: 'plain, median of scrapes', value: median(plain), unit: 'ms' },
      );
    }
  } finally {
    await server.close();
  }
  return {
    results,
    figures,
    notes: [
      `event-loop stall: the largest delay of monitorEventLoopDelay (resolution 1 ms) during each scrape${pin ? '; server pinned to core 0' : ''}`,
    ],
  };
}

/** p99 of the process's own endpoint, alone and under a 1-per-second scraper of ours or plain. */
export async function latencySection(apps = 1000): Promise<BenchSection> {
  const name = `latency of other work, ${apps} apps`;
  if (!(await wrkInstalled())) {
    return { results: [], figures: [], notes: [`${name}: skipped, wrk is not installed (apt-get install wrk)`] };
  }
  const pin = os.cpus().length >= 2 && (await tasksetInstalled());
  const server = await startStallServer(apps, pin);
  const p99 = new Map<string, number>();
  try {
    const wrk = async (): Promise<number> =>
      parseWrk(
        await run(
          ...onCore(pin, 1, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${LATENCY_SECONDS}s`, '--latency', server.app]),
        ),
      ).p99Ms;
    const withScraper = async (url: string | undefined): Promise<number> => {
      let scraping = url !== undefined;
      const scraper = (async (): Promise<void> => {
        while (scraping && url !== undefined) {
          const started = Date.now();
          await scrape(url, { Accept: OPENMETRICS, 'Accept-Encoding': 'gzip' });
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
    await withScraper(server.ours); // warm-up
    for (const [key, url] of [
      ['alone', undefined],
      ['ours scraped', server.ours],
      ['plain scraped', server.plain],
    ] as const) {
      const runs: number[] = [];
      for (let r = 0; r < LATENCY_RUNS; r += 1) runs.push(await withScraper(url));
      p99.set(key, median(runs));
    }
  } finally {
    await server.close();
  }
  const alone = p99.get('alone') as number;
  const row = (label: string, scraped: number, goal?: number): ComparisonResult => ({
    name: `${name}: p99 ${label} vs alone (wrk -c${CONNECTIONS}, scraped once a second)`,
    unit: 'request',
    oursNsPerUnit: scraped * 1e6,
    floorNsPerUnit: alone * 1e6,
    medianRatio: scraped / alone,
    ratios: [scraped / alone],
    goal,
    met: goal === undefined ? undefined : scraped / alone <= goal,
  });
  return {
    results: [
      row('while ours is scraped', p99.get('ours scraped') as number, 1.2),
      row('while plain prom-client is scraped', p99.get('plain scraped') as number),
    ],
    figures: [...p99].map(([key, value]) => ({ case: name, figure: `p99, ${key}`, value, unit: 'ms' })),
    notes: [
      `${name}: medians of ${LATENCY_RUNS} wrk runs of ${LATENCY_SECONDS} s${pin ? '; server on core 0, wrk on core 1' : ''}`,
    ],
  };
}
