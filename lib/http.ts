/**
 * `metricsHandler`: a registry served over HTTP, as completely as Go's promhttp handler.
 *
 * A plain Node `(req, res)` handler, so it mounts anywhere: `http.createServer`, Express or
 * Connect (`app.get('/metrics', handler)`), Fastify (`reply.hijack()` then `handler(req.raw,
 * reply.raw)`). Per scrape it negotiates the format (OpenMetrics or Prometheus text 0.0.4, see
 * exposition.ts), gzips when asked, and guards the host: an optional bearer token compared in
 * constant time, a bound on scrapes in flight, a timeout, and a 500 (never a crash) when a
 * collector throws. Concurrent scrapes of one format share one serialization.
 *
 * @packageDocumentation
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Counter, Gauge, register as defaultRegistry, type Registry, type RegistryContentType } from 'prom-client';
import { describe } from './describe';
import { messageOf } from './errors';
import {
  CONTENT_TYPES,
  SharedExposition,
  acceptsGzip,
  negotiateFormat,
  toMetricsSource,
  type MetricsSource,
} from './exposition';

/** Options of {@link metricsHandler} (and of `serveMetrics`, which passes them through). */
export interface MetricsHandlerOptions {
  /**
   * Require `Authorization: Bearer <token>`. Without it (or with another token) the answer is
   * a 401 that reveals nothing about the metrics. Compared in constant time. Visible ASCII, no
   * spaces, at most 4096 characters.
   */
  readonly token?: string;
  /**
   * The most scrapes served at once (default {@link DEFAULT_MAX_IN_FLIGHT}); the next one
   * gets a 503 at once. `Infinity` for no bound. Concurrent scrapes of one format share one
   * serialization, so this bounds connections and buffers more than work.
   */
  readonly maxInFlight?: number;
  /**
   * After this many milliseconds (default {@link DEFAULT_SCRAPE_TIMEOUT_MS}, Prometheus's own
   * default scrape timeout) a scrape answers 503 and its late result is dropped. `Infinity`
   * for none.
   */
  readonly timeoutMs?: number;
  /** Gzip the exposition when the scraper accepts it (default true). */
  readonly compress?: boolean;
  /**
   * Register `blockyard_telemetry_scrapes_total{code}` and
   * `blockyard_telemetry_scrapes_in_flight` on the served registry, like promhttp's
   * `promhttp_metric_handler_requests_total` and `…_in_flight` (default false, so a fresh
   * registry holds exactly the contract's metrics).
   */
  readonly selfMetrics?: boolean;
  /**
   * Told about every failed scrape (a collector threw, the scrape timed out, the handler hit
   * an unexpected error), for logging. What it throws is ignored.
   */
  readonly onError?: (error: Error) => void;
}

/** A Node request handler; also an Express / Connect middleware (it always answers). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Default of {@link MetricsHandlerOptions.maxInFlight}. */
export const DEFAULT_MAX_IN_FLIGHT = 32;
/** Default of {@link MetricsHandlerOptions.timeoutMs}: Prometheus's default scrape timeout. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;
/** Name of the self-metric counting scrapes by response code. */
export const SCRAPES_METRIC_NAME = 'blockyard_telemetry_scrapes_total';
/** Name of the self-metric gauging scrapes in flight. */
export const SCRAPES_IN_FLIGHT_METRIC_NAME = 'blockyard_telemetry_scrapes_in_flight';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The option names {@link metricsHandler} knows (serveMetrics passes these through). @internal */
export const HANDLER_OPTION_NAMES: readonly string[] = Object.freeze([
  'token',
  'maxInFlight',
  'timeoutMs',
  'compress',
  'selfMetrics',
  'onError',
]);

/**
 * Serves `registry` (default: prom-client's global registry, where `newMetrics()` registers
 * by default) to scrapers. `registry` may also be a {@link MetricsSource}, such as cluster
 * mode's `ClusterAggregator`.
 *
 * Answers GET and HEAD with the exposition (200), other methods with 405 and `Allow`. Throws a
 * `TypeError` naming the option at construction; the returned handler never throws.
 */
export function metricsHandler(
  registry: Registry<RegistryContentType> | MetricsSource = defaultRegistry,
  options: MetricsHandlerOptions = {},
): MetricsHandler {
  const source = toMetricsSource(registry, 'metricsHandler: registry');
  const endpoint = new MetricsEndpoint(source, checkHandlerOptions(options, 'metricsHandler', HANDLER_OPTION_NAMES));
  return (req, res) => endpoint.serve(req, res);
}

/** Options after validation, defaults applied. @internal */
export interface CheckedHandlerOptions {
  readonly token: string | undefined;
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  readonly compress: boolean;
  readonly selfMetrics: boolean;
  readonly onError: ((error: Error) => void) | undefined;
}

/**
 * Validates the handler options once, naming the bad option and quoting its value (never the
 * value of a token: it is a secret). `known` lists every option the caller accepts.
 * @internal
 */
