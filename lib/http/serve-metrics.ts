/**
 * `serveMetrics`: a dedicated metrics listener, like the Go server's management listener.
 *
 * Metrics reveal what runs on a host (app names, load, failures), so the listener binds to
 * 127.0.0.1 unless told otherwise, apart from the port user traffic reaches. It serves the
 * metrics path (through {@link metricsHandler}), `/healthz`, and either a 404 or the caller's
 * `fallback` elsewhere. `close()` resolves once every socket is closed.
 *
 * Its sockets are bounded in time and number (see listener-connections.ts): a connection has
 * `requestTimeoutMs` to send a complete request (Node's own default lets one that sends nothing
 * stay 60 to 90 s), an idle kept-alive one is closed after
 * `keepAliveTimeoutMs` (longer than Prometheus's default one-minute scrape interval, so its
 * connection is reused from scrape to scrape), and at most `maxConnections` are held, a new one
 * closing the oldest that is not serving a request. A flood of silent connections therefore
 * never keeps a scrape from being answered.
 *
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as defaultRegistry, type Registry, type RegistryContentType } from 'prom-client';
import type { Closable } from '../lifecycle';
import { OptionChecks } from '../options';
import { HANDLER_OPTION_NAMES, checkHandlerOptions, type MetricsHandlerOptions } from './handler-options';
import { ListenerConnections } from './listener-connections';
import { metricsHandler } from './metrics-handler';
import { toMetricsSource, type MetricsSource } from './metrics-source';
import { plainText, shortMessage, writeResponse } from './plain-response';

/** Options of {@link serveMetrics}: the listener's, plus every option of `metricsHandler`. */
export interface ServeMetricsOptions extends MetricsHandlerOptions {
  /**
   * What to serve (default: prom-client's global registry): a `Registry`, the `Metrics` that
   * `newMetrics()` returns (its registry is served), or a {@link MetricsSource}. See
   * `metricsHandler`.
   */
  readonly registry?:
    | Registry<RegistryContentType>
    | MetricsSource
    | {
        /** The registry to serve, as in the `Metrics` of `newMetrics()`. */
        readonly registry: Registry;
      };
  /**
   * The address to bind (default `127.0.0.1`). Bind a wider one only behind a firewall or
   * with a `token`: metrics describe your workload.
   */
  readonly host?: string;
  /** The port (default {@link DEFAULT_METRICS_PORT}); `0` picks a free one (see `url`). */
  readonly port?: number;
  /** The metrics path (default `/metrics`). Any query string is ignored. */
  readonly path?: string;
  /**
   * Answers every request for another path than the metrics path and `/healthz`, instead of
   * the 404, so an app can serve a page on the same listener. What it throws (or the promise
   * it returns rejects with) becomes a 500; the listener goes on.
   */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => unknown;
  /**
   * How long `close()` lets requests in progress finish before it closes their sockets
   * (default 5000 ms). Sockets upgraded away from HTTP (WebSockets of a `fallback`) count too.
   */
  readonly closeTimeoutMs?: number;
  /**
   * How long a client has to send a complete request (default 10000 ms): from when it
   * connects, and on a kept-alive connection from the first byte of each later request. Then
   * it gets a 408 and the connection is closed (Node's `headersTimeout` and `requestTimeout`,
   * checked at least every second). A scraper sends its request as it connects; this bounds
   * what a silent or slow client holds.
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long an idle kept-alive connection stays open after its last response (default
   * 75000 ms, Node's `keepAliveTimeout`): longer than Prometheus's default one-minute scrape
   * interval, so a scraper reuses its connection from one scrape to the next.
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * The most connections held open at once (default 100). One more closes, to make room, the
   * oldest connection that has not sent a complete request, else the kept-alive connection
   * idle the longest; only when every connection is serving a request (or was handed over to
   * an `upgrade` listener, such as a WebSocket of the `fallback`) is the new one closed
   * instead. So a scrape during a flood of connections is still answered, and the process's
   * file descriptors are never used up by this listener. `onError` is told the first time.
   */
  readonly maxConnections?: number;
}

