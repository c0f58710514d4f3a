/**
 * One server span per HTTP request: Connect/Express middleware, a wrapper for a plain
 * `node:http` handler, and Fastify hooks, all sharing one lifecycle.
 *
 *     request in:   --r-------------------------   (inbound traceparent continued)
 *     span:           [GET /apps/:id·········]     (started at once, active in the handler)
 *     response:     ----------w--w--w--f--------   (writes pass through untouched, f = finish)
 *     span ended:   -----------------------e----   (route, status code; ERROR on 5xx)
 *     client gone:  ----------w--x--------------   (close before finish: ERROR, ended at x)
 *
 * The span is named "METHOD route" when the router knows the route pattern (Express's
 * `req.route`, read when the response finishes because Express sets it only after routing;
 * Fastify's `routeOptions.url` through {@link fastifyTracing}), else "METHOD path" with the
 * query string left out. It records `http.method`, `http.route`, `http.status_code` and their
 * current semantic-convention names `http.request.method`, `http.response.status_code`, plus
 * `url.path`. Status is ERROR on a 5xx answer, on an error thrown by the handler and when the
 * client goes away before the response finished; in every case the span is ended exactly once.
 *
 * Responses are never wrapped or buffered: the middleware only listens for `finish` and
 * `close`, so streaming responses stream as before, and WebSocket upgrades (the server's
 * `upgrade` event, which never reaches request handlers) are not touched. None of this throws
 * into the host: if the tracer, propagator or context manager fails, the request goes on
 * untraced.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { describe } from './describe';
import { messageOf } from './errors';

/** The instrumentation scope spans are created under, unless the options name another. */
export const DEFAULT_TRACER_NAME = 'blockyard-telemetry';

/** Options of {@link tracingMiddleware}, {@link traceHandler} and {@link fastifyTracing}. */
export interface TracingMiddlewareOptions {
  /**
   * Where spans come from. Default: the global provider, looked up per request, so a
   * middleware built before `initTracing()` (or kept across a re-init) uses the current one.
   */
  readonly tracerProvider?: TracerProvider;
  /** The tracer (instrumentation scope) name. Default {@link DEFAULT_TRACER_NAME}. */
  readonly tracerName?: string;
  /**
   * The route pattern of a request, asked when its response finishes (`undefined`: unknown,
   * the span keeps its "METHOD path" name). Default: the pattern Fastify's route matched
   * (through {@link fastifyTracing}), else Express's `req.baseUrl + req.route.path`.
   */
  readonly route?: (req: IncomingMessage) => string | undefined;
  /** Requests not to trace at all, such as health checks or `/metrics`. Default: none. */
  readonly ignore?: (req: IncomingMessage) => boolean;
}

/** The `next` of Connect/Express middleware. */
export type NextFunction = (err?: unknown) => void;

/** A Connect/Express middleware. */
export type TracingMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

/** The parts of a Fastify request the hooks read (structural, so fastify stays optional). */
export interface FastifyRequestLike {
  /** Node's request under Fastify's: the span is started and kept on it, as for `node:http`. */
  readonly raw: IncomingMessage;
  /** The matched route, whose pattern names the span. */
  readonly routeOptions?: {
    /** The route's pattern (`/apps/:name`); absent when Fastify matched no route. */
    readonly url?: string | undefined;
  };
}

/** The parts of a Fastify reply the hooks read. */
export interface FastifyReplyLike {
  /** Node's response under Fastify's: its `finish` and `close` end the span. */
  readonly raw: ServerResponse;
}

/** Fastify's `onRequest` and `onError` hooks, from {@link fastifyTracing}. */
export interface FastifyTracingHooks {
  /** Register as `onRequest`: starts the request's span and runs the rest of the request in it. */
  readonly onRequest: (request: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => void;
  /** Register as `onError`: records what a handler threw on the span and marks it ERROR. */
  readonly onError: (
    request: FastifyRequestLike,
    reply: FastifyReplyLike,
    error: Error,
    done: (err?: Error) => void,
  ) => void;
}

interface Settings {
  readonly tracerProvider: TracerProvider | undefined;
  readonly tracerName: string;
  readonly route: ((req: IncomingMessage) => string | undefined) | undefined;
  readonly ignore: ((req: IncomingMessage) => boolean) | undefined;
}

/** What a traced request carries: its span and whether the span was ended. */
interface RequestSpan {
  readonly span: Span;
  readonly context: Context;
  readonly method: string;
  ended: boolean;
  /** An error was recorded: its status (and message) stands, later causes do not replace it. */
  failed: boolean;
}

const SPAN = Symbol('blockyard.requestSpan');
const FASTIFY_ROUTE = Symbol('blockyard.fastifyRoute');

type Traced = IncomingMessage & { [SPAN]?: RequestSpan; [FASTIFY_ROUTE]?: string };

const OPTION_KEYS: ReadonlySet<string> = new Set(['tracerProvider', 'tracerName', 'route', 'ignore']);

function checkOptions(where: string, options: TracingMiddlewareOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`${where}: unknown option ${describe(key)}`);
  }
  const { tracerProvider, tracerName = DEFAULT_TRACER_NAME, route, ignore } = options;
  if (
    tracerProvider !== undefined &&
    (tracerProvider === null || typeof tracerProvider !== 'object' || typeof tracerProvider.getTracer !== 'function')
  ) {
    throw new TypeError(`${where}: options.tracerProvider must be a TracerProvider, got ${describe(tracerProvider)}`);
  }
  if (typeof tracerName !== 'string' || tracerName === '') {
    throw new TypeError(`${where}: options.tracerName must be a non-empty string, got ${describe(tracerName)}`);
  }
  for (const [name, value] of [['route', route], ['ignore', ignore]] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`${where}: options.${name} must be a function, got ${describe(value)}`);
    }
  }
  return { tracerProvider, tracerName, route, ignore };
}

