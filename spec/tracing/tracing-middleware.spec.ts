import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import Fastify from 'fastify';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { fastifyTracing, traceHandler, tracingErrorHandler, tracingMiddleware } from '../../lib';
import { deferred } from '../helpers/deferred';
import { httpRequest } from '../helpers/http-client';
import { listen, type TestServer } from '../helpers/http-server';
import { installInMemoryTracing, resetTracing, type InMemoryTracing } from '../helpers/in-memory-tracing';
import { waitUntil } from '../helpers/wait-until';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

let tracing: InMemoryTracing;
const cleanup: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  tracing = installInMemoryTracing();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  resetTracing();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = await listen(handler);
  cleanup.push(() => server.close());
  return server;
}

/** The ended spans, once there are `n` of them. */
function spans(n: number): Promise<ReadableSpan[]> {
  return waitUntil(`${n} ended span(s)`, () => (tracing.spans().length >= n ? tracing.spans() : undefined), {
    timeoutMs: 3_000,
    intervalMs: 5,
  });
}

async function oneSpan(): Promise<ReadableSpan> {
  const [span] = await spans(1);
  expect(tracing.spans()).toHaveLength(1);
  return span as ReadableSpan;
}

/** Starts a request and resolves once its response headers arrive; the caller reads or aborts. */
function openRequest(url: string): Promise<{ res: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => resolve({ res, destroy: () => req.destroy() }));
    req.on('error', reject);
    req.end();
  });
}

function expressApp(): express.Express {
  const app = express();
  app.use(tracingMiddleware());
  return app;
}

describe('tracingMiddleware / traceHandler: names and attributes', () => {
  it('names a plain handler\'s span "METHOD path", without the query string', async () => {
    const server = await serve(traceHandler((_req, res) => res.end('ok')));
    const answer = await httpRequest(`${server.origin}/apps/demo/files?token=secret&x=1`);
    expect(answer.text).toBe('ok');
    const span = await oneSpan();
    expect(span.name).toBe('GET /apps/demo/files');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.attributes).toEqual({
      'http.method': 'GET',
      'http.request.method': 'GET',
      'url.path': '/apps/demo/files',
      'http.status_code': 200,
      'http.response.status_code': 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.resource.attributes['service.name']).toBe('test');
  });

  it('names an Express span "METHOD route" once the router matched, with http.route', async () => {
    const app = expressApp();
    app.get('/apps/:id', (_req, res) => {
      res.status(201).send('made');
    });
    const server = await serve(app);
    await httpRequest(`${server.origin}/apps/42?verbose=1`, { method: 'GET' });
    const span = await oneSpan();
    expect(span.name).toBe('GET /apps/:id');
    expect(span.attributes).toMatchObject({
      'http.route': '/apps/:id',
      'http.status_code': 201,
      'http.response.status_code': 201,
      'url.path': '/apps/42',
    });
  });

  it('includes the mount path of an Express router in the route', async () => {
    const app = expressApp();
    const api = express.Router();
    api.post('/users/:id', (_req, res) => {
      res.end();
    });
    app.use('/api', api);
    const server = await serve(app);
    await httpRequest(`${server.origin}/api/users/7`, { method: 'POST' });
    const span = await oneSpan();
    expect(span.name).toBe('POST /api/users/:id');
    expect(span.attributes['http.route']).toBe('/api/users/:id');
    expect(span.attributes['http.method']).toBe('POST');
  });

  it('keeps "METHOD path" and sets no http.route when no route matched (Express 404)', async () => {
    const server = await serve(expressApp());
    await httpRequest(`${server.origin}/missing?q=1`);
    const span = await oneSpan();
    expect(span.name).toBe('GET /missing');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.attributes['http.status_code']).toBe(404);
    expect(span.status.code).toBe(SpanStatusCode.UNSET); // 4xx is the client's error, not the server's
  });

  it('uses options.route when given, and skips requests options.ignore names', async () => {
    const handler = traceHandler((_req, res) => res.end(), {
      route: (req) => (req.url?.startsWith('/apps/') === true ? '/apps/{name}' : undefined),
      ignore: (req) => req.url === '/healthz',
    });
    const server = await serve(handler);
    await httpRequest(`${server.origin}/healthz`);
    await httpRequest(`${server.origin}/apps/x`);
    const span = await oneSpan();
    expect(span.name).toBe('GET /apps/{name}');
  });

  it('creates one span when a request is traced twice (middleware inside a wrapped app)', async () => {
    const app = expressApp();
    app.get('/x', (_req, res) => {
      res.end();
    });
    const server = await serve(
      traceHandler((req: IncomingMessage, res: ServerResponse) => {
        app(req, res);
      }),
    );
    await httpRequest(`${server.origin}/x`);
    const span = await oneSpan();
    expect(span.name).toBe('GET /x');
  });
});

