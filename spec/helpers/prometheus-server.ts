/**
 * Debian's real `prometheus` and `promtool` for end-to-end tests: run promtool and read its
 * verdict, or start a Prometheus on a free 127.0.0.1 port with a temporary data directory
 * and query its HTTP API. Waits poll with a deadline (wait-until.ts), never a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRequest } from './http-client';
import { waitUntil } from './wait-until';

/** What a finished command left. */
export interface CommandResult {
  readonly code: number | null;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
}

/** Runs `command` to its end (in `cwd`, default the current folder) and returns its exit code and output. */
export function runCommand(command: string, args: readonly string[], cwd?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A port free on 127.0.0.1 now (the OS picks it; it is released for the program to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A temporary folder, removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** One series of an instant query's answer. */
export interface QuerySample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: [number, string];
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  readonly api: string;
  /** What it logged so far (for failure messages). */
  log(): string;
  /** Runs an instant query; rejects when Prometheus answers an error (a PromQL mistake). */
  query(promql: string): Promise<QuerySample[]>;
  /** GETs an API path (e.g. `/api/v1/rules`) and returns its `data`. */
  get<T>(apiPath: string): Promise<T>;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` with the config file `configFile`, its data in `dataDir`, listening on
 * a free 127.0.0.1 port, and resolves once it is ready.
 */
export async function startPrometheus(configFile: string, dataDir: string): Promise<PrometheusServer> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const get = async <T>(apiPath: string): Promise<T> => {
    const answer = await httpRequest(`${api}${apiPath}`);
    const body = JSON.parse(answer.text) as { status: string; data?: T; error?: string };
    if (body.status !== 'success') throw new Error(`${apiPath}: ${body.error ?? answer.text}`);
    return body.data as T;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };

  try {
    await waitUntil(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
        return (await httpRequest(`${api}/-/ready`)).status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    api,
    log: () => log,
    query: async (promql) =>
      (await get<{ result: QuerySample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    get,
    stop,
  };
}
