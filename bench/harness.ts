/**
 * A tiny benchmark harness: runs "ours" and "the floor" alternately in one process, several
 * rounds, and reports per-operation times and the median of the per-round ratios. Ratios
 * measured side by side in one run are what we compare on shared, noisy machines; absolute
 * times are printed for context only.
 */

/** One measured pair of implementations of the same work. */
export interface Comparison {
  readonly name: string;
  /** Work units per call of `ours` / `floor` (e.g. workers walked, events recorded). */
  readonly unitsPerCall: number;
  /** The unit, for the report ("worker", "event", "scrape"). */
  readonly unit: string;
  readonly ours: () => void;
  readonly floor: () => void;
  /** Calls per round (default: enough for about 100 ms of `floor`). */
  readonly callsPerRound?: number;
  /** The goal for the median ratio, for the report. */
  readonly goal?: number;
}

/** The result of one comparison. */
export interface ComparisonResult {
  readonly name: string;
  readonly unit: string;
  readonly oursNsPerUnit: number;
  readonly floorNsPerUnit: number;
  readonly medianRatio: number;
  readonly ratios: readonly number[];
  readonly goal: number | undefined;
  readonly met: boolean | undefined;
  /** The median ratio of each process, when the row merges several (see bench/index.ts). */
  readonly runRatios?: readonly number[];
}

/**
 * A row from measured pairs of wall-clock figures (a p99, a stall), in milliseconds: for the
 * sections that measure whole processes under load rather than calls in a loop. With
 * `perProcess` (each process's ratio), the row's ratio is their median, as for in-process rows.
 */
export function msRow(
  name: string,
  unit: string,
  oursMs: number,
  floorMs: number,
  goal?: number,
  perProcess?: readonly number[],
): ComparisonResult {
  const ratio = perProcess === undefined ? oursMs / floorMs : median(perProcess);
  return {
    name,
    unit,
    oursNsPerUnit: oursMs * 1e6,
    floorNsPerUnit: floorMs * 1e6,
    medianRatio: ratio,
    ratios: perProcess ?? [ratio],
    goal,
    met: goal === undefined ? undefined : ratio <= goal,
    ...(perProcess === undefined ? {} : { runRatios: perProcess }),
  };
}

/** Blocks each round is split into (see {@link compare}). */
const BLOCKS_PER_ROUND = 16;

/** A full garbage collection, when node runs with --expose-gc; nothing otherwise. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * The `p`-th percentile of `values` (0 < p ≤ 100), by nearest rank: the smallest value that
 * at least p % of them do not exceed.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Nanoseconds of CPU time (user + system) spent in `calls` calls of `fn`. CPU time rather than
 * wall time, so that time spent descheduled on a shared machine does not count.
 */
function timeCalls(fn: () => void, calls: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i += 1) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

/** {@link timeCalls} for work that completes in a promise: each call is awaited in turn. */
async function timeAwaitedCalls(fn: () => Promise<unknown>, calls: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i += 1) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

/** One measured pair whose work completes in promises (each call is awaited). */
export interface AsyncComparison extends Omit<Comparison, 'ours' | 'floor'> {
  readonly ours: () => Promise<unknown>;
  readonly floor: () => Promise<unknown>;
}

/**
 * Runs `c` for `rounds` rounds (after a warm-up) and returns the medians. The timing loops
 * are synchronous for a {@link Comparison} (nothing but the work inside them) and awaited for
 * an {@link AsyncComparison}; the rounds around them are the same.
 */
