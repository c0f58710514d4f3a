/**
 * `npm start`: a simulated worker orchestrator that uses blockyard-telemetry the way a real
 * server does.
 *
 * The wiring, in the order a real orchestrator would do it:
 * 1. `newMetrics(new Registry())`: the contract's collectors on a registry of our own;
 * 2. a `WorkerStateTracker` reconciling every `--tick` ms, fed the worker table after each
 *    simulation step, with every event `record()`ed as it happens, and its three opt-in
 *    options on: workers by app (`byApp`), transitions counted (`countTransitions`) and its
 *    own health (`selfMetrics`), all on the same registry;
 * 3. `serveMetrics()` on 127.0.0.1: `/metrics` for Prometheus (with Node's `process_*` and
 *    `nodejs_*` metrics, as the Go server serves `go_*` and `process_*`), and through its
 *    `fallback` the live page (`/`) and its event stream (`/events`), driven by `counts$`,
 *    `countsByApp$` and
 *    `transitions$`;
 * 4. one line per tick from `counts$`, and every report of `errors$` (none in a normal run);
 * 5. on SIGINT / SIGTERM (or after `--duration`): stop the simulation, `tracker.stop()`, end
 *    the event streams, close the server, and let the process exit 0 with nothing left open
 *    (through `npm start`, npm itself then ends with 130 on Ctrl-C, and the demo says so).
 *
 * Run `npm start -- --help` for the flags.
 *
 * @packageDocumentation
 */
import { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { WorkerStateTracker, newMetrics, serveMetrics, type MetricsServer } from '../../lib';
import { formatErrorLine } from './error-line';
import { USAGE, parseFlags, type DemoFlags } from './flags';
import { LivePage } from './page';
import { OrchestratorSimulator, addSummary, emptySummary } from './simulator';
import { formatTickLine } from './tick-line';

/** Where the demo writes: its lines and its problems. */
export interface DemoOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** A running demo. */
export interface RunningDemo {
  /** The base URL (the live page), e.g. `http://127.0.0.1:9464/`. */
  readonly url: string;
  /** The scrape URL. */
  readonly metricsUrl: string;
  /** Stops everything; resolves once the server is closed. Idempotent. */
  stop(): Promise<void>;
  /** Reports the tracker made (0 in a normal run). */
  readonly trackerErrors: () => number;
}

/** Starts the simulation, the tracker and the server; resolves once the server listens. */
export async function startDemo(flags: DemoFlags, output: DemoOutput): Promise<RunningDemo> {
  const metrics = newMetrics(new Registry());
  const tracker = new WorkerStateTracker({
    metrics,
    tick: flags.tickMs,
    byApp: true,
    countTransitions: true,
    selfMetrics: true,
  });
  const subscriptions: Subscription[] = [];

  let trackerErrors = 0;
  subscriptions.push(
    tracker.errors$.subscribe((error) => {
      trackerErrors += 1;
      output.err(formatErrorLine(error));
    }),
  );

  const simulator = new OrchestratorSimulator({
    seed: flags.seed,
    apps: flags.apps,
    stepMs: flags.tickMs,
    record: (event) => tracker.record(event),
  });

  // What happened since the last line; each line from counts$ prints and resets it.
  let sinceLastLine = emptySummary();
  let ticks = 0;
  subscriptions.push(
    tracker.counts$.subscribe((counts) => {
      ticks += 1;
      output.out(formatTickLine(new Date(), ticks, counts, sinceLastLine));
      sinceLastLine = emptySummary();
    }),
  );

  const page = new LivePage({
    counts$: tracker.counts$,
    countsByApp$: tracker.countsByApp$,
    transitions$: tracker.transitions$,
    info: { apps: flags.apps, seed: flags.seed, tickMs: flags.tickMs },
  });

  const step = (): void => {
    addSummary(sinceLastLine, simulator.advance());
    // The same Map each time, its records mutated in place, as a real worker table is. Fed
    // after every step (not once), so the snapshot age (selfMetrics) says how fresh it is.
    tracker.feed(simulator.workers);
  };

  let served: MetricsServer;
  try {
    served = await serveMetrics({
      registry: metrics.registry,
      host: '127.0.0.1',
      port: flags.port,
      defaultMetrics: true,
      fallback: page.handle,
    });
  } catch (err) {
    page.close();
    tracker.stop();
    for (const s of subscriptions) s.unsubscribe();
    throw err;
  }

  step();
  const timer = setInterval(step, flags.tickMs);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(timer);
      tracker.stop(); // completes counts$: the page ends its event streams
      page.close();
      for (const s of subscriptions) s.unsubscribe();
      await served.close();
    })();
    return stopping;
  };

  const base = served.url.replace(/\/metrics$/, '/');
  return { url: base, metricsUrl: new URL('metrics', base).href, stop, trackerErrors: () => trackerErrors };
}

