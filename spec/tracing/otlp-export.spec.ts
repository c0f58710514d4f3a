/**
 * End to end: the library's spans reach a real OTLP receiver on 127.0.0.1, over gRPC (in this
 * process) and over HTTP (in a child process: the OTLP/HTTP exporter's dynamic import() does
 * not run inside jest's module sandbox), every one of them, and the exemplars of the
 * OpenMetrics scrape point at exported traces.
 */
import { trace } from '@opentelemetry/api';
import { initTracing } from '../../lib';

/** How much longer than exportTimeoutMillis shutdown() may take, as documented: 1 s. */
const SHUTDOWN_GRACE_MS = 1000;
import { resetTracing } from '../helpers/in-memory-tracing';
import { exemplarsOf } from '../helpers/openmetrics-exemplars';
import { startBlackHole, startGrpcReceiver, startHttpReceiver, type Receiver } from '../helpers/otlp-receivers';
import { runTsChild, runTsFile } from '../helpers/run-ts-child';
import { freePort } from '../helpers/free-port';
import { tracedBurst, type BurstResult } from '../helpers/traced-burst';

const N = 100;
const CHILD = 'spec/helpers/traced-burst-child.ts';
/** A child process compiles and starts in seconds on a busy machine, more than jest's 5 s. */
const CHILD_TEST_MS = 60_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  resetTracing();
});

async function started(receiver: Promise<Receiver>): Promise<Receiver> {
  const r = await receiver;
  cleanup.push(() => r.close());
  return r;
}

/** Every request answered, every span received exactly once, and the exemplars point at them. */
function expectEverySpan(result: BurstResult, receiver: Receiver): void {
  expect(result.statuses).toEqual(Array.from({ length: N }, () => 200));
  expect(receiver.spans).toHaveLength(N);
  expect(new Set(receiver.spans.map((s) => s.spanId)).size).toBe(N);
  for (const span of receiver.spans) {
    expect(span.resource['service.name']).toBe('blockyard');
    expect(span.name).toBe('GET /work/:id');
    expect(span.attributes).toMatchObject({ 'http.route': '/work/:id', 'http.status_code': 200, 'http.method': 'GET' });
    expect(span.parentSpanId).toBe('');
  }

  // The exemplar round trip: each bucket's exemplar names an exported trace and span.
  const exemplars = exemplarsOf(result.exposition, 'blockyard_proxy_request_seconds');
  // Requests took 0 … 99 ms: the buckets 5, 10, 25, 50 and 100 ms each got one.
  expect(exemplars.map((e) => e.le)).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1']);
  const traceIds = new Set(receiver.spans.map((s) => s.traceId));
  const spanIds = new Set(receiver.spans.map((s) => s.spanId));
  for (const exemplar of exemplars) {
    expect(traceIds).toContain(exemplar.labels.trace_id);
    expect(spanIds).toContain(exemplar.labels.span_id);
  }
}

