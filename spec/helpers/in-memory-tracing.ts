/**
 * Tracing for unit tests: a real tracer provider whose spans land in memory, installed as the
 * OpenTelemetry globals, and the reset that puts the globals back after each test.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** The in-memory set-up of one test. */
export interface InMemoryTracing {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
}

/**
 * Installs a provider exporting synchronously (SimpleSpanProcessor) to memory, an
 * AsyncLocalStorage context manager and the W3C propagators. Pair with {@link resetTracing}.
 */
export function installInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return { exporter, provider, spans: () => exporter.getFinishedSpans() };
}

/** Puts every OpenTelemetry global back to the API's no-op default. */
export function resetTracing(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}
