/**
 * One server span per HTTP request: Connect/Express middleware and a wrapper for a plain
 * `node:http` handler (the Fastify hooks are in fastify-tracing.ts), all sharing one lifecycle
 * (request-span.ts).
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
import { OptionChecks } from '../options';
import { begin, checkOptions, recordError, runIn, type TracingMiddlewareOptions } from './request-span';

/** The `next` of Connect/Express middleware. */
export type NextFunction = (err?: unknown) => void;

/** A Connect/Express middleware. */
export type TracingMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

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
export function tracingErrorHandler(): (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void {
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
  if (typeof handler !== 'function') new OptionChecks('traceHandler').reject('handler', 'a function', handler);
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
