/**
 * Reading exemplars out of an OpenMetrics exposition, as Prometheus does when it scrapes with
 * exemplar storage on: `name_bucket{le="0.25"} 3 # {trace_id="…",span_id="…"} 0.2 1700000000.1`.
 */
import { Registry, type OpenMetricsContentType } from 'prom-client';

/** One exemplar of a histogram bucket. */
export interface ScrapedExemplar {
  /** The bucket's `le`. */
  readonly le: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp: number;
}

/** A fresh registry that renders OpenMetrics (where prom-client keeps exemplars). */
export function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** Every exemplar on the buckets of histogram `name` in `exposition`. */
export function exemplarsOf(exposition: string, name: string): ScrapedExemplar[] {
  const found: ScrapedExemplar[] = [];
  const line = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} \\S+ # \\{([^}]*)\\} (\\S+) (\\S+)$`);
  for (const text of exposition.split('\n')) {
    const m = line.exec(text);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[2] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    found.push({ le: m[1] as string, labels, value: Number(m[3]), timestamp: Number(m[4]) });
  }
  return found;
}
