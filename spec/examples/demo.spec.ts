/**
 * The demo (`npm start`, examples/demo/): its seeded simulation, flags, tick line, live page,
 * and the program itself run as a child process, scraped like Prometheus would, then stopped
 * with SIGINT / SIGTERM.
 */
import { request, type IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import {
  STATUS_CLASSES,
  STOP_REASONS,
  TelemetryError,
  WORKER_STATES,
  WorkerStateTracker,
  newMetrics,
  serveMetrics,
  type MetricsServer,
  type StateCounts,
  type TelemetryEvent,
  type WorkerTransition,
} from '../../lib';
import {
  DEFAULT_APPS,
  DEFAULT_PORT,
  DEFAULT_SEED,
  DEFAULT_TICK_MS,
  USAGE,
  parseFlags,
} from '../../examples/demo/flags';
import { LivePage, type HistoryMessage, type TickMessage } from '../../examples/demo/page';
import { PAGE_CSP } from '../../examples/demo/page-html';
import { MAX_SEED, SeededRandom } from '../../examples/demo/random';
import {
  MAX_SESSIONS_PER_WORKER,
  OrchestratorSimulator,
  emptySummary,
  type StepSummary,
} from '../../examples/demo/simulator';
import { formatErrorLine } from '../../examples/demo/error-line';
import { main } from '../../examples/demo/main';
import { describeSummary, formatTickLine } from '../../examples/demo/tick-line';
import { CONTRACT, OPT_IN } from '../helpers/contract';
import { startDemoProcess } from '../helpers/demo-process';
import { isValidEvent } from '../helpers/event-oracle';
import { httpRequest } from '../helpers/http-client';
import { listen } from '../helpers/http-server';
import { parseExposition, scrape, valueOf, type Sample } from '../helpers/scrape';
import { waitUntil } from '../helpers/wait-until';
import { oracleCounts } from '../helpers/worker-oracle';

const EPOCH = new Date('2026-01-01T00:00:00Z');

/** Runs `steps` steps and returns every event and a copy of the snapshot after each step. */
function run(seed: number, apps: number, steps: number): { events: TelemetryEvent[]; snapshots: string[] } {
  const events: TelemetryEvent[] = [];
  const sim = new OrchestratorSimulator({ seed, apps, epoch: EPOCH, record: (e) => events.push(e) });
  const snapshots: string[] = [];
  for (let i = 0; i < steps; i += 1) {
    sim.advance();
    snapshots.push(JSON.stringify([...sim.workers]));
  }
  return { events, snapshots };
}

/** A name for each kind of event worth seeing, finer than `type`. */
function kindOf(e: TelemetryEvent): string {
  switch (e.type) {
    case 'worker_stopped':
      return `worker_stopped:${e.reason}`;
    case 'bundle_restored':
      return `bundle_restored:${e.ok ? 'ok' : 'failed'}`;
    case 'proxy_request':
      return e.app === undefined
        ? `proxy_request:unknown:${e.status}`
        : `proxy_request:${Math.floor(e.status / 100)}xx`;
    default:
      return e.type;
  }
}

const EVERY_KIND = [
  'worker_spawned',
  'worker_stopped:graceful',
  'worker_stopped:crashed',
  'worker_stopped:idle_timeout',
  'session_opened',
  'session_closed',
  'bundle_uploaded',
  'bundle_restored:ok',
  'bundle_restored:failed',
  'proxy_request:1xx',
  'proxy_request:2xx',
  'proxy_request:3xx',
  'proxy_request:4xx',
  'proxy_request:5xx',
  'proxy_request:unknown:404',
  'health_check_failed',
  'audit_entry_dropped',
];

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number): number[] => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => r.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(0)).not.toEqual(draw(MAX_SEED));
  });

  it('draws floats in [0, 1), integers in range and non-negative Poisson counts', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 2000; i += 1) {
      const f = r.next();
      expect(f >= 0 && f < 1).toBe(true);
      const n = r.int(3, 5);
      expect([3, 4, 5]).toContain(n);
      expect(r.poisson(1.5)).toBeGreaterThanOrEqual(0);
      expect(r.logNormal(2, 0.5)).toBeGreaterThan(0);
    }
    expect(r.poisson(0)).toBe(0);
  });

  it('has a Poisson mean close to the one asked for', () => {
    const r = new SeededRandom(3);
    let sum = 0;
    for (let i = 0; i < 5000; i += 1) sum += r.poisson(2);
    expect(sum / 5000).toBeGreaterThan(1.9);
    expect(sum / 5000).toBeLessThan(2.1);
  });

  it('rejects a seed that is not an unsigned 32-bit integer, quoting it', () => {
    expect(() => new SeededRandom(-1)).toThrow(/seed must be an integer 0 … 4294967295, got -1/);
    expect(() => new SeededRandom(1.5)).toThrow(TypeError);
    expect(() => new SeededRandom(MAX_SEED + 1)).toThrow(TypeError);
  });
});

