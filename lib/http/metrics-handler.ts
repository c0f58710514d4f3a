/**
 * `metricsHandler`: a registry served over HTTP, as completely as Go's promhttp handler.
 *
 * A plain Node `(req, res)` handler, so it mounts anywhere: `http.createServer`, Express or
 * Connect (`app.get('/metrics', handler)`), Fastify (`reply.hijack()` then `handler(req.raw,
 * reply.raw)`). Per scrape it negotiates the format (OpenMetrics or Prometheus text 0.0.4, see
 * content-negotiation.ts), answers only the families `name[]` asks for (name-filter.ts), gzips
 * when asked, and guards the host: an optional bearer token compared in constant time, a bound
 * on scrapes in flight, a timeout (shortened by the scraper's own, scrape-timeout.ts), and a
 * 500 (never a crash) when a collector throws, or that collector left out (`errorHandling`).
 * Concurrent scrapes of one format share one serialization, filtered or not.
 *
 * @packageDocumentation
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { register as defaultRegistry, type Registry, type RegistryContentType } from 'prom-client';
import { OptionChecks } from '../options';
import { CONTENT_TYPES, acceptsGzip, negotiateFormat, type ExpositionFormat } from './content-negotiation';
import { defaultMetricsOn } from './default-metrics';
import {
  HANDLER_OPTION_NAMES,
  checkHandlerOptions,
  type CheckedHandlerOptions,
  type MetricsHandlerOptions,
} from './handler-options';
import { toMetricsSource, type MetricsSource } from './metrics-source';
import { filterExposition, requestedNames } from './name-filter';
import { plainText, shortMessage, writeResponse } from './plain-response';
import type { CollectorFailure } from './render-registry';
import { SCRAPE_TIMEOUT_HEADER, scrapeDeadline } from './scrape-timeout';
import { selfMetricsOn, type SelfMetrics } from './self-metrics';
import { SharedExposition, type InFlightExposition } from './shared-exposition';

/** A Node request handler; also an Express / Connect middleware (it always answers). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves `registry` (default: prom-client's global registry, where `newMetrics()` registers
 * by default) to scrapers. `registry` may also be the `Metrics` that `newMetrics()` returns
 * (its registry is served), or a {@link MetricsSource}, such as cluster mode's
 * `ClusterAggregator`. Serving the default registry while every `WorkerStateTracker` records
 * into another one emits a process warning once, at the first scrape: that scrape holds none
 * of their metrics.
 *
 * Answers GET and HEAD with the exposition (200), or with the families its `name[]` query
 * parameters name (`?name[]=blockyard_workers&name[]=blockyard_proxy_requests_total`, as
 * registered: counters with their `_total`), other methods with 405 and `Allow`. Throws a
 * `TypeError` naming the option at construction; the returned handler never throws.
 */
export function metricsHandler(
  registry:
    | Registry<RegistryContentType>
    | MetricsSource
    | {
        /** The registry to serve, as in the `Metrics` of `newMetrics()`. */
        readonly registry: Registry;
      } = defaultRegistry,
  options: MetricsHandlerOptions = {},
): MetricsHandler {
  const check = new OptionChecks('metricsHandler');
  const source = toMetricsSource(registry, check);
  const checked = checkHandlerOptions(options, check, HANDLER_OPTION_NAMES);
  if (checked.defaultMetrics) defaultMetricsOn(source.registry, check);
  const endpoint = new MetricsEndpoint(source, checked);
  return (req, res) => endpoint.serve(req, res);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
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
    const continuing = options.errorHandling === 'continue';
    this.shared = new SharedExposition(source, {
      errorHandling: options.errorHandling,
      onFailures: (failures) => this.leftOut(failures),
    });
    this.self = options.selfMetrics ? selfMetricsOn(source.registry, { collectorErrors: continuing }) : undefined;
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
    const names = requestedNames(req.url);
    const deadline = scrapeDeadline(req.headers[SCRAPE_TIMEOUT_HEADER], this.options.timeoutMs);
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
      // The rendering's bytes stay this scrape's until its response is over (sent, or the
      // client gone): only then may their buffer be written again.
      res.once('close', this.shared.hold(entry));
      res.once('close', onClose);
      if (Number.isFinite(deadline.ms)) {
        timer = setTimeout(() => {
          if (!finish()) return;
          this.shared.abandon(format, entry);
          const announced =
            deadline.announced === undefined ? '' : ` (X-Prometheus-Scrape-Timeout-Seconds: ${deadline.announced})`;
          const message = `scrape timed out after ${deadline.ms} ms${announced}`;
          this.report(new Error(`metricsHandler: ${message}`));
          this.reply(res, 503, `Service Unavailable: ${message}\n`, head);
        }, deadline.ms);
      }
      let body: Promise<Buffer>;
      if (names !== undefined) body = filteredBody(entry, format, names, gzip);
      else body = gzip ? this.shared.gzipped(entry) : entry.text;
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

  /** Reports each collector a rendering left out, and counts them (`errorHandling: 'continue'`). */
  private leftOut(failures: readonly CollectorFailure[]): void {
    for (const { name, error } of failures) {
      this.report(
        new Error(`metricsHandler: collecting ${name} failed, left out of the scrape: ${shortMessage(error)}`, {
          cause: error,
        }),
      );
    }
    try {
      this.self?.collectorErrors?.inc(failures.length);
    } catch {
      // As below: bookkeeping never fails a scrape.
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

/**
 * The body of a scrape that asked for some families by `name[]`: cut out of the shared
 * rendering, gzipped for this scrape alone. Rejects (a 500) when it would hold no family
 * because a collector it asked for failed: never an empty 200 because of an error.
 */
async function filteredBody(
  entry: InFlightExposition,
  format: ExpositionFormat,
  names: ReadonlySet<string>,
  gzip: boolean,
): Promise<Buffer> {
  const rendering = await entry.rendering;
  const filtered = filterExposition(rendering, format, names);
  const failed = rendering.failures.filter((f) => names.has(f.name));
  if (filtered.families === 0 && failed.length > 0) {
    const each = failed.map((f) => `${f.name}: ${shortMessage(f.error)}`).join('; ');
    throw new Error(`every collector asked for failed (${failed.length}): ${each}`, { cause: failed[0]?.error });
  }
  const text = Buffer.from(filtered.text, 'utf8');
  return gzip ? gzipSync(text) : text;
}
