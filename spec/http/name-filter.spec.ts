/**
 * The `name[]` filter, against a real server and client: only the families asked for, each
 * with the bytes an unfiltered scrape has (both formats, gzipped or not), and a query string
 * that reaches no other decision (the token, the in-flight bound, the shared rendering).
 */
import { gunzipSync } from 'node:zlib';
import { Registry, type RegistryContentType } from 'prom-client';
import { CONTENT_TYPES, newMetrics } from '../../lib';
import { requestedNames } from '../../lib/http/name-filter';
import { fillMetrics } from '../helpers/fill-metrics';
import { heldGauge } from '../helpers/held-gauge';
import { httpRequest } from '../helpers/http-client';
import { openMetricsRegistry } from '../helpers/openmetrics-exemplars';
import { OPENMETRICS_ACCEPT, SCRAPE_KINDS, closeServedHandlers, serveHandler } from '../helpers/served-handler';
import { spinUntil } from '../helpers/wait-until';

afterEach(async () => {
  await closeServedHandlers();
});

/** A registry of the contract holding values, with a default label, of either content type. */
function filledRegistry(openMetrics = false): Registry<RegistryContentType> {
  const registry = openMetrics ? openMetricsRegistry() : new Registry();
  registry.setDefaultLabels({ region: 'eu' });
  fillMetrics(newMetrics(registry));
  return registry;
}

// The oracle: a whole body cut by hand, with string operations of its own (blank lines in
// 0.0.4, `# HELP` lines in OpenMetrics), rather than with the library's line reader.

