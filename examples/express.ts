/**
 * Serving metrics from an Express app: `metricsHandler` is ordinary middleware.
 *
 *   npx ts-node --transpile-only examples/express.ts     # prints the metrics URL
 *   curl -s http://127.0.0.1:9464/metrics                # Prometheus text 0.0.4
 *   curl -s -H 'Accept: application/openmetrics-text' http://127.0.0.1:9464/metrics
 *
 * Prefer `serveMetrics()` (a listener of its own on 127.0.0.1) when the app's port faces the
 * internet; mount the handler on the app itself only behind a proxy that keeps /metrics in, or
 * with a token (set METRICS_TOKEN here to try it).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { metricsHandler, newMetrics, type Metrics } from '../lib';

/** A running example app. */
export interface ExampleApp {
  /** The metrics URL. */
  readonly url: string;
  /** The collectors it serves, for callers (and tests) to move. */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Starts the example on 127.0.0.1 (`port` 0 picks a free port). */
export async function startExpressExample({
  port = 9464,
  token,
}: { port?: number; token?: string } = {}): Promise<ExampleApp> {
  const metrics = newMetrics(new Registry());
  metrics.workersSpawned.inc(); // something to see on the first scrape

  const app = express();
  // `all`, not `get`: every method reaches the handler, so a POST gets its 405 + Allow
  // rather than Express's 404. HEAD is answered like GET, without a body.
  app.all('/metrics', metricsHandler(metrics.registry, { token }));
  app.get('/', (_req, res) => {
    res.type('text/plain').send('the app itself\n');
  });

  const server = app.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (require.main === module) {
  startExpressExample({ token: process.env.METRICS_TOKEN === '' ? undefined : process.env.METRICS_TOKEN }).then(
    ({ url }) => console.log(`metrics at ${url}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
