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
 * until its stdin ends (the parent closes it, or dies), closes the servers and exits. Each line
 * read from stdin meanwhile is answered with one JSON line of {@link GcWork}: what the garbage
 * collector did in this process since the last such line, so that the benchmark can tell a
 * tail set by the collector (mark-compacts that hold all 16 scrapers at once) from its own.
 *
 *     node -r ts-node/register/transpile-only bench/scrape-servers.ts <apps>
 */
import type { Server } from 'node:http';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { serveMetrics } from '../lib';
import { bytesServer, listen, plainServer } from './reference-servers';
import { scrapeFixture } from './scrape-fixture';

/** Closes `server` once every connection to it has gone (cut at once). */
function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** What the garbage collector did in this process over a stretch of time. */
export interface GcWork {
  /** Full collections (V8's mark-compacts). */
  readonly markCompacts: number;
  /** Milliseconds spent in young-generation collections (scavenges). */
  readonly scavengeMs: number;
}

/** Counts the collections of this process from now on; `take()` returns and resets the counts. */
function watchGc(): { take(): GcWork; stop(): void } {
  let work = { markCompacts: 0, scavengeMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node gives a collection's kind in `detail` (its typings here do not declare it).
      const { detail } = entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } | null };
      const kind = detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) work.markCompacts += 1;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) work.scavengeMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    take: () => {
      const taken = work;
      work = { markCompacts: 0, scavengeMs: 0 };
      return taken;
    },
    stop: () => observer.disconnect(),
  };
}

async function main(): Promise<void> {
  const apps = Number(process.argv[2] ?? '1000');
  const fixture = await scrapeFixture(apps);
  const ours = await serveMetrics({ registry: fixture.ours, port: 0 });
  const plain = plainServer(fixture.plain);
  const bytes = await bytesServer(fixture.plain);
  const urls = { ours: ours.url, plain: await listen(plain, '/metrics'), bytes: await listen(bytes, '/metrics') };
  process.stdout.write(`${JSON.stringify(urls)}\n`);

  // Serve until the parent is done with us: it ends our stdin (or its own death does). Each
  // line it sends before that asks for the collector's work since the last one.
  const gc = watchGc();
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) {
      process.stdout.write(`${JSON.stringify(gc.take())}\n`);
    }
  });
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  process.stdin.pause();
  gc.stop();
  await Promise.all([ours.close(), closeNow(plain), closeNow(bytes)]);
  fixture.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
