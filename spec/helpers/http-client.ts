/**
 * A real HTTP client for tests: node:http, one fresh connection per request (no keep-alive
 * agent, so nothing lingers after a test), the raw body as bytes (gzip is not undone).
 */
import { request, type Agent } from 'node:http';

/** What came back. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as received: still gzipped when the server gzipped it. */
  readonly body: Buffer;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** Whether the request went over a connection kept alive from an earlier one (with `agent`). */
  readonly reusedSocket: boolean;
}

/**
 * Sends one request to `url` and resolves with the whole answer. `agent` reuses connections
 * (a keep-alive Agent, as Prometheus keeps its connections); by default each request has its own.
 */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const agent = options.agent ?? false;
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          reusedSocket: req.reusedSocket,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
