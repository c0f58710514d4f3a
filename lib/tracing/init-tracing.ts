/**
 * `initTracing`: the OpenTelemetry set-up of the Go server's `InitTracing`, for Node.
 *
 * It installs three process-wide OpenTelemetry globals and hands back the one function that
 * undoes them:
 *
 * - the W3C trace-context + baggage propagator, always, so an inbound `traceparent` can be
 *   forwarded to workers even when nothing is exported;
 * - an `AsyncLocalStorageContextManager`, always, so the active span follows `await`,
 *   timers and callbacks;
 * - with a non-empty endpoint, a tracer provider whose batch span processor exports OTLP to
 *   it (see `otlp-endpoint.ts` for which protocol each endpoint means), with resource
 *   `service.name` = "blockyard" unless the options name another.
 *
 * The SDK (context manager, propagators, resources, the tracer provider) and the exporters are
 * loaded when `initTracing` is first called, never when the package is: a host that only
 * serves metrics loads none of them, and need not install them (they are optional peer
 * dependencies; see `optional-peers.ts` for the error when one is missing).
 *
 * Exporting never throws into the host: a collector that is down or hangs costs at most
 * `exportTimeoutMillis` per export, failures go to OpenTelemetry's `diag` logger, and
 * `shutdown()` resolves in bounded time whatever the collector does.
 *
 * @packageDocumentation
 */
import {
  context,
  diag,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
  type TraceState,
} from '@opentelemetry/api';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { messageOf } from '../describe-value';
import { stopFunction, type StopFunction } from '../lifecycle';
import { MAX_TIMER_MS, OptionChecks } from '../options';
import { loadTracingPeers, type TracingPeer } from './optional-peers';
import { parseOtlpEndpoint, type OtlpEndpoint } from './otlp-endpoint';

/** The `service.name` of exported spans unless {@link TracingOptions.serviceName} says otherwise. */
const DEFAULT_SERVICE_NAME = 'blockyard';

/**
 * How long one export may take by default (5 s), retries included. Half the Go exporter's
 * 10 s, so that `shutdown()` fits comfortably in a container's usual 30 s stop grace period.
 */
const DEFAULT_EXPORT_TIMEOUT_MS = 5_000;

/**
 * How much longer than `exportTimeoutMillis` `shutdown()` may take before it gives up waiting
 * (1 s): room for the exporter to close its connection after its last export timed out.
 */
const SHUTDOWN_GRACE_MS = 1_000;

/** Options of {@link initTracing}. */
export interface TracingOptions {
  /** `service.name` of the exported spans. Default `"blockyard"`. */
  readonly serviceName?: string;
  /**
   * The longest one export may take, retries included, in milliseconds (1 … 2^31-1). Default
   * 5000: half the Go exporter's 10 s, so that `shutdown()` fits comfortably in a container's
   * usual 30 s stop grace period. `shutdown()` resolves at most this plus 1 s after it is
   * called, spans flushed or not.
   */
  readonly exportTimeoutMillis?: number;
  /**
   * Which traces to record. Default: the OpenTelemetry SDK's (`OTEL_TRACES_SAMPLER` when set,
   * otherwise parent-based always-on, as in the Go server).
   */
  readonly sampler?: TracingSampler;
}

/**
 * What {@link TracingOptions.sampler} takes: an OpenTelemetry SDK `Sampler`, such as
 * `ParentBasedSampler` or `TraceIdRatioBasedSampler` of `@opentelemetry/sdk-trace-base`.
 * Described here by its shape, in the types of `@opentelemetry/api`, so that this package's
 * types compile in a host that does not install the SDK (an optional peer dependency, which a
 * host that only serves metrics leaves out).
 */
export interface TracingSampler {
  /** Decides whether a span is recorded and sampled: the SDK's `Sampler.shouldSample`. */
  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): {
    /** The SDK's `SamplingDecision`: 0 not recorded, 1 recorded, 2 recorded and sampled. */
    readonly decision: number;
    /** Attributes the sampler adds to the span. */
    readonly attributes?: Readonly<Attributes>;
    /** The trace state the span carries, when the sampler changes it. */
    readonly traceState?: TraceState;
  };
  /** The sampler's name and configuration, for diagnostics. */
  toString(): string;
}

