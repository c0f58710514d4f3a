/**
 * The lifecycle of one request's server span, shared by the Express / Connect middleware, the
 * `node:http` wrapper and the Fastify hooks: started when the request arrives (a child of the
 * inbound `traceparent`), active in the handler, named after the route and ended exactly once
 * when the response finishes or the client goes away. Nothing here throws into the host.
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
import { messageOf } from '../describe-value';
import { OptionChecks } from '../options';

/** The instrumentation scope spans are created under, unless the options name another. */
const DEFAULT_TRACER_NAME = 'blockyard-telemetry';

/** Options of {@link tracingMiddleware}, {@link traceHandler} and {@link fastifyTracing}. */
export interface TracingMiddlewareOptions {
  /**
   * Where spans come from. Default: the global provider, looked up per request, so a
   * middleware built before `initTracing()` (or kept across a re-init) uses the current one.
   */
  readonly tracerProvider?: TracerProvider;
  /** The tracer (instrumentation scope) name. Default `"blockyard-telemetry"`. */
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

/** The options after their check, defaults applied. @internal */
export interface Settings {
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

/**
 * The span of each request being traced. Kept beside the request rather than on it, so no
 * property of the host's objects is touched; gone with the request.
 */
const spans = new WeakMap<IncomingMessage, RequestSpan>();

/**
 * The route pattern Fastify matched for a request, left by the Fastify hooks for the span's
 * name.
 * @internal
 */
export const fastifyRoutes = new WeakMap<IncomingMessage, string>();

const OPTION_NAMES: readonly (keyof TracingMiddlewareOptions)[] = ['tracerProvider', 'tracerName', 'route', 'ignore'];

/** Checks the options of `where` (a tracing entry point) once, at construction. @internal */
export function checkOptions(where: string, options: TracingMiddlewareOptions): Settings {
  const check = new OptionChecks(where);
  check.object(options, OPTION_NAMES);
  const tracerProvider = check.implementing('tracerProvider', options.tracerProvider, 'getTracer', 'a TracerProvider');
  const tracerName = options.tracerName ?? DEFAULT_TRACER_NAME;
  if (typeof tracerName !== 'string' || tracerName === '') check.reject('tracerName', 'a non-empty string', tracerName);
  return {
    tracerProvider,
    tracerName,
    route: check.func('route', options.route),
    ignore: check.func('ignore', options.ignore),
  };
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
  const { route, baseUrl } = req as IncomingMessage & { route?: { path?: unknown } | null; baseUrl?: unknown };
  if (route === undefined || route === null || typeof route.path !== 'string') return undefined;
  return (typeof baseUrl === 'string' ? baseUrl : '') + route.path;
}

function routeOf(req: IncomingMessage, settings: Settings): string | undefined {
  const route = settings.route !== undefined ? settings.route(req) : (fastifyRoutes.get(req) ?? expressRoute(req));
  return typeof route === 'string' && route !== '' ? route : undefined;
}

/**
 * Starts the span of `req` and arranges for it to end with the response. Returns the context
 * to run the handler in, or `undefined` to run it untraced (ignored, already traced, or
 * tracing failed). Never throws.
 * @internal
 */
export function begin(req: IncomingMessage, res: ServerResponse, settings: Settings): Context | undefined {
  let started: Span | undefined;
  try {
    const tracing = spans.get(req);
    if (tracing !== undefined) return tracing.context; // traced twice: one span is enough
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
    spans.set(req, state);
    // Listeners added later (body parsers, the host's own `finish` handlers) run in the
    // request's context, not in whatever context emits the event.
    context.bind(ctx, req);
    context.bind(ctx, res);
    return ctx;
  } catch {
    if (started !== undefined && !spans.has(req)) safeEnd(started);
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
function end(req: IncomingMessage, res: ServerResponse, state: RequestSpan, settings: Settings, closed: boolean): void {
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
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: 'the client closed the connection before the response finished',
      });
    }
  } catch {
    // Attributes are best effort; ending the span is not.
  }
  safeEnd(span);
}

/**
 * Records `error` on the span of `req` (an exception event and status ERROR), if `req` is
 * being traced. Never throws.
 * @internal
 */
export function recordError(req: IncomingMessage | null | undefined, error: unknown): void {
  try {
    // `req` is whatever a framework handed over; a missing one has no span to mark.
    const state = req === null || req === undefined ? undefined : spans.get(req);
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
 * @internal
 */
export function runIn<T>(ctx: Context | undefined, req: IncomingMessage, fn: () => T): T {
  if (ctx === undefined) return fn();
  // Set inside `run`, which the context manager calls: `as boolean` keeps TypeScript from
  // narrowing it to `false` here.
  let called = false as boolean;
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
