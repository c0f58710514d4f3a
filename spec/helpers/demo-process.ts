/**
 * The demo (`examples/demo/main.ts`) as a real child process, the way `npm start` runs it:
 * start it with flags, read what it prints, find its URLs, signal it, and wait for its exit
 * code. Waiting always polls with a deadline (see wait-until.ts), never a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { waitUntil } from './wait-until';

const ROOT = resolve(__dirname, '..', '..');
const MAIN = resolve(ROOT, 'examples', 'demo', 'main.ts');

/** How a demo process ended. */
export interface DemoExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running (or finished) demo process and what it printed so far. */
export interface DemoProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once the process has exited and its output streams are closed. */
  readonly exited: Promise<DemoExit>;
  /** How the process ended, or `undefined` while it runs. */
  exitStatus(): DemoExit | undefined;
  /** Waits (up to `timeoutMs`) for the process to end by itself. */
  waitForExit(timeoutMs?: number): Promise<DemoExit>;
  /** Waits for the start-up lines and returns the page and metrics URLs. */
  urls(timeoutMs?: number): Promise<{ page: string; metrics: string }>;
  /** Sends `signal` and waits (up to `timeoutMs`) for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<DemoExit>;
}

/**
 * Starts the demo with `args` (ts-node, transpile only, as `npm start` does). With `npm: true`
 * it runs `npm start -- args` in a process group of its own, and `stop()` signals the whole
 * group, as a terminal's Ctrl-C does: npm, its shell and the demo all get the signal.
 */
export function startDemoProcess(args: readonly string[], { npm = false } = {}): DemoProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.npm_lifecycle_event; // as a user's shell has it; npm sets it for its scripts
  const child = npm
    ? spawn('npm', ['start', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env, detached: true })
    : spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN, ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<DemoExit>((done) => {
    child.once('close', (code, signal) => done({ code, signal }));
  });
  let exit: DemoExit | undefined;
  void exited.then((e) => (exit = e));

  const urls = (timeoutMs = 20_000): Promise<{ page: string; metrics: string }> =>
    waitUntil(
      'the demo to print its URLs',
      () => {
        if (exit !== undefined) throw new Error(`the demo exited (${JSON.stringify(exit)}): ${err || out}`);
        const page = /live page\s+(http:\/\/\S+)/.exec(out)?.[1];
        const metrics = /metrics\s+(http:\/\/\S+\/metrics)/.exec(out)?.[1];
        return page !== undefined && metrics !== undefined ? { page, metrics } : undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );

  const waitForExit = (timeoutMs = 20_000): Promise<DemoExit> =>
    waitUntil('the demo to exit', () => exit, { timeoutMs, intervalMs: 25 });

  const stop = async (signal: NodeJS.Signals = 'SIGINT', timeoutMs = 10_000): Promise<DemoExit> => {
    if (exit === undefined) {
      if (npm && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    }
    return waitForExit(timeoutMs).catch((e: unknown) => {
      if (npm && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
      throw e;
    });
  };

  return { child, stdout: () => out, stderr: () => err, exited, exitStatus: () => exit, waitForExit, urls, stop };
}