/** A running metrics listener. */
export interface MetricsServer extends Closable {
  /** The URL of the metrics path, with the port actually bound: `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The Node server, for `upgrade` listeners and the like. Close it with {@link close}. */
  readonly server: Server;
  /**
   * Stops listening, lets requests in progress finish (for up to `closeTimeoutMs`), and
   * resolves once every socket is closed. Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Default metrics port: 9464, the port OpenTelemetry's Prometheus exporter uses, free of the
 * 9090s Prometheus itself takes.
 */
export const DEFAULT_METRICS_PORT = 9464;
/** The health path: 200 `ok` while the listener is up. Never behind the token. */
const HEALTH_PATH = '/healthz';

/** Default of {@link ServeMetricsOptions.requestTimeoutMs}. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Default of {@link ServeMetricsOptions.keepAliveTimeoutMs}: above Prometheus's default scrape
 * interval (1 min), with a margin for the scrape's own duration and jitter.
 */
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 75_000;
/**
 * Default of {@link ServeMetricsOptions.maxConnections}: far more than the scrapers of one
 * target (one kept-alive connection each) and a status page need, far fewer than the 1,024
 * descriptors a process often may hold.
 */
const DEFAULT_MAX_CONNECTIONS = 100;

const LISTENER_OPTION_NAMES = [
  'registry',
  'host',
  'port',
  'path',
  'fallback',
  'closeTimeoutMs',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
  'maxConnections',
];
const OPTION_NAMES: readonly string[] = Object.freeze([...LISTENER_OPTION_NAMES, ...HANDLER_OPTION_NAMES]);

/**
 * Starts a metrics listener and resolves once it is listening. Throws a `TypeError` naming
 * the option at once when an option is wrong; rejects when the address cannot be bound, with
 * the system's `code` on the error (`EADDRINUSE` for a port in use) and Node's error as its
 * `cause`. Once listening, nothing it does throws into the host.
 */
export function serveMetrics(options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const check = new OptionChecks('serveMetrics');
  check.object(options, OPTION_NAMES);
  const handlerOptions: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!LISTENER_OPTION_NAMES.includes(key)) handlerOptions[key] = (options as Record<string, unknown>)[key];
  }
  checkHandlerOptions(handlerOptions, check, HANDLER_OPTION_NAMES);
  const source = toMetricsSource(options.registry ?? defaultRegistry, check);
  const host = check.nonEmptyString('host', options.host) ?? '127.0.0.1';
  const port = check.integer('port', options.port, 0, 65535) ?? DEFAULT_METRICS_PORT;
  const { path = '/metrics' } = options;
  if (typeof path !== 'string' || !/^\/[^?#\s]*$/.test(path)) {
    check.reject('path', 'an absolute path ("/…") without query, fragment or spaces', path);
  }
  if (path === HEALTH_PATH) check.fail(`path must not be ${HEALTH_PATH}, which serves the health check`);
  const fallback = check.func('fallback', options.fallback, 'a function (req, res) => void');
  const closeTimeoutMs = check.milliseconds('closeTimeoutMs', options.closeTimeoutMs, { zero: true }) ?? 5000;
  const requestTimeoutMs =
    check.milliseconds('requestTimeoutMs', options.requestTimeoutMs) ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const keepAliveTimeoutMs =
    check.milliseconds('keepAliveTimeoutMs', options.keepAliveTimeoutMs) ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const maxConnections = check.positiveInteger('maxConnections', options.maxConnections) ?? DEFAULT_MAX_CONNECTIONS;
  const handler = metricsHandler(source, handlerOptions);
  const onError = options.onError;

  const server = createServer(
    {
      // Node counts these from when a connection opens (so one that sends nothing is closed
      // too) and for a kept-alive one from the first byte of each later request, and checks
      // them every connectionsCheckingInterval: 30 s by default, here a quarter of the timeout,
      // at most a second, so a deadline is kept to within that.
      headersTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(1, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
      keepAliveTimeout: keepAliveTimeoutMs,
    },
    (req, res) => {
      try {
        connections.tracked.requestStarted(req, res);
        if (connections.closing) res.setHeader('Connection', 'close');
        const url = req.url ?? '/';
        const query = url.indexOf('?');
        const pathname = query < 0 ? url : url.slice(0, query);
        if (pathname === path) {
          handler(req, res);
        } else if (pathname === HEALTH_PATH) {
          health(req, res);
        } else if (fallback !== undefined) {
          runFallback(fallback, req, res, onError);
        } else {
          plain(res, 404, 'Not Found\n', req.method === 'HEAD');
        }
      } catch (err) {
        // Not `req.method === 'HEAD'`: `req` may be what threw. Node sends no body to HEAD anyway.
        plain(res, 500, 'Internal Server Error\n', false);
        tell(onError, new Error(`serveMetrics: a request failed: ${shortMessage(err)}`, { cause: err }));
      }
    },
  );
  const connections: Connections = {
    tracked: new ListenerConnections(server, maxConnections, () =>
      tell(
        onError,
        new Error(
          `serveMetrics: ${maxConnections} connections are open (maxConnections); from now on each new one ` +
            'closes the oldest that is not serving a request',
        ),
      ),
    ),
    closing: false,
  };

  return new Promise<MetricsServer>((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      // The system's code (EADDRINUSE, EACCES, EADDRNOTAVAIL) on the error itself, where
      // callers look for it, as on the error Node's own listen() reports.
      const error: NodeJS.ErrnoException = new Error(`serveMetrics: cannot listen on ${host}:${port}: ${err.message}`, {
        cause: err,
      });
      if (err.code !== undefined) error.code = err.code;
      if (err.syscall !== undefined) error.syscall = err.syscall;
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onListenError);
      // After start-up an 'error' event (EMFILE on accept, …) must not end the host.
      server.on('error', (err: Error) =>
        tell(onError, new Error(`serveMetrics: ${shortMessage(err)}`, { cause: err })),
      );
      const bound = (server.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shownHost}:${bound}${path}`,
        server,
        close: closer(server, connections, closeTimeoutMs),
      });
    };
    server.once('error', onListenError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** The connections of one listener, and whether it is closing. */
interface Connections {
  /**
   * Every socket, including those upgraded away from HTTP, so close() can wait for them all,
   * and the responses in progress on each.
   */
  readonly tracked: ListenerConnections;
  closing: boolean;
}

/** `close()` of a {@link MetricsServer}: see there. */
function closer(server: Server, connections: Connections, graceMs: number): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      connections.closing = true;
      const sockets = connections.tracked.sockets;
      let listening = true;
      const check = (): void => {
        if (listening || sockets.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      // The last response in progress on each connection closes it once sent, instead of
      // keeping it alive (those pipelined before it are sent first, as usual).
      for (const res of connections.tracked.lastResponses()) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        else res.once('finish', () => server.closeIdleConnections());
      }
      for (const socket of sockets) socket.once('close', check);
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      server.close(() => {
        listening = false;
        check();
      });
      server.closeIdleConnections();
      connections.tracked.closeIdle();
    });
    return closing;
  };
}

function health(req: IncomingMessage, res: ServerResponse): void {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    plain(res, 405, 'Method Not Allowed: use GET or HEAD\n', head, { Allow: 'GET, HEAD' });
    return;
  }
  plain(res, 200, 'ok\n', head, { 'Cache-Control': 'no-store' });
}

function runFallback(
  fallback: (req: IncomingMessage, res: ServerResponse) => unknown,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ((error: Error) => void) | undefined,
): void {
  const failed = (err: unknown): void => {
    tell(onError, new Error(`serveMetrics: fallback failed: ${shortMessage(err)}`, { cause: err }));
    try {
      if (res.headersSent) res.destroy();
      else plain(res, 500, 'Internal Server Error\n', req.method === 'HEAD');
    } catch {
      // A response that cannot be answered nor destroyed: nothing more to do for it.
    }
  };
  try {
    const result: unknown = fallback(req, res);
    // Any thenable, not only this realm's Promise (an async function from a vm context, a
    // promise library): a rejection nobody handles would end the host.
    if (typeof (result as { then?: unknown } | null | undefined)?.then === 'function') {
      Promise.resolve(result).catch(failed);
    }
  } catch (err) {
    failed(err);
  }
}

/** Answers `text` as plain text; a response whose socket fails as it is written is destroyed. */
function plain(
  res: ServerResponse,
  status: number,
  text: string,
  head: boolean,
  extra: Record<string, string> = {},
): void {
  try {
    const { headers, body } = plainText(text, extra);
    writeResponse(res, status, headers, body, head);
  } catch {
    try {
      res.destroy();
    } catch {
      // A response that can be neither written nor destroyed: nothing more to do for it.
    }
  }
}

function tell(onError: ((error: Error) => void) | undefined, error: Error): void {
  try {
    onError?.(error);
  } catch {
    // The caller's logger threw; nothing else to do.
  }
}
