/**
 * Events recorded through the tracker: what each kind does to the collectors, the bound on the
 * `app` label, and what is rejected.
 */
import { createHash } from 'node:crypto';
import { NEVER } from 'rxjs';
import { AppOverflow, TelemetryError, WorkerStateTracker, type TelemetryEvent } from '../../lib';
import { errorWithMessage, trappingProxy, unprintable } from '../helpers/hostile-values';
import { trackerFixture } from '../helpers/tracker-fixture';
import { scrape, scrapeValue, valueOf } from '../helpers/scrape';

const fx = trackerFixture();
const track = fx.track;

describe('WorkerStateTracker: events', () => {
  let tracker: WorkerStateTracker;
  let errors: TelemetryError[];
  beforeEach(() => {
    ({ tracker, errors } = track({ tick: NEVER }));
  });
  afterEach(() => expect(errors).toEqual([]));

  it('worker_spawned: spawned+1, active+1, cold start observed when given', async () => {
    tracker.record({ type: 'worker_spawned', coldStartSeconds: 3 });
    tracker.record({ type: 'worker_spawned' });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_workers_spawned_total')).toBe(2);
    expect(valueOf(s, 'blockyard_workers_active')).toBe(2);
    expect(valueOf(s, 'blockyard_cold_start_seconds_count')).toBe(1);
    expect(valueOf(s, 'blockyard_cold_start_seconds_bucket', { le: '4' })).toBe(1);
  });

  it('worker_stopped: stopped{reason}+1 and active-1, for every reason', async () => {
    for (const reason of ['graceful', 'crashed', 'crashed', 'idle_timeout'] as const) {
      tracker.record({ type: 'worker_stopped', reason });
    }
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_workers_stopped_total', { reason: 'graceful' })).toBe(1);
    expect(valueOf(s, 'blockyard_workers_stopped_total', { reason: 'crashed' })).toBe(2);
    expect(valueOf(s, 'blockyard_workers_stopped_total', { reason: 'idle_timeout' })).toBe(1);
    expect(valueOf(s, 'blockyard_workers_active')).toBe(-4);
  });

  it('sessions, uploads and audit drops move their collectors', async () => {
    tracker.record({ type: 'session_opened' });
    tracker.record({ type: 'session_opened' });
    tracker.record({ type: 'session_closed' });
    tracker.record({ type: 'bundle_uploaded' });
    tracker.record({ type: 'audit_entry_dropped' });
    tracker.record({ type: 'audit_entry_dropped' });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_sessions_active')).toBe(1);
    expect(valueOf(s, 'blockyard_bundles_uploaded_total')).toBe(1);
    expect(valueOf(s, 'blockyard_audit_entries_dropped_total')).toBe(2);
  });

  it('bundle_restored: succeeded or failed +1, build time observed on success only', async () => {
    tracker.record({ type: 'bundle_restored', ok: true, seconds: 30 });
    tracker.record({ type: 'bundle_restored', ok: true });
    tracker.record({ type: 'bundle_restored', ok: false, seconds: 12 });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_bundle_restores_succeeded_total')).toBe(2);
    expect(valueOf(s, 'blockyard_bundle_restores_failed_total')).toBe(1);
    expect(valueOf(s, 'blockyard_build_seconds_count')).toBe(1);
    expect(valueOf(s, 'blockyard_build_seconds_sum')).toBe(30);
  });

  it('proxy_request: requests{app or unknown, class}+1 and duration observed when given', async () => {
    tracker.record({ type: 'proxy_request', app: 'shiny', status: 200, seconds: 0.02 });
    tracker.record({ type: 'proxy_request', app: 'shiny', status: 204 });
    tracker.record({ type: 'proxy_request', app: 'shiny', status: 520 });
    tracker.record({ type: 'proxy_request', status: 404, seconds: 0.001 });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'shiny', status: '2xx' })).toBe(2);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'shiny', status: '5xx' })).toBe(1);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'unknown', status: '4xx' })).toBe(1);
    expect(valueOf(s, 'blockyard_proxy_request_seconds_count')).toBe(2);
    expect(valueOf(s, 'blockyard_proxy_request_seconds_bucket', { le: '0.005' })).toBe(1);
  });

  it('proxy_request counts are visible to every scrape, also through get() and the JSON form', async () => {
    tracker.record({ type: 'proxy_request', app: 'a', status: 200 });
    expect(await scrapeValue(fx.registry, 'blockyard_proxy_requests_total', { app: 'a', status: '2xx' })).toBe(1);
    tracker.record({ type: 'proxy_request', app: 'a', status: 200 });
    const json = await fx.registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === 'blockyard_proxy_requests_total');
    expect(requests?.values).toEqual([{ labels: { app: 'a', status: '2xx' }, value: 2 }]);
    tracker.record({ type: 'proxy_request', app: 'a', status: 200 });
    expect((await fx.metrics.proxyRequests.get()).values[0]?.value).toBe(3);
  });

  it('health_check_failed: health_checks_failed{app}+1', async () => {
    tracker.record({ type: 'health_check_failed', app: 'a' });
    tracker.record({ type: 'health_check_failed', app: 'a' });
    tracker.record({ type: 'health_check_failed', app: 'b' });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_health_checks_failed_total', { app: 'a' })).toBe(2);
    expect(valueOf(s, 'blockyard_health_checks_failed_total', { app: 'b' })).toBe(1);
  });

  it('publishes every accepted event on events$ as a clean copy', () => {
    const seen: TelemetryEvent[] = [];
    tracker.events$.subscribe((e) => seen.push(e));
    const original = { type: 'proxy_request' as const, app: 'a', status: 200, extra: 'dropped' };
    tracker.record(original);
    tracker.record({ type: 'session_opened' });
    expect(seen).toEqual([
      { type: 'proxy_request', app: 'a', status: 200, seconds: undefined, trace: undefined },
      { type: 'session_opened' },
    ]);
    expect(seen[0]).not.toBe(original);
  });
});

