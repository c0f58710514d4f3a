/**
 * The check of what a cluster worker answers (malformedAnswer) and of answers taken together
 * (inconsistentAnswers): everything prom-client's AggregatorRegistry.aggregate() would choke
 * on, or would render into an invalid exposition, is named; what prom-client's own registries
 * send passes.
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import {
  encodeNonFinite,
  inconsistentAnswers,
  malformedAnswer,
  type MetricsJSON,
} from '../../lib/http/cluster-protocol';

/** A gauge `test_m` as prom-client sends it, with `overrides`. */
function gauge(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'test_m',
    help: 'h',
    type: 'gauge',
    aggregator: 'sum',
    values: [{ value: 1, labels: {} }],
    ...overrides,
  };
}

/** A value of `test_m` with `overrides`. */
function withValue(overrides: Record<string, unknown>): Record<string, unknown> {
  return gauge({ values: [{ value: 1, labels: {}, ...overrides }] });
}

describe('malformedAnswer', () => {
  it('passes what prom-client sends for every metric type, non-finite values included, restoring those', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_c_total', help: 'c', labelNames: ['app'], registers: [registry] }).inc({ app: 'x' });
    new Gauge({ name: 'test_g', help: 'g', registers: [registry] }).set(-Infinity);
    new Histogram({ name: 'test_h', help: 'h', buckets: [1], registers: [registry] }).observe(0.5);
    new Summary({ name: 'test_s', help: 's', percentiles: [0.5], registers: [registry] }).observe(2);
    const sent = JSON.parse(JSON.stringify(encodeNonFinite(await registry.getMetricsAsJSON()))) as MetricsJSON;
    expect(malformedAnswer(sent)).toBeUndefined();
    expect(sent.find((m) => m.name === 'test_g')?.values[0]?.value).toBe(-Infinity);
  });

  it.each<[string, unknown, string]>([
    ['not a list', { metrics: [] }, 'metrics is an object, not a list'],
    ['a metric that is not an object', [7], 'a metric is number 7'],
    ['a name with a newline', [gauge({ name: 'a\nb' })], 'a metric name is "a\\nb"'],
    ['a name that is not a string', [gauge({ name: 5 })], 'a metric name is number 5'],
    ['__proto__', [gauge({ name: '__proto__' })], 'a metric name is "__proto__", which a registry cannot hold'],
    ['constructor', [gauge({ name: 'constructor' })], 'a metric name is "constructor", which a registry cannot hold'],
    ['a name twice', [gauge(), gauge()], 'test_m appears twice'],
    ['help not a string', [gauge({ help: null })], 'test_m: help is null'],
    ['an unknown type', [gauge({ type: 'untyped' })], 'test_m: type is "untyped"'],
    [
      'aggregator constructor',
      [gauge({ aggregator: 'constructor' })],
      'test_m: aggregator is "constructor", not one of sum, first, min, max, average, omit',
    ],
    [
      'no aggregator',
      [gauge({ aggregator: undefined })],
      'test_m: aggregator is undefined, not one of sum, first, min, max, average, omit',
    ],
    ['values not a list', [gauge({ values: {} })], 'test_m: values is an object, not a list'],
    ['a value that is not an object', [gauge({ values: [null] })], 'test_m: a value is null'],
    ['a value that is not a number', [withValue({ value: '3' })], 'test_m: a value is "3"'],
    ['a sample name with a space', [withValue({ metricName: 'test m' })], 'test_m: a sample name is "test m"'],
    [
      'a bucket under a gauge',
      [withValue({ metricName: 'test_m_bucket' })],
      'test_m: a sample of this gauge is named "test_m_bucket"',
    ],
    [
      'a histogram sample without its suffix',
      [gauge({ type: 'histogram' })],
      'test_m: a sample of this histogram is named "test_m"',
    ],
    ['no labels', [withValue({ labels: undefined })], 'test_m: labels are undefined'],
    ['labels that are null', [withValue({ labels: null })], 'test_m: labels are null'],
    ['a label name with a dash', [withValue({ labels: { 'a-b': 'x' } })], 'test_m: a label name is "a-b"'],
    [
      'a label named __proto__',
      [withValue({ labels: JSON.parse('{"__proto__": "x"}') as unknown })],
      'test_m: a label name is "__proto__"',
    ],
    ['a label value that is an object', [withValue({ labels: { app: {} } })], 'test_m: label app is an object'],
  ])('names %s', (_what, answer, problem) => {
    expect(malformedAnswer(answer)).toBe(problem);
  });
});

describe('inconsistentAnswers', () => {
  const metric = (type: string, aggregator = 'sum'): MetricsJSON =>
    [{ name: 'test_m', help: 'h', type, aggregator, values: [] }] as unknown as MetricsJSON;

  it('names the answer whose type differs from the first answer with the metric, and that one', () => {
    expect(
      inconsistentAnswers([
        { from: 'worker 1', metrics: [] },
        { from: 'worker 2', metrics: metric('gauge') },
        { from: 'worker 3', metrics: metric('gauge') },
        { from: 'worker 4', metrics: metric('histogram') },
      ]),
    ).toBe('test_m: a histogram from worker 4, a gauge from worker 2');
  });

  it('names an aggregator that differs', () => {
    expect(
      inconsistentAnswers([
        { from: 'worker 1', metrics: metric('gauge', 'max') },
        { from: "the primary's registry", metrics: metric('gauge', 'sum') },
      ]),
    ).toBe("test_m: aggregator sum from the primary's registry, max from worker 1");
  });

  it('passes answers that agree', () => {
    expect(
      inconsistentAnswers([
        { from: 'worker 1', metrics: metric('counter') },
        { from: 'worker 2', metrics: metric('counter') },
      ]),
    ).toBeUndefined();
  });
});