describe('OrchestratorSimulator', () => {
  it('repeats a run exactly for the same seed: every event and every snapshot, step by step', () => {
    const a = run(11, 4, 300);
    const b = run(11, 4, 300);
    expect(a.events.length).toBeGreaterThan(1000);
    expect(b.events).toEqual(a.events);
    expect(b.snapshots).toEqual(a.snapshots);
  });

  it('gives another run for another seed', () => {
    expect(run(12, 4, 100).events).not.toEqual(run(11, 4, 100).events);
  });

  it('hosts --apps apps with distinct names, and more apps make more traffic', () => {
    const one = new OrchestratorSimulator({ seed: 1, apps: 1, epoch: EPOCH, record: () => undefined });
    const many = new OrchestratorSimulator({ seed: 1, apps: 12, epoch: EPOCH, record: () => undefined });
    expect(one.appNames).toHaveLength(1);
    expect(new Set(many.appNames).size).toBe(12);
    expect(run(5, 12, 200).events.length).toBeGreaterThan(2 * run(5, 1, 200).events.length);
  });

  it('rejects an app count out of range, quoting it', () => {
    expect(() => new OrchestratorSimulator({ seed: 1, apps: 0, record: () => undefined })).toThrow(
      /apps must be an integer 1 … 50, got 0/,
    );
    expect(() => new OrchestratorSimulator({ seed: 1, apps: 2.5, record: () => undefined })).toThrow(TypeError);
  });

  it('records only valid events, and events that always agree with its worker table', () => {
    for (const seed of [1, 2, 3]) {
      let spawned = 0;
      let stopped = 0;
      let sessions = 0;
      const problems: string[] = [];
      const sim = new OrchestratorSimulator({
        seed,
        apps: 5,
        epoch: EPOCH,
        record: (e) => {
          if (!isValidEvent(e)) problems.push(`an invalid event: ${JSON.stringify(e)}`);
          if (e.type === 'worker_spawned') spawned += 1;
          if (e.type === 'worker_stopped') stopped += 1;
          if (e.type === 'session_opened') sessions += 1;
          if (e.type === 'session_closed') sessions -= 1;
        },
      });
      for (let step = 0; step < 300; step += 1) {
        sim.advance();
        const counts = oracleCounts(sim.workers);
        if (spawned - stopped !== sim.workers.size) problems.push(`step ${step}: spawned - stopped != workers`);
        if (sessions !== counts.sessions) problems.push(`step ${step}: opened - closed != sessions`);
        if (counts.workers !== sim.workers.size) problems.push(`step ${step}: an invalid worker record`);
        for (const [id, w] of sim.workers) {
          if (w.sessions > MAX_SESSIONS_PER_WORKER) problems.push(`step ${step}: ${id} is over capacity`);
          // idleSince is set exactly while a worker has no sessions.
          if ((w.sessions === 0) !== w.idleSince instanceof Date) problems.push(`step ${step}: ${id} idleSince`);
        }
      }
      expect(problems).toEqual([]);
    }
  });

  it('shows every kind of event within the first minute of the default seed', () => {
    const seen = new Set(run(DEFAULT_SEED, DEFAULT_APPS, 60).events.map(kindOf));
    expect(EVERY_KIND.filter((k) => !seen.has(k))).toEqual([]);
  });

  it('shows every kind of event within ten minutes for most seeds', () => {
    let complete = 0;
    for (let seed = 100; seed < 110; seed += 1) {
      const seen = new Set(run(seed, DEFAULT_APPS, 600).events.map(kindOf));
      if (EVERY_KIND.every((k) => seen.has(k))) complete += 1;
    }
    expect(complete).toBeGreaterThanOrEqual(9);
  });

  it('drives a real tracker, options on as in the demo, without a single error, its counts matching the worker table', () => {
    const metrics = newMetrics(new Registry());
    const tick$ = new Subject<void>();
    const tracker = new WorkerStateTracker({
      metrics,
      tick: tick$,
      byApp: true,
      countTransitions: true,
      selfMetrics: true,
    });
    const errors: string[] = [];
    tracker.errors$.subscribe((e) => errors.push(e.message));
    let counts: StateCounts | undefined;
    tracker.counts$.subscribe((c) => (counts = c));
    let byApp: ReadonlyMap<string, StateCounts> | undefined;
    tracker.countsByApp$.subscribe((m) => (byApp = m));
    const sim = new OrchestratorSimulator({ seed: 4, apps: 4, epoch: EPOCH, record: (e) => tracker.record(e) });
    for (let step = 0; step < 200; step += 1) {
      sim.advance();
      tracker.feed(sim.workers);
      tick$.next();
      expect(counts).toEqual(oracleCounts(sim.workers));
      // Each app's workers and sessions, counted here from the worker table.
      const expected = new Map<
        string,
        { busy: number; idle: number; draining: number; workers: number; sessions: number }
      >();
      for (const w of sim.workers.values()) {
        const c = expected.get(w.appId) ?? { busy: 0, idle: 0, draining: 0, workers: 0, sessions: 0 };
        c[w.draining ? 'draining' : w.sessions > 0 ? 'busy' : 'idle'] += 1;
        c.workers += 1;
        c.sessions += w.sessions;
        expected.set(w.appId, c);
      }
      expect(new Map([...(byApp ?? [])].sort())).toEqual(new Map([...expected].sort()));
    }
    tracker.stop();
    expect(errors).toEqual([]);
  });
});