describe('OTLP end to end', () => {
  it(`OTLP/gRPC: all ${N} spans of a request burst arrive after shutdown(), each with service.name`, async () => {
    const receiver = await started(startGrpcReceiver());
    const result = await tracedBurst(receiver.endpoint, N);
    expectEverySpan(result, receiver);
  });

  it(
    `OTLP/HTTP (child process): all ${N} spans arrive, POSTed to exactly the endpoint URL`,
    async () => {
      const receiver = await started(startHttpReceiver('/otlp/custom/v1/traces'));
      const result = JSON.parse(await runTsChild(CHILD, ['burst', receiver.endpoint, String(N)])) as BurstResult;
      expectEverySpan(result, receiver);
      expect(receiver.paths.length).toBeGreaterThan(0);
      expect(new Set(receiver.paths)).toEqual(new Set(['/otlp/custom/v1/traces']));
    },
    CHILD_TEST_MS,
  );

  it('loses nothing across several export batches: 1500 spans (batches of 512) all arrive', async () => {
    const receiver = await started(startGrpcReceiver());
    const shutdown = await initTracing(receiver.endpoint);
    cleanup.push(shutdown);
    for (let i = 0; i < 1500; i += 1) trace.getTracer('e2e').startSpan(`span ${i}`).end();
    await shutdown();
    expect(receiver.spans).toHaveLength(1500);
    expect(new Set(receiver.spans.map((s) => s.name)).size).toBe(1500);
    expect(receiver.requests).toBeGreaterThanOrEqual(3);
  });

  it(
    'OTLP/HTTP (child process): a hung collector delays shutdown by at most exportTimeoutMillis + grace, and the process exits',
    async () => {
      const hole = await startBlackHole();
      cleanup.push(() => hole.close());
      const exportTimeoutMillis = 300;
      const out = await runTsChild(CHILD, [
        'hang',
        `http://127.0.0.1:${hole.port}/v1/traces`,
        String(exportTimeoutMillis),
      ]);
      const { shutdownMs } = JSON.parse(out) as { shutdownMs: number };
      expect(hole.connections()).toBeGreaterThan(0);
      expect(shutdownMs).toBeLessThan(exportTimeoutMillis + SHUTDOWN_GRACE_MS);
    },
    CHILD_TEST_MS,
  );

  describe('examples/tracing.ts', () => {
    const INBOUND_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
    const INBOUND_SPAN = '00f067aa0ba902b7';

    it(
      'forwards the inbound traceparent untouched when nothing is exported',
      async () => {
        expect(await runTsChild('examples/tracing.ts', [])).toBe(
          [
            `proxy answered 200: worker saw traceparent 00-${INBOUND_TRACE}-${INBOUND_SPAN}-01`,
            `exemplar on blockyard_proxy_request_seconds: trace_id=${INBOUND_TRACE} span_id=${INBOUND_SPAN}`,
            'no spans exported (no endpoint)',
            '',
          ].join('\n'),
        );
      },
      CHILD_TEST_MS,
    );

    it(
      'exports one trace, caller → proxy → worker, to an OTLP/HTTP endpoint',
      async () => {
        const receiver = await started(startHttpReceiver());
        const stdout = await runTsChild('examples/tracing.ts', [receiver.endpoint]);
        expect(receiver.spans).toHaveLength(2);
        const proxy = receiver.spans.find((s) => s.name === 'GET /apps/:name');
        const worker = receiver.spans.find((s) => s.name === 'GET /');
        expect(proxy).toMatchObject({ traceId: INBOUND_TRACE, parentSpanId: INBOUND_SPAN });
        expect(worker).toMatchObject({ traceId: INBOUND_TRACE, parentSpanId: proxy?.spanId });
        expect(stdout).toBe(
          [
            `proxy answered 200: worker saw traceparent 00-${INBOUND_TRACE}-${proxy?.spanId}-01`,
            `exemplar on blockyard_proxy_request_seconds: trace_id=${INBOUND_TRACE} span_id=${proxy?.spanId}`,
            `spans flushed to ${receiver.endpoint}`,
            '',
          ].join('\n'),
        );
      },
      CHILD_TEST_MS,
    );

    it.each([
      ['OTLP/gRPC', (port: number) => `127.0.0.1:${port}`],
      ['OTLP/HTTP', (port: number) => `http://127.0.0.1:${port}/v1/traces`],
    ])(
      'says the export failed and exits 1 when nothing listens at the endpoint (%s)',
      async (_protocol, endpointAt) => {
        const endpoint = endpointAt(await freePort());
        const { code, stdout, stderr } = await runTsFile('examples/tracing.ts', [endpoint], { timeoutMs: 40_000 });
        expect(code).toBe(1);
        expect(stdout).toMatch(/^proxy answered 200: /);
        expect(stdout).not.toContain('flushed');
        expect(stderr.startsWith(`span export to ${endpoint} failed: `)).toBe(true);
        expect(stderr).toContain('ECONNREFUSED');
      },
      CHILD_TEST_MS,
    );
  });
});
