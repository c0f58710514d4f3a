/**
 * collectAndCompare (client_golang's testutil.CollectAndCompare): a registry's exposition
 * against an expected text in either format, order and layout aside, with a readable diff.
 */
import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { collectAndCompare } from '../../lib/testing';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';

/** A small registry: a labelled counter, a gauge and a histogram, holding values. */
function smallRegistry(registry = new Registry<RegistryContentType>()): Registry<RegistryContentType> {
  const requests = new Counter({
    name: 'test_requests_total',
    help: 'Requests handled.',
    labelNames: ['code', 'method'],
    registers: [registry],
  });
  requests.labels('200', 'get').inc(3);
  requests.labels('500', 'post').inc(1);
  new Gauge({ name: 'test_queue', help: 'Queued jobs.', registers: [registry] }).set(7);
  const latency = new Histogram({
    name: 'test_latency_seconds',
    help: 'Latency.',
    buckets: [0.1, 1],
    registers: [registry],
  });
  latency.observe(0.05);
  latency.observe(0.5);
  return registry;
}

describe('collectAndCompare', () => {
  it('resolves for the same exposition written in another order, indented, labels reordered', async () => {
    await expect(
      collectAndCompare(
        smallRegistry(),
        `
        # HELP test_queue Queued jobs.
        # TYPE test_queue gauge
        test_queue 7

        # HELP test_requests_total Requests handled.
        # TYPE test_requests_total counter
        test_requests_total{method="post",code="500"} 1
        test_requests_total{code="200",method="get"} 3.0

        # HELP test_latency_seconds Latency.
        # TYPE test_latency_seconds histogram
        test_latency_seconds_count 2
        test_latency_seconds_bucket{le="+Inf"} 2
        test_latency_seconds_bucket{le="1"} 2
        test_latency_seconds_bucket{le="0.1"} 1
        test_latency_seconds_sum 0.55
        `,
      ),
    ).resolves.toBeUndefined();
  });

  it.each([
    ['a plain registry', () => new Registry()],
    ['an OpenMetrics registry', openMetricsRegistry],
  ])('compares an expected text with # EOF to the OpenMetrics exposition of %s', async (_what, make) => {
    const registry = smallRegistry(make());
    const expected = `
      # HELP test_requests Requests handled.
      # TYPE test_requests counter
      test_requests_total{code="200",method="get"} 3
      test_requests_total{code="500",method="post"} 1
      # EOF
    `;
    await expect(collectAndCompare(registry, expected, ['test_requests_total'])).resolves.toBeUndefined();
    // And the registry still renders its own format as before: nothing was renamed.
    await expect(
      collectAndCompare(
        registry,
        `# HELP test_queue Queued jobs.
         # TYPE test_queue gauge
         test_queue 7`,
        ['test_queue'],
      ),
    ).resolves.toBeUndefined();
  });

  it('rejects a different value with a diff: - expected, + got, the family around it', async () => {
    const expected = `
      # HELP test_requests_total Requests handled.
      # TYPE test_requests_total counter
      test_requests_total{code="200",method="get"} 4
      test_requests_total{code="500",method="post"} 1
    `;
    await expect(collectAndCompare(smallRegistry(), expected, ['test_requests_total'])).rejects.toThrow(
      new Error(
        [
          'collectAndCompare: the exposition differs from the expected text (Prometheus text 0.0.4; families and series sorted; - expected, + got):',
          '  # HELP test_requests_total Requests handled.',
          '  # TYPE test_requests_total counter',
          '- test_requests_total{code="200",method="get"} 4',
          '+ test_requests_total{code="200",method="get"} 3',
          '  test_requests_total{code="500",method="post"} 1',
        ].join('\n'),
      ),
    );
  });

  it('counts HELP and TYPE lines: another help text or type is a difference', async () => {
    const rejection = (text: string) => collectAndCompare(smallRegistry(), text, ['test_queue']);
    await expect(rejection('# HELP test_queue Jobs.\n# TYPE test_queue gauge\ntest_queue 7')).rejects.toThrow(
      '- # HELP test_queue Jobs.\n+ # HELP test_queue Queued jobs.',
    );
    await expect(rejection('# HELP test_queue Queued jobs.\n# TYPE test_queue counter\ntest_queue 7')).rejects.toThrow(
      '- # TYPE test_queue counter\n+ # TYPE test_queue gauge',
    );
    await expect(rejection('test_queue 7')).rejects.toThrow(
      '+ # HELP test_queue Queued jobs.\n+ # TYPE test_queue gauge\n  test_queue 7',
    );
  });

  it('shows a family the registry has and the text lacks, and one the text has and the registry lacks', async () => {
    const expected = `
      # HELP test_queue Queued jobs.
      # TYPE test_queue gauge
      test_queue 7
      # HELP test_missing Not there.
      # TYPE test_missing gauge
      test_missing 1
    `;
    const failure = collectAndCompare(smallRegistry(), expected, [
      'test_queue',
      'test_missing',
      'test_latency_seconds',
    ]);
    await expect(failure).rejects.toThrow(
      '- # HELP test_missing Not there.\n- # TYPE test_missing gauge\n- test_missing 1',
    );
    await expect(failure).rejects.toThrow('+ # HELP test_latency_seconds Latency.');
    await expect(failure).rejects.toThrow('\nno collector is registered as: test_missing');
  });

  it('takes every family when names is omitted: a family the text forgot is a difference', async () => {
    await expect(
      collectAndCompare(smallRegistry(), '# HELP test_queue Queued jobs.\n# TYPE test_queue gauge\ntest_queue 7\n'),
    ).rejects.toThrow('+ # HELP test_latency_seconds Latency.');
  });

  it('leaves exemplars out: their timestamps change on every run', async () => {
    const registry = openMetricsRegistry();
    const counter = new Counter({
      name: 'test_traced_total',
      help: 'Traced.',
      registers: [registry],
      enableExemplars: true,
    });
    counter.inc({ value: 2, exemplarLabels: { trace_id: 'abc' } } as never);
    const expected = '# HELP test_traced Traced.\n# TYPE test_traced counter\ntest_traced_total 2\n# EOF\n';
    await expect(collectAndCompare(registry, expected)).resolves.toBeUndefined();
  });

  it('rejects an expected text it cannot read, quoting the line', async () => {
    await expect(collectAndCompare(smallRegistry(), 'test_queue{oops 7')).rejects.toThrow(
      new Error('collectAndCompare: the expected text: cannot read the sample line "test_queue{oops 7"'),
    );
  });

  it('rejects bad arguments with a TypeError', async () => {
    await expect(collectAndCompare(new Registry(), 42 as unknown as string)).rejects.toThrow(
      new TypeError('collectAndCompare: expected must be a string, got number 42'),
    );
    await expect(collectAndCompare(new Registry(), '', 'test_queue' as unknown as string[])).rejects.toThrow(
      new TypeError('collectAndCompare: names must be an array of family names, got "test_queue"'),
    );
  });
});