describe('WorkerStateTracker: bounded app label', () => {
  it('counts apps beyond maxApps under the overflow value and reports the first overflow once', async () => {
    const { tracker, errors } = track({ tick: NEVER, maxApps: 2 });
    for (const app of ['a', 'b', 'c', 'd', 'a']) tracker.record({ type: 'proxy_request', app, status: 200 });
    tracker.record({ type: 'proxy_request', status: 404 });
    tracker.record({ type: 'health_check_failed', app: 'e' });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'a' })).toBe(2);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'b' })).toBe(1);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: AppOverflow })).toBe(2);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: 'unknown' })).toBe(1);
    expect(valueOf(s, 'blockyard_health_checks_failed_total', { app: AppOverflow })).toBe(1);
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      ['bound', 'app', 'more than 2 distinct app names; "c" and later new apps are counted as __overflow__'],
    ]);
  });
});

describe('WorkerStateTracker: app label length', () => {
  /** What a name longer than 128 characters must be counted as: written out here, as documented. */
  function expectedLabel(name: string): string {
    const hash = createHash('sha256').update(name, 'utf16le').digest('hex');
    return `${name.slice(0, 115)}…${hash.slice(0, 12)}`;
  }

  it('counts an app name longer than 128 characters under a 128-character value that stays distinct, reported once per name', async () => {
    const { tracker, errors } = track({ tick: NEVER });
    const mebi = 'a'.repeat(1 << 20);
    const sameStart = `${'a'.repeat((1 << 20) - 1)}b`;
    const longest = 'c'.repeat(128); // the longest name kept as it is
    for (const app of [mebi, mebi, sameStart, longest]) tracker.record({ type: 'proxy_request', app, status: 200 });
    tracker.record({ type: 'health_check_failed', app: mebi });
    const text = await fx.registry.metrics();
    const s = await scrape(fx.registry);
    expect(expectedLabel(mebi)).toHaveLength(128);
    expect(expectedLabel(mebi)).not.toBe(expectedLabel(sameStart));
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: expectedLabel(mebi) })).toBe(2);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: expectedLabel(sameStart) })).toBe(1);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: longest })).toBe(1);
    expect(valueOf(s, 'blockyard_health_checks_failed_total', { app: expectedLabel(mebi) })).toBe(1);
    expect(text.length).toBeLessThan(10_000);
    const quoted = `"${'a'.repeat(64)}…"`;
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([
      [
        'bound',
        'app',
        `app name of 1048576 characters is longer than 128; ${quoted} is counted as "${expectedLabel(mebi)}"`,
      ],
      [
        'bound',
        'app',
        `app name of 1048576 characters is longer than 128; ${quoted} is counted as "${expectedLabel(sameStart)}"`,
      ],
    ]);
  });

  it('keeps the exposition small whatever the names: 300 distinct names of 100,000 characters', async () => {
    const { tracker, errors } = track({ tick: NEVER });
    const base = 'n'.repeat(100_000);
    for (let i = 0; i < 300; i += 1) tracker.record({ type: 'proxy_request', app: `${base}${i}`, status: 200 });
    const apps = new Set(
      (await scrape(fx.registry)).flatMap((s) => (s.labels.app === undefined ? [] : [s.labels.app])),
    );
    expect(apps.size).toBe(300);
    expect(Math.max(...[...apps].map((a) => a.length))).toBe(128);
    expect((await fx.registry.metrics()).length).toBeLessThan(100_000);
    expect(errors).toHaveLength(300);
    expect(Math.max(...errors.map((e) => e.message.length))).toBeLessThanOrEqual(1024);
  });

  it('counts long names past maxApps under the overflow value like any other', async () => {
    const { tracker, errors } = track({ tick: NEVER, maxApps: 1 });
    tracker.record({ type: 'proxy_request', app: 'x'.repeat(200), status: 200 });
    tracker.record({ type: 'proxy_request', app: 'y'.repeat(200), status: 200 });
    const s = await scrape(fx.registry);
    expect(valueOf(s, 'blockyard_proxy_requests_total', { app: AppOverflow })).toBe(1);
    expect(errors.map((e) => e.message)).toEqual([
      `app name of 200 characters is longer than 128; "${'x'.repeat(64)}…" is counted as "${expectedLabel('x'.repeat(200))}"`,
      `more than 1 distinct app names; "${'y'.repeat(64)}…" and later new apps are counted as __overflow__`,
    ]);
  });
});

