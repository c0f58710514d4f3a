/**
 * The servers the scrape benchmarks hold ours against, shared by the processes that run them
 * (bench/stall-server.ts, bench/scrape-servers.ts):
 *
 * - plain: a node:http server answering `await registry.metrics()` (gzipped with zlib's
 *   asynchronous gzip when asked), as a host without this library would serve it;
 * - bytes: the floor of every scrape, a node:http server sending the same answers rendered and
 *   gzipped once at start-up, so that a scrape costs only the sending.
 *
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Registry } from 'prom-client';
import { acceptsGzip, negotiateFormat } from '../lib';

const gzip = promisify(gzipCallback);

/** Listens on 127.0.0.1, on a port of the system's choosing; resolves with the URL of `path`. */
export function listen(server: Server, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`));
  });
}

/**
 * The plain server: one prom-client registry per format (prom-client renders one format
 * each); a scrape asking for OpenMetrics gets text when `openMetrics` is not given.
 */
export function plainServer(text: Registry, openMetrics: Registry = text): Server {
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

/**
 * The floor: the answers of `text` and `openMetrics` (text's when not given), rendered and
 * gzipped before the first scrape.
 */
export async function bytesServer(text: Registry, openMetrics: Registry = text): Promise<Server> {
  const answer = async (registry: Registry): Promise<{ type: string; plain: Buffer; gzipped: Buffer }> => {
    const plain = Buffer.from(await registry.metrics());
    return { type: registry.contentType, plain, gzipped: await gzip(plain) };
  };
  const answers = { prometheus: await answer(text), openmetrics: await answer(openMetrics) };
  return createServer((req: IncomingMessage, res) => {
    const body = answers[negotiateFormat(req.headers.accept)];
    res.setHeader('Content-Type', body.type);
    if (acceptsGzip(req.headers['accept-encoding'])) {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(body.gzipped);
    } else {
      res.end(body.plain);
    }
  });
}