describe('tracingMiddleware / traceHandler: context', () => {
  it("continues an inbound traceparent: same trace, the caller's span as parent", async () => {
    const server = await serve(traceHandler((_req, res) => res.end()));
    await httpRequest(`${server.origin}/`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
    const span = await oneSpan();
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span.parentSpanContext?.isRemote).toBe(true);
  });

  it('starts a new trace without an inbound traceparent', async () => {
    const server = await serve(traceHandler((_req, res) => res.end()));
    await httpRequest(`${server.origin}/`);
    const span = await oneSpan();
    expect(span.parentSpanContext).toBeUndefined();
  });

  it('makes the span active in the handler, across await, so child spans nest under it', async () => {
    const handler = traceHandler(async (_req, res) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      trace.getTracer('child').startSpan('db query').end();
      res.end();
    });
    const server = await serve((req, res) => void handler(req, res));
    await httpRequest(`${server.origin}/`);
    const all = await spans(2);
    const serverSpan = all.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    const child = all.find((s) => s.name === 'db query') as ReadableSpan;
    expect(child.parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(serverSpan.spanContext().traceId);
  });

  it("runs request and response listeners the handler adds in the span's context (body reads, finish hooks)", async () => {
    const headersIn = deferred();
    const seen: string[] = [];
    const active = (): string => trace.getActiveSpan()?.spanContext().spanId ?? 'none';
    const server = await serve(
      traceHandler((req, res) => {
        headersIn.resolve();
        req.on('data', () => seen.push(`data ${active()}`));
        req.on('end', () => {
          seen.push(`end ${active()}`);
          res.end();
        });
        res.on('finish', () => seen.push(`finish ${active()}`));
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.origin}/upload`, { method: 'POST', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.write('first part');
      // The rest only once the handler runs: it arrives in a later socket read, emitted from
      // the connection's context, not the middleware's.
      headersIn.promise.then(() => req.end('second part'), reject);
    });
    const id = (await oneSpan()).spanContext().spanId;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen.map((line) => line.split(' ')[1]))).toEqual(new Set([id]));
  });

  it('keeps the span active after an Express body parser read the body', async () => {
    const app = expressApp();
    const headersIn = deferred();
    app.use((_req, _res, next) => {
      headersIn.resolve();
      next();
    });
    app.use(express.json());
    let active: string | undefined;
    app.post('/echo', (req, res) => {
      active = trace.getActiveSpan()?.spanContext().spanId;
      res.json(req.body);
    });
    const server = await serve(app);
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${server.origin}/echo`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      // The rest of the body is sent only once the server is in the middle of the request,
      // so the body parser finishes in a later socket read, outside the middleware's call.
      req.write('{"a":');
      headersIn.promise.then(() => req.end('1}'), reject);
    });
    expect(JSON.parse(answer)).toEqual({ a: 1 });
    const span = await oneSpan();
    expect(active).toBe(span.spanContext().spanId);
  });
});

