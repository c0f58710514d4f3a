/**
 * Tracing: a proxy that traces every request and forwards the trace to its worker.
 *
 *   npx ts-node --transpile-only examples/tracing.ts                                  # export nothing
 *   npx ts-node --transpile-only examples/tracing.ts localhost:4317                   # OTLP/gRPC
 *   npx ts-node --transpile-only examples/tracing.ts http://localhost:4318/v1/traces  # OTLP/HTTP
 *
 * It starts a worker (plain node:http, wrapped with traceHandler) and a proxy (Express with
 * tracingMiddleware) on 127.0.0.1, sends one request carrying a traceparent through the
 * proxy, prints what the worker received and the exemplar the request left on
 * blockyard_proxy_request_seconds, then shuts down (flushing spans to the collector, if any).
 * A failed export never throws into the app: OpenTelemetry reports it to its diag logger,
 * which this example listens to, so that it can say the export failed and exit 1.
 */
import { DiagLogLevel, diag } from '@opentelemetry/api';
import express from 'express';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { NEVER } from 'rxjs';
import {
  WorkerStateTracker,
  activeTraceRef,
  initTracing,
  injectTraceHeaders,
  newMetrics,
  traceHandler,
  tracingMiddleware,
} from '../lib';

const INBOUND = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const endpoint = process.argv[2] ?? '';
  // Export failures go to OpenTelemetry's diag logger; keep them, to report at the end.
  const exportProblems: string[] = [];
  const keep = (message: string): void => void exportProblems.push(message);
  const ignore = (): void => undefined;
  diag.setLogger({ error: keep, warn: keep, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
  // Once, at start-up. "" exports nothing but still installs the W3C propagator.
  const shutdown = await initTracing(endpoint, { exportTimeoutMillis: 2000 });

  // An OpenMetrics registry, so exemplars are kept (a plain registry works the same, without).
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const metrics = newMetrics(registry);
  const tracker = new WorkerStateTracker({ metrics, tick: NEVER });

  // The worker: a plain node:http handler, traced by the wrapper.
  const worker = createServer(
    traceHandler((req, res) => res.end(`worker saw traceparent ${String(req.headers.traceparent)}`)),
  );
  const workerUrl = await listen(worker);

  // The proxy: Express, the middleware first, so every route runs inside the request's span.
  const app = express();
  app.use(tracingMiddleware());
  app.get('/apps/:name', (req, res) => {
    const started = process.hrtime.bigint();
    const trace = activeTraceRef(); // taken now: the upstream callbacks run outside the span
    const upstream = request(`${workerUrl}/`, { headers: injectTraceHeaders({}), agent: false }, (answer) => {
      answer.pipe(res);
      answer.on('end', () =>
        tracker.record({
          type: 'proxy_request',
          app: req.params.name,
          status: answer.statusCode ?? 502,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          trace,
        }),
      );
    });
    upstream.on('error', () => res.sendStatus(502));
    upstream.end();
  });
  const proxy = createServer(app);
  const proxyUrl = await listen(proxy);

  const answer = await get(`${proxyUrl}/apps/sales?from=example`, { traceparent: INBOUND });
  console.log(`proxy answered ${answer.status}: ${answer.body}`);

  const exemplar = /# \{trace_id="(\w+)",span_id="(\w+)"\}/.exec(await registry.metrics());
  console.log(`exemplar on blockyard_proxy_request_seconds: trace_id=${exemplar?.[1]} span_id=${exemplar?.[2]}`);

  tracker.stop();
  for (const server of [proxy, worker]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await shutdown(); // flushes every pending span (or gives up after exportTimeoutMillis + 1 s)
  if (endpoint === '') {
    console.log('no spans exported (no endpoint)');
  } else if (exportProblems.length === 0) {
    console.log(`spans flushed to ${endpoint}`);
  } else {
    console.error(`span export to ${endpoint} failed: ${exportProblems.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