/** An event whose `status` getter throws `thrown`. */
function throwingOnRead(thrown: unknown): object {
  return Object.defineProperty({ type: 'proxy_request' }, 'status', {
    get() {
      throw thrown;
    },
  });
}

/** An object whose class (its constructor) is named `name`. */
function instanceOfClassNamed(name: string): object {
  const constructor = Object.defineProperty(() => undefined, 'name', { value: name });
  return Object.create({ constructor }) as object;
}

describe('bad events are reported, never recorded', () => {
  const longName = 'N'.repeat(1 << 20);
  const cases: [string, unknown, string, string][] = [
    ['not an object', 'spawn', 'event', 'event must be an object, got "spawn"'],
    ['null', null, 'event', 'event must be an object, got null'],
    [
      'unknown type',
      { type: 'worker_exploded' },
      'type',
      'event type must be one of worker_spawned, worker_stopped, session_opened, session_closed, bundle_uploaded, bundle_restored, proxy_request, health_check_failed, audit_entry_dropped, got "worker_exploded"',
    ],
    [
      'unknown reason',
      { type: 'worker_stopped', reason: 'oom' },
      'reason',
      'worker_stopped event: reason must be one of graceful, crashed, idle_timeout, got "oom"',
    ],
    [
      'negative cold start',
      { type: 'worker_spawned', coldStartSeconds: -1 },
      'coldStartSeconds',
      'worker_spawned event: coldStartSeconds must be a non-negative number of at most 1000000000 seconds, got number -1',
    ],
    [
      'NaN duration',
      { type: 'proxy_request', status: 200, seconds: Number.NaN },
      'seconds',
      'proxy_request event: seconds must be a non-negative number of at most 1000000000 seconds, got number NaN',
    ],
    [
      'Infinity build',
      { type: 'bundle_restored', ok: true, seconds: Infinity },
      'seconds',
      'bundle_restored event: seconds must be a non-negative number of at most 1000000000 seconds, got number Infinity',
    ],
    [
      'absurd duration',
      { type: 'proxy_request', status: 200, seconds: 1e308 },
      'seconds',
      'proxy_request event: seconds must be a non-negative number of at most 1000000000 seconds, got number 1e+308',
    ],
    [
      'fractional status',
      { type: 'proxy_request', status: 200.5 },
      'status',
      'proxy_request event: status must be an integer, got number 200.5',
    ],
    [
      'string status',
      { type: 'proxy_request', status: '200' },
      'status',
      'proxy_request event: status must be an integer, got "200"',
    ],
    [
      'empty app',
      { type: 'proxy_request', app: '', status: 200 },
      'app',
      'proxy_request event: app must be a non-empty string or absent, got ""',
    ],
    [
      'numeric app',
      { type: 'health_check_failed', app: 3 },
      'app',
      'health_check_failed event: app must be a non-empty string, got number 3',
    ],
    ['missing ok', { type: 'bundle_restored' }, 'ok', 'bundle_restored event: ok must be a boolean, got undefined'],
    [
      'bad trace',
      { type: 'proxy_request', status: 200, trace: { traceId: 'x', spanId: 'y' } },
      'trace',
      'proxy_request event: trace must be a { traceId, spanId } of hex ids, got an object',
    ],
    [
      'throwing getter',
      Object.defineProperty({ type: 'proxy_request' }, 'status', {
        get() {
          throw new Error('gotcha');
        },
      }),
      'event',
      'reading the event threw: gotcha',
    ],
    [
      'a getter throwing an Error whose message is a symbol',
      throwingOnRead(errorWithMessage(Symbol('boom'))),
      'event',
      'reading the event threw: an Error whose message is symbol boom',
    ],
    [
      'a getter throwing an Error whose message is null',
      throwingOnRead(errorWithMessage(null)),
      'event',
      'reading the event threw: an Error whose message is null',
    ],
    [
      'a getter throwing a TypeError whose message is a number',
      throwingOnRead(Object.defineProperty(new TypeError(), 'message', { value: 42 })),
      'event',
      'reading the event threw: a TypeError whose message is number 42',
    ],
    ['a getter throwing a symbol', throwingOnRead(Symbol('bare')), 'event', 'reading the event threw: Symbol(bare)'],
    [
      'a getter throwing an object whose toString throws',
      throwingOnRead(unprintable()),
      'event',
      'reading the event threw: an unprintable error (an object)',
    ],
    [
      'a getter throwing a Proxy whose every trap throws',
      throwingOnRead(trappingProxy()),
      'event',
      'reading the event threw: an unprintable error (an unreadable value)',
    ],
    [
      'a getter throwing an Error of 1 MiB',
      throwingOnRead(new Error('m'.repeat(1 << 20))),
      'event',
      `reading the event threw: ${'m'.repeat(1023 - 'reading the event threw: '.length)}…`,
    ],
    [
      'a symbol of 1 MiB as the reason',
      { type: 'worker_stopped', reason: Symbol('r'.repeat(1 << 20)) },
      'reason',
      `worker_stopped event: reason must be one of graceful, crashed, idle_timeout, got symbol ${'r'.repeat(64)}…`,
    ],
    [
      'an instance of a class named with 1 MiB as the status',
      { type: 'proxy_request', status: instanceOfClassNamed(longName) },
      'status',
      `proxy_request event: status must be an integer, got a ${'N'.repeat(64)}…`,
    ],
  ];

  it.each(cases)('%s', async (_name, event, field, message) => {
    const { tracker, errors } = track({ tick: NEVER });
    const accepted: TelemetryEvent[] = [];
    tracker.events$.subscribe((e) => accepted.push(e));
    expect(() => tracker.record(event as TelemetryEvent)).not.toThrow();
    expect(errors.map((e) => [e.origin, e.field, e.message])).toEqual([['event', field, message]]);
    expect(errors[0]?.message.length).toBeLessThanOrEqual(1024);
    expect(accepted).toEqual([]);
    const samples = await scrape(fx.registry);
    expect(samples.filter((s) => s.value !== 0)).toEqual([]);
    tracker.record({ type: 'proxy_request', app: 'a', status: 200 });
    expect(accepted).toHaveLength(1);
  });
});
