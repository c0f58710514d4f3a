/**
 * Forwarding trace context to workers: the trace headers of the current context, written
 * into the headers of an outgoing request.
 *
 * The orchestrator proxies user requests to workers; writing `traceparent` (and `tracestate`,
 * `baggage`) into the proxied request makes the worker's spans children of the proxy's span,
 * so one trace shows the whole request. Which headers are written is the global propagator's
 * business (W3C trace context + baggage after `initTracing()`). Without a tracer provider the
 * middleware's span carries the inbound context unchanged, so the inbound `traceparent` is
 * still forwarded.
 *
 * @packageDocumentation
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { context, propagation, type Context, type TextMapSetter } from '@opentelemetry/api';

/** Something with `set(name, value)`, such as fetch's `Headers`. */
export interface HeaderSetter {
  /** Sets header `name` to `value`, replacing any value it had (a copied inbound one). */
  set(name: string, value: string): void;
}

/** Headers {@link injectTraceHeaders} can write to: a plain object or a `Headers`-like. */
export type OutgoingHeaders = OutgoingHttpHeaders | Record<string, string> | HeaderSetter;

const setter: TextMapSetter<OutgoingHeaders> = {
  set(carrier, key, value) {
    const maybe = carrier as Partial<HeaderSetter>;
    if (typeof maybe.set === 'function') maybe.set(key, value);
    else (carrier as Record<string, string>)[key] = value;
  },
};

/**
 * Writes the trace headers of `ctx` (default: the active context) into `headers` and returns
 * `headers`. Existing headers of the same names are replaced, so inbound headers copied
 * wholesale are overwritten with the current span's. Writes nothing when there is no trace
 * context. Never throws: a failing propagator leaves the headers as they were.
 *
 *     http.request(workerUrl, { headers: injectTraceHeaders({ ...req.headers }) });
 *     fetch(workerUrl, { headers: injectTraceHeaders(new Headers()) });
 */
export function injectTraceHeaders<H extends OutgoingHeaders>(headers: H, ctx?: Context): H {
  try {
    const carrier: unknown = headers; // typed callers pass headers; others may not
    if (carrier === null || typeof carrier !== 'object') return headers;
    propagation.inject(ctx ?? context.active(), headers, setter);
  } catch {
    // Forwarding trace context is best effort; the request goes out either way.
  }
  return headers;
}
