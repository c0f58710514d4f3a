/**
 * Where spans go: the endpoint rules of the Go server's `InitTracing`, decided once.
 *
 * The Go server hands its endpoint string to otlptracegrpc, so operators write `host:port`
 * and get OTLP/gRPC, in plaintext on their own machine and over TLS everywhere else. This port
 * keeps those strings meaning the same thing and adds the one form Go lacks, a URL with a path
 * for OTLP/HTTP:
 *
 * | endpoint                             | protocol  | transport | sent to                        |
 * |--------------------------------------|-----------|-----------|--------------------------------|
 * | `localhost:4317`, `127.0.0.1:4317`   | OTLP/gRPC | plaintext | that host and port             |
 * | `collector:4317` (any other host)    | OTLP/gRPC | TLS       | that host and port             |
 * | `http://collector:4317` (no path)    | OTLP/gRPC | plaintext | that host and port             |
 * | `https://collector:4317` (no path)   | OTLP/gRPC | TLS       | that host and port             |
 * | `http://collector:4318/v1/traces`    | OTLP/HTTP | plaintext | exactly that URL               |
 * | `https://collector/v1/traces`        | OTLP/HTTP | TLS       | exactly that URL               |
 *
 * A URL without a path (`/` counts as none) is gRPC because that is what such a URL means to
 * Go's `WithEndpointURL`: the scheme only picks plaintext or TLS. Its port defaults to the
 * scheme's (80, 443). Anything else is rejected, with the endpoint quoted.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';
import { describeValue } from '../describe-value';

/** How and where to export spans, as {@link parseOtlpEndpoint} decided from an endpoint. */
export type OtlpEndpoint =
  | {
      /** OTLP over gRPC (the Go server's only protocol). */
      readonly protocol: 'grpc';
      /**
       * `http://host:port` (plaintext) or `https://host:port` (TLS): the form the
       * OpenTelemetry gRPC exporter reads its credentials from.
       */
      readonly url: string;
      /** True for plaintext, false for TLS. */
      readonly insecure: boolean;
    }
  | {
      /** OTLP over HTTP, protobuf or JSON as the exporter chooses, POSTed to `url`. */
      readonly protocol: 'http';
      /** The URL spans are POSTed to, exactly as given (normalized by WHATWG URL rules). */
      readonly url: string;
      /** True for `http:`, false for `https:`. */
      readonly insecure: boolean;
    };

/** A host name (RFC 1123 labels, plus `_` as some resolvers allow) or an IPv4 address. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const BARE = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Quotes the endpoint in full up to 256 characters (`describeValue()` stops at 64: too short for URLs). */
function invalid(endpoint: string, why: string): Error {
  const quoted = JSON.stringify(endpoint.length > 256 ? `${endpoint.slice(0, 256)}…` : endpoint);
  return new Error(`initTracing: invalid endpoint ${quoted}: ${why}`);
}

function isHost(host: string): boolean {
  if (host.startsWith('[')) return host.endsWith(']') && isIPv6(host.slice(1, -1));
  return isIPv4(host) || HOST_NAME.test(host);
}

function validPort(port: string): boolean {
  const n = Number(port);
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** The endpoint with any password replaced, so an error message never prints a secret. */
function redact(endpoint: string): string {
  return endpoint.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/, '$1:***@');
}

/**
 * Decides how spans are exported to `endpoint` (see the table above), or throws an `Error`
 * whose message quotes the endpoint and says what is wrong with it. Exported so that a host
 * can validate its configuration at start-up, before any span exists.
 *
 * `localhost…` and `127.0.0.1…` are prefixes, as in the Go server: `localhost.localdomain:4317`
 * is plaintext too. Other loopback spellings (`[::1]:4317`) are TLS unless written as an
 * `http://` URL.
 */
export function parseOtlpEndpoint(endpoint: string): OtlpEndpoint {
  if (typeof endpoint !== 'string') {
    throw new TypeError(`initTracing: endpoint must be a string, got ${describeValue(endpoint)}`);
  }
  if (endpoint === '') throw invalid(endpoint, 'it is empty (pass "" to initTracing to disable export)');
  if (/[\s\p{Cc}]/u.test(endpoint)) throw invalid(endpoint, 'it contains white space or control characters');

  if (SCHEME.test(endpoint)) {
    const shown = redact(endpoint);
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw invalid(shown, 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalid(shown, `the scheme must be http or https, not ${url.protocol.slice(0, -1)}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw invalid(shown, 'credentials in the URL are not supported (set OTEL_EXPORTER_OTLP_HEADERS instead)');
    }
    if (url.hostname === '' || !isHost(url.hostname)) throw invalid(shown, 'no valid host');
    const insecure = url.protocol === 'http:';
    if (url.pathname === '/' || url.pathname === '') {
      if (url.search !== '' || url.hash !== '') {
        throw invalid(shown, 'a gRPC endpoint (a URL without a path) takes no query or fragment');
      }
      const port = url.port === '' ? (insecure ? '80' : '443') : url.port;
      return { protocol: 'grpc', url: `${url.protocol}//${url.hostname}:${port}`, insecure };
    }
    if (url.hash !== '') throw invalid(shown, 'an OTLP/HTTP URL takes no fragment');
    return { protocol: 'http', url: url.href, insecure };
  }

  const bare = BARE.exec(endpoint);
  if (bare === null) {
    throw invalid(endpoint, 'expected host:port (OTLP/gRPC) or an http(s):// URL (with a path for OTLP/HTTP)');
  }
  const host = bare[1] as string;
  const port = bare[2] as string;
  if (!isHost(host)) throw invalid(endpoint, `${describeValue(host)} is not a host name or IP address`);
  if (!validPort(port)) throw invalid(endpoint, `port ${port} is outside 1…65535`);
  const insecure = endpoint.startsWith('localhost') || endpoint.startsWith('127.0.0.1');
  return { protocol: 'grpc', url: `${insecure ? 'http' : 'https'}://${host}:${Number(port)}`, insecure };
}