/**
 * Flushes every pending span, shuts the exporter down and puts back the OpenTelemetry API's
 * no-op globals that {@link initTracing} installed: call it, or its `close()`, which is the
 * same. Idempotent: later calls return the first call's promise. Never rejects.
 */
export type TracingShutdown = StopFunction;

const OPTION_NAMES: readonly (keyof TracingOptions)[] = ['serviceName', 'exportTimeoutMillis', 'sampler'];

interface Settings {
  readonly serviceName: string;
  readonly exportTimeoutMillis: number;
  readonly sampler: TracingSampler | undefined;
}

/** The set-up whose globals are installed now, if any. */
let current: { readonly shutdown: TracingShutdown } | undefined;
/** Serializes set-ups and replacements, so concurrent calls cannot interleave their globals. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Sets up OpenTelemetry tracing for the process and resolves to its {@link TracingShutdown}.
 *
 * With `endpoint` = "" nothing is exported: only the propagator and the context manager are
 * installed (inbound trace context still flows to workers), and `shutdown()` resolves at
 * once. Otherwise spans are batched and exported over OTLP as the endpoint rules say
 * (`host:port` is gRPC, a URL with a path is HTTP; see {@link parseOtlpEndpoint}).
 *
 * The globals are the process's: initTracing replaces whatever propagator, context manager
 * and (with an endpoint) tracer provider were registered. Calling it again before the
 * previous `shutdown()` replaces the previous set-up: that one is shut down first (its
 * pending spans flushed), then the new one installed, and the previous `shutdown` becomes a
 * no-op. Concurrent calls are applied one after another, in call order.
 *
 * Rejects, before touching any global, with a `TypeError` naming the option for a bad
 * option, with an `Error` quoting the endpoint when the endpoint cannot be parsed, and with an
 * `Error` naming the packages and the `npm install` command when an OpenTelemetry package it
 * needs is not installed (the SDK always; with an endpoint, the exporter of its protocol).
 * Collector trouble never rejects and never throws: see {@link TracingOptions.exportTimeoutMillis}.
 */
export async function initTracing(endpoint: string, options: TracingOptions = {}): Promise<TracingShutdown> {
  const check = new OptionChecks('initTracing');
  if (typeof endpoint !== 'string') check.reject('endpoint', 'a string ("" to disable export)', endpoint);
  const settings = checkOptions(options, check);
  const target = endpoint === '' ? undefined : parseOtlpEndpoint(endpoint);
  const sdk = await loadSdk(target);
  // The URL's scheme picks the credentials (http: plaintext, https: TLS) in both exporters.
  const exporter =
    target === undefined || sdk.exporter === undefined
      ? undefined
      : new sdk.exporter.OTLPTraceExporter({ url: target.url, timeoutMillis: settings.exportTimeoutMillis });
  const run = queue.then(async () => {
    if (current !== undefined) await current.shutdown();
    return install(sdk, exporter, settings);
  });
  queue = run.catch(() => undefined);
  return run;
}

function checkOptions(options: TracingOptions, check: OptionChecks): Settings {
  check.object(options, OPTION_NAMES);
  const sampler = check.implementing('sampler', options.sampler, 'shouldSample', 'an OpenTelemetry Sampler');
  return {
    serviceName: check.nonEmptyString('serviceName', options.serviceName) ?? DEFAULT_SERVICE_NAME,
    exportTimeoutMillis:
      check.integer('exportTimeoutMillis', options.exportTimeoutMillis, 1, MAX_TIMER_MS) ?? DEFAULT_EXPORT_TIMEOUT_MS,
    sampler,
  };
}

/** The SDK parts a set-up installs, and the exporter module its endpoint needs. */
type Sdk = Awaited<ReturnType<typeof loadSdk>>;

