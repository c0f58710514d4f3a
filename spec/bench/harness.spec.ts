/**
 * The benchmark's own machinery: what decides a reported ratio must be right even though the
 * ratios themselves are measured, not asserted (see README "Performance").
 */
import { compare, median, mergeRuns, type ComparisonResult } from '../../bench/harness';
import { parseWrk } from '../../bench/scrape';

describe('bench harness: compare', () => {
  it('gives both sides the same number of calls, in blocks ordered ours, floor, floor, ours, …', async () => {
    const log: string[] = [];
    const result = await compare(
      {
        name: 'order',
        unit: 'call',
        unitsPerCall: 1,
        callsPerRound: 32,
        ours: () => void log.push('o'),
        floor: () => void log.push('f'),
      },
      2,
    );
    // Warm-up: half a round of each side, ours first.
    const warmUp = log.splice(0, 32);
    expect(warmUp.join('')).toBe('o'.repeat(16) + 'f'.repeat(16));
    // Then each round: 16 blocks of 2 calls a side, in the order ABBA ABBA …
    expect(log.filter((s) => s === 'o')).toHaveLength(64);
    expect(log.filter((s) => s === 'f')).toHaveLength(64);
    // Each block of 4 runs ours then the floor, the floor then ours, the floor then ours, ours
    // then the floor: per side 2 calls a block, 4 such cycles a round, 2 rounds.
    const cycle = ['o', 'f', 'f', 'o', 'f', 'o', 'o', 'f'].map((side) => side.repeat(2)).join('');
    const expected = cycle.repeat(4 * 2);
    expect(log.join('')).toBe(expected);
    expect(result.ratios).toHaveLength(2);
    expect(result.name).toBe('order');
  });

  it('awaits each call of an async comparison before the next', async () => {
    let running = 0;
    let overlapped = false;
    const call = async (): Promise<void> => {
      running += 1;
      if (running > 1) overlapped = true;
      await Promise.resolve();
      running -= 1;
    };
    const result = await compare(
      { name: 'awaited', unit: 'call', unitsPerCall: 1, callsPerRound: 16, ours: call, floor: call },
      3,
      true,
    );
    expect(overlapped).toBe(false);
    expect(result.ratios).toHaveLength(3);
  });

  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('bench harness: mergeRuns', () => {
  const row = (name: string, medianRatio: number, ours: number, goal?: number): ComparisonResult => ({
    name,
    unit: 'worker',
    oursNsPerUnit: ours,
    floorNsPerUnit: ours / medianRatio,
    medianRatio,
    ratios: [medianRatio],
    goal,
    met: goal === undefined ? undefined : medianRatio <= goal,
  });

  it('takes the median of the processes for each case, keeps each one, and checks the goal on the median', () => {
    const merged = mergeRuns([
      [row('a', 4.8, 20, 4), row('b', 1.1, 5)],
      [row('a', 2.8, 10, 4), row('b', 1.3, 6)],
      [row('a', 3.2, 12, 4), row('b', 1.2, 7)],
    ]);
    expect(merged.map((r) => [r.name, r.medianRatio, r.oursNsPerUnit, r.runRatios, r.met])).toEqual([
      ['a', 3.2, 12, [4.8, 2.8, 3.2], true],
      ['b', 1.2, 6, [1.1, 1.3, 1.2], undefined],
    ]);
  });
});

describe('bench: parseWrk', () => {
  const output = [
    'Running 1s test @ http://127.0.0.1:18931/metrics',
    '  1 threads and 2 connections',
    '  Thread Stats   Avg      Stdev     Max   +/- Stdev',
    '    Latency     1.20ms  827.98us  10.32ms   92.05%',
    '    Req/Sec     1.67k   287.53     1.95k    72.73%',
    '  Latency Distribution',
    '     50%  850.00us',
    '     75%    1.37ms',
    '     90%    1.78ms',
    '     99%    1.05s',
    '  1831 requests in 1.10s, 0.91MB read',
    '  Socket errors: connect 0, read 2, write 1, timeout 4',
    '  Non-2xx or 3xx responses: 10',
    'Requests/sec:   1664.29',
    'Transfer/sec:    845.31KB',
  ].join('\n');

  it('reads the percentiles in milliseconds whatever unit wrk printed, the rate and the errors', () => {
    const run = parseWrk(output);
    expect(run.p50Ms).toBeCloseTo(0.85, 6);
    expect(run.p99Ms).toBeCloseTo(1050, 6);
    expect(run.requestsPerSecond).toBeCloseTo(1664.29, 6);
    expect(run.requests).toBe(1831);
    expect(run.errors).toBe(17);
  });

  it('throws, quoting the output, when a figure is missing', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(
      /^wrk output has no request rate:\nunable to connect/,
    );
    expect(() => parseWrk(output.replace(/^ +99%.*$/m, ''))).toThrow(
      /^wrk output has no 99% latency:\nRunning 1s test/,
    );
  });
});