/** Runs the demo as a program: flags, start, signals, stop. Resolves to the exit code. */
export async function main(argv: readonly string[], output: DemoOutput): Promise<number> {
  const parsed = parseFlags(argv);
  if (parsed.kind === 'help') {
    output.out(USAGE.trimEnd());
    return 0;
  }
  if (parsed.kind === 'error') {
    output.err(`demo: ${parsed.message}\nRun with --help for the flags.`);
    return 2;
  }
  const flags = parsed.flags;
  let demo: RunningDemo;
  try {
    demo = await startDemo(flags, output);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code; // serveMetrics: EADDRINUSE for a port in use
    const hint = code === 'EADDRINUSE' ? ` (port ${flags.port} is taken; try --port 0 for a free one)` : '';
    output.err(`demo: cannot start: ${err instanceof Error ? err.message : String(err)}${hint}`);
    return 1;
  }
  output.out(
    `blockyard-telemetry demo: ${flags.apps} apps, seed ${flags.seed}, one tick every ${flags.tickMs} ms\n` +
      `  live page  ${demo.url}\n` +
      `  metrics    ${demo.metricsUrl}\n` +
      (flags.durationSeconds > 0 ? `Stops after ${flags.durationSeconds} s; ` : '') +
      'Ctrl-C to stop.',
  );

  const waiting = waitForStop(flags.durationSeconds);
  const why = await waiting.reason;
  waiting.dispose();
  // A second Ctrl-C while stopping means "now"; not the copy of the first that npm forwards.
  const stoppingSince = performance.now();
  const force = (): void => {
    if (why !== 'SIGINT' || performance.now() - stoppingSince >= SAME_CTRL_C_MS) process.exit(130);
  };
  process.on('SIGINT', force);
  await demo.stop();
  process.off('SIGINT', force);
  output.out(`stopped (${why}); ${demo.trackerErrors()} tracker errors`);
  // Ctrl-C reaches npm too: it waits for the demo, then ends by the same signal, whatever the
  // demo's exit code. Say so, rather than let the shell's 130 look like a failure.
  if (why === 'SIGINT' && process.env.npm_lifecycle_event !== undefined) {
    output.out('the demo exits 0; npm, interrupted too, ends with status 130 (128 + SIGINT)');
  }
  return 0;
}

/**
 * How long after the Ctrl-C that stops the demo a SIGINT is still that same Ctrl-C. Under
 * `npm start` one key press reaches the demo twice, a few milliseconds apart: from the terminal
 * (npm, its shell and the demo share its process group) and from npm, which forwards the
 * signals it gets to the script it runs. Taken for a second Ctrl-C, the copy cut the clean stop
 * short (exit 130, no "stopped" line) whenever it came after the stop had begun.
 */
const SAME_CTRL_C_MS = 1000;

/**
 * Resolves with why the demo should stop: SIGINT, SIGTERM, or the end of `--duration`.
 * `dispose()` removes the listeners and the timer.
 */
function waitForStop(durationSeconds: number): { reason: Promise<string>; dispose(): void } {
  let dispose = (): void => undefined;
  const reason = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => resolve(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timeout =
      durationSeconds > 0
        ? setTimeout(() => resolve(`--duration ${durationSeconds}`), durationSeconds * 1000)
        : undefined;
    dispose = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timeout !== undefined) clearTimeout(timeout);
    };
  });
  return { reason, dispose };
}

if (require.main === module) {
  const output: DemoOutput = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  main(process.argv.slice(2), output).then(
    (code) => {
      process.exitCode = code;
      if (code !== 0) return;
      // Everything is closed, so the process exits on its own. If something were left open it
      // would not: say what, and exit non-zero instead of hanging.
      setTimeout(() => {
        process.stderr.write(`demo: still open after stop: ${process.getActiveResourcesInfo().join(', ')}\n`);
        process.exit(1);
      }, 5000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
