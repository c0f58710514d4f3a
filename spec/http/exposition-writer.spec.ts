/**
 * The exposition writer against prom-client itself: for any registry (any mix of counters,
 * gauges, histograms and summaries, with and without labels, label values that need escaping,
 * default labels, exemplars), `renderRegistry` prints byte for byte what prom-client's own
 * `metrics()` prints for the same registry, in both formats, on the first scrape and on every
 * later one (when the writer's caches are warm and the values, labels or default labels moved).
 * The oracle is prom-client's `metrics()` of the registry itself, or of a twin registry of the
 * other format fed the same operations.
 */
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry, Summary, type RegistryContentType } from 'prom-client';
import { renderRegistry } from '../../lib';
import { writeExposition, type Pacer } from '../../lib/http/exposition-writer';
import { useFixedClock } from '../helpers/fixed-clock';

/** A label value that needs every escape prom-client does, or none. */
const labelValue = fc.oneof(
  fc.constantFrom('a', 'sales-dashboard', '', 'with "quotes"', 'back\\slash', 'new\nline', 'ünïcode ✓', '__overflow__'),
  fc.string({ maxLength: 6 }),
);

/**
 * One operation on one collector: which collector (by index), which series, what value; the
 * last two remove series (one of the labelled counter's, all of the labelled gauge's), so that
 * a scrape lists fewer series than the one before.
 */
interface Operation {
  readonly collector: number;
  readonly labels: readonly string[];
  readonly value: number;
  readonly exemplar: boolean;
}

const operation = fc.record({
  collector: fc.nat(9),
  labels: fc.array(labelValue, { minLength: 2, maxLength: 2 }),
  value: fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.nat(100), fc.constantFrom(0.005, 1, 2.5, 1e-9)),
  exemplar: fc.boolean(),
});

/** A registry of `contentType` holding one collector of each kind, labelled and not. */
function registryOf(contentType: RegistryContentType): { registry: Registry; apply: (op: Operation) => void } {
  const registry = new Registry();
  registry.setContentType(contentType as never);
  const openMetrics = contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  const registers = [registry];
  const counter = new Counter({
    name: 'w_requests_total',
    help: 'Requests "by" app\\status.',
    labelNames: ['app', 'status'],
    registers,
    enableExemplars: openMetrics,
  });
  const plainCounter = new Counter({ name: 'w_spawned_total', help: 'Spawned.', registers });
  const gauge = new Gauge({ name: 'w_workers', help: 'Workers\nby state.', labelNames: ['app', 'state'], registers });
  const plainGauge = new Gauge({ name: 'w_sessions', help: 'Sessions.', registers });
  const histogram = new Histogram({
    name: 'w_seconds',
    help: 'Seconds.',
    labelNames: ['app', 'route'],
    buckets: [0.005, 0.1, 1, 10],
    registers,
    enableExemplars: openMetrics,
  });
  const plainHistogram = new Histogram({ name: 'w_cold_seconds', help: 'Cold.', buckets: [0.5, 1, 2], registers });
  const summary = new Summary({
    name: 'w_latency',
    help: 'Latency.',
    labelNames: ['app', 'kind'],
    percentiles: [0.5, 0.9],
    registers,
  });
  const counterWithoutTotal = new Counter({ name: 'w_dropped', help: 'Dropped, named without _total.', registers });
  const exemplarLabels = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
  return {
    registry,
    apply: ({ collector, labels, value, exemplar }: Operation): void => {
      const [a = '', b = ''] = labels;
      const positive = Math.abs(value);
      switch (collector) {
        case 0:
          if (openMetrics && exemplar)
            counter.inc({ labels: { app: a, status: b }, value: positive, exemplarLabels } as never);
          else if (openMetrics) counter.inc({ labels: { app: a, status: b }, value: positive } as never);
          else counter.inc({ app: a, status: b }, positive);
          break;
        case 1:
          plainCounter.inc(positive);
          break;
        case 2:
          gauge.set({ app: a, state: b }, value);
          break;
        case 3:
          plainGauge.set(value);
          break;
        case 4:
          if (openMetrics)
            histogram.observe({
              labels: { app: a, route: b },
              value: positive,
              ...(exemplar ? { exemplarLabels } : {}),
            } as never);
          else histogram.observe({ app: a, route: b }, positive);
          break;
        case 5:
          plainHistogram.observe(positive);
          break;
        case 6:
          summary.observe({ app: a, kind: b }, positive);
          break;
        case 7:
          counterWithoutTotal.inc(positive);
          break;
        case 8:
          counter.remove({ app: a, status: b });
          break;
        default:
          gauge.reset();
      }
    },
  };
}

