/**
 * Serving metrics from a Fastify app: hand the raw request and response to `metricsHandler`.
 *
 *   npx ts-node --transpile-only examples/fastify.ts     # prints the metrics URL
 *   curl -s http://127.0.0.1:9464/metrics
 *
 * `reply.hijack()` tells Fastify the handler answers on the raw Node response itself, so
 * Fastify neither serializes a reply nor warns about a missing one.
 */
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { metricsHandler, newMetrics } from '../lib';
import type { ExampleApp } from './express';

/** Starts the example on 127.0.0.1 (`port` 0 picks a free port). */
export async function startFastifyExample({
  port = 9464,
  token,
}: { port?: number; token?: string } = {}): Promise<ExampleApp> {
  const metrics = newMetrics(new Registry());
  metrics.workersSpawned.inc(); // something to see on the first scrape

  const app = Fastify();
  const handler = metricsHandler(metrics.registry, { token });
  app.route({
    // Every method reaches the handler, so a POST gets its 405 + Allow rather than a 404;
    // HEAD is listed here, so Fastify must not add its own.
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/metrics',
    exposeHeadRoute: false,
    handler: (request, reply) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    },
  });
  app.get('/', () => 'the app itself\n');

  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return { url: `http://127.0.0.1:${bound}/metrics`, metrics, close: () => app.close() };
}

if (require.main === module) {
  startFastifyExample({ token: process.env.METRICS_TOKEN === '' ? undefined : process.env.METRICS_TOKEN }).then(
    ({ url }) => console.log(`metrics at ${url}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