describe('parseFlags', () => {
  it('defaults to port 9464, a one-second tick, the default seed and four apps, until interrupted', () => {
    expect(parseFlags([])).toEqual({
      kind: 'run',
      flags: {
        port: DEFAULT_PORT,
        tickMs: DEFAULT_TICK_MS,
        seed: DEFAULT_SEED,
        apps: DEFAULT_APPS,
        durationSeconds: 0,
      },
    });
    expect(DEFAULT_PORT).toBe(9464);
  });

  it('reads --name value and --name=value', () => {
    expect(parseFlags(['--port', '0', '--tick=50', '--seed', '7', '--apps=12', '--duration', '2.5'])).toEqual({
      kind: 'run',
      flags: { port: 0, tickMs: 50, seed: 7, apps: 12, durationSeconds: 2.5 },
    });
  });

  it('answers --help and -h with the usage, which lists every flag', () => {
    expect(parseFlags(['--port', '1', '--help'])).toEqual({ kind: 'help' });
    expect(parseFlags(['-h'])).toEqual({ kind: 'help' });
    for (const flag of ['--port', '--tick', '--seed', '--apps', '--duration', '--help']) expect(USAGE).toContain(flag);
  });

  it.each([
    [['--port', '70000'], '--port must be an integer 0 … 65535, got "70000"'],
    [['--port', '-1'], '--port must be an integer 0 … 65535, got "-1"'],
    [['--port=-1'], '--port must be an integer 0 … 65535, got "-1"'],
    [['--tick', '5'], '--tick must be milliseconds, an integer 10 … 60000, got "5"'],
    [['--tick', '1e3'], '--tick must be milliseconds, an integer 10 … 60000, got "1e3"'],
    [['--seed', 'abc'], '--seed must be an integer 0 … 4294967295, got "abc"'],
    [['--apps', '0'], '--apps must be an integer 1 … 50, got "0"'],
    [['--apps', '51'], '--apps must be an integer 1 … 50, got "51"'],
    [
      ['--duration', 'forever'],
      '--duration must be seconds, a number 0 … 86400 (0 runs until interrupted), got "forever"',
    ],
    [['--duration'], '--duration needs a value'],
    [['--colour', 'red'], 'unknown flag --colour'],
    [['9464'], 'unexpected argument "9464"; flags start with --'],
    [['--seed', '1', '--seed', '2'], '--seed is given twice'],
  ])('rejects %j: %s', (argv, message) => {
    expect(parseFlags(argv)).toEqual({ kind: 'error', message });
  });
});

describe('the tick line', () => {
  const counts: StateCounts = { busy: 7, idle: 3, draining: 1, workers: 11, sessions: 24 };
  const at = new Date(2026, 0, 1, 13, 2, 7);

  it('shows the counts alone on a quiet tick', () => {
    expect(formatTickLine(at, 12, counts, emptySummary())).toBe(
      '13:02:07 #12   busy  7  idle  3  draining  1  sessions  24',
    );
  });

  it('adds what happened since the last line', () => {
    const s: StepSummary = { ...emptySummary(), spawned: 1, requests: 31, requests5xx: 1, unknownAppRequests: 2 };
    s.stopped.idle_timeout = 1;
    s.restoresFailed = 1;
    expect(formatTickLine(at, 12, counts, s)).toBe(
      '13:02:07 #12   busy  7  idle  3  draining  1  sessions  24 | spawned 1, idle_timeout 1, restore FAILED 1, ' +
        'requests 31 (5xx 1, unknown app 2)',
    );
    expect(describeSummary({ ...emptySummary(), auditEntriesDropped: 3 })).toBe('audit dropped 3');
  });
});

