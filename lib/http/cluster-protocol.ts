/**
 * The messages between a cluster's primary and its workers, and the check of what a worker
 * answers.
 *
 * The messages are our own (`blockyard-telemetry:…`), not prom-client's: prom-client's
 * primary-side listener throws on answers to requests it did not send, so sharing its message
 * types could crash an app that also uses `AggregatorRegistry#clusterMetrics()`.
 *
 * @packageDocumentation
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { describeValue } from '../describe-value';

/** The primary's request for a worker's metrics. @internal */
export const REQUEST = 'blockyard-telemetry:metrics-request';
/** A worker's answer. @internal */
export const RESPONSE = 'blockyard-telemetry:metrics-response';

/** A registry's metrics as JSON, as `getMetricsAsJSON()` gives them. @internal */
export type MetricsJSON = MetricObjectWithValues<MetricValue<string>>[];

/** @internal */
export interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}

/** @internal */
export interface MetricsResponse {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly metrics?: unknown;
  readonly error?: unknown;
}

/**
 * JSON, which the IPC channel speaks, has no infinities and no NaN (`JSON.stringify(Infinity)`
 * is `null`, read back as 0): a worker sends those values as these strings and the primary
 * reads them back as numbers.
 */
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ['+Inf', Infinity],
  ['-Inf', -Infinity],
  ['NaN', Number.NaN],
]);

/** `metrics` with every non-finite value spelled as a {@link NON_FINITE} string; copies only what changes. */
/** @internal */
export function encodeNonFinite(metrics: MetricsJSON): MetricsJSON {
  return metrics.map((metric) => {
    if (metric.values.every((v) => Number.isFinite(v.value))) return metric;
    const values = metric.values.map((v) => {
      if (Number.isFinite(v.value)) return v;
      const spelled = Number.isNaN(v.value) ? 'NaN' : v.value > 0 ? '+Inf' : '-Inf';
      return { ...v, value: spelled as unknown as number };
    });
    return { ...metric, values };
  });
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_TYPES: ReadonlySet<unknown> = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Why `metrics`, a worker's answer read off the IPC channel, cannot be aggregated, or
 * `undefined` when it can; non-finite values spelled as strings are turned back into numbers
 * in place (the answer is ours: JSON made it). Our own workers always send valid answers, but
 * anything in a worker can write to the channel, and what passes here is rendered as it is: a
 * name with a newline would break the whole exposition for Prometheus.
 */
export function malformedAnswer(metrics: unknown): string | undefined {
  if (!Array.isArray(metrics)) return `metrics is ${describeValue(metrics)}, not a list`;
  // A few label and sample names recur on thousands of values: each is matched once.
  const sampleNames = new Set<string>();
  const labelNames = new Set<string>();
  const isName = (name: unknown, pattern: RegExp, valid: Set<string>): boolean => {
    if (typeof name !== 'string') return false;
    if (valid.has(name)) return true;
    if (!pattern.test(name)) return false;
    valid.add(name);
    return true;
  };
  for (const metric of metrics as unknown[]) {
    const m = metric as Partial<Record<'name' | 'help' | 'type' | 'aggregator' | 'values', unknown>> | null;
    if (m === null || typeof m !== 'object') return `a metric is ${describeValue(metric)}`;
    if (typeof m.name !== 'string' || !METRIC_NAME.test(m.name)) return `a metric name is ${describeValue(m.name)}`;
    if (typeof m.help !== 'string') return `${m.name}: help is ${describeValue(m.help)}`;
    if (!METRIC_TYPES.has(m.type)) return `${m.name}: type is ${describeValue(m.type)}`;
    if (m.aggregator !== undefined && typeof m.aggregator !== 'string')
      return `${m.name}: aggregator is ${describeValue(m.aggregator)}`;
    if (!Array.isArray(m.values)) return `${m.name}: values is ${describeValue(m.values)}, not a list`;
    for (const value of m.values as unknown[]) {
      const v = value as Partial<Record<'value' | 'labels' | 'metricName', unknown>> | null;
      if (v === null || typeof v !== 'object') return `${m.name}: a value is ${describeValue(value)}`;
      if (typeof v.value === 'string' && NON_FINITE.has(v.value)) v.value = NON_FINITE.get(v.value);
      else if (typeof v.value !== 'number') return `${m.name}: a value is ${describeValue(v.value)}`;
      if (v.metricName !== undefined && !isName(v.metricName, METRIC_NAME, sampleNames)) {
        return `${m.name}: a sample name is ${describeValue(v.metricName)}`;
      }
      if (v.labels !== undefined) {
        if (v.labels === null || typeof v.labels !== 'object')
          return `${m.name}: labels are ${describeValue(v.labels)}`;
        for (const [label, labelValue] of Object.entries(v.labels)) {
          if (!isName(label, LABEL_NAME, labelNames)) return `${m.name}: a label name is ${describeValue(label)}`;
          if (typeof labelValue !== 'string' && typeof labelValue !== 'number') {
            return `${m.name}: label ${label} is ${describeValue(labelValue)}`;
          }
        }
      }
    }
  }
  return undefined;
}

/** Whether `message` is one of ours, of `type`. @internal */
export function isMessage<T extends { type: string; id: number }>(message: unknown, type: T['type']): message is T {
  const m = message as Partial<T> | null;
  return m !== null && typeof m === 'object' && m.type === type && typeof m.id === 'number';
}
