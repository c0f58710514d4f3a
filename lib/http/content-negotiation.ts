/**
 * Content negotiation: which text format a scrape gets (`Accept`), and whether it gets gzip
 * (`Accept-Encoding`), read as leniently as Go's promhttp reads them.
 *
 * @packageDocumentation
 */
import { Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';

/** A text format a scrape can get: Prometheus text 0.0.4, or OpenMetrics 1.0.0. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** The `Content-Type` answered with each format, as prom-client spells it. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, PrometheusContentType | OpenMetricsContentType>> =
  Object.freeze({
    prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
    openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
  });

/** One media range of an `Accept` or `Accept-Encoding` header. */
interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

function parseRanges(header: string | readonly string[] | undefined): MediaRange[] {
  const text = Array.isArray(header) ? header.join(',') : typeof header === 'string' ? header : '';
  const ranges: MediaRange[] = [];
  for (const part of text.slice(0, 4096).split(',')) {
    const [rawType = '', ...rawParams] = part.split(';');
    const type = rawType.trim().toLowerCase();
    if (type === '') continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const param of rawParams) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (key === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      } else {
        params.set(key, value);
      }
    }
    ranges.push({ type, params, q });
  }
  // Highest preference first; equal preferences keep the order the client wrote.
  return ranges
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || a.i - b.i)
    .map(({ r }) => r);
}

/**
 * The format a scraper asked for in its `Accept` header. OpenMetrics 1.0.0 when the most
 * preferred acceptable range is `application/openmetrics-text` (any version but 0.0.1, which
 * prom-client cannot write), else Prometheus text 0.0.4, which every scraper reads: like Go's
 * promhttp, a header naming nothing we serve still gets text rather than a 406.
 *
 * Prometheus itself sends `application/openmetrics-text;version=1.0.0,…;q=0.75,
 * text/plain;version=0.0.4;q=0.5,*∕*;q=0.1`, and so gets OpenMetrics.
 */
export function negotiateFormat(accept: string | readonly string[] | undefined): ExpositionFormat {
  for (const range of parseRanges(accept)) {
    if (range.q <= 0) continue;
    const version = range.params.get('version');
    if (range.type === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) {
      return 'openmetrics';
    }
    if (range.type === 'text/plain' && (version === undefined || version === '0.0.4')) return 'prometheus';
    if (range.type === '*/*' || range.type === 'text/*') return 'prometheus';
  }
  return 'prometheus';
}

/** Whether an `Accept-Encoding` header accepts gzip (explicitly, or through `*`). */
export function acceptsGzip(acceptEncoding: string | readonly string[] | undefined): boolean {
  let star = false;
  for (const range of parseRanges(acceptEncoding)) {
    if (range.type === 'gzip' || range.type === 'x-gzip') return range.q > 0;
    if (range.type === '*') star = range.q > 0;
  }
  return star;
}