describe('tracingMiddleware / traceHandler: status', () => {
  it('marks a 5xx answer ERROR', async () => {
    const server = await serve(
      traceHandler((_req, res) => {
        res.statusCode = 503;
        res.end();
      }),
    );
    await httpRequest(`${server.origin}/`);
    const span = await oneSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'http.status_code': 503, 'error.type': '503' });
  });

  it('marks an error thrown in an Express route ERROR, with the exception through tracingErrorHandler', async () => {
    const app = expressApp();
    app.get('/boom', () => {
      throw new Error('route exploded');
    });
    app.use(tracingErrorHandler());
    const server = await serve(app);
    expect((await httpRequest(`${server.origin}/boom`)).status).toBe(500);
    const span = await oneSpan();
    expect(span.name).toBe('GET /boom');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'route exploded' });
    expect(span.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'route exploded'],
    ]);
  });

  it('marks a rejected async Express route ERROR (Express answers 500)', async () => {
    const app = expressApp();
    app.get('/async', async () => {
      await Promise.resolve();
      throw new Error('async exploded');
    });
    const server = await serve(app);
    expect((await httpRequest(`${server.origin}/async`)).status).toBe(500);
    const span = await oneSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['http.status_code']).toBe(500);
  });

  it('records an error a plain handler throws and rethrows it unchanged to the host', async () => {
    const boom = new Error('handler exploded');
    const traced = traceHandler(() => {
      throw boom;
    });
    let caught: unknown;
    const server = await serve((req, res) => {
      try {
        traced(req, res);
      } catch (err) {
        caught = err;
        res.statusCode = 500;
        res.end();
      }
    });
    expect((await httpRequest(`${server.origin}/`)).status).toBe(500);
    expect(caught).toBe(boom);
    const span = await oneSpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'handler exploded' });
    expect(span.events[0]?.name).toBe('exception');
  });

  it('records the rejection of an async plain handler and hands the same rejection back', async () => {
    const boom = new Error('async handler exploded');
    const traced = traceHandler(async () => {
      await Promise.resolve();
      throw boom;
    });
    let caught: unknown;
    const server = await serve((req, res) => {
      traced(req, res).catch((err: unknown) => {
        caught = err;
        res.statusCode = 500;
        res.end();
      });
    });
    await httpRequest(`${server.origin}/`);
    expect(caught).toBe(boom);
    const span = await oneSpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'async handler exploded' });
  });

  it('ends and marks the span when the client goes away before any answer', async () => {
    const arrived = deferred();
    const server = await serve(traceHandler(() => arrived.resolve())); // never answers
    const req = request(`${server.origin}/slow`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await arrived.promise;
    req.destroy();
    const span = await oneSpan();
    expect(span.ended).toBe(true);
    expect(span.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'the client closed the connection before the response finished',
    });
    expect(span.attributes['error.type']).toBe('aborted');
    expect(span.attributes['http.status_code']).toBeUndefined(); // nothing was sent
  });

  it('ends and marks the span when the client goes away in the middle of a stream', async () => {
    const server = await serve(
      traceHandler((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk');
      }),
    );
    const opened = await openRequest(`${server.origin}/stream`);
    opened.res.on('error', () => undefined);
    await new Promise((resolve) => opened.res.once('data', resolve));
    opened.destroy();
    const span = await oneSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'http.status_code': 200, 'error.type': 'aborted' });
  });
});

