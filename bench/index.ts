/**
 * `npm run bench` (`npm run --silent bench -- --json` for machine-readable output): ours against the floor, in one
 * process, as medians of several rounds. See README "Performance" for the figures and goals.
 */
import os from 'node:os';
import { compare, table, type Comparison, type ComparisonResult } from './harness';
import { eventComparison } from './events';
import { bytesPerTick, reconcileComparisons } from './reconcile';
import { concurrentSection, expositionSection, figuresTable, memorySection, type BenchSection, type Figure } from './scrape';

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const results: ComparisonResult[] = [];
  const run = async (name: string, make: () => { comparison: Comparison; stop: () => void }): Promise<void> => {
    if (only !== undefined && !name.includes(only)) return;
    const { comparison, stop } = make();
    try {
      results.push(await compare(comparison));
    } finally {
      stop();
    }
    if (!json) console.error(`done: ${comparison.name}`);
  };
  for (const n of [1_000, 100_000, 1_000_000]) {
    await run('reconcile', () => reconcileComparisons(n, false));
    await run('reconcile', () => reconcileComparisons(n, true));
  }
  // For the README: what checking every ActiveWorker field on every tick costs.
  await run('reconcile', () => reconcileComparisons(100_000, false, true));
  await run('events', eventComparison);
  const figures: Figure[] = [];
  const notes: string[] = [];
  const runSection = async (name: string, measure: () => Promise<BenchSection>): Promise<void> => {
    if (only !== undefined && !name.includes(only)) return;
    const section = await measure();
    results.push(...section.results);
    figures.push(...section.figures);
    notes.push(...section.notes);
    if (!json) console.error(`done: ${name}`);
  };
  await runSection('reconcile allocation', async () => {
    const rows: Figure[] = [];
    for (const withTransitions of [false, true]) {
      for (const n of [1_000, 100_000, 1_000_000]) {
        const bytes = bytesPerTick(n, withTransitions);
        rows.push({
          case: `reconcile ${n.toLocaleString('en')} workers${withTransitions ? ' + transitions$' : ''}`,
          figure: 'bytes allocated per tick (snapshot unchanged in shape)',
          value: bytes,
          unit: 'B',
          ...(n >= 100_000 ? { goal: 'none per worker (< 0.1 B/worker)', met: bytes < n / 10 } : {}),
        });
      }
    }
    return { results: [], figures: rows, notes: [] };
  });
  await runSection('scrape exposition', expositionSection);
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