/** A pacer that never waits: the writer's slicing is tested on its own below. */
const noPauses: Pacer = { now: () => 0, pause: () => Promise.resolve() };

beforeAll(() => {
  // Exemplars carry Date.now(): both twins must see the same clock.
  useFixedClock();
});
afterAll(() => {
  jest.useRealTimers();
});

describe('renderRegistry: byte for byte what prom-client prints', () => {
  it('in the format of the registry, on every scrape, as operations and default labels change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<RegistryContentType>(Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE),
        fc.array(fc.array(operation, { maxLength: 25 }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.dictionary(fc.constantFrom('region', 'app', 'host'), labelValue, { maxKeys: 2 }), {
          nil: undefined,
        }),
        async (contentType, rounds, defaults) => {
          const { registry, apply } = registryOf(contentType);
          const format = contentType === Registry.OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'prometheus';
          for (const [round, operations] of rounds.entries()) {
            for (const op of operations) apply(op);
            if (round === 1 && defaults !== undefined) registry.setDefaultLabels(defaults);
            const ours = await renderRegistry(registry, format);
            expect(ours).toBe(await registry.metrics());
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('in the other format, as a twin registry of that format prints the same operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 30 }), async (operations) => {
        const text = registryOf(Registry.PROMETHEUS_CONTENT_TYPE);
        const om = registryOf(Registry.OPENMETRICS_CONTENT_TYPE);
        // Exemplars exist only on OpenMetrics registries, and only OpenMetrics prints them.
        for (const op of operations) {
          text.apply(op);
          om.apply({ ...op, exemplar: false });
        }
        expect(await renderRegistry(text.registry, 'openmetrics')).toBe(await om.registry.metrics());
        expect(await renderRegistry(om.registry, 'prometheus')).toBe(await text.registry.metrics());
        // And again, now that the OpenMetrics rendering renamed om's counters in place.
        expect(await renderRegistry(om.registry, 'prometheus')).toBe(await text.registry.metrics());
      }),
      { numRuns: 100 },
    );
  });

  it('follows a labels object changed in place after it was cached, as prom-client does', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'moved_total', help: 'h', labelNames: ['app'], registers: [registry] });
    const labels = { app: 'first' };
    counter.inc(labels);
    expect(await renderRegistry(registry, 'prometheus')).toBe(await registry.metrics());
    labels.app = 'renamed'; // prom-client keeps this object for the series and prints what it holds now
    expect(await renderRegistry(registry, 'prometheus')).toContain('moved_total{app="renamed"} 1');
    expect(await renderRegistry(registry, 'prometheus')).toBe(await registry.metrics());
  });

  it('follows every change to a cached labels object, whatever its number of labels', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const size of [0, 1, 2, 3, 4]) {
      const registry = new Registry();
      const counter = new Counter({ name: 'changed_total', help: 'h', labelNames: names, registers: [registry] });
      const labels: Record<string, string> = {};
      for (const name of names.slice(0, size)) labels[name] = `${name}-first`;
      counter.inc(labels);
      // prom-client, the oracle, prints whatever the object it keeps for the series holds.
      const same = async (step: string): Promise<void> =>
        expect(`${size} labels, ${step}\n${await renderRegistry(registry, 'prometheus')}`).toBe(
          `${size} labels, ${step}\n${await registry.metrics()}`,
        );
      await same('made');
      await same('from the cache');
      for (const name of names.slice(0, size)) {
        labels[name] = `${name}-changed`;
        await same(`${name} changed`);
      }
      labels.e = 'added';
      await same('one added');
      delete labels.e;
      await same('that one removed');
      const first = names[0] as string;
      if (size > 0) {
        Reflect.deleteProperty(labels, first);
        await same('the first removed');
        labels[first] = 'back';
        await same('the first back, now last');
      }
    }
  });

  it('prints what a hand-written collector returns, and rejects as prom-client does when its get() throws', async () => {
    const registry = new Registry();
    registry.registerMetric({
      name: 'custom_things',
      help: "A collector that is not prom-client's.",
      type: 'gauge',
      get: () => ({
        name: 'custom_things',
        help: "A collector that is not prom-client's.",
        type: 'gauge',
        values: [
          { value: 3, labels: { kind: 'a"b' } },
          { value: Infinity },
          { value: Number.NaN, metricName: 'custom_things_nan' },
        ],
      }),
    } as never);
    expect(await renderRegistry(registry, 'prometheus')).toBe(await registry.metrics());
    registry.registerMetric({
      name: 'broken',
      help: 'h',
      type: 'gauge',
      get: () => {
        throw new Error('collector down');
      },
    } as never);
    await expect(renderRegistry(registry, 'prometheus')).rejects.toThrow('collector down');
    await expect(registry.metrics()).rejects.toThrow('collector down');
  });
});

