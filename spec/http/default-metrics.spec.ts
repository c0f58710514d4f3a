/**
 * `defaultMetrics`: prom-client's `collectDefaultMetrics` on the served registry, once per
 * registry, through serveMetrics or metricsHandler; refused cleanly when a name clashes; and
 * nothing left running by the listener once it is closed.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { metricsHandler, newMetrics, serveMetrics, type MetricsServer } from '../../lib';
import { httpRequest } from '../helpers/http-client';
import { parseExposition } from '../helpers/scrape';
import { closeServedHandlers, serveHandler } from '../helpers/served-handler';
import { watchHandles } from '../helpers/watch-handles';

const running: MetricsServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await closeServedHandlers();
});

/** The family names of a 0.0.4 text, from its `# TYPE` lines. */
function familyNames(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
}

/** A few of Node's default metrics, as prom-client 15 names them, that every platform has. */
const SOME_DEFAULTS = [
  'process_cpu_user_seconds_total',
  'process_start_time_seconds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_version_info',
  'nodejs_gc_duration_seconds',
];

describe('defaultMetrics', () => {
  it("serves Node's process metrics beside the registry's own with serveMetrics({ defaultMetrics: true })", async () => {
    const registry = new Registry();
    newMetrics(registry);
    const served = await serveMetrics({ registry, port: 0, defaultMetrics: true });
    running.push(served);
    const text = (await httpRequest(served.url)).text;
    const names = familyNames(text);
    expect(names).toEqual(expect.arrayContaining([...SOME_DEFAULTS, 'blockyard_workers']));
    const samples = parseExposition(text);
    const version = samples.find((s) => s.name === 'nodejs_version_info');
    expect(version?.labels.version).toBe(process.version);
    const start = samples.find((s) => s.name === 'process_start_time_seconds')?.value ?? 0;
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
  });

  it('gives metricsHandler the same option', async () => {
    const registry = new Registry();
    const { url } = await serveHandler(registry, { defaultMetrics: true });
    expect(familyNames((await httpRequest(url)).text)).toEqual(expect.arrayContaining(SOME_DEFAULTS));
  });

  it('registers nothing by default', async () => {
    const registry = new Registry();
    await serveHandler(registry);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  it('registers them once per registry, however many handlers serve it', async () => {
    const registry = new Registry();
    metricsHandler(registry, { defaultMetrics: true });
    const count = registry.getMetricsAsArray().length;
    expect(count).toBeGreaterThan(SOME_DEFAULTS.length);
    const served = await serveMetrics({ registry, port: 0, defaultMetrics: true });
    running.push(served);
    metricsHandler(registry, { defaultMetrics: true });
    expect(registry.getMetricsAsArray()).toHaveLength(count);
    const names = familyNames((await httpRequest(served.url)).text);
    expect(new Set(names).size).toBe(names.length);
  });

  it("leaves a registry alone that already has them from the application's own collectDefaultMetrics", () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const before = registry.getMetricsAsArray();
    expect(() => metricsHandler(registry, { defaultMetrics: true })).not.toThrow();
    expect(registry.getMetricsAsArray()).toEqual(before);
  });

  it('refuses a registry where another collector holds one of their names, and takes back what it registered', () => {
    const registry = new Registry();
    const own = new Gauge({ name: 'process_start_time_seconds', help: 'Not the default one.', registers: [registry] });
    expect(() => metricsHandler(registry, { defaultMetrics: true })).toThrow(
      new TypeError(
        "metricsHandler: defaultMetrics: cannot register prom-client's default metrics: " +
          'A metric with the name process_start_time_seconds has already been registered.',
      ),
    );
    expect(registry.getMetricsAsArray()).toEqual([own]);
  });

  it('rejects a value that is not a boolean', () => {
    expect(() => serveMetrics({ defaultMetrics: 'yes' as unknown as boolean })).toThrow(
      new TypeError('serveMetrics: defaultMetrics must be a boolean, got "yes"'),
    );
  });

  it('leaves no handle open once the listener is closed', async () => {
    // Only what this test creates is followed: a timer another test of the same worker left
    // running, or one that ends meanwhile, does not count (counting the process's handles
    // before and after did, now and then, under CI's load).
    const handles = watchHandles({ stacks: true });
    try {
      const served = await serveMetrics({ registry: new Registry(), port: 0, defaultMetrics: true });
      expect((await httpRequest(served.url)).status).toBe(200);
      await served.close();
      // What prom-client installs (a GC observer, an event-loop-delay monitor) holds no handle,
      // and the listener's sockets, server and timers are all released.
      await handles.released('every timer, socket and server of the listener to be released', 2_000);
    } finally {
      handles.dispose();
    }
  });
});
