/**
 * The process the event-loop benchmarks measure (bench/event-loop.ts): one Node process, as an
 * orchestrator is, holding the 1000-app registries (ours and an identical plain one) and
 *
 * - the metrics endpoint under test, one per process so that neither's garbage is collected
 *   during the other's scrapes: `ours`, `serveMetrics`; or `plain`, a node:http server
 *   answering `await registry.metrics()` (gzipped with zlib's asynchronous gzip when asked), as
 *   a host without this library would; or `bytes`, the floor of both, the same bytes rendered
 *   and gzipped once at start-up, so that a scrape costs only the sending (both in
 *   bench/reference-servers.ts);
 * - app: a node:http endpoint answering `ok`, standing for the orchestrator's own traffic;
 * - a probe: a chain of `setImmediate` callbacks, each scheduling the next, that notes the
 *   longest time between two of them: the event loop runs it once per turn, so that is the
 *   longest stretch one turn held the loop (other callbacks, a slice of rendering, a garbage
 *   collection). Unlike a timer it never lets the loop sleep, so a VM's timer jitter (gaps of
 *   2–3 ms on an idle process here) does not count as a stall. It runs only between `reset`
 *   and `report`, and counts only the gaps that end while a scrape is served, from its
 *   request's arrival to its response's end: what a scrape holds the loop for. Before the
 *   request and after the answer was handed to the kernel, the bench's own client is at work
 *   (sending the request, reading 365 KB), on the same two cores; a scraper on another host
 *   would not be, and on this VM the host pauses a vCPU for 3–6 ms now and then when both are
 *   busy (a bare busy loop on each of the two cores sees such gaps, which the guest's scheduler
 *   does not: `perf sched`). Counted from `reset` to `report` instead, the floor's longest of
 *   20 was 4–10 ms; counted over the scrape, 0.1–1.3 ms.
 *
 * Prints one JSON line `{"metrics", "app"}` (URLs) once both listen, then takes commands
 * on stdin, one per line: `reset` (empties the probe, which then counts scrapes' gaps),
 * `reset idle` (the same, but counts every gap: the machine's own stalls, with no scrape),
 * `report` (prints `{"maxMs"}`, the longest stall counted since the last reset). Ends when
 * stdin ends.
 *
 *     node --expose-gc -r ts-node/register/transpile-only bench/stall-server.ts <apps> <ours|plain|bytes>
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { serveMetrics } from '../lib';
import { bytesServer, listen, plainServer } from './reference-servers';
import { scrapeFixture } from './scrape-fixture';

async function main(): Promise<void> {
  const apps = Number(process.argv[2] ?? '1000');
  const which = process.argv[3] === 'plain' || process.argv[3] === 'bytes' ? process.argv[3] : 'ours';
  const text = await scrapeFixture(apps, 'prometheus');
  const om = await scrapeFixture(apps, 'openmetrics');
  // Ours serves both formats from one registry (it negotiates); plain needs one of each.
  const ours = which === 'ours' ? await serveMetrics({ registry: text.ours, port: 0 }) : undefined;
  const plain =
    which === 'plain'
      ? plainServer(text.plain, om.plain)
      : which === 'bytes'
        ? await bytesServer(text.plain, om.plain)
        : undefined;
  // The garbage of building the registries, collected now rather than by the first major
  // collection during the measured scrapes (run with --expose-gc; nothing happens without it).
  (globalThis as { gc?: () => void }).gc?.();
  const app = createServer((_req, res) => res.end('ok'));
  const urls = {
    metrics: ours?.url ?? (await listen(plain as Server, '/metrics')),
    app: await listen(app, '/'),
  };

  let last = performance.now();
  let longest = 0;
  let probing = false;
  // A scrape holds the loop from its request's arrival to its response's end: only the gaps
  // in that span are its own (`reset idle` counts every gap, for the machine's own stalls).
  let serving = 0;
  let everything = false;
  const note = (): void => {
    const now = performance.now();
    if (everything || serving > 0) longest = Math.max(longest, now - last);
    last = now;
  };
  const scraped = ours?.server ?? plain;
  if (scraped === undefined) throw new Error('bench/stall-server.ts: no metrics server to probe');
  scraped.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    // The gap before the request arrived is not the scrape's.
    if (serving === 0) last = performance.now();
    serving += 1;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      note();
      serving -= 1;
    };
    res.once('finish', end);
    res.once('close', end);
  });
  const probe = (): void => {
    if (!probing) return;
    note();
    setImmediate(probe);
  };
  process.stdout.write(`${JSON.stringify(urls)}\n`);

  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line === 'reset' || line === 'reset idle') {
      everything = line === 'reset idle';
      longest = 0;
      last = performance.now();
      if (!probing) {
        probing = true;
        setImmediate(probe);
      }
      process.stdout.write('{}\n');
    } else if (line === 'report') {
      note(); // a stall that just ended, before the probe's next turn
      probing = false;
      process.stdout.write(`${JSON.stringify({ maxMs: longest })}\n`);
    }
  });
  await new Promise<void>((resolve) => commands.once('close', resolve));
  probing = false;
  plain?.closeAllConnections();
  app.closeAllConnections();
  await Promise.all([
    ours?.close(),
    plain === undefined ? undefined : new Promise<void>((resolve) => plain.close(() => resolve())),
    new Promise<void>((resolve) => app.close(() => resolve())),
  ]);
  text.stop();
  om.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