describe('writeExposition: slices', () => {
  /** A clock that moves `step` ms at every read, and counts the pauses asked for. */
  function steppingPacer(step: number): Pacer & { pauses: number } {
    let t = 0;
    const pacer = {
      pauses: 0,
      now: () => (t += step),
      pause: () => {
        pacer.pauses += 1;
        return Promise.resolve();
      },
    };
    return pacer;
  }

  it('gives the event loop a turn once a slice has lasted half a millisecond, within families and between them', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'many_total', help: 'h', labelNames: ['app'], registers: [registry] });
    for (let i = 0; i < 1000; i += 1) counter.inc({ app: `app-${i}` });
    new Gauge({ name: 'second', help: 'h', registers: [registry] }).set(1);
    const families = registry.getMetricsAsArray().map((collector) => ({ collector, registeredName: collector.name }));
    // With 0.5 ms per clock read every read ends a slice; with 0.0001 ms none does.
    const slow = steppingPacer(0.5);
    const text = (await writeExposition(families as never, 'prometheus', null, slow)).toString();
    expect(text).toBe(await registry.metrics());
    // Reads: one before each family (2), one every 128 series listed and one every 128 samples
    // written (7 each in 1000).
    expect(slow.pauses).toBeGreaterThanOrEqual(4);
    const fast = steppingPacer(0.0001);
    expect((await writeExposition(families as never, 'prometheus', null, fast)).toString()).toBe(text);
    expect(fast.pauses).toBe(0);
    expect((await writeExposition(families as never, 'prometheus', null, noPauses)).toString()).toBe(text);
  });

  it('hands the bytes over on a turn of their own when the last slice has worked a quarter of a millisecond', async () => {
    const registry = new Registry();
    new Gauge({ name: 'one', help: 'h', registers: [registry] }).set(1);
    const families = registry.getMetricsAsArray().map((collector) => ({ collector, registeredName: collector.name }));
    // Clock reads: the start, the family's start (no pause before it: under half a millisecond
    // since the start), the end. Only the end can pause.
    const busy = steppingPacer(0.2); // 0.4 ms worked at the end
    expect((await writeExposition(families as never, 'prometheus', null, busy)).toString()).toBe(
      await registry.metrics(),
    );
    expect(busy.pauses).toBe(1);
    const quick = steppingPacer(0.1); // 0.2 ms worked at the end
    await writeExposition(families as never, 'prometheus', null, quick);
    expect(quick.pauses).toBe(0);
  });

  it("walks a counter's series in slices too, and prints what each holds when its line is written", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'many_total', help: 'h', labelNames: ['app'], registers: [registry] });
    for (let i = 0; i < 1000; i += 1) counter.inc({ app: `app-${i}` });
    const families = registry.getMetricsAsArray().map((collector) => ({ collector, registeredName: collector.name }));
    // The clock stands still for the first two reads (the start, the family's start), then
    // every read ends a slice: the first pause comes after 128 series are written, when
    // app-0 has been and app-500 and app-999 have not.
    let reads = 0;
    let pauses = 0;
    const pacer: Pacer = {
      now: () => (reads += 1) * (reads > 2 ? 1 : 0),
      pause: () => {
        pauses += 1;
        if (pauses === 1) {
          counter.remove({ app: 'app-999' });
          counter.inc({ app: 'app-0' }, 5);
          counter.inc({ app: 'app-500' }, 5);
        }
        return Promise.resolve();
      },
    };
    const text = (await writeExposition(families as never, 'prometheus', null, pacer)).toString();
    expect(pauses).toBeGreaterThan(1);
    // What prom-client prints now, but for app-0, whose line was written before it moved.
    const oracle = (await registry.metrics()).replace('many_total{app="app-0"} 6\n', 'many_total{app="app-0"} 1\n');
    expect(oracle).toContain('many_total{app="app-500"} 6\n');
    expect(oracle).not.toContain('app="app-999"');
    expect(text).toBe(oracle);
  });
});

