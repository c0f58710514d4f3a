/**
 * The two servers of the concurrent-scrape benchmark, run in a process of their own so that
 * the load generator and the benchmark's own event loop do not share their CPU time:
 *
 * - ours: `serveMetrics` on 127.0.0.1, port 0, over the production-filled registry;
 * - plain: a node:http server answering `await registry.metrics()` on the identical registry,
 *   as a host without this library would serve it.
 *
 * Prints one JSON line `{"ours": url, "plain": url}` once both listen, then serves until its
 * stdin ends (the parent closes it, or dies), closes both servers and exits.
 *
 *     node -r ts-node/register/transpile-only bench/scrape-servers.ts <apps>
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveMetrics } from '../lib';
import { scrapeFixture } from './scrape-fixture';

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`));
  });
}

async function main(): Promise<void> {
  const apps = Number(process.argv[2] ?? '1000');
  const fixture = await scrapeFixture(apps);
  const ours = await serveMetrics({ registry: fixture.ours, port: 0 });
  const plainRegistry = fixture.plain;
  const plain = createServer((_req, res) => {
    plainRegistry.metrics().then(
      (text) => {
        res.setHeader('Content-Type', plainRegistry.contentType);
        res.end(text);
      },
      (err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  });
  const plainUrl = await listen(plain);
  process.stdout.write(`${JSON.stringify({ ours: ours.url, plain: plainUrl })}\n`);

  // Serve until the parent is done with us: it ends our stdin (or its own death does).
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  process.stdin.pause();
  plain.closeAllConnections();
  await Promise.all([ours.close(), new Promise<void>((resolve) => plain.close(() => resolve()))]);
  fixture.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
