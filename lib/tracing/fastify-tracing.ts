/**
 * Fastify hooks that trace every request, the span named after Fastify's matched route. The
 * types are structural, so fastify stays an optional dependency.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { begin, fastifyRoutes, checkOptions, recordError, runIn, type TracingMiddlewareOptions } from './request-span';

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
      const req = rawOf(request);
      const res = rawOf(reply);
      if (req === undefined || res === undefined) {
        // Not a Fastify request: nothing to trace, and the request must still go on.
        done();
        return;
      }
      try {
        const url = request.routeOptions?.url;
        if (typeof url === 'string') fastifyRoutes.set(req, url);
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
