/**
 * `npm run bench` (`npm run --silent bench -- --json` for machine-readable output): ours against
 * the floor, as medians. See README "Performance" for the figures and goals.
 *
 * The CPU-time comparisons (reconcile, record(), exposition) and the allocation figures run in
 * `--runs=N` fresh processes (default 5), one after the other, and each row reports the median
 * of the processes' medians. On a shared VM a process can land in a state that moves a ratio
 * for all its rounds at once (the same code measured 2.8x in one process and 4.8x in the
 * next, with the floor's own time moving as much); rounds within a process cannot see that,
 * processes can, and five of them let the median stand when two are off. The concurrent-scrape
 * and memory parts run once, in this process (they run their own child processes and take
 * their own medians).
 *
 *     npm run bench -- [--json] [--only=reconcile|events|allocation|exposition|stall|latency|concurrent|memory] [--runs=N]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { compare, median, mergeRuns, table, type Comparison, type ComparisonResult } from './harness';
import { eventComparison } from './events';
import { latencySection, stallSection } from './event-loop';
import { bytesPerTick, reconcileComparisons } from './reconcile';
import {
  concurrentSection,
  expositionSection,
  figuresTable,
  memorySection,
  type BenchSection,
  type Figure,
} from './scrape';

/** What one process measured: the parts of {@link BenchSection} it fills. */
type Measured = BenchSection;

/** The flag a child process of this script runs with: the in-process parts only, as JSON. */
const CHILD_FLAG = '--in-process';

/** The `--only` names of the parts {@link measureInProcess} runs. */
const IN_PROCESS_PARTS = ['reconcile', 'events', 'reconcile allocation', 'scrape exposition'];

/** The CPU-time comparisons and the allocation figures, measured in this process. */
async function measureInProcess(only: string | undefined, log: (line: string) => void): Promise<Measured> {
  const results: ComparisonResult[] = [];
  const figures: Figure[] = [];
  const wanted = (name: string): boolean => only === undefined || name.includes(only);
  const run = async (name: string, make: () => { comparison: Comparison; stop: () => void }): Promise<void> => {
    if (!wanted(name)) return;
    const { comparison, stop } = make();
    try {
      results.push(await compare(comparison));
    } finally {
      stop();
    }
    log(`done: ${comparison.name}`);
  };
  for (const n of [1_000, 100_000, 1_000_000]) {
    await run('reconcile', () => reconcileComparisons(n));
    await run('reconcile', () => reconcileComparisons(n, { transitions: true }));
  }
  // The opt-in per-app gauge and transition counter, at 100k workers across 1000 apps (the
  // default maxApps), against the same server-wide floor.
  await run('reconcile', () => reconcileComparisons(100_000, { byAppOver: 1000 }));
  // For the README: what checking every ActiveWorker field on every tick costs, and what a tick
  // costs when workers are replaced between ticks.
  await run('reconcile', () => reconcileComparisons(100_000, { strictSnapshots: true }));
  await run('reconcile', () => reconcileComparisons(100_000, { transitions: true, change: 'add' }));
  await run('reconcile', () => reconcileComparisons(100_000, { transitions: true, change: 'replace-oldest' }));
  await run('events', eventComparison);
  if (wanted('reconcile allocation')) {
    for (const withTransitions of [false, true]) {
      for (const n of [1_000, 100_000, 1_000_000]) {
        const bytes = bytesPerTick(n, withTransitions);
        figures.push({
          case: `reconcile ${n.toLocaleString('en')} workers${withTransitions ? ' + transitions$' : ''}`,
          figure: 'bytes allocated per tick (snapshot unchanged in shape)',
          value: bytes,
          unit: 'B',
          ...(n >= 100_000 ? { goal: 'none per worker (< 0.1 B/worker)', met: bytes < n / 10 } : {}),
        });
      }
    }
    log('done: reconcile allocation');
  }
  if (wanted('scrape exposition')) {
    const section = await expositionSection();
    results.push(...section.results);
    figures.push(...section.figures);
    log('done: scrape exposition');
  }
  return { results, figures, notes: [] };
}

/** Runs {@link measureInProcess} in a fresh node process and reads its JSON. */
function measureInChild(only: string | undefined): Promise<Measured> {
  const args = ['--expose-gc', '-r', 'ts-node/register/transpile-only', __filename, CHILD_FLAG];
  if (only !== undefined) args.push(`--only=${only}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench child process exited with ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as Measured);
      } catch (err) {
        reject(new Error(`bench child process printed something that is not JSON: ${String(err)}`));
      }
    });
  });
}

/** Figures of several processes: the median value of each (case, figure), goals checked on it. */
function mergeFigures(runs: readonly (readonly Figure[])[]): Figure[] {
  const first = runs[0] ?? [];
  return first.map((figure) => {
    const values = runs.flatMap((figures) =>
      figures.filter((f) => f.case === figure.case && f.figure === figure.figure).map((f) => f.value),
    );
    const value = median(values);
    // A figure's goal is a bound each process must keep: met only when every one kept it.
    const met =
      figure.met === undefined
        ? undefined
        : runs.every(
            (figures) => figures.find((f) => f.case === figure.case && f.figure === figure.figure)?.met === true,
          );
    return { ...figure, value, ...(met === undefined ? {} : { met }) };
  });
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const runsArg = process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length);
  const runs = runsArg === undefined ? 5 : Number(runsArg);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number from 1, got ${runsArg}`);
  const log = (line: string): void => {
    if (!json) console.error(line);
  };

  if (process.argv.includes(CHILD_FLAG)) {
    console.log(JSON.stringify(await measureInProcess(only, () => undefined)));
    return;
  }

  let results: ComparisonResult[];
  let figures: Figure[];
  const notes: string[] = [];
  if (runs === 1) {
    ({ results, figures } = await measureInProcess(only, log));
  } else if (!IN_PROCESS_PARTS.some((part) => only === undefined || part.includes(only))) {
    results = [];
    figures = [];
  } else {
    const measured: Measured[] = [];
    for (let r = 0; r < runs; r += 1) {
      measured.push(await measureInChild(only));
      log(`done: in-process parts, process ${r + 1} of ${runs}`);
    }
    results = mergeRuns(measured.map((m) => m.results));
    figures = mergeFigures(measured.map((m) => m.figures));
    if (results.length > 0) notes.push(`ratios: median of ${runs} processes; "per process" gives each one's median`);
  }

  const runSection = async (name: string, measure: () => Promise<BenchSection>): Promise<void> => {
    if (only !== undefined && !name.includes(only)) return;
    const section = await measure();
    results.push(...section.results);
    figures.push(...section.figures);
    notes.push(...section.notes);
    log(`done: ${name}`);
  };
  await runSection('scrape stall', () => stallSection());
  await runSection('latency under a scraper', () => latencySection());
  await runSection('scrape concurrent', () => concurrentSection());
  await runSection('memory', () => memorySection());

  const machine = `${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, node ${process.version}`;
  if (json) {
    console.log(JSON.stringify({ machine, results, figures, notes }, null, 2));
  } else {
    console.log(`machine: ${machine}\n`);
    console.log(table(results));
    if (figures.length > 0) console.log(`\n${figuresTable(figures)}`);
    for (const note of notes) console.log(`\nnote: ${note}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