/** The families of a whole 0.0.4 body, by the name on their `# TYPE` line. */
function textBlocks(body: string): Map<string, string> {
  return new Map(
    body
      .replace(/\n$/, '')
      .split('\n\n')
      .map((block) => [(/^# TYPE (\S+) /m.exec(block) as RegExpExecArray)[1] as string, block]),
  );
}

/** The families of a whole OpenMetrics body, by the name on their `# TYPE` line. */
function openMetricsBlocks(body: string): Map<string, string> {
  return new Map(
    body
      .replace(/\n# EOF\n$/, '')
      .split(/\n(?=# HELP )/)
      .map((block) => [(/^# TYPE (\S+) /m.exec(block) as RegExpExecArray)[1] as string, block]),
  );
}

/** What a filtered scrape must answer: the named blocks of the whole body, joined as prom-client joins. */
function expectedBody(whole: string, familyNames: readonly string[], openMetrics: boolean): string {
  const blocks = openMetrics ? openMetricsBlocks(whole) : textBlocks(whole);
  const picked = familyNames.map((name) => {
    const block = blocks.get(name);
    if (block === undefined) throw new Error(`the whole body has no family ${name}`);
    return block;
  });
  if (openMetrics) return `${picked.map((b) => `${b}\n`).join('')}# EOF\n`;
  return picked.length === 0 ? '' : `${picked.join('\n\n')}\n`;
}

const ASKED = ['blockyard_cold_start_seconds', 'blockyard_proxy_requests_total', 'blockyard_workers'];

describe('metricsHandler: name[]', () => {
  it.each(SCRAPE_KINDS)(
    '%s: answers only the families asked for, with the bytes of an unfiltered scrape',
    async (_what, om, gzip) => {
      const { url } = await serveHandler(filledRegistry());
      const headers: Record<string, string> = om ? { Accept: OPENMETRICS_ACCEPT } : {};
      const whole = (await httpRequest(url, { headers })).text;
      if (gzip) headers['Accept-Encoding'] = 'gzip';
      // Asked in another order than the exposition's: the answer keeps the exposition's.
      const answer = await httpRequest(`${url}?${ASKED.map((n) => `name[]=${n}`).join('&')}`, { headers });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe(om ? CONTENT_TYPES.openmetrics : CONTENT_TYPES.prometheus);
      expect(answer.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined);
      expect(answer.headers['content-length']).toBe(String(answer.body.length));
      const text = gzip ? gunzipSync(answer.body).toString('utf8') : answer.text;
      // In OpenMetrics the counter's family drops its _total; name[] still takes the registered name.
      const families = om
        ? ['blockyard_workers', 'blockyard_proxy_requests', 'blockyard_cold_start_seconds']
        : ['blockyard_workers', 'blockyard_proxy_requests_total', 'blockyard_cold_start_seconds'];
      expect(text).toBe(expectedBody(whole, families, om));
      expect(text).toContain('blockyard_proxy_requests_total{app="sales",status="2xx",region="eu"} 10\n');
    },
  );

  it('filters an OpenMetrics registry by the registered names, even after its own rendering renamed its counters', async () => {
    const registry = filledRegistry(true);
    await registry.metrics(); // prom-client strips `_total` from the counters' names in place
    const { url } = await serveHandler(registry);
    const query = '?name[]=blockyard_workers_spawned_total&name[]=blockyard_audit_entries_dropped_total';
    for (const om of [false, true]) {
      const headers: Record<string, string> = om ? { Accept: OPENMETRICS_ACCEPT } : {};
      const whole = (await httpRequest(url, { headers })).text;
      const families = om
        ? ['blockyard_workers_spawned', 'blockyard_audit_entries_dropped']
        : ['blockyard_workers_spawned_total', 'blockyard_audit_entries_dropped_total'];
      expect((await httpRequest(`${url}${query}`, { headers })).text).toBe(expectedBody(whole, families, om));
    }
  });

  it.each([
    ['a name nothing is registered as', '?name[]=blockyard_nothing'],
    ["a counter's OpenMetrics family name (registered with _total)", '?name[]=blockyard_workers_spawned'],
    ['an empty name', '?name[]='],
    ['a name[] without a value', '?name[]'],
  ])('answers %s with 200 and no family: an empty text body, or # EOF alone', async (_what, query) => {
    const { url } = await serveHandler(filledRegistry());
    const text = await httpRequest(`${url}${query}`);
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(text.headers['content-length']).toBe('0');
    const om = await httpRequest(`${url}${query}`, { headers: { Accept: OPENMETRICS_ACCEPT } });
    expect(om.status).toBe(200);
    expect(om.text).toBe('# EOF\n');
  });

  it('ignores a malformed name[] (bad escapes, a ;) and other parameters: the whole exposition', async () => {
    const registry = filledRegistry();
    const { url } = await serveHandler(registry);
    const whole = (await httpRequest(url)).text;
    for (const query of ['?name[]=%zz', '?name[]=a;b', '?name=blockyard_workers', '?debug=1&x']) {
      expect((await httpRequest(`${url}${query}`)).text).toBe(whole);
    }
    expect((await httpRequest(`${url}?name[]=%zz&name[]=blockyard_workers`)).text).toBe(
      expectedBody(whole, ['blockyard_workers'], false),
    );
  });

  it('answers HEAD with the length of the filtered body', async () => {
    const { url } = await serveHandler(filledRegistry());
    const get = await httpRequest(`${url}?name[]=blockyard_workers`);
    const head = await httpRequest(`${url}?name[]=blockyard_workers`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(get.body.length));
  });
});

describe('metricsHandler: the query string reaches no other decision', () => {
  it('asks a filtered scrape for the token like any other', async () => {
    const { url } = await serveHandler(filledRegistry(), { token: 'tok' });
    const denied = await httpRequest(`${url}?name[]=blockyard_workers`);
    expect(denied.status).toBe(401);
    expect(denied.text).toBe('Unauthorized\n');
    const allowed = await httpRequest(`${url}?name[]=blockyard_workers`, { headers: { Authorization: 'Bearer tok' } });
    expect(allowed.status).toBe(200);
  });

  it('lets filtered and unfiltered scrapes share one rendering, each slot counted in maxInFlight', async () => {
    const registry = filledRegistry();
    const held = heldGauge(registry);
    const { url, seen } = await serveHandler(registry, { maxInFlight: 4 });
    // The first scrape's rendering is held while reading; the three after it share the next.
    const first = httpRequest(url);
    await held.entered();
    const scrapes = [
      httpRequest(`${url}?name[]=test_held`),
      httpRequest(url),
      httpRequest(`${url}?name[]=blockyard_workers&name[]=test_held`, { headers: { 'Accept-Encoding': 'gzip' } }),
    ];
    await spinUntil(() => seen() === 4, 'the four scrapes to reach the handler');
    // The fifth is answered on arrival: 503 whatever happens after; had it been let in, it
    // would join the next rendering and get 200 once the gauge is let go.
    const fifth = httpRequest(`${url}?name[]=blockyard_workers`);
    await spinUntil(() => seen() === 5, 'the fifth scrape to reach the handler');
    held.open(7);
    const [answers, late] = await Promise.all([Promise.all(scrapes), fifth, first]);
    const [onlyHeld, whole, both] = answers;
    expect(late.status).toBe(503);
    expect(held.calls).toBe(2);
    expect(onlyHeld?.text).toBe(
      '# HELP test_held A gauge the test holds up.\n# TYPE test_held gauge\ntest_held{region="eu"} 7\n',
    );
    expect(gunzipSync(both?.body ?? Buffer.alloc(0)).toString('utf8')).toBe(
      expectedBody(whole?.text ?? '', ['blockyard_workers', 'test_held'], false),
    );
  });
});

describe('requestedNames: reading name[] as promhttp (Go url.ParseQuery) does', () => {
  it.each([
    [undefined, undefined],
    [42, undefined],
    ['/metrics', undefined],
    ['/metrics?', undefined],
    ['/metrics?name=a', undefined],
    ['/metrics?name[]=a', ['a']],
    ['/metrics?name%5B%5D=a', ['a']],
    ['/metrics?name[]=a&name[]=a', ['a']],
    ['/metrics?x=1&name[]=b&name[]=a&y', ['b', 'a']],
    ['/metrics?name[]=', ['']],
    ['/metrics?name[]', ['']],
    ['/metrics?name[]=a+b%20c', ['a b c']],
    ['/metrics?name[]=%zz', undefined],
    ['/metrics?name[]=%zz&name[]=b', ['b']],
    ['/metrics?name[]=a;b', undefined],
  ])('requestedNames(%j) is %j', (url, names) => {
    const found = requestedNames(url);
    expect(found === undefined ? undefined : [...found]).toEqual(names);
  });
});