export async function compare(c: Comparison | AsyncComparison, rounds = 7, awaited = false): Promise<ComparisonResult> {
  const time = (fn: () => unknown, calls: number): Promise<number> | number =>
    awaited ? timeAwaitedCalls(fn as () => Promise<unknown>, calls) : timeCalls(fn, calls);
  let calls = c.callsPerRound ?? 0;
  if (calls === 0) {
    // Enough calls for about 100 ms of the floor a round.
    calls = 1;
    while ((await time(c.floor, calls)) < 20e6 && calls < 1e7) calls *= 2;
    calls *= 5;
  }
  // Start from a collected heap (`npm run bench` runs node with --expose-gc): what an earlier
  // case left behind (a million-worker snapshot is hundreds of MB) must not be collected, or
  // marked in steps the event loop runs, during this one.
  collectGarbage();
  // Warm up both so the JIT has optimized them before anything is timed.
  await time(c.ours, Math.max(1, Math.floor(calls / 2)));
  await time(c.floor, Math.max(1, Math.floor(calls / 2)));
  // Each round is split into blocks, each running both sides in the order ours-floor,
  // floor-ours, floor-ours, ours-floor, then again (ABBA):
  // a drift in the machine's speed during a round (a neighbour's load, the clock, a GC that one
  // side's garbage triggers) then lands on both sides about equally, instead of on whichever
  // ran in the slower half. Cheap cases gain most: their per-round ratios otherwise swing by
  // ±20 % on a shared machine.
  const blocks = Math.min(BLOCKS_PER_ROUND, calls);
  const callsPerBlock = Math.max(1, Math.floor(calls / blocks));
  const ratios: number[] = [];
  const ours: number[] = [];
  const floor: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    let o = 0;
    let f = 0;
    for (let b = 0; b < blocks; b += 1) {
      // ABBA: blocks 0 and 3 of every four run ours first; 1 and 2 run the floor first.
      const oursFirst = b % 4 === 0 || b % 4 === 3;
      if (oursFirst) o += await time(c.ours, callsPerBlock);
      f += await time(c.floor, callsPerBlock);
      if (!oursFirst) o += await time(c.ours, callsPerBlock);
    }
    const n = blocks * callsPerBlock * c.unitsPerCall;
    ours.push(o / n);
    floor.push(f / n);
    ratios.push(o / f);
  }
  const medianRatio = median(ratios);
  return {
    name: c.name,
    unit: c.unit,
    oursNsPerUnit: median(ours),
    floorNsPerUnit: median(floor),
    medianRatio,
    ratios,
    goal: c.goal,
    met: c.goal === undefined ? undefined : medianRatio <= c.goal,
  };
}

/**
 * One row per case from several processes' rows: medians of their figures, and each
 * process's median ratio in `runRatios`.
 */
export function mergeRuns(runs: readonly (readonly ComparisonResult[])[]): ComparisonResult[] {
  const first = runs[0] ?? [];
  return first.map((row) => {
    const same = runs.map((results) => results.find((r) => r.name === row.name)).filter((r) => r !== undefined);
    const medianRatio = median(same.map((r) => r.medianRatio));
    return {
      ...row,
      oursNsPerUnit: median(same.map((r) => r.oursNsPerUnit)),
      floorNsPerUnit: median(same.map((r) => r.floorNsPerUnit)),
      medianRatio,
      ratios: same.flatMap((r) => r.ratios),
      runRatios: same.map((r) => r.medianRatio),
      met: row.goal === undefined ? undefined : medianRatio <= row.goal,
    };
  });
}

/** A duration per unit in the largest of ns, µs and ms that keeps it at 1 or more. */
function perUnit(ns: number, unit: string): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms/${unit}`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs/${unit}`;
  return `${ns.toFixed(ns < 10 ? 2 : 1)} ns/${unit}`;
}

/** Formats results as an aligned table. */
export function table(results: readonly ComparisonResult[]): string {
  const rows = results.map((r) => [
    r.name,
    perUnit(r.oursNsPerUnit, r.unit),
    perUnit(r.floorNsPerUnit, r.unit),
    `${r.medianRatio.toFixed(2)}x`,
    r.runRatios === undefined ? '' : r.runRatios.map((x) => `${x.toFixed(2)}x`).join(' '),
    r.goal === undefined ? '' : `<= ${r.goal}x ${r.met ? 'met' : 'NOT MET'}`,
  ]);
  const header = ['case', 'ours', 'floor', 'median ratio', 'per process', 'goal'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
