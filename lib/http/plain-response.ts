/**
 * Plain-text answers (errors, the health check, 404s) and the one way every answer of the
 * metrics listener is written.
 *
 * @packageDocumentation
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { clip, messageOf } from '../describe-value';

/**
 * One line, at most 200 characters, of what was thrown: enough to find the cause, too little to
 * dump state. Never throws, whatever was thrown (see `messageOf`).
 * @internal
 */
export function shortMessage(thrown: unknown): string {
  return clip(
    messageOf(thrown)
      .replace(/[\r\n\u2028\u2029]+/g, ' ')
      .trim(),
    200,
  );
}

const PLAIN_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/plain; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * A plain-text answer's body and headers (`text/plain`, `nosniff`, its length, then `extra`):
 * every answer of the metrics listener but the exposition itself.
 * @internal
 */
export function plainText(
  text: string,
  extra: OutgoingHttpHeaders = {},
): { headers: OutgoingHttpHeaders; body: Buffer } {
  const body = Buffer.from(text, 'utf8');
  return { headers: { ...PLAIN_HEADERS, 'Content-Length': body.length, ...extra }, body };
}

/**
 * Writes a whole response and returns true, or returns false without touching `res` when the
 * client is gone or something already answered. May throw when the socket fails as it is
 * written: the caller decides how to report that.
 * @internal
 */
export function writeResponse(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  head: boolean,
): boolean {
  if (res.headersSent || res.writableEnded || res.destroyed) return false;
  // setHeader, not writeHead(status, headers): headers set that way stay readable with
  // getHeader() by the host's own middleware (access logs, tracing).
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(status);
  if (head) res.end();
  else res.end(body);
  return true;
}
