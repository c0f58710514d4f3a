/**
 * `metricsHandler` behind a real server on 127.0.0.1, for the endpoint's specs: serve a
 * registry, get its URL, and close every server a test opened in `afterEach`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { metricsHandler, type MetricsHandlerOptions, type MetricsSource } from '../../lib';
import { listen, type TestServer } from './http-server';

/** An `Accept` header asking for OpenMetrics. */
export const OPENMETRICS_ACCEPT = 'application/openmetrics-text; version=1.0.0';
/** What Prometheus 2.x sends when it scrapes. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** The four ways a scrape can ask: each format, gzipped or not (`[what, openMetrics, gzip]`). */
export const SCRAPE_KINDS: readonly (readonly [string, boolean, boolean])[] = [
  ['Prometheus text', false, false],
  ['Prometheus text, gzipped', false, true],
  ['OpenMetrics', true, false],
  ['OpenMetrics, gzipped', true, true],
];

/** A served handler: the metrics URL, and how many requests reached it. */
export interface ServedHandler {
  readonly url: string;
  readonly seen: () => number;
}

const servers: TestServer[] = [];

/**
 * Serves `metricsHandler(registry, options)` at `<origin>/metrics` (any path reaches it),
 * counting the requests that reached the handler; `before` sees each request first, with its
 * number (from 1), to tamper with it or watch it.
 */
export async function serveHandler(
  registry: Registry<RegistryContentType> | MetricsSource,
  options?: MetricsHandlerOptions,
  before?: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<ServedHandler> {
  const handler = metricsHandler(registry, options);
  let seen = 0;
  const server = await listen((req, res) => {
    seen += 1;
    before?.(req, res, seen);
    handler(req, res);
  });
  servers.push(server);
  return { url: `${server.origin}/metrics`, seen: () => seen };
}

/** Keeps `server` to close with the others. */
export function keepServer(server: TestServer): void {
  servers.push(server);
}

/** Closes every server opened since the last call: call it in `afterEach`. */
export async function closeServedHandlers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}
