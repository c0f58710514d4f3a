/**
 * The tracing family: OpenTelemetry set-up (`initTracing`, with the Go server's endpoint
 * rules), a server span per HTTP request, and trace context forwarded to workers. It knows
 * nothing of Prometheus; the OpenTelemetry SDK and exporters load only when `initTracing` runs.
 *
 * @packageDocumentation
 */
export {
  fastifyTracing,
  type FastifyReplyLike,
  type FastifyRequestLike,
  type FastifyTracingHooks,
} from './fastify-tracing';
export { initTracing, type TracingOptions, type TracingSampler, type TracingShutdown } from './init-tracing';
export { injectTraceHeaders, type HeaderSetter, type OutgoingHeaders } from './inject-trace-headers';
export { parseOtlpEndpoint, type OtlpEndpoint } from './otlp-endpoint';
export type { TracingMiddlewareOptions } from './request-span';
export {
  traceHandler,
  tracingErrorHandler,
  tracingMiddleware,
  type NextFunction,
  type TracingMiddleware,
} from './tracing-middleware';
