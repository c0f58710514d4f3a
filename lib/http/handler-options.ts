/**
 * The options of `metricsHandler` (which `serveMetrics` passes through), their defaults, and
 * their one check at construction.
 *
 * @packageDocumentation
 */
import type { OptionChecks } from '../options';
import type { ErrorHandling } from './render-registry';

/** Options of {@link metricsHandler} (and of `serveMetrics`, which passes them through). */
export interface MetricsHandlerOptions {
  /**
   * Require `Authorization: Bearer <token>`. Without it (or with another token) the answer is
   * a 401 that reveals nothing about the metrics. Compared in constant time. Visible ASCII, no
   * spaces, at most 4096 characters.
   */
  readonly token?: string;
  /**
   * The most scrapes served at once (default 32); the next one
   * gets a 503 at once. `Infinity` for no bound. Concurrent scrapes of one format share one
   * serialization, so this bounds connections and buffers more than work.
   */
  readonly maxInFlight?: number;
  /**
   * After this many milliseconds (default 10000, Prometheus's own
   * default scrape timeout) a scrape answers 503 and its late result is dropped. `Infinity`
   * for none. A scrape that announces a shorter timeout in `X-Prometheus-Scrape-Timeout-Seconds`
   * (Prometheus does) gives up at that, less a margin of 10 % (at most 500 ms).
   */
  readonly timeoutMs?: number;
  /** Gzip the exposition when the scraper accepts it (default true). */
  readonly compress?: boolean;
  /**
   * Register `blockyard_telemetry_scrapes_total{code}` and
   * `blockyard_telemetry_scrapes_in_flight` on the served registry, like promhttp's
   * `promhttp_metric_handler_requests_total` and `…_in_flight` (default false, so a fresh
   * registry holds exactly the contract's metrics). With `errorHandling: 'continue'`, also
   * `blockyard_telemetry_collector_errors_total`, like promhttp's `…_errors_total`.
   */
  readonly selfMetrics?: boolean;
  /**
   * What a collector whose `collect()` (or `get()`) throws or rejects does to a scrape.
   * `'fail'` (default): the scrape answers 500 and nothing partial, like promhttp's
   * `HTTPErrorOnError`. `'continue'`: that collector is left out and every other family is
   * served with 200, like promhttp's `ContinueOnError`; each failure goes to `onError` and, with
   * `selfMetrics`, counts in `blockyard_telemetry_collector_errors_total`. A scrape left with no
   * family because of failures still answers 500: never an empty 200 because of an error.
   */
  readonly errorHandling?: 'fail' | 'continue';
  /**
   * Register prom-client's default metrics (`collectDefaultMetrics`: `process_*` CPU, memory,
   * file descriptors and start time, `nodejs_*` event loop lag, heap, GC and version) on the
   * served registry, once per registry however many handlers serve it, as the Go server
   * serves `go_*` and `process_*` (default false). Skipped when the registry already holds
   * them; a registry that holds one of their names otherwise is refused with a `TypeError`.
   */
  readonly defaultMetrics?: boolean;
  /**
   * Told about every failed scrape (a collector threw, the scrape timed out, the handler hit
   * an unexpected error), and with `errorHandling: 'continue'` about every collector left out,
   * for logging. What it throws is ignored.
   */
  readonly onError?: (error: Error) => void;
}

/** Default of {@link MetricsHandlerOptions.maxInFlight}. */
const DEFAULT_MAX_IN_FLIGHT = 32;
/** Default of {@link MetricsHandlerOptions.timeoutMs}: Prometheus's default scrape timeout. */
const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/** The values of {@link MetricsHandlerOptions.errorHandling}. */
const ERROR_HANDLINGS: readonly ErrorHandling[] = ['fail', 'continue'];

/** The option names {@link checkHandlerOptions} knows (serveMetrics passes these through). @internal */
export const HANDLER_OPTION_NAMES: readonly string[] = Object.freeze([
  'token',
  'maxInFlight',
  'timeoutMs',
  'compress',
  'selfMetrics',
  'errorHandling',
  'defaultMetrics',
  'onError',
]);

/** Options after validation, defaults applied. @internal */
export interface CheckedHandlerOptions {
  readonly token: string | undefined;
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  readonly compress: boolean;
  readonly selfMetrics: boolean;
  readonly errorHandling: ErrorHandling;
  readonly defaultMetrics: boolean;
  readonly onError: ((error: Error) => void) | undefined;
}

/**
 * Validates the handler options once, naming the bad option and quoting its value (never the
 * value of a token: it is a secret). `known` lists every option the caller accepts.
 * @internal
 */
export function checkHandlerOptions(
  options: MetricsHandlerOptions,
  check: OptionChecks,
  known: readonly string[],
): CheckedHandlerOptions {
  check.object(options, known);
  const { token } = options;
  if (token !== undefined) {
    if (typeof token !== 'string') check.reject('token', 'a string', token);
    if (token.length === 0 || token.length > 4096 || !/^[\x21-\x7e]+$/.test(token)) {
      check.fail(
        'token must be 1 to 4096 visible ASCII characters without spaces (it travels as ' +
          `"Authorization: Bearer <token>"), got a string of ${token.length} characters`,
      );
    }
  }
  return {
    token,
    maxInFlight: check.positiveInteger('maxInFlight', options.maxInFlight, true) ?? DEFAULT_MAX_IN_FLIGHT,
    timeoutMs: check.milliseconds('timeoutMs', options.timeoutMs, { infinity: true }) ?? DEFAULT_SCRAPE_TIMEOUT_MS,
    compress: check.boolean('compress', options.compress) ?? true,
    selfMetrics: check.boolean('selfMetrics', options.selfMetrics) ?? false,
    errorHandling: check.oneOf('errorHandling', options.errorHandling, ERROR_HANDLINGS) ?? 'fail',
    defaultMetrics: check.boolean('defaultMetrics', options.defaultMetrics) ?? false,
    onError: check.func('onError', options.onError),
  };
}