/** The path of a request target, without query or fragment (absolute-form targets too). */
function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  let end = url.length;
  const q = url.indexOf('?');
  if (q !== -1) end = q;
  const h = url.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const target = url.slice(0, end);
  if (target.startsWith('/') || target === '*') return target;
  try {
    return new URL(target).pathname; // absolute-form, as sent to proxies
  } catch {
    return '/';
  }
}

/** Express's route pattern, once its router has matched one. */
function expressRoute(req: IncomingMessage): string | undefined {
  const { route, baseUrl } = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: unknown };
  if (route === undefined || route === null || typeof route.path !== 'string') return undefined;
  return (typeof baseUrl === 'string' ? baseUrl : '') + route.path;
}

function routeOf(req: Traced, settings: Settings): string | undefined {
  const route = settings.route !== undefined ? settings.route(req) : (req[FASTIFY_ROUTE] ?? expressRoute(req));
  return typeof route === 'string' && route !== '' ? route : undefined;
}

/**
 * Starts the span of `req` and arranges for it to end with the response. Returns the context
 * to run the handler in, or `undefined` to run it untraced (ignored, already traced, or
 * tracing failed). Never throws.
 */
function begin(req: Traced, res: ServerResponse, settings: Settings): Context | undefined {
  let started: Span | undefined;
  try {
    if (req[SPAN] !== undefined) return req[SPAN].context; // traced twice: one span is enough
    if (settings.ignore?.(req) === true) return undefined;
    const method = typeof req.method === 'string' ? req.method : 'GET';
    const path = pathOf(req.url);
    const parent = extractParent(req);
    const tracer = (settings.tracerProvider ?? trace.getTracerProvider()).getTracer(settings.tracerName);
    started = tracer.startSpan(
      `${method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.method': method, 'http.request.method': method, 'url.path': path },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, started);
    const state: RequestSpan = { span: started, context: ctx, method, ended: false, failed: false };
    res.once('finish', () => end(req, res, state, settings, false));
    res.once('close', () => end(req, res, state, settings, true));
    req[SPAN] = state;
    // Listeners added later (body parsers, the host's own `finish` handlers) run in the
    // request's context, not in whatever context emits the event.
    context.bind(ctx, req);
    context.bind(ctx, res);
    return ctx;
  } catch {
    if (started !== undefined && req[SPAN] === undefined) safeEnd(started);
    return undefined;
  }
}

/** The inbound trace context; a fresh trace when the propagator fails. */
function extractParent(req: IncomingMessage): Context {
  try {
    return propagation.extract(ROOT_CONTEXT, req.headers);
  } catch {
    return ROOT_CONTEXT;
  }
}

function safeEnd(span: Span): void {
  try {
    span.end();
  } catch {
    // A broken span must not break the request.
  }
}

/** Ends the span once: on `finish`, or on `close` before `finish` (the client went away). */
function end(req: Traced, res: ServerResponse, state: RequestSpan, settings: Settings, closed: boolean): void {
  if (state.ended) return;
  state.ended = true;
  const { span } = state;
  try {
    const route = routeOf(req, settings);
    if (route !== undefined) {
      span.setAttribute('http.route', route);
      span.updateName(`${state.method} ${route}`);
    }
    const aborted = closed && !res.writableFinished;
    if (!aborted || res.headersSent) {
      const code = res.statusCode;
      span.setAttribute('http.status_code', code);
      span.setAttribute('http.response.status_code', code);
      if (code >= 500 && !state.failed) {
        state.failed = true;
        span.setAttribute('error.type', String(code));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    if (aborted && !state.failed) {
      span.setAttribute('error.type', 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection before the response finished' });
    }
  } catch {
    // Attributes are best effort; ending the span is not.
  }
  safeEnd(span);
}

/**
 * Records `error` on the span of `req` (an exception event and status ERROR), if `req` is
 * being traced. Never throws.
 */
function recordError(req: IncomingMessage | null | undefined, error: unknown): void {
  try {
    // `req` is whatever a framework handed over; a missing one has no span to mark.
    const state = (req as Traced | null | undefined)?.[SPAN];
    if (state === undefined || state.ended) return;
    state.failed = true;
    state.span.recordException(error instanceof Error ? error : messageOf(error));
    state.span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
  } catch {
    // Best effort.
  }
}

/**
 * Runs `fn` in `ctx`. Errors thrown by `fn` itself are recorded on the span and rethrown
 * unchanged; a failure of the context manager runs `fn` untraced instead. Never throws
 * anything `fn` did not throw.
 */
function runIn<T>(ctx: Context | undefined, req: IncomingMessage, fn: () => T): T {
  if (ctx === undefined) return fn();
  let called = false;
  let thrown: { readonly error: unknown } | undefined;
  const run = (): T => {
    called = true;
    try {
      return fn();
    } catch (error) {
      thrown = { error };
      throw error;
    }
  };
  try {
    return context.with(ctx, run);
  } catch (error) {
    if (thrown !== undefined) {
      recordError(req, thrown.error);
      throw thrown.error;
    }
    if (!called) return fn();
    throw error; // unreachable with a working manager: fn ran and returned
  }
}

/**
 * Connect/Express middleware that traces every request (see the module doc). Mount it first,
 * so its span covers the whole request and is active in every later handler:
 *
 *     app.use(tracingMiddleware());
 *
 * Express hands errors thrown by route handlers to its error handlers, not back here; the
 * span is still ERROR when they answer 5xx, and {@link tracingErrorHandler} adds the exception.
 * Throws (at construction only) a `TypeError` naming a bad option.
 */
export function tracingMiddleware(options: TracingMiddlewareOptions = {}): TracingMiddleware {
  const settings = checkOptions('tracingMiddleware', options);
  return function blockyardTracing(req, res, next) {
    runIn(begin(req, res, settings), req, () => next());
  };
}

/**
 * Express error middleware recording a thrown error on the request's span (an exception event
 * and status ERROR) before passing it on unchanged. Mount it after your routes:
 *
 *     app.use(tracingErrorHandler());
 */
export function tracingErrorHandler(): (err: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  return function blockyardTracingErrors(err, req, _res, next) {
    recordError(req, err);
    next(err);
  };
}

/**
 * Wraps a plain `node:http` request handler so that every request is traced (see the module
 * doc); the handler runs with the request's span active.
 *
 *     http.createServer(traceHandler((req, res) => { res.end('ok'); }));
 *
 * The wrapper is transparent: it returns what the handler returns, and an error the handler
 * throws (or a promise it returns rejects with) is recorded on the span and rethrown unchanged,
 * so the host's own error handling sees exactly what it saw before. Throws (at construction
 * only) a `TypeError` naming a bad option or a handler that is not a function.
 */
export function traceHandler<Req extends IncomingMessage, Res extends ServerResponse, R>(
  handler: (this: unknown, req: Req, res: Res) => R,
  options: TracingMiddlewareOptions = {},
): (req: Req, res: Res) => R {
  if (typeof handler !== 'function') {
    throw new TypeError(`traceHandler: handler must be a function, got ${describe(handler)}`);
  }
  const settings = checkOptions('traceHandler', options);
  return function tracedHandler(this: unknown, req: Req, res: Res): R {
    const result = runIn(begin(req, res, settings), req, () => handler.call(this, req, res));
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        recordError(req, error);
        throw error;
      }) as R;
    }
    return result;
  };
}

/** The Node object under a Fastify request or reply, or `undefined` when there is none to read. */
function rawOf<Raw>(wrapper: { readonly raw: Raw } | null | undefined): Raw | undefined {
  try {
    return wrapper?.raw ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fastify hooks that trace every request, the span named after Fastify's matched route:
 *
 *     const hooks = fastifyTracing();
 *     app.addHook('onRequest', hooks.onRequest);
 *     app.addHook('onError', hooks.onError);   // optional: records thrown errors
 *
 * Throws (at construction only) a `TypeError` naming a bad option.
 */
export function fastifyTracing(options: TracingMiddlewareOptions = {}): FastifyTracingHooks {
  const settings = checkOptions('fastifyTracing', options);
  return {
    onRequest(request, reply, done) {
      const req = rawOf(request) as Traced | undefined;
      const res = rawOf(reply);
      if (req === undefined || res === undefined) {
        // Not a Fastify request: nothing to trace, and the request must still go on.
        done();
        return;
      }
      try {
        const url = request.routeOptions?.url;
        if (typeof url === 'string') req[FASTIFY_ROUTE] = url;
      } catch {
        // No route pattern: the span keeps its path name.
      }
      runIn(begin(req, res, settings), req, () => done());
    },
    onError(request, _reply, error, done) {
      recordError(rawOf(request), error);
      done();
    },
  };
}