describe('renderRegistry: split over turns of the event loop', () => {
  /** The value of the one sample named `name` (with `labels` in its text), from an exposition. */
  function sample(text: string, line: RegExp): number {
    const match = line.exec(text);
    if (match === null) throw new Error(`no ${String(line)} in the exposition`);
    return Number(match[1]);
  }

  it('never tears a series while observations go on between its slices', async () => {
    jest.useRealTimers();
    const registry = new Registry();
    const wide = new Counter({ name: 'wide_total', help: 'h', labelNames: ['n'], registers: [registry] });
    for (let i = 0; i < 40_000; i += 1) wide.inc({ n: String(i) });
    const histogram = new Histogram({ name: 'late_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] });
    let observing = true;
    let turns = 0;
    const observeEveryTurn = (): void => {
      if (!observing) return;
      turns += 1;
      for (let i = 0; i < 10; i += 1) histogram.observe(i % 3 === 0 ? 0.05 : 5);
      setImmediate(observeEveryTurn);
    };
    setImmediate(observeEveryTurn);
    const text = await renderRegistry(registry, 'prometheus');
    observing = false;
    // The render gave the event loop turns: observations happened while it was under way.
    expect(turns).toBeGreaterThan(1);
    const count = sample(text, /^late_seconds_count (\d+)$/m);
    expect(sample(text, /^late_seconds_bucket\{le="\+Inf"\} (\d+)$/m)).toBe(count);
    expect(sample(text, /^late_seconds_bucket\{le="0.1"\} (\d+)$/m)).toBeLessThanOrEqual(count);
    expect(count % 10).toBe(0); // whole turns of ten observations, never part of one
    useFixedClock();
  });
});

describe('renderRegistry: unchanged lines copied from their arena', () => {
  /** A small deterministic generator of numbers in [0, 1), so a failure names its seed. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  /** A registry of `contentType` holding one wide counter and one wide gauge. */
  function wideRegistry(contentType: RegistryContentType): {
    registry: Registry;
    counter: Counter<'app' | 'status'>;
    gauge: Gauge<'app'>;
  } {
    const registry = new Registry();
    registry.setContentType(contentType as never);
    const registers = [registry];
    const counter = new Counter({ name: 'wide_total', help: 'h', labelNames: ['app', 'status'], registers });
    const gauge = new Gauge({ name: 'wide_workers', help: 'h', labelNames: ['app'], registers });
    return { registry, counter, gauge };
  }

  it("stays byte for byte prom-client's as series stand still, move, go and come back, over many scrapes", async () => {
    // 1,500 counter series and 500 gauge series of about 40 bytes a line: arenas are replaced
    // and lines placed again as they grow; label values with multi-byte characters.
    const apps = Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? `äpp-${i}-✓` : `app-${i}`));
    const statuses = ['2xx', '4xx', '5xx'];
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      for (const contentType of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE] as const) {
        const { registry, counter, gauge } = wideRegistry(contentType);
        const format = contentType === Registry.OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'prometheus';
        for (const app of apps) {
          for (const status of statuses) counter.inc({ app, status });
          gauge.set({ app }, 1);
        }
        for (let scrape = 0; scrape < 12; scrape += 1) {
          // From none to most series moved, some removed and added again (last in their family).
          const moved = [0, 0, 0.01, 0.3, 0.9][scrape % 5] as number;
          for (const app of apps) {
            if (next() < moved) counter.inc({ app, status: statuses[Math.floor(next() * 3)] });
            if (next() < moved / 2) gauge.set({ app }, Math.floor(next() * 10));
            if (next() < moved / 20) {
              gauge.remove({ app });
              counter.remove({ app, status: '4xx' });
            }
            if (next() < moved / 20) {
              gauge.set({ app }, 2);
              counter.inc({ app, status: '4xx' });
            }
          }
          if (scrape === 7) counter.reset();
          const where = `seed ${seed}, ${format}, scrape ${scrape}\n`;
          expect(where + (await renderRegistry(registry, format))).toBe(where + (await registry.metrics()));
        }
      }
    }
  });

  it('places a line longer than a new arena holds', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'long_total', help: 'h', labelNames: ['app'], registers: [registry] });
    // The first line 40,000 bytes (multi-byte characters), far past the smallest arena, then a
    // run of long and short ones.
    counter.inc({ app: 'ä'.repeat(20_000) });
    for (let i = 0; i < 12; i += 1) counter.inc({ app: i % 2 === 0 ? `${i}-${'ö'.repeat(5000)}` : `short-${i}` });
    for (let scrape = 0; scrape < 6; scrape += 1) {
      expect(await renderRegistry(registry, 'prometheus')).toBe(await registry.metrics());
    }
  });

  it('keeps renderings of the same registry apart when their slices interleave', async () => {
    const { registry, counter, gauge } = wideRegistry(Registry.PROMETHEUS_CONTENT_TYPE);
    for (let i = 0; i < 2000; i += 1) {
      counter.inc({ app: `app-${i}`, status: '2xx' });
      gauge.set({ app: `app-${i}` }, i);
    }
    const families = registry.getMetricsAsArray().map((collector) => ({ collector, registeredName: collector.name }));
    // Every clock read ends a slice, and a pause is a microtask: renderings started together
    // take turns every 128 series, and each makes and places lines while the other copies.
    let t = 0;
    const pacer: Pacer = { now: () => (t += 1), pause: () => Promise.resolve() };
    const render = (): Promise<string> =>
      writeExposition(families as never, 'prometheus', null, pacer).then((bytes) => bytes.toString('utf8'));
    for (let round = 0; round < 6; round += 1) {
      // Rounds 0-1 make the prefixes and lines, later rounds copy them; round 4 moves a third.
      if (round === 4) for (let i = 0; i < 2000; i += 3) counter.inc({ app: `app-${i}`, status: '2xx' });
      const expected = await registry.metrics();
      const texts = await Promise.all([render(), render(), render()]);
      for (const [i, text] of texts.entries())
        expect(`round ${round}, rendering ${i}\n${text}`).toBe(`round ${round}, rendering ${i}\n${expected}`);
    }
  });
});

describe('renderRegistry: edge cases', () => {
  it.each<[RegistryContentType, 'prometheus' | 'openmetrics']>([
    [Registry.PROMETHEUS_CONTENT_TYPE, 'prometheus'],
    [Registry.OPENMETRICS_CONTENT_TYPE, 'openmetrics'],
  ])('prints an empty registry, and one collector without series, as prom-client does (%s)', async (type, format) => {
    const registry = new Registry();
    registry.setContentType(type as never);
    expect(await renderRegistry(registry, format)).toBe(await registry.metrics());
    new Gauge({ name: 'labelled_only', help: 'h', labelNames: ['a'], registers: [registry] });
    expect(await renderRegistry(registry, format)).toBe(await registry.metrics());
  });
});
