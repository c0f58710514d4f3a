/**
 * The servers of the concurrent-scrape benchmark, run in a process of their own so that the
 * load generator and the benchmark's own event loop do not share their CPU time:
 *
 * - ours: `serveMetrics` on 127.0.0.1, port 0, over the production-filled registry;
 * - plain: a node:http server answering `await registry.metrics()` on the identical registry,
 *   as a host without this library would serve it;
 * - bytes: the same answers rendered and gzipped at start-up, so that a scrape costs only the
 *   sending: the floor of both (see bench/reference-servers.ts).
 *
 * Prints one JSON line `{"ours": url, "plain": url, "bytes": url}` once all listen, then serves
 * until its stdin ends (the parent closes it, or dies), closes the servers and exits.
 *
 *     node -r ts-node/register/transpile-only bench/scrape-servers.ts <apps>
 */
import type { Server } from 'node:http';
import { serveMetrics } from '../lib';
import { bytesServer, listen, plainServer } from './reference-servers';
import { scrapeFixture } from './scrape-fixture';

/** Closes `server` once every connection to it has gone (cut at once). */
function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

async function main(): Promise<void> {
  const apps = Number(process.argv[2] ?? '1000');
  const fixture = await scrapeFixture(apps);
  const ours = await serveMetrics({ registry: fixture.ours, port: 0 });
  const plain = plainServer(fixture.plain);
  const bytes = await bytesServer(fixture.plain);
  const urls = { ours: ours.url, plain: await listen(plain, '/metrics'), bytes: await listen(bytes, '/metrics') };
  process.stdout.write(`${JSON.stringify(urls)}\n`);

  // Serve until the parent is done with us: it ends our stdin (or its own death does).
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  process.stdin.pause();
  await Promise.all([ours.close(), closeNow(plain), closeNow(bytes)]);
  fixture.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