describe('the error line', () => {
  it('names the origin, and the field only when there is one', () => {
    expect(
      formatErrorLine(
        new TelemetryError('subscriber', 'a subscriber of counts$ threw: page gone', { field: 'counts$' }),
      ),
    ).toBe('tracker error (subscriber, counts$): a subscriber of counts$ threw: page gone');
    expect(formatErrorLine(new TelemetryError('source', 'the snapshot source threw: database down'))).toBe(
      'tracker error (source): the snapshot source threw: database down',
    );
  });

  it('prints what a throwing subscriber of the demo tracker reports, naming the stream', () => {
    const tracker = new WorkerStateTracker({ metrics: newMetrics(new Registry()), tick: new Subject<void>() });
    const lines: string[] = [];
    tracker.errors$.subscribe((e) => lines.push(formatErrorLine(e)));
    tracker.events$.subscribe(() => {
      throw new Error('page gone');
    });
    tracker.record({ type: 'bundle_uploaded' });
    tracker.stop();
    expect(lines).toEqual(['tracker error (subscriber, events$): a subscriber of events$ threw: page gone']);
  });
});

/** A Server-Sent Events client on node:http: collects `{event, data}` messages as they come. */
interface EventStream {
  readonly response: IncomingMessage;
  readonly messages: { event: string; data: unknown }[];
  ended(): boolean;
  close(): void;
}

