/**
 * The end-to-end tracing scenarios, runnable in the jest process or in a child process (see
 * traced-burst-child.ts): the whole library wired as a host wires it, against a real OTLP
 * endpoint.
 */
import { trace } from '@opentelemetry/api';
import express from 'express';
import { NEVER } from 'rxjs';
import { newMetrics } from '../../lib/metrics';
import { tracingMiddleware } from '../../lib/tracing/tracing-middleware';
import { initTracing } from '../../lib/tracing/init-tracing';
import { WorkerStateTracker } from '../../lib/tracker/worker-state-tracker';
import { httpRequest } from './http-client';
import { listen, type TestServer } from './http-server';
import { openMetricsRegistry } from './openmetrics-exemplars';

/** What a burst left behind. */
export interface BurstResult {
  /** The HTTP status of every request, in order. */
  readonly statuses: number[];
  /** The OpenMetrics scrape taken after the burst, before shutdown. */
  readonly exposition: string;
  /** How long `shutdown()` took, in milliseconds. */
  readonly shutdownMs: number;
}

/**
 * `initTracing(endpoint)`, an Express server with `tracingMiddleware()` whose handler records a
 * `proxy_request` event (so exemplars land on an OpenMetrics registry), `n` concurrent requests
 * to it, an OpenMetrics scrape, then `shutdown()`. Every span is in flight in the batch
 * processor until shutdown flushes it.
 */
export async function tracedBurst(endpoint: string, n: number): Promise<BurstResult> {
  const shutdown = await initTracing(endpoint);
  const metrics = newMetrics(openMetricsRegistry());
  const tracker = new WorkerStateTracker({ metrics, tick: NEVER });
  const app = express();
  app.use(tracingMiddleware());
  app.get('/work/:id', (req, res) => {
    // Recorded while the request's span is active: the exemplar takes its trace.
    tracker.record({ type: 'proxy_request', app: 'demo', status: 200, seconds: Number(req.params.id) / 1000 });
    res.send('done');
  });
  let server: TestServer | undefined;
  try {
    server = await listen(app);
    const origin = server.origin;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => httpRequest(`${origin}/work/${i}?burst=1`)));
    const exposition = await metrics.registry.metrics();
    const started = Date.now();
    await shutdown();
    return { statuses: answers.map((a) => a.status), exposition, shutdownMs: Date.now() - started };
  } finally {
    tracker.stop();
    await shutdown();
    await server?.close();
  }
}

/** `initTracing` against a collector that never answers; how long shutdown takes with spans pending. */
export async function hangingShutdown(endpoint: string, exportTimeoutMillis: number): Promise<{ shutdownMs: number }> {
  const shutdown = await initTracing(endpoint, { exportTimeoutMillis });
  for (let i = 0; i < 10; i += 1) trace.getTracer('burst').startSpan(`pending ${i}`).end();
  const started = Date.now();
  await shutdown();
  return { shutdownMs: Date.now() - started };
}
