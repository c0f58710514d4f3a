import { ROOT_CONTEXT, context, createContextKey, propagation, trace } from '@opentelemetry/api';
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace-base';
import { initTracing, type TracingShutdown } from '../../lib';

/** The documented defaults: service.name, and how much longer than exportTimeoutMillis shutdown() may take. */
const DEFAULT_SERVICE_NAME = 'blockyard';
const SHUTDOWN_GRACE_MS = 1000;
import { freePort } from '../helpers/free-port';
import { resetTracing } from '../helpers/in-memory-tracing';
import { startBlackHole, startGrpcReceiver, type Receiver } from '../helpers/otlp-receivers';

const KEY = createContextKey('tracing.spec');

/** True when a value set in a context is still active after an await (an async context manager). */
async function contextFollowsAwait(): Promise<boolean> {
  return context.with(ROOT_CONTEXT.setValue(KEY, 'kept'), async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return context.active().getValue(KEY) === 'kept';
  });
}

function endOneSpan(name = 'unit'): string {
  const span = trace.getTracer('tracing.spec').startSpan(name);
  span.end();
  return span.spanContext().traceId;
}

describe('initTracing', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    resetTracing();
  });

  // In-process exports go over gRPC: the OTLP/HTTP exporter loads node:http with a dynamic
  // import(), which jest's module sandbox cannot run (without --experimental-vm-modules).
  // OTLP/HTTP is proven end to end in a child process, in otlp-e2e.spec.ts.
  async function receiver(): Promise<Receiver> {
    const r = await startGrpcReceiver();
    cleanup.push(() => r.close());
    return r;
  }

  async function init(endpoint: string, options?: Parameters<typeof initTracing>[1]): Promise<TracingShutdown> {
    const shutdown = await initTracing(endpoint, options);
    cleanup.push(shutdown);
    return shutdown;
  }

  describe('with an empty endpoint (Go: tracing not initialized)', () => {
    it('installs the W3C trace-context and baggage propagator: its fields include traceparent', async () => {
      expect(propagation.fields()).toEqual([]);
      await init('');
      expect(propagation.fields()).toEqual(expect.arrayContaining(['traceparent', 'tracestate', 'baggage']));
    });

    it('installs an async context manager, so context follows await', async () => {
      expect(await contextFollowsAwait()).toBe(false);
      await init('');
      expect(await contextFollowsAwait()).toBe(true);
    });

    it('installs no tracer provider: spans are not recorded', async () => {
      await init('');
      const span = trace.getTracer('t').startSpan('x');
      expect(span.isRecording()).toBe(false);
      span.end();
    });

    it('resolves shutdown at once and puts the no-op globals back', async () => {
      const shutdown = await init('');
      await shutdown();
      expect(propagation.fields()).toEqual([]);
      expect(await contextFollowsAwait()).toBe(false);
    });
  });

  describe('with an endpoint', () => {
    it('exports with service.name "blockyard" by default, and flushes every span on shutdown', async () => {
      const r = await receiver();
      const shutdown = await init(r.endpoint);
      const ids = [endOneSpan('a'), endOneSpan('b'), endOneSpan('c')];
      expect(r.spans).toHaveLength(0); // batched: nothing is sent before the flush
      await shutdown();
      expect(r.spans.map((s) => s.traceId).sort()).toEqual([...ids].sort());
      for (const s of r.spans) expect(s.resource['service.name']).toBe(DEFAULT_SERVICE_NAME);
    });

    it('uses options.serviceName, and merges OTEL_RESOURCE_ATTRIBUTES under it as Go does', async () => {
      const r = await receiver();
      const saved = process.env.OTEL_RESOURCE_ATTRIBUTES;
      process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=test,service.name=from-env';
      cleanup.push(() => {
        if (saved === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
        else process.env.OTEL_RESOURCE_ATTRIBUTES = saved;
        return Promise.resolve();
      });
      const shutdown = await init(r.endpoint, { serviceName: 'orchestrator' });
      endOneSpan();
      await shutdown();
      expect(r.spans).toHaveLength(1);
      expect(r.spans[0]?.resource).toMatchObject({
        'service.name': 'orchestrator',
        'deployment.environment': 'test',
        'telemetry.sdk.language': 'nodejs',
      });
    });

    it('speaks OTLP/gRPC to a bare 127.0.0.1:port, in plaintext', async () => {
      const r = await receiver();
      const shutdown = await init(r.endpoint);
      const id = endOneSpan();
      await shutdown();
      expect(r.spans.map((s) => s.traceId)).toEqual([id]);
      expect(r.spans[0]?.resource['service.name']).toBe('blockyard');
    });

    it('honours options.sampler', async () => {
      const r = await receiver();
      const shutdown = await init(r.endpoint, { sampler: new AlwaysOffSampler() });
      endOneSpan();
      await shutdown();
      expect(r.requests).toBe(0);
    });

    it('shutdown is idempotent and restores the no-op globals', async () => {
      const r = await receiver();
      const shutdown = await init(r.endpoint);
      endOneSpan();
      const first = shutdown();
      expect(shutdown()).toBe(first);
      await first;
      await shutdown();
      expect(r.spans).toHaveLength(1);
      expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
      expect(propagation.fields()).toEqual([]);
      expect(await contextFollowsAwait()).toBe(false);
    });

    it('a second initTracing without shutdown flushes and replaces the first; the old shutdown is then a no-op', async () => {
      const a = await receiver();
      const b = await receiver();
      const shutdownA = await init(a.endpoint);
      const idA = endOneSpan('to-a');
      const shutdownB = await init(b.endpoint);
      // The replacement flushed A's pending span before installing B.
      expect(a.spans.map((s) => s.traceId)).toEqual([idA]);
      await shutdownA(); // must not tear down B's globals
      const idB = endOneSpan('to-b');
      expect(propagation.fields()).toContain('traceparent');
      await shutdownB();
      expect(b.spans.map((s) => s.traceId)).toEqual([idB]);
      expect(a.spans).toHaveLength(1);
    });

    it('applies concurrent calls one after another, the last one winning', async () => {
      const a = await receiver();
      const b = await receiver();
      const [shutdownA, shutdownB] = await Promise.all([init(a.endpoint), init(b.endpoint)]);
      endOneSpan();
      await shutdownA();
      await shutdownB();
      expect(a.spans).toHaveLength(0);
      expect(b.spans).toHaveLength(1);
    });
  });

  describe('a collector that is down or hangs never throws into the host and never blocks shutdown for long', () => {
    const exportTimeoutMillis = 300;
    const bound = exportTimeoutMillis + SHUTDOWN_GRACE_MS;

    it('connection refused (OTLP/gRPC): shutdown resolves, spans are dropped quietly', async () => {
      const port = await freePort(); // nothing listens there
      const shutdown = await init(`127.0.0.1:${port}`, { exportTimeoutMillis });
      expect(() => endOneSpan()).not.toThrow();
      const started = Date.now();
      await expect(shutdown()).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(bound);
    });

    // The OTLP/HTTP case runs in a child process: see otlp-e2e.spec.ts.
    it('a collector that accepts and never answers (OTLP/gRPC)', async () => {
      const hole = await startBlackHole();
      cleanup.push(() => hole.close());
      const shutdown = await init(`127.0.0.1:${hole.port}`, { exportTimeoutMillis });
      for (let i = 0; i < 10; i += 1) endOneSpan();
      const started = Date.now();
      await expect(shutdown()).resolves.toBeUndefined();
      const took = Date.now() - started;
      expect(hole.connections()).toBeGreaterThan(0); // the export really went out and hung
      expect(took).toBeLessThan(bound);
    });
  });

  describe('misconfiguration rejects before touching any global', () => {
    it('rejects an unparseable endpoint with an Error quoting it', async () => {
      await expect(initTracing('collector')).rejects.toThrow('initTracing: invalid endpoint "collector"');
      await expect(initTracing('ftp://x/v1/traces')).rejects.toThrow('"ftp://x/v1/traces"');
      expect(propagation.fields()).toEqual([]);
    });

    it.each([
      [42, 'initTracing: endpoint must be a string ("" to disable export), got number 42'],
      [undefined, 'initTracing: endpoint must be a string ("" to disable export), got undefined'],
    ])('rejects endpoint %p with a TypeError', async (endpoint, message) => {
      await expect(initTracing(endpoint as unknown as string)).rejects.toThrow(new TypeError(message));
    });

    it.each([
      [{ serviceName: '' }, 'initTracing: serviceName must be a non-empty string, got ""'],
      [{ serviceName: 7 }, 'initTracing: serviceName must be a non-empty string, got number 7'],
      [
        { exportTimeoutMillis: 0 },
        'initTracing: exportTimeoutMillis must be an integer from 1 to 2147483647, got number 0',
      ],
      [{ exportTimeoutMillis: 1.5 }, 'got number 1.5'],
      [{ exportTimeoutMillis: '100' }, 'got "100"'],
      [{ sampler: {} }, 'initTracing: sampler must be an OpenTelemetry Sampler, got an object'],
      [
        { servicename: 'x' },
        'initTracing: unknown option "servicename"; known: serviceName, exportTimeoutMillis, sampler',
      ],
      [null, 'initTracing: options must be an object, got null'],
    ])('rejects options %p with a TypeError naming the option', async (options, message) => {
      const rejection = initTracing('', options as unknown as Parameters<typeof initTracing>[1]);
      await expect(rejection).rejects.toBeInstanceOf(TypeError);
      await expect(rejection).rejects.toThrow(message);
      expect(propagation.fields()).toEqual([]);
    });
  });
});