function openEventStream(url: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (response) => {
      const messages: { event: string; data: unknown }[] = [];
      let buffer = '';
      let ended = false;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let cut = buffer.indexOf('\n\n');
        while (cut !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) as unknown });
          cut = buffer.indexOf('\n\n');
        }
      });
      response.on('end', () => (ended = true));
      response.on('close', () => (ended = true));
      resolve({ response, messages, ended: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('LivePage', () => {
  let counts$: Subject<StateCounts>;
  let countsByApp$: Subject<ReadonlyMap<string, StateCounts>>;
  let transitions$: Subject<WorkerTransition>;
  let page: LivePage;
  let served: MetricsServer;
  let base: string;
  let clock: number;

  beforeEach(async () => {
    counts$ = new Subject();
    countsByApp$ = new Subject();
    transitions$ = new Subject();
    clock = 1_700_000_000_000;
    page = new LivePage({
      counts$,
      countsByApp$,
      transitions$,
      info: { apps: 3, seed: 5, tickMs: 250 },
      maxClients: 2,
      now: () => clock,
    });
    served = await serveMetrics({ registry: new Registry(), port: 0, fallback: page.handle });
    base = served.url.replace(/metrics$/, '');
  });

  afterEach(async () => {
    page.close();
    await served.close();
  });

  const counts = (busy: number, idle: number, draining: number, sessions: number): StateCounts => ({
    busy,
    idle,
    draining,
    workers: busy + idle + draining,
    sessions,
  });

  it('serves the page at / with a strict Content-Security-Policy that allows its own script', async () => {
    const answer = await httpRequest(base);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(PAGE_CSP).toMatch(/default-src 'none'/);
    expect(PAGE_CSP).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(answer.text).toContain('seed 5');
    expect(answer.text).toContain('aria-live="polite"');
    expect(answer.text).toContain('<table>');
    expect(answer.text).toContain('<h2 id="apps-heading">Workers by app</h2>');
    // No external resource of any kind.
    expect(answer.text).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('answers 404 elsewhere and 405 to methods other than GET and HEAD', async () => {
    expect((await httpRequest(`${base}nope`)).status).toBe(404);
    const post = await httpRequest(base, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await httpRequest(`${base}healthz`)).text).toBe('ok\n');
  });

  it('streams the history on connect, then one tick message per count with its counts by app and transitions', async () => {
    transitions$.next({ workerId: 'w1', appId: 'a', from: null, to: 'idle' });
    countsByApp$.next(new Map([['a', counts(0, 1, 0, 0)]]));
    counts$.next(counts(0, 1, 0, 0));
    const stream = await openEventStream(`${base}events`);
    try {
      expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      await waitUntil('the history', () => (stream.messages.length >= 1 ? true : undefined));
      const history = stream.messages[0] as { event: string; data: HistoryMessage };
      expect(history.event).toBe('history');
      expect(history.data.points).toEqual([{ t: clock, busy: 0, idle: 1, draining: 0, workers: 1, sessions: 0 }]);
      expect(history.data.transitions).toEqual([{ t: clock, workerId: 'w1', appId: 'a', from: null, to: 'idle' }]);
      expect(history.data.byApp).toEqual([{ app: 'a', busy: 0, idle: 1, draining: 0, sessions: 0 }]);

      clock += 250;
      transitions$.next({ workerId: 'w1', appId: 'a', from: 'idle', to: 'busy' });
      transitions$.next({ workerId: 'w2', appId: 'b', from: null, to: 'draining' });
      // Sorted by app name on the page, whatever the map's order.
      countsByApp$.next(
        new Map([
          ['b', counts(0, 0, 1, 3)],
          ['a', counts(1, 0, 0, 2)],
        ]),
      );
      counts$.next(counts(1, 0, 1, 5));
      await waitUntil('a tick', () => (stream.messages.length >= 2 ? true : undefined));
      const tick = stream.messages[1] as { event: string; data: TickMessage };
      expect(tick.event).toBe('tick');
      expect(tick.data).toEqual({
        counts: { t: clock, busy: 1, idle: 0, draining: 1, workers: 2, sessions: 5 },
        byApp: [
          { app: 'a', busy: 1, idle: 0, draining: 0, sessions: 2 },
          { app: 'b', busy: 0, idle: 0, draining: 1, sessions: 3 },
        ],
        transitions: [
          { t: clock, workerId: 'w1', appId: 'a', from: 'idle', to: 'busy' },
          { t: clock, workerId: 'w2', appId: 'b', from: null, to: 'draining' },
        ],
        more: 0,
      });
      expect(page.clientCount).toBe(1);
    } finally {
      stream.close();
    }
    await waitUntil('the page to forget the closed stream', () => (page.clientCount === 0 ? true : undefined));
  });

  it('bounds the open streams: one more than maxClients gets a 503', async () => {
    const a = await openEventStream(`${base}events`);
    const b = await openEventStream(`${base}events`);
    try {
      const c = await httpRequest(`${base}events`);
      expect(c.status).toBe(503);
      expect(c.headers['retry-after']).toBe('10');
    } finally {
      a.close();
      b.close();
    }
  });

  it('ends every open stream on close(), and when the tracker completes counts$', async () => {
    const first = await openEventStream(`${base}events`);
    page.close();
    await waitUntil('the stream to end on close()', () => (first.ended() ? true : undefined));
    expect((await httpRequest(`${base}events`)).status).toBe(503);

    const other = new LivePage({ counts$, countsByApp$, transitions$, info: { apps: 1, seed: 1, tickMs: 1000 } });
    const server2 = await serveMetrics({ registry: new Registry(), port: 0, fallback: other.handle });
    const second = await openEventStream(server2.url.replace(/metrics$/, 'events'));
    counts$.complete();
    await waitUntil('the stream to end when counts$ completes', () => (second.ended() ? true : undefined));
    other.close();
    await server2.close();
  });
});

describe('the demo as a program', () => {
  // Each test starts a real process (ts-node compiles the demo first): seconds, not minutes.
  const CHILD_TEST_MS = 60_000;
  /** Samples named `name` (or its histogram series) in a scrape. */
  const named = (samples: readonly Sample[], name: string): Sample[] => samples.filter((s) => s.name === name);

  /** Why `samples` do not yet hold every series of the contract with plausible values. */
  function missing(samples: readonly Sample[], apps: readonly string[]): string | undefined {
    for (const state of WORKER_STATES) {
      if (named(samples, 'blockyard_workers').every((s) => s.labels.state !== state)) return `state ${state}`;
    }
    for (const reason of STOP_REASONS) {
      const s = named(samples, 'blockyard_workers_stopped_total').find((x) => x.labels.reason === reason);
      if (s === undefined || s.value === 0) return `stop reason ${reason}`;
    }
    const requests = named(samples, 'blockyard_proxy_requests_total');
    for (const status of STATUS_CLASSES) {
      if (!requests.some((s) => s.labels.status === status && s.labels.app !== 'unknown')) return `status ${status}`;
    }
    if (!requests.some((s) => s.labels.app === 'unknown' && s.labels.status === '4xx')) return 'app="unknown"';
    if (!named(samples, 'blockyard_health_checks_failed_total').some((s) => apps.includes(s.labels.app ?? ''))) {
      return 'health check failures';
    }
    for (const name of [
      'blockyard_workers_spawned_total',
      'blockyard_bundles_uploaded_total',
      'blockyard_bundle_restores_succeeded_total',
      'blockyard_bundle_restores_failed_total',
      'blockyard_audit_entries_dropped_total',
      'blockyard_cold_start_seconds_count',
      'blockyard_proxy_request_seconds_count',
      'blockyard_build_seconds_count',
    ]) {
      if (!(named(samples, name)[0]?.value !== undefined && (named(samples, name)[0] as Sample).value > 0)) return name;
    }
    return undefined;
  }

  /**
   * What keeps `samples` from being one tick's view across families, or undefined: the per-app
   * worker gauge adding up to `blockyard_workers`, and the active workers to those spawned less
   * those stopped.
   */
  function acrossFamilies(samples: readonly Sample[]): string | undefined {
    const byApp = named(samples, 'blockyard_app_workers');
    for (const state of WORKER_STATES) {
      const sum = byApp.filter((s) => s.labels.state === state).reduce((n, s) => n + s.value, 0);
      if (sum !== valueOf(samples, 'blockyard_workers', { state })) return `blockyard_app_workers{state="${state}"}`;
    }
    const stopped = named(samples, 'blockyard_workers_stopped_total').reduce((sum, s) => sum + s.value, 0);
    if (
      valueOf(samples, 'blockyard_workers_active') !==
      valueOf(samples, 'blockyard_workers_spawned_total') - stopped
    ) {
      return 'blockyard_workers_active';
    }
    return undefined;
  }

  it(
    'serves every series of the contract with plausible values, then stops on SIGINT with exit code 0',
    async () => {
      const demo = startDemoProcess(['--port', '0', '--tick', '20', '--seed', String(DEFAULT_SEED)]);
      try {
        const { page, metrics } = await demo.urls();
        expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        expect(metrics).toBe(`${page}metrics`);
        const apps = new OrchestratorSimulator({ seed: 1, apps: DEFAULT_APPS, record: () => undefined }).appNames;

        // A scrape is written in slices with turns of the event loop between them, and the demo
        // ticks every 20 ms: a tick that lands between two families' slices moves one and not the
        // other. The relations between families below hold within one tick, so they are checked
        // on a scrape no tick split (on a loaded machine, not always the first).
        const samples = await waitUntil(
          'every series of the contract, in a scrape no tick split',
          async () => {
            const answer = await httpRequest(metrics);
            const parsed = parseExposition(answer.text);
            const gap = missing(parsed, apps) ?? acrossFamilies(parsed);
            if (gap !== undefined) throw new Error(`not yet: ${gap}`);
            return parsed;
          },
          { timeoutMs: 30_000, intervalMs: 200 },
        );

        // Every metric of the contract and of the three opt-in options, and besides them only
        // Node's default metrics (defaultMetrics: true): process_* and nodejs_*.
        const names = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
        const ours = [...names].filter((name) => !/^(process|nodejs)_/.test(name));
        expect(ours.sort()).toEqual([...CONTRACT, ...OPT_IN].map((c) => c.name).sort());
        expect([...names]).toEqual(
          expect.arrayContaining(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_version_info']),
        );

        // byApp: the demo's apps only, three states each, adding up to blockyard_workers.
        const byApp = named(samples, 'blockyard_app_workers');
        for (const s of byApp) expect(apps).toContain(s.labels.app);
        for (const state of WORKER_STATES) {
          const sum = byApp.filter((s) => s.labels.state === state).reduce((n, s) => n + s.value, 0);
          expect([state, sum]).toEqual([state, valueOf(samples, 'blockyard_workers', { state })]);
        }
        expect(byApp.length % 3).toBe(0);
        // countTransitions: workers appeared; selfMetrics: a fresh snapshot and no error.
        expect(valueOf(samples, 'blockyard_worker_transitions_total', { from: 'none', to: 'idle' })).toBeGreaterThan(0);
        expect(valueOf(samples, 'blockyard_tracker_snapshot_age_seconds')).toBeLessThan(5);
        expect(valueOf(samples, 'blockyard_tracker_invalid_workers')).toBe(0);
        expect(named(samples, 'blockyard_tracker_errors_total').map((s) => s.value)).toEqual([0, 0, 0, 0, 0, 0]);

        // Gauges: non-negative integers; the events agree with the worker table.
        const active = valueOf(samples, 'blockyard_workers_active');
        const stopped = named(samples, 'blockyard_workers_stopped_total').reduce((sum, s) => sum + s.value, 0);
        expect(active).toBe(valueOf(samples, 'blockyard_workers_spawned_total') - stopped);
        expect(Number.isInteger(active) && active >= 0).toBe(true);
        for (const s of [...named(samples, 'blockyard_workers'), ...named(samples, 'blockyard_sessions_active')]) {
          expect(Number.isInteger(s.value) && s.value >= 0).toBe(true);
        }
        // Every restore follows an upload.
        expect(valueOf(samples, 'blockyard_bundles_uploaded_total')).toBeGreaterThanOrEqual(
          valueOf(samples, 'blockyard_bundle_restores_succeeded_total') +
            valueOf(samples, 'blockyard_bundle_restores_failed_total'),
        );
        // Labels only from the contract's bounded sets.
        for (const s of named(samples, 'blockyard_proxy_requests_total')) {
          expect(STATUS_CLASSES).toContain(s.labels.status);
          expect([...apps, 'unknown']).toContain(s.labels.app);
        }
        // Histograms: the contract's buckets, cumulative, +Inf = count, a mean inside the range.
        for (const entry of CONTRACT.filter((c) => c.type === 'histogram')) {
          const buckets = named(samples, `${entry.name}_bucket`);
          expect(buckets.map((b) => b.labels.le)).toEqual([...(entry.buckets ?? []).map(String), '+Inf']);
          const values = buckets.map((b) => b.value);
          expect([...values].sort((x, y) => x - y)).toEqual(values);
          const count = valueOf(samples, `${entry.name}_count`);
          expect(values[values.length - 1]).toBe(count);
          const mean = valueOf(samples, `${entry.name}_sum`) / count;
          expect(mean).toBeGreaterThan(0);
          expect(mean).toBeLessThan(1000);
        }

        const pageAnswer = await httpRequest(page);
        expect(pageAnswer.status).toBe(200);
        expect(pageAnswer.text).toContain(`seed ${DEFAULT_SEED}`);
      } finally {
        const exit = await demo.stop('SIGINT');
        expect(exit).toEqual({ code: 0, signal: null });
      }
      expect(demo.stdout()).toMatch(/#\d+ +busy +\d+ +idle +\d+ +draining +\d+ +sessions +\d+/);
      expect(demo.stdout()).toMatch(/\nstopped \(SIGINT\); 0 tracker errors\n$/); // run without npm: nothing about it
      expect(demo.stderr()).toBe('');
    },
    CHILD_TEST_MS,
  );

  it(
    'Ctrl-C through npm start: the demo stops cleanly and says that npm, interrupted too, ends with 130',
    async () => {
      const demo = startDemoProcess(['--port', '0', '--tick', '50'], { npm: true });
      try {
        await demo.urls();
      } finally {
        // npm waits for the demo, then ends by the signal itself: a shell shows 130.
        const exit = await demo.stop('SIGINT');
        expect(exit).toEqual({ code: null, signal: 'SIGINT' });
      }
      expect(demo.stdout()).toMatch(
        /\nstopped \(SIGINT\); 0 tracker errors\nthe demo exits 0; npm, interrupted too, ends with status 130 \(128 \+ SIGINT\)\n$/,
      );
      expect(demo.stderr()).toBe('');
    },
    CHILD_TEST_MS,
  );

  it('takes the SIGINT that npm forwards right after a Ctrl-C for the same Ctrl-C, and stops cleanly', async () => {
    const exits: unknown[] = [];
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      exits.push(code);
      return undefined as never;
    });
    const lines: string[] = [];
    try {
      const running = main(['--port', '0', '--tick', '50'], {
        out: (line) => lines.push(line),
        err: (line) => lines.push(`stderr: ${line}`),
      });
      await waitUntil('the demo to start', () => (lines.some((l) => l.includes('Ctrl-C to stop.')) ? true : undefined));
      process.emit('SIGINT', 'SIGINT');
      // The demo has begun to stop (a microtask after the signal) when npm's copy arrives.
      await Promise.resolve();
      process.emit('SIGINT', 'SIGINT');
      expect(await running).toBe(0);
    } finally {
      exit.mockRestore();
    }
    expect(exits).toEqual([]);
    expect(lines.filter((l) => l.startsWith('stopped'))).toEqual(['stopped (SIGINT); 0 tracker errors']);
    expect(lines.filter((l) => l.startsWith('stderr: '))).toEqual([]);
  });

  it('still takes a Ctrl-C a second or more after the first, while stopping, for "now" (exit 130)', async () => {
    const exits: unknown[] = [];
    jest.spyOn(process, 'exit').mockImplementation((code) => {
      exits.push(code);
      return undefined as never;
    });
    const lines: string[] = [];
    try {
      const running = main(['--port', '0', '--tick', '50'], { out: (line) => lines.push(line), err: () => undefined });
      await waitUntil('the demo to start', () => (lines.some((l) => l.includes('Ctrl-C to stop.')) ? true : undefined));
      process.emit('SIGINT', 'SIGINT');
      await Promise.resolve();
      process.emit('SIGINT', 'SIGINT'); // npm's copy: ignored
      const start = performance.now();
      jest.spyOn(performance, 'now').mockImplementation(() => start + 1500);
      process.emit('SIGINT', 'SIGINT'); // the user's second Ctrl-C
      await running;
    } finally {
      jest.restoreAllMocks(); // process.exit and performance.now
    }
    expect(exits).toEqual([130]);
  });

  it(
    'stops on SIGTERM with exit code 0, closing an open live-page stream',
    async () => {
      const demo = startDemoProcess(['--port', '0', '--tick', '50']);
      let stream: EventStream | undefined;
      try {
        const { page } = await demo.urls();
        stream = await openEventStream(`${page}events`);
        const open = stream;
        await waitUntil('a tick on the stream', () =>
          open.messages.some((m) => m.event === 'tick') ? true : undefined,
        );
      } finally {
        const exit = await demo.stop('SIGTERM');
        expect(exit).toEqual({ code: 0, signal: null });
      }
      expect(stream.ended()).toBe(true);
      expect(demo.stdout()).toContain('stopped (SIGTERM); 0 tracker errors');
    },
    CHILD_TEST_MS,
  );

  it(
    'stops by itself after --duration, exit code 0',
    async () => {
      const demo = startDemoProcess(['--port', '0', '--tick', '50', '--duration', '0.5']);
      const exit = await demo.waitForExit();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(demo.stdout()).toContain('stopped (--duration 0.5); 0 tracker errors');
    },
    CHILD_TEST_MS,
  );

  it(
    'exits 2 with a clear message on a bad flag, 0 with the usage on --help, 1 on a taken port',
    async () => {
      const taken = await listen((_req, res) => res.end());
      try {
        const port = new URL(taken.origin).port;
        const bad = startDemoProcess(['--tick', 'fast']);
        const help = startDemoProcess(['--help']);
        const busy = startDemoProcess(['--port', port]);
        const [badExit, helpExit, busyExit] = await Promise.all([
          bad.waitForExit(),
          help.waitForExit(),
          busy.waitForExit(),
        ]);
        expect(badExit.code).toBe(2);
        expect(bad.stderr()).toBe(
          'demo: --tick must be milliseconds, an integer 10 … 60000, got "fast"\nRun with --help for the flags.\n',
        );
        expect(helpExit.code).toBe(0);
        expect(help.stdout()).toContain('Usage: npm start -- [flags]');
        expect(busyExit.code).toBe(1);
        expect(busy.stderr()).toMatch(new RegExp(`cannot start: .*port ${port} is taken; try --port 0`));
      } finally {
        await taken.close();
      }
    },
    CHILD_TEST_MS,
  );
});

describe('the simulator wired to a tracker', () => {
  it('sets gauges that a scrape reads back as the worker table says', async () => {
    const metrics = newMetrics(new Registry());
    const tick$ = new Subject<void>();
    const tracker = new WorkerStateTracker({ metrics, tick: tick$ });
    const sim = new OrchestratorSimulator({ seed: 9, apps: 2, epoch: EPOCH, record: (e) => tracker.record(e) });
    for (let i = 0; i < 50; i += 1) {
      sim.advance();
      tracker.feed(sim.workers);
      tick$.next();
    }
    const samples = await scrape(metrics.registry);
    const c = oracleCounts(sim.workers);
    expect(c.workers).toBeGreaterThan(0);
    expect(valueOf(samples, 'blockyard_workers', { state: 'busy' })).toBe(c.busy);
    expect(valueOf(samples, 'blockyard_workers', { state: 'idle' })).toBe(c.idle);
    expect(valueOf(samples, 'blockyard_workers', { state: 'draining' })).toBe(c.draining);
    expect(valueOf(samples, 'blockyard_sessions_active')).toBe(c.sessions);
    tracker.stop();
  });
});