describe('tracingMiddleware / traceHandler: streaming and WebSockets', () => {
  it('does not buffer a streaming response: the client reads the first chunk while the span is open', async () => {
    const firstSeen = deferred();
    const app = expressApp();
    app.get('/events', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      await firstSeen.promise; // held until the client has the first chunk
      res.end('data: two\n\n');
    });
    const server = await serve(app);
    const { res } = await openRequest(`${server.origin}/events`);
    const chunks: string[] = [];
    res.on('data', (c: Buffer) => chunks.push(c.toString()));
    const ended = new Promise((resolve) => res.on('end', resolve));
    await waitUntil('the first chunk at the client', () => (chunks.length > 0 ? true : undefined), {
      timeoutMs: 3_000,
    });
    expect(chunks.join('')).toBe('data: one\n\n');
    expect(tracing.spans()).toHaveLength(0); // still streaming: the span is open
    firstSeen.resolve();
    await ended;
    expect(chunks.join('')).toBe('data: one\n\ndata: two\n\n');
    const span = await oneSpan();
    expect(span.name).toBe('GET /events');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('leaves WebSocket upgrades on the same server alone (real ws server and client)', async () => {
    const app = expressApp();
    app.get('/plain', (_req, res) => {
      res.send('plain');
    });
    const server = await serve(app);
    const wss = new WebSocketServer({ server: server.server, path: '/ws' });
    cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (socket) =>
      socket.on('message', (data) => socket.send(`echo:${(data as Buffer).toString('utf8')}`)),
    );

    const client = new WebSocket(`ws://127.0.0.1:${(server.server.address() as AddressInfo).port}/ws`);
    cleanup.push(() => client.terminate());
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) =>
      client.once('message', (data) => resolve((data as Buffer).toString('utf8'))),
    );
    client.send('hello');
    expect(await echoed).toBe('echo:hello');
    // An HTTP request on the same server, during the WebSocket session, is traced as usual.
    expect((await httpRequest(`${server.origin}/plain`)).text).toBe('plain');
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.close(1000);
    expect(await closed).toBe(1000);
    const span = await oneSpan(); // only the plain request: the upgrade never made a span
    expect(span.name).toBe('GET /plain');
  });
});

describe('tracingMiddleware / traceHandler: never throws into the host', () => {
  const throwing = (): never => {
    throw new Error('broken tracer');
  };
  const brokenSpan = new Proxy({} as Span, { get: () => throwing });
  const brokenTracer = (startSpan: Tracer['startSpan']): TracerProvider => ({
    getTracer: () => ({ startSpan, startActiveSpan: throwing }),
  });
  const providers: readonly [string, TracerProvider][] = [
    ['getTracer throws', { getTracer: throwing }],
    ['startSpan throws', brokenTracer(throwing)],
    ['every span method throws', brokenTracer(() => brokenSpan)],
  ];

  it.each(providers)('Express middleware: %s', async (_name, tracerProvider) => {
    const app = express();
    app.use(tracingMiddleware({ tracerProvider }));
    let calls = 0;
    app.get('/x', (_req, res) => {
      calls += 1;
      res.send('ok');
    });
    const server = await serve(app);
    const answer = await httpRequest(`${server.origin}/x`);
    expect([answer.status, answer.text, calls]).toEqual([200, 'ok', 1]);
  });

  it.each(providers)('plain wrapper: %s', async (_name, tracerProvider) => {
    let calls = 0;
    const server = await serve(
      traceHandler(
        (_req, res) => {
          calls += 1;
          res.end('ok');
        },
        { tracerProvider },
      ),
    );
    const answer = await httpRequest(`${server.origin}/x`);
    expect([answer.status, answer.text, calls]).toEqual([200, 'ok', 1]);
  });

  it('survives a propagator that throws, and an ignore() that throws', async () => {
    propagation.disable();
    const broken: TextMapPropagator = { inject: throwing, extract: throwing, fields: () => [] };
    propagation.setGlobalPropagator(broken);
    const server = await serve(traceHandler((_req, res) => res.end('ok')));
    const answer = await httpRequest(`${server.origin}/x`, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    });
    expect(answer.text).toBe('ok');
    const server2 = await serve(traceHandler((_req, res) => res.end('ok'), { ignore: throwing }));
    expect((await httpRequest(`${server2.origin}/y`)).text).toBe('ok');
    // /x is traced all the same, as a new trace: a broken propagator only loses the inbound
    // context. /y, whose ignore() threw, is served untraced.
    const span = await oneSpan();
    expect(span.name).toBe('GET /x');
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
  });

  it('lets the error handler and the Fastify hooks pass on what they are given, even missing objects', () => {
    const hooks = fastifyTracing();
    const calls: unknown[] = [];
    const failure = new Error('route failed');
    const missing = null as unknown as IncomingMessage;
    expect(() =>
      tracingErrorHandler()(failure, missing, missing as unknown as ServerResponse, (e) => calls.push(e)),
    ).not.toThrow();
    type Hook = Parameters<typeof hooks.onRequest>;
    expect(() =>
      hooks.onRequest(null as unknown as Hook[0], null as unknown as Hook[1], () => calls.push('next')),
    ).not.toThrow();
    expect(() =>
      hooks.onError(null as unknown as Hook[0], null as unknown as Hook[1], failure, () => calls.push('after error')),
    ).not.toThrow();
    expect(calls).toEqual([failure, 'next', 'after error']);
    expect(tracing.spans()).toEqual([]);
  });

  it('runs the handler untraced when the context manager fails', async () => {
    context.disable();
    context.setGlobalContextManager({
      active: throwing,
      with: throwing,
      bind: throwing,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    });
    let calls = 0;
    const server = await serve(
      traceHandler((_req, res) => {
        calls += 1;
        res.end('ok');
      }),
    );
    expect((await httpRequest(`${server.origin}/`)).text).toBe('ok');
    expect(calls).toBe(1);
  });

  it('rejects bad options at construction with a TypeError naming the option', () => {
    expect(() => tracingMiddleware({ tracerName: '' })).toThrow(
      new TypeError('tracingMiddleware: tracerName must be a non-empty string, got ""'),
    );
    expect(() => tracingMiddleware({ route: 'x' as unknown as () => undefined })).toThrow(
      'tracingMiddleware: route must be a function, got "x"',
    );
    expect(() => traceHandler(null as unknown as () => void)).toThrow(
      new TypeError('traceHandler: handler must be a function, got null'),
    );
    expect(() => fastifyTracing({ tracerProvider: {} as TracerProvider })).toThrow(
      'fastifyTracing: tracerProvider must be a TracerProvider, got an object',
    );
    expect(() => tracingMiddleware({ sampler: 1 } as unknown as object)).toThrow(
      'tracingMiddleware: unknown option "sampler"; known: tracerProvider, tracerName, route, ignore',
    );
  });
});

