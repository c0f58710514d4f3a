/**
 * Debian's real `prometheus` for end-to-end tests: start one on a free 127.0.0.1 port, with
 * its configuration and data in a temporary folder, scraping one target every second, and
 * query its HTTP API. Waits poll with a deadline (wait-until.ts), never a fixed sleep.
 * (promtool runs through run-command.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port';
import { httpRequest } from './http-client';
import { tempDir } from './temp-dir';
import { waitUntil } from './wait-until';

/** What Prometheus scrapes and loads. */
export interface PrometheusOptions {
  /** The one target, `host:port`, scraped at `/metrics` as job `blockyard`. */
  readonly target: string;
  /** A bearer token to scrape with (serveMetrics' `token` option). */
  readonly token?: string;
  /** Rule files to load, absolute paths. */
  readonly ruleFiles?: readonly string[];
}

/** The prometheus.yml for `options`: scrapes and evaluates rules every second. */
export function prometheusConfig({ target, token, ruleFiles = [] }: PrometheusOptions): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((file) => `  - ${file}`)] : []),
    'scrape_configs:',
    '  - job_name: blockyard',
    '    metrics_path: /metrics',
    ...(token !== undefined ? ['    authorization:', '      type: Bearer', `      credentials: ${token}`] : []),
    '    static_configs:',
    `      - targets: ['${target}']`,
    '',
  ].join('\n');
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
  /** Stops it (SIGTERM, then SIGKILL after 10 s), waits for the exit and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` configured by {@link prometheusConfig}, its configuration and data in a
 * temporary folder, listening on a free 127.0.0.1 port, and resolves once it is ready.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = await tempDir('blockyard-prometheus-');
  const configFile = join(dir.path, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(options));
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir.path, 'data')}`,
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
    await dir.remove();
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
