/**
 * Prometheus's scrape timeout (`X-Prometheus-Scrape-Timeout-Seconds`): a scrape gives up at
 * the smaller of that, less a margin, and `timeoutMs`; a header that says nothing usable
 * changes nothing. Time runs on jest's fake timers, the server and client are real.
 */
import { Registry } from 'prom-client';
import { scrapeDeadline } from '../../lib/http/scrape-timeout';
import { heldGauge, type HeldGauge } from '../helpers/held-gauge';
import { httpRequest, type HttpAnswer } from '../helpers/http-client';
import { closeServedHandlers, serveHandler } from '../helpers/served-handler';
import { spinUntil } from '../helpers/wait-until';

const HEADER = 'X-Prometheus-Scrape-Timeout-Seconds';

beforeEach(() => {
  // Sockets and the handler's setImmediate run for real; only timers are faked.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});

afterEach(async () => {
  jest.useRealTimers();
  await closeServedHandlers();
});

/**
 * Proves a scrape with `headers` gives up after exactly `ms`: one held at `ms - 1` and then
 * released is answered 200; the next, held, is answered 503 at `ms`.
 */
async function expectDeadline(
  url: string,
  held: HeldGauge,
  headers: Record<string, string>,
  ms: number,
): Promise<HttpAnswer> {
  const inTime = httpRequest(url, { headers });
  await held.entered();
  jest.advanceTimersByTime(ms - 1);
  held.release(1);
  expect((await inTime).status).toBe(200);
  expect(jest.getTimerCount()).toBe(0);

  const late = httpRequest(url, { headers });
  await held.entered();
  jest.advanceTimersByTime(ms);
  const answer = await late;
  expect(answer.status).toBe(503);
  expect(jest.getTimerCount()).toBe(0);
  return answer;
}

describe('metricsHandler: X-Prometheus-Scrape-Timeout-Seconds', () => {
  it("gives up at the scraper's timeout less 10 % when that is sooner than timeoutMs, and says why", async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const errors: string[] = [];
    const { url } = await serveHandler(registry, { onError: (e) => errors.push(e.message) });
    const answer = await expectDeadline(url, held, { [HEADER]: '0.05' }, 45);
    expect(answer.text).toBe(
      'Service Unavailable: scrape timed out after 45 ms (X-Prometheus-Scrape-Timeout-Seconds: 0.05)\n',
    );
    expect(errors).toEqual([
      'metricsHandler: scrape timed out after 45 ms (X-Prometheus-Scrape-Timeout-Seconds: 0.05)',
    ]);
    held.open(0);
  });

  it("keeps a margin of at most 500 ms: Prometheus's default 10 s gives 9.5 s", async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry, { timeoutMs: 60_000 });
    await expectDeadline(url, held, { [HEADER]: '10' }, 9_500);
    held.open(0);
  });

  it('keeps timeoutMs when it is sooner than the announced timeout', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry, { timeoutMs: 200 });
    const answer = await expectDeadline(url, held, { [HEADER]: '30' }, 200);
    expect(answer.text).toBe('Service Unavailable: scrape timed out after 200 ms\n');
    held.open(0);
  });

  it('times out by the header alone when timeoutMs is Infinity', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry, { timeoutMs: Infinity });
    await expectDeadline(url, held, { [HEADER]: '2' }, 1_800);
    held.open(0);
  });

  it.each([
    ['no header', undefined],
    ['zero', '0'],
    ['a negative value', '-5'],
    ['a unit', '5s'],
    ['an exponent', '5e-2'],
    ['text', 'soon'],
    ['an empty value', ''],
  ])('changes nothing with %s: the default 10 s', async (_what, value) => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url } = await serveHandler(registry);
    const answer = await expectDeadline(url, held, value === undefined ? {} : { [HEADER]: value }, 10_000);
    expect(answer.text).toBe('Service Unavailable: scrape timed out after 10000 ms\n');
    held.open(0);
  });

  it('gives the slot back at the deadline: the next scrape is served (maxInFlight 1)', async () => {
    const registry = new Registry();
    const held = heldGauge(registry);
    const { url, seen } = await serveHandler(registry, { maxInFlight: 1 });
    const first = httpRequest(url, { headers: { [HEADER]: '1' } });
    await held.entered();
    jest.advanceTimersByTime(900);
    expect((await first).status).toBe(503);
    held.open(3);
    const next = httpRequest(url);
    await spinUntil(() => seen() === 2, 'the second scrape to arrive');
    expect((await next).status).toBe(200);
  });
});

describe('scrapeDeadline', () => {
  it.each([
    ['10', 10_000, 9_500, '10'],
    ['1', 10_000, 900, '1'],
    ['0.05', 10_000, 45, '0.05'],
    [' 2.5 ', 10_000, 2_250, '2.5'],
    ['.5', 10_000, 450, '.5'],
    ['0.0001', 10_000, 1, '0.0001'],
    ['20', 10_000, 10_000, undefined],
    ['9.6', 9_000, 9_000, undefined],
    ['1000000000', Infinity, Infinity, undefined],
    ['0', 10_000, 10_000, undefined],
    ['-1', 10_000, 10_000, undefined],
    ['1e1', 10_000, 10_000, undefined],
    ['0x10', 10_000, 10_000, undefined],
    ['NaN', 10_000, 10_000, undefined],
    ['Infinity', 10_000, 10_000, undefined],
    ['1, 2', 10_000, 10_000, undefined],
  ])('scrapeDeadline(%j, %d) is %d ms', (header, timeoutMs, ms, announced) => {
    expect(scrapeDeadline(header, timeoutMs)).toEqual({ ms, announced });
  });

  it('ignores what is not a string (several headers would be an array)', () => {
    expect(scrapeDeadline(['1', '2'], 10_000)).toEqual({ ms: 10_000, announced: undefined });
    expect(scrapeDeadline(undefined, 10_000)).toEqual({ ms: 10_000, announced: undefined });
  });
});
