import { ROOT_CONTEXT, context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request, type IncomingHttpHeaders } from 'node:http';
import { traceHandler } from '../../lib/tracing/tracing-middleware';
import { injectTraceHeaders } from '../../lib/tracing/inject-trace-headers';
import { initTracing } from '../../lib/tracing/init-tracing';
import { httpRequest } from '../helpers/http-client';
import { listen, type TestServer } from '../helpers/http-server';
import { installInMemoryTracing, resetTracing } from '../helpers/in-memory-tracing';
import { waitUntil } from '../helpers/wait-until';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const INBOUND = `00-${TRACE_ID}-${PARENT_ID}-01`;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  resetTracing();
});

async function serve(handler: Parameters<typeof listen>[0]): Promise<TestServer> {
  const server = await listen(handler);
  cleanup.push(() => server.close());
  return server;
}

/**
 * A worker that answers with the headers it got, and a proxy in front of it that forwards
 * every request with injectTraceHeaders, as an orchestrator does.
 */
async function proxyAndWorker(): Promise<{ proxy: TestServer; workerSaw: () => IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const worker = await serve((req, res) => {
    seen.push(req.headers);
    res.end('from worker');
  });
  const proxy = await serve(
    traceHandler((req, res) => {
      const headers = injectTraceHeaders({ ...req.headers, host: new URL(worker.origin).host });
      const upstream = request(`${worker.origin}${req.url ?? '/'}`, { headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502);
        answer.pipe(res);
      });
      upstream.on('error', () => {
        res.statusCode = 502;
        res.end();
      });
      upstream.end();
    }),
  );
  return { proxy, workerSaw: () => seen };
}

describe('injectTraceHeaders', () => {
  it('forwards the inbound traceparent unchanged after initTracing(""), with nothing exported', async () => {
    cleanup.push(await initTracing(''));
    const { proxy, workerSaw } = await proxyAndWorker();
    const answer = await httpRequest(`${proxy.origin}/apps/demo`, {
      headers: { traceparent: INBOUND, tracestate: 'vendor=abc', baggage: 'tenant=acme' },
    });
    expect(answer.text).toBe('from worker');
    expect(workerSaw()).toHaveLength(1);
    expect(workerSaw()[0]).toMatchObject({ traceparent: INBOUND, tracestate: 'vendor=abc', baggage: 'tenant=acme' });
  });

  it("makes the worker a child of the proxy's span when spans are recorded", async () => {
    const tracing = installInMemoryTracing();
    const { proxy, workerSaw } = await proxyAndWorker();
    await httpRequest(`${proxy.origin}/apps/demo`, { headers: { traceparent: INBOUND, baggage: 'tenant=acme' } });
    const [span] = await waitUntil('the proxy span', () =>
      tracing.spans().length === 1 ? tracing.spans() : undefined,
    );
    const { traceId, spanId } = (span as ReadableSpan).spanContext();
    expect(traceId).toBe(TRACE_ID);
    expect(workerSaw()[0]).toMatchObject({ traceparent: `00-${TRACE_ID}-${spanId}-01`, baggage: 'tenant=acme' });
  });

  it('starts the trace at the proxy when the request came without one', async () => {
    const tracing = installInMemoryTracing();
    const { proxy, workerSaw } = await proxyAndWorker();
    await httpRequest(`${proxy.origin}/`);
    const [span] = await waitUntil('the proxy span', () =>
      tracing.spans().length === 1 ? tracing.spans() : undefined,
    );
    const { traceId, spanId } = (span as ReadableSpan).spanContext();
    expect(workerSaw()[0]?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  it('writes into a fetch Headers object, and takes an explicit context', () => {
    installInMemoryTracing();
    const span = trace.getTracer('t').startSpan('outgoing');
    const headers = injectTraceHeaders(new Headers({ accept: 'text/plain' }), trace.setSpan(ROOT_CONTEXT, span));
    span.end();
    const { traceId, spanId } = span.spanContext();
    expect(headers.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);
    expect(headers.get('accept')).toBe('text/plain');
  });

  it("replaces a traceparent copied from the inbound request with the current span's", () => {
    installInMemoryTracing();
    const span = trace.getTracer('t').startSpan('proxy');
    const headers = context.with(trace.setSpan(context.active(), span), () =>
      injectTraceHeaders({ traceparent: INBOUND, 'x-other': '1' }),
    );
    span.end();
    expect(headers).toEqual({
      traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
      'x-other': '1',
    });
  });

  it('returns the same object and writes nothing without a trace context', () => {
    installInMemoryTracing();
    const headers = { accept: '*/*' };
    expect(injectTraceHeaders(headers)).toBe(headers);
    expect(headers).toEqual({ accept: '*/*' });
  });

  it('never throws: a failing propagator leaves the headers as they were', () => {
    const throwing = (): never => {
      throw new Error('broken propagator');
    };
    const broken: TextMapPropagator = { inject: throwing, extract: throwing, fields: () => [] };
    propagation.setGlobalPropagator(broken);
    const headers = { accept: '*/*' };
    expect(() => injectTraceHeaders(headers)).not.toThrow();
    expect(headers).toEqual({ accept: '*/*' });
    expect(injectTraceHeaders(null as unknown as Record<string, string>)).toBeNull();
  });
});