export function checkHandlerOptions(
  options: MetricsHandlerOptions,
  owner: string,
  known: readonly string[],
): CheckedHandlerOptions {
  const fail = (message: string): never => {
    throw new TypeError(`${owner}: ${message}`);
  };
  if (options === null || typeof options !== 'object') fail(`options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) fail(`unknown option ${describe(key)}; known: ${known.join(', ')}`);
  }
  const { token, maxInFlight, timeoutMs, compress, selfMetrics, onError } = options;
  if (token !== undefined) {
    if (typeof token !== 'string') fail(`token must be a string, got ${describe(token)}`);
    else if (token.length === 0 || token.length > 4096 || !/^[\x21-\x7e]+$/.test(token)) {
      fail(
        'token must be 1 to 4096 visible ASCII characters without spaces (it travels as ' +
          `"Authorization: Bearer <token>"), got a string of ${token.length} characters`,
      );
    }
  }
  if (maxInFlight !== undefined && !(maxInFlight === Infinity || (Number.isSafeInteger(maxInFlight) && maxInFlight > 0))) {
    fail(`maxInFlight must be a positive integer or Infinity, got ${describe(maxInFlight)}`);
  }
  if (
    timeoutMs !== undefined &&
    !(timeoutMs === Infinity || (typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS))
  ) {
    fail(`timeoutMs must be a number of milliseconds above 0 (at most ${MAX_TIMER_MS}) or Infinity, got ${describe(timeoutMs)}`);
  }
  for (const [name, value] of [
    ['compress', compress],
    ['selfMetrics', selfMetrics],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') fail(`${name} must be a boolean, got ${describe(value)}`);
  }
  if (onError !== undefined && typeof onError !== 'function') fail(`onError must be a function, got ${describe(onError)}`);
  return {
    token,
    maxInFlight: maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    timeoutMs: timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS,
    compress: compress ?? true,
    selfMetrics: selfMetrics ?? false,
    onError,
  };
}

/** The handler's own collectors. */
interface SelfMetrics {
  readonly scrapes: Counter<'code'>;
  readonly inFlight: Gauge;
}

/**
 * Registers the self-metrics on `registry`, or reuses those another handler registered there
 * (two handlers serving one registry then count together, as one endpoint would).
 */
function selfMetricsOn(registry: Registry): SelfMetrics {
  const scrapesTaken = registry.getSingleMetric(SCRAPES_METRIC_NAME);
  const inFlightTaken = registry.getSingleMetric(SCRAPES_IN_FLIGHT_METRIC_NAME);
  if (scrapesTaken !== undefined && !(scrapesTaken instanceof Counter)) {
    throw new TypeError(`metricsHandler: selfMetrics: the registry already holds a ${SCRAPES_METRIC_NAME} that is not a Counter`);
  }
  if (inFlightTaken !== undefined && !(inFlightTaken instanceof Gauge)) {
    throw new TypeError(
      `metricsHandler: selfMetrics: the registry already holds a ${SCRAPES_IN_FLIGHT_METRIC_NAME} that is not a Gauge`,
    );
  }
  const scrapes =
    (scrapesTaken as Counter<'code'> | undefined) ??
    new Counter({
      name: SCRAPES_METRIC_NAME,
      help: 'Total number of scrapes of the metrics endpoint, by HTTP status code.',
      labelNames: ['code'] as const,
      registers: [registry],
    });
  if (scrapesTaken === undefined) {
    // Like promhttp: the codes a healthy or overloaded endpoint answers exist from the start.
    for (const code of ['200', '500', '503']) scrapes.labels(code).inc(0);
  }
  const inFlight =
    (inFlightTaken as Gauge | undefined) ??
    new Gauge({
      name: SCRAPES_IN_FLIGHT_METRIC_NAME,
      help: 'Number of scrapes of the metrics endpoint being served now.',
      registers: [registry],
    });
  return { scrapes, inFlight };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** One line, at most 200 characters: enough to find the cause, too little to dump state. */
function shortMessage(thrown: unknown): string {
  const line = messageOf(thrown).replace(/[\r\n]+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

const PLAIN_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/plain; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * A plain-text answer's body and headers (`text/plain`, `nosniff`, its length, then `extra`):
 * every answer of the metrics listener but the exposition itself.
 * @internal
 */
export function plainText(text: string, extra: OutgoingHttpHeaders = {}): { headers: OutgoingHttpHeaders; body: Buffer } {
  const body = Buffer.from(text, 'utf8');
  return { headers: { ...PLAIN_HEADERS, 'Content-Length': body.length, ...extra }, body };
}

/**
 * Writes a whole response and returns true, or returns false without touching `res` when the
 * client is gone or something already answered. May throw when the socket fails as it is
 * written: the caller decides how to report that.
 * @internal
 */
export function writeResponse(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  head: boolean,
): boolean {
  if (res.headersSent || res.writableEnded || res.destroyed) return false;
  // setHeader, not writeHead(status, headers): headers set that way stay readable with
  // getHeader() by the host's own middleware (access logs, tracing).
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(status);
  if (head) res.end();
  else res.end(body);
  return true;
}

/** The state behind one handler. */
class MetricsEndpoint {
  private readonly shared: SharedExposition;
  private readonly self: SelfMetrics | undefined;
  private readonly tokenDigest: Buffer | undefined;
  private inFlight = 0;

  constructor(
    source: MetricsSource,
    private readonly options: CheckedHandlerOptions,
  ) {
    this.shared = new SharedExposition(source);
    this.self = options.selfMetrics ? selfMetricsOn(source.registry) : undefined;
    this.tokenDigest = options.token === undefined ? undefined : sha256(options.token);
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    let head = false;
    try {
      head = req.method === 'HEAD';
      if (!this.authorized(req.headers.authorization)) {
        this.reply(res, 401, 'Unauthorized\n', head, { 'WWW-Authenticate': 'Bearer realm="metrics"' });
        return;
      }
      if (req.method !== 'GET' && !head) {
        this.reply(res, 405, 'Method Not Allowed: use GET or HEAD\n', head, { Allow: 'GET, HEAD' });
        return;
      }
      if (this.inFlight >= this.options.maxInFlight) {
        this.reply(res, 503, `Service Unavailable: more than ${this.options.maxInFlight} scrapes in flight\n`, head, {
          'Retry-After': '1',
        });
        return;
      }
      this.scrape(req, res, head);
    } catch (err) {
      this.report(new Error(`metricsHandler: serving a scrape failed: ${shortMessage(err)}`, { cause: err }));
      this.reply(res, 500, 'Internal Server Error\n', head);
    }
  }

  /** Constant time in the token: both sides are hashed to equal lengths first. */
  private authorized(header: string | undefined): boolean {
    if (this.tokenDigest === undefined) return true;
    const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    const same = timingSafeEqual(sha256(match?.[1] ?? ''), this.tokenDigest);
    return same && match !== null;
  }

  private scrape(req: IncomingMessage, res: ServerResponse, head: boolean): void {
    // What the scrape asks for is read before it takes a slot: a request object that throws
    // here (the handler may be called with anything) must not hold a slot for good.
    const format = negotiateFormat(req.headers.accept);
    const gzip = this.options.compress && acceptsGzip(req.headers['accept-encoding']);
    this.inFlight += 1;
    this.selfInFlight(1);
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    // Ends this scrape's claim exactly once: the response, the timeout or the client leaving,
    // whichever comes first. Whatever comes later finds `done` and is dropped.
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      this.inFlight -= 1;
      this.selfInFlight(-1);
      try {
        res.off('close', onClose);
      } catch {
        // A response object that cannot even do this; the slot is back, nothing else matters.
      }
      return true;
    };
    const onClose = (): void => {
      finish();
    };
    try {
      const entry = this.shared.join(format);
      res.once('close', onClose);
      if (Number.isFinite(this.options.timeoutMs)) {
        timer = setTimeout(() => {
          if (!finish()) return;
          this.shared.abandon(format, entry);
          const message = `scrape timed out after ${this.options.timeoutMs} ms`;
          this.report(new Error(`metricsHandler: ${message}`));
          this.reply(res, 503, `Service Unavailable: ${message}\n`, head);
        }, this.options.timeoutMs);
      }
      const body = gzip ? this.shared.gzipped(entry) : entry.text;
      body.then(
        (buffer) => {
          if (!finish()) return;
          const headers: OutgoingHttpHeaders = {
            'Content-Type': CONTENT_TYPES[format],
            'Content-Length': buffer.length,
            Vary: 'Accept, Accept-Encoding',
          };
          if (gzip) headers['Content-Encoding'] = 'gzip';
          this.send(res, 200, headers, buffer, head);
        },
        (err: unknown) => {
          if (!finish()) return;
          this.report(new Error(`metricsHandler: gathering metrics failed: ${shortMessage(err)}`, { cause: err }));
          this.reply(res, 500, `Internal Server Error: gathering metrics failed: ${shortMessage(err)}\n`, head);
        },
      );
    } catch (err) {
      // Nothing was answered (serve() answers 500): the slot is given back first, or a
      // response object that throws in once() would hold it for good.
      finish();
      throw err;
    }
  }

  private reply(
    res: ServerResponse,
    status: number,
    text: string,
    head: boolean,
    extra: OutgoingHttpHeaders = {},
  ): void {
    const { headers, body } = plainText(text, extra);
    this.send(res, status, headers, body, head);
  }

  /** Writes a whole response unless the client is gone or something already answered. */
  private send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer, head: boolean): void {
    try {
      if (!writeResponse(res, status, headers, body, head)) return;
    } catch (err) {
      this.report(new Error(`metricsHandler: writing the response failed: ${shortMessage(err)}`, { cause: err }));
      try {
        res.destroy();
      } catch {
        // Nothing more can be done for this connection.
      }
      return;
    }
    if (this.self !== undefined) {
      try {
        this.self.scrapes.labels(String(status)).inc();
      } catch {
        // Counting is best effort: a scrape never fails because of its own bookkeeping.
      }
    }
  }

  private selfInFlight(delta: number): void {
    try {
      if (delta > 0) this.self?.inFlight.inc(delta);
      else this.self?.inFlight.dec(-delta);
    } catch {
      // As above: bookkeeping never fails a scrape.
    }
  }

  private report(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // The caller's logger threw; the scrape's answer stands.
    }
  }
}