describe('fastifyTracing', () => {
  async function fastifyApp(): Promise<{ origin: string; activeIds: (string | undefined)[] }> {
    const app = Fastify();
    cleanup.push(() => app.close());
    const hooks = fastifyTracing();
    app.addHook('onRequest', hooks.onRequest);
    app.addHook('onError', hooks.onError);
    const activeIds: (string | undefined)[] = [];
    app.get('/apps/:id', async () => {
      await Promise.resolve();
      activeIds.push(trace.getActiveSpan()?.spanContext().spanId);
      return { ok: true };
    });
    app.get('/boom', () => {
      throw new Error('fastify exploded');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { origin: `http://127.0.0.1:${port}`, activeIds };
  }

  it("names the span after Fastify's route and makes it active in the handler", async () => {
    const { origin, activeIds } = await fastifyApp();
    const answer = await httpRequest(`${origin}/apps/42?x=1`, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    });
    expect(answer.status).toBe(200);
    const span = await oneSpan();
    expect(span.name).toBe('GET /apps/:id');
    expect(span.attributes).toMatchObject({
      'http.route': '/apps/:id',
      'http.status_code': 200,
      'url.path': '/apps/42',
    });
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(activeIds).toEqual([span.spanContext().spanId]);
  });

  it('records a thrown error through onError and marks the 500 ERROR', async () => {
    const { origin } = await fastifyApp();
    expect((await httpRequest(`${origin}/boom`)).status).toBe(500);
    const span = await oneSpan();
    expect(span.name).toBe('GET /boom');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'fastify exploded' });
    expect(span.events[0]?.attributes?.['exception.message']).toBe('fastify exploded');
  });

  it('keeps "METHOD path" for a request no route matched', async () => {
    const { origin } = await fastifyApp();
    expect((await httpRequest(`${origin}/nope`)).status).toBe(404);
    const span = await oneSpan();
    expect(span.name).toBe('GET /nope');
    expect(span.attributes['http.route']).toBeUndefined();
  });
});