/** What both OTLP exporter packages export: the exporter class, configured alike. */
interface ExporterModule {
  readonly OTLPTraceExporter: new (config: { url: string; timeoutMillis: number }) => SpanExporter;
}

/**
 * Loads the SDK parts on first use (the package root loads none of them, see the module
 * comment), and the exporter of `target`'s protocol: a host that never exports (or only over
 * HTTP) never loads gRPC. Rejects naming every package that is not installed.
 */
function loadSdk(target: OtlpEndpoint | undefined) {
  const exporter: readonly [TracingPeer, () => Promise<ExporterModule>] | undefined =
    target === undefined
      ? undefined
      : target.protocol === 'grpc'
        ? ['@opentelemetry/exporter-trace-otlp-grpc', () => import('@opentelemetry/exporter-trace-otlp-grpc')]
        : ['@opentelemetry/exporter-trace-otlp-http', () => import('@opentelemetry/exporter-trace-otlp-http')];
  const purpose =
    target === undefined ? 'tracing' : `exporting over OTLP/${target.protocol === 'grpc' ? 'gRPC' : 'HTTP'}`;
  return loadTracingPeers('initTracing', purpose, {
    asyncHooks: ['@opentelemetry/context-async-hooks', () => import('@opentelemetry/context-async-hooks')],
    core: ['@opentelemetry/core', () => import('@opentelemetry/core')],
    resources: ['@opentelemetry/resources', () => import('@opentelemetry/resources')],
    traceBase: ['@opentelemetry/sdk-trace-base', () => import('@opentelemetry/sdk-trace-base')],
    exporter,
  });
}

function install(sdk: Sdk, exporter: SpanExporter | undefined, settings: Settings): TracingShutdown {
  const { asyncHooks, core, resources, traceBase } = sdk;
  propagation.disable();
  propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  context.disable();
  context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());

  let provider: BasicTracerProvider | undefined;
  if (exporter !== undefined) {
    // Go merges OTEL_RESOURCE_ATTRIBUTES under the explicit service name; so does this.
    const resource = resources
      .defaultResource()
      .merge(resources.detectResources({ detectors: [resources.envDetector] }))
      .merge(resources.resourceFromAttributes({ 'service.name': settings.serviceName }));
    provider = new traceBase.BasicTracerProvider({
      resource,
      spanProcessors: [
        new traceBase.BatchSpanProcessor(exporter, { exportTimeoutMillis: settings.exportTimeoutMillis }),
      ],
      ...(settings.sampler === undefined ? {} : { sampler: settings.sampler }),
    });
    trace.disable();
    trace.setGlobalTracerProvider(provider);
  }

  const installation = {
    shutdown: stopFunction(async () => {
      if (current === installation) {
        current = undefined;
        if (provider !== undefined) trace.disable();
        context.disable();
        propagation.disable();
      }
      if (provider !== undefined && exporter !== undefined) {
        await withDeadline(flushAndClose(provider, exporter), settings.exportTimeoutMillis + SHUTDOWN_GRACE_MS);
      }
    }),
  };
  current = installation;
  return installation.shutdown;
}

/** Exports every pending span, then closes the exporter, also when the flush failed. */
async function flushAndClose(provider: BasicTracerProvider, exporter: SpanExporter): Promise<void> {
  try {
    await provider.shutdown();
  } catch (err) {
    diag.warn(`blockyard-telemetry: spans could not be exported at shutdown: ${messageOf(err)}`);
  }
  try {
    // Already done when the flush succeeded; needed when it failed, to close the connection.
    await exporter.shutdown();
  } catch (err) {
    diag.warn(`blockyard-telemetry: closing the span exporter failed: ${messageOf(err)}`);
  }
}

/** Waits for `work`, but no longer than `ms`; never rejects, and leaves no timer behind. */
async function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      diag.warn(`blockyard-telemetry: tracing shutdown gave up after ${ms} ms`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([work.catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
