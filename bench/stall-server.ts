/**
 * The process the event-loop benchmarks measure (bench/event-loop.ts): one Node process, as an
 * orchestrator is, holding
 *
 * - ours: `serveMetrics` over the 1000-app registry;
 * - plain: a node:http server answering `await registry.metrics()` on the identical registry
 *   (gzipped with zlib's asynchronous gzip when asked), as a host without this library would;
 * - app: a node:http endpoint answering `ok`, standing for the orchestrator's own traffic;
 * - a probe: `perf_hooks.monitorEventLoopDelay` at its finest resolution, whose largest delay
 *   is the longest stretch the event loop was held.
 *
 * Prints one JSON line `{"ours", "plain", "app"}` (URLs) once all listen, then takes commands
 * on stdin, one per line: `reset` (empties the probe), `report` (prints `{"maxMs", "p99Ms"}` of
 * the probe since the last reset). Ends when stdin ends.
 *
 *     node -r ts-node/register/transpile-only bench/stall-server.ts <apps>
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Registry } from 'prom-client';
import { acceptsGzip, negotiateFormat, serveMetrics } from '../lib';
import { scrapeFixture } from './scrape-fixture';

const gzip = promisify(gzipCallback);

function listen(server: Server, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`));
  });
}

/** The plain server: one prom-client registry per format (prom-client renders one format each). */
function plainServer(text: Registry, openMetrics: Registry): Server {
  return createServer((req: IncomingMessage, res) => {
    const registry = negotiateFormat(req.headers.accept) === 'openmetrics' ? openMetrics : text;
    const compress = acceptsGzip(req.headers['accept-encoding']);
    registry
      .metrics()
      .then(async (body) => {
        res.setHeader('Content-Type', registry.contentType);
        if (compress) {
          res.setHeader('Content-Encoding', 'gzip');
          res.end(await gzip(body));
        } else {
          res.end(body);
        }
      })
      .catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
  });
}

async function main(): Promise<void> {
  const apps = Number(process.argv[2] ?? '1000');
  const text = await scrapeFixture(apps, 'prometheus');
  const om = await scrapeFixture(apps, 'openmetrics');
  // Ours serves both formats from one registry (it negotiates); plain needs one of each.
  const ours = await serveMetrics({ registry: text.ours, port: 0 });
  const plain = plainServer(text.plain, om.plain);
  const app = createServer((_req, res) => res.end('ok'));
  const urls = { ours: ours.url, plain: await listen(plain, '/metrics'), app: await listen(app, '/') };

  const probe = monitorEventLoopDelay({ resolution: 1 });
  probe.enable();
  process.stdout.write(`${JSON.stringify(urls)}\n`);

  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line === 'reset') {
      probe.reset();
      process.stdout.write('{}\n');
    } else if (line === 'report') {
      process.stdout.write(`${JSON.stringify({ maxMs: probe.max / 1e6, p99Ms: probe.percentile(99) / 1e6 })}\n`);
    }
  });
  await new Promise<void>((resolve) => commands.once('close', resolve));
  probe.disable();
  plain.closeAllConnections();
  app.closeAllConnections();
  await Promise.all([
    ours.close(),
    new Promise<void>((resolve) => plain.close(() => resolve())),
    new Promise<void>((resolve) => app.close(() => resolve())),
  ]);
  text.stop();
  om.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
