/**
 * How long one scrape may take: the handler's `timeoutMs`, shortened by the timeout the
 * scraper announces.
 *
 * Prometheus sends its `scrape_timeout` with every scrape as `X-Prometheus-Scrape-Timeout-Seconds`.
 * An exposition finished after Prometheus gave up is work for nothing (and, while it runs,
 * holds a slot of `maxInFlight`), so the scrape gives up first, a little before Prometheus does,
 * and answers 503 as any timeout does: the margin leaves time for the answer to travel.
 *
 * @packageDocumentation
 */
import { MAX_TIMER_MS } from '../options';

/** The header Prometheus announces its scrape timeout in (Node lowercases header names). */
export const SCRAPE_TIMEOUT_HEADER = 'x-prometheus-scrape-timeout-seconds';

/** The share of the scraper's timeout kept as a margin… */
const MARGIN_SHARE = 0.1;
/** …but never more than this many milliseconds (blackbox_exporter's own offset). */
const MAX_MARGIN_MS = 500;

/** One scrape's deadline, and whether the scraper's header set it. */
export interface ScrapeDeadline {
  /** Milliseconds the scrape may take; `Infinity` for no timeout. */
  readonly ms: number;
  /** The header's value when it shortened the deadline, for the 503's message. */
  readonly announced: string | undefined;
}

/**
 * The deadline of a scrape that sent `header` (the raw value of
 * {@link SCRAPE_TIMEOUT_HEADER}) to a handler whose timeout is `timeoutMs`: the smaller of
 * `timeoutMs` and the announced seconds less a margin (10 %, at most 500 ms; at least 1 ms is
 * left). A missing header, several, or a value that is not a positive decimal number of
 * seconds (`0`, `-1`, `10s`, `1e3`, `abc`) changes nothing.
 * @internal
 */
export function scrapeDeadline(header: unknown, timeoutMs: number): ScrapeDeadline {
  const text = typeof header === 'string' ? header.trim() : '';
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text)) return { ms: timeoutMs, announced: undefined };
  const announcedMs = Number(text) * 1000;
  if (!(announcedMs > 0) || !Number.isFinite(announcedMs)) return { ms: timeoutMs, announced: undefined };
  const ms = Math.max(1, Math.round(announcedMs - Math.min(announcedMs * MARGIN_SHARE, MAX_MARGIN_MS)));
  if (ms >= timeoutMs || ms > MAX_TIMER_MS) return { ms: timeoutMs, announced: undefined };
  return { ms, announced: text };
}
