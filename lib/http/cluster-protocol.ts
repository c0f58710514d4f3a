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
/** A label name; those that begin with `__` are Prometheus's own (client_golang refuses them too). */
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_TYPES: ReadonlySet<unknown> = new Set(['counter', 'gauge', 'histogram', 'summary']);
/**
 * The aggregators prom-client's `AggregatorRegistry.aggregate()` knows: the keys of its
 * `aggregators` object. It looks a metric's aggregator up there by name, so another name
 * (`constructor`, `toString`) would find what every object inherits and call that.
 */
const AGGREGATORS: ReadonlySet<unknown> = new Set(['sum', 'first', 'min', 'max', 'average', 'omit']);
/**
 * Names a prom-client registry cannot hold: it keeps its metrics in a plain object, where
 * these already name what every object inherits (`__proto__`, `constructor`, `toString`, …).
 */
const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The sample names a metric of `type` named `name` may have (besides `name` itself, where allowed). */
function sampleSuffixes(type: unknown): readonly string[] {
  if (type === 'histogram') return ['_bucket', '_sum', '_count'];
  if (type === 'summary') return ['', '_sum', '_count'];
  return [''];
}

/**
 * Why `metrics`, a worker's answer read off the IPC channel, cannot be aggregated, or
 * `undefined` when it can; non-finite values spelled as strings are turned back into numbers
 * in place (the answer is ours: JSON made it). Our own workers always send valid answers, but
 * anything in a worker can write to the channel, and what passes here is rendered as it is: a
 * name with a newline would break the whole exposition for Prometheus, a sample named
 * `x_bucket` under a gauge `x` would make it invalid, and names prom-client's aggregation
 * looks up in plain objects (see {@link AGGREGATORS}, {@link INHERITED_NAMES}) would make it
 * throw a message that names no worker.
 */
export function malformedAnswer(metrics: unknown): string | undefined {
  if (!Array.isArray(metrics)) return `metrics is ${describeValue(metrics)}, not a list`;
  const metricNames = new Set<string>();
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
    const name = m.name;
    if (INHERITED_NAMES.has(name)) return `a metric name is ${describeValue(name)}, which a registry cannot hold`;
    if (metricNames.has(name)) return `${name} appears twice`;
    metricNames.add(name);
    if (typeof m.help !== 'string') return `${name}: help is ${describeValue(m.help)}`;
    if (!METRIC_TYPES.has(m.type)) return `${name}: type is ${describeValue(m.type)}`;
    if (!AGGREGATORS.has(m.aggregator)) {
      return `${name}: aggregator is ${describeValue(m.aggregator)}, not one of ${[...AGGREGATORS].join(', ')}`;
    }
    if (!Array.isArray(m.values)) return `${name}: values is ${describeValue(m.values)}, not a list`;
    const sampleNamesOfType = sampleSuffixes(m.type).map((suffix) => name + suffix);
    for (const value of m.values as unknown[]) {
      const v = value as Partial<Record<'value' | 'labels' | 'metricName', unknown>> | null;
      if (v === null || typeof v !== 'object') return `${name}: a value is ${describeValue(value)}`;
      if (typeof v.value === 'string' && NON_FINITE.has(v.value)) v.value = NON_FINITE.get(v.value);
      else if (typeof v.value !== 'number') return `${name}: a value is ${describeValue(v.value)}`;
      const sampleName = v.metricName ?? name;
      if (!isName(sampleName, METRIC_NAME, sampleNames)) {
        return `${name}: a sample name is ${describeValue(sampleName)}`;
      }
      if (!sampleNamesOfType.includes(sampleName as string)) {
        return `${name}: a sample of this ${m.type as string} is named ${describeValue(sampleName)}`;
      }
      if (v.labels === null || typeof v.labels !== 'object') return `${name}: labels are ${describeValue(v.labels)}`;
      for (const [label, labelValue] of Object.entries(v.labels)) {
        if (!isName(label, LABEL_NAME, labelNames)) return `${name}: a label name is ${describeValue(label)}`;
        if (typeof labelValue !== 'string' && typeof labelValue !== 'number') {
          return `${name}: label ${label} is ${describeValue(labelValue)}`;
        }
      }
    }
  }
  return undefined;
}

/** What one scrape gathered from one place: where (`worker 3`, `the primary's registry`), and what. @internal */
export interface Answer {
  readonly from: string;
  readonly metrics: MetricsJSON;
}

/**
 * Why `answers`, each valid on its own (see {@link malformedAnswer}), cannot be aggregated
 * together, or `undefined` when they can: a metric of one name must have one type and one
 * aggregator in all of them. prom-client's `aggregate()` takes both from the first answer that
 * has the metric and renders the others' samples under it, so a histogram's buckets would be
 * served under a gauge's `# TYPE` line. Names the first answer to disagree and the first it
 * disagrees with, in the order given.
 */
export function inconsistentAnswers(answers: readonly Answer[]): string | undefined {
  const first = new Map<string, { from: string; type: unknown; aggregator: string }>();
  for (const { from, metrics } of answers) {
    for (const metric of metrics) {
      const seen = first.get(metric.name);
      if (seen === undefined) {
        first.set(metric.name, { from, type: metric.type, aggregator: metric.aggregator });
      } else if (seen.type !== metric.type) {
        return `${metric.name}: a ${String(metric.type)} from ${from}, a ${String(seen.type)} from ${seen.from}`;
      } else if (seen.aggregator !== metric.aggregator) {
        return `${metric.name}: aggregator ${metric.aggregator} from ${from}, ${seen.aggregator} from ${seen.from}`;
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
