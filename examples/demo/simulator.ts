/**
 * A seeded simulation of a worker orchestrator: the part of a real server that telemetry
 * watches, and nothing else.
 *
 * Each call to {@link OrchestratorSimulator.advance} is one step, standing for about one second
 * of the orchestrator's life. In that step, sessions arrive at each app (at a rate that rises
 * and falls in waves) and are packed onto its workers; when none has room a worker is spawned
 * and its sessions wait through the cold start. Sessions leave at random. Workers left idle
 * past the idle timeout are evicted (but each app keeps one warm). Workers turn unhealthy now
 * and then: their health checks fail, and after three failures they are stopped as crashed.
 * Bundles are uploaded and restored, sometimes failing; a successful restore drains the app's
 * old workers, which stop once their last session leaves. Every session makes proxy requests
 * with a realistic mix of status codes (apps go through bad patches with many 5xx), and some
 * requests name no known app at all (404). The audit log drops an entry once in a while.
 *
 * Everything is drawn from one {@link SeededRandom}, so the same seed and app count give the
 * same run, step for step. Nothing here knows about timers: the caller decides how long a
 * step takes (`--tick`) and hands the snapshot and events to the tracker.
 *
 * @packageDocumentation
 */
import type { ActiveWorker, StopReason, TelemetryEvent } from '../../lib';
import { SeededRandom } from './random';

/** The most apps a simulation runs (the `--apps` bound). */
export const MAX_APPS = 50;

/** Sessions one worker serves at most; the next session goes to another worker. */
export const MAX_SESSIONS_PER_WORKER = 4;
/** Workers (running or starting) one app may have; sessions beyond get a 503. */
export const MAX_WORKERS_PER_APP = 12;
/** Steps a worker may sit idle before the autoscaler evicts it. */
export const IDLE_TIMEOUT_STEPS = 20;
/**
 * Idle workers each app keeps warm: the autoscaler starts a spare when an app has none, and
 * never evicts the last, so a new session rarely waits for a cold start.
 */
export const WARM_WORKERS_PER_APP = 1;
/** Consecutive failed health checks after which a worker is stopped as crashed. */
export const HEALTH_CHECK_FAILURES_TO_CRASH = 3;

// Rates, per step. Tuned so that a newcomer watching at one step a second sees every kind of
// event within a minute or two, while the counts stay readable on a chart.
const SESSION_MEAN_STEPS = 45; // a session lasts 45 steps on average …
const DRAINING_SESSION_MEAN_STEPS = 12; // … and leaves sooner from a draining worker
const ARRIVAL_WAVE_STEPS = 150; // load rises and falls over 150 steps
const P_UNHEALTHY = 0.0015; // a worker turns unhealthy (fails checks until stopped)
const P_UNHEALTHY_IN_INCIDENT = 0.03;
const P_HEALTH_BLIP = 0.004; // one failed check, then healthy again
const P_INCIDENT = 0.004; // an app starts a bad patch
const P_UPLOAD = 0.006; // a new bundle is uploaded for an app
const P_RESTORE_FAILS = 0.15;
const P_AUDIT_DROP = 0.02; // the audit buffer overflows and drops a few entries
const REQUESTS_PER_SESSION = 1.2;
const UNKNOWN_APP_REQUESTS_PER_APP = 0.08;

const APP_NAMES: readonly string[] = [
  'sales-dashboard',
  'trial-explorer',
  'forecast',
  'genome-browser',
  'survey-results',
  'clinic-kpis',
  'risk-model',
  'inventory',
];

const CODES_2XX: readonly number[] = [200, 200, 200, 200, 204];
const CODES_3XX: readonly number[] = [302, 304];
// 499 (client closed the request) is one of the long-tail codes that folds into its class.
const CODES_4XX: readonly number[] = [400, 401, 403, 404, 429, 499];
const CODES_5XX: readonly number[] = [500, 502, 503, 504];

/** What happened in one step (or, summed, over several): for the demo's one-line log. */
export interface StepSummary {
  spawned: number;
  stopped: Record<StopReason, number>;
  sessionsOpened: number;
  sessionsClosed: number;
  uploads: number;
  restoresSucceeded: number;
  restoresFailed: number;
  requests: number;
  requests5xx: number;
  unknownAppRequests: number;
  healthChecksFailed: number;
  auditEntriesDropped: number;
}

/** A summary with every count at zero. */
export function emptySummary(): StepSummary {
  return {
    spawned: 0,
    stopped: { graceful: 0, crashed: 0, idle_timeout: 0 },
    sessionsOpened: 0,
    sessionsClosed: 0,
    uploads: 0,
    restoresSucceeded: 0,
    restoresFailed: 0,
    requests: 0,
    requests5xx: 0,
    unknownAppRequests: 0,
    healthChecksFailed: 0,
    auditEntriesDropped: 0,
  };
}

/** Adds `more` into `total` (in place) and returns `total`. */
export function addSummary(total: StepSummary, more: StepSummary): StepSummary {
  total.spawned += more.spawned;
  total.stopped.graceful += more.stopped.graceful;
  total.stopped.crashed += more.stopped.crashed;
  total.stopped.idle_timeout += more.stopped.idle_timeout;
  total.sessionsOpened += more.sessionsOpened;
  total.sessionsClosed += more.sessionsClosed;
  total.uploads += more.uploads;
  total.restoresSucceeded += more.restoresSucceeded;
  total.restoresFailed += more.restoresFailed;
  total.requests += more.requests;
  total.requests5xx += more.requests5xx;
  total.unknownAppRequests += more.unknownAppRequests;
  total.healthChecksFailed += more.healthChecksFailed;
  total.auditEntriesDropped += more.auditEntriesDropped;
  return total;
}

/** Options of an {@link OrchestratorSimulator}. */
export interface SimulatorOptions {
  /** The seed: an integer 0 … 2^32-1. Same seed, same apps: same run. */
  readonly seed: number;
  /** How many apps to host, 1 … {@link MAX_APPS}. More apps, more of everything. */
  readonly apps: number;
  /** Receives every event, in order (the demo passes the tracker's `record`). */
  readonly record: (event: TelemetryEvent) => void;
  /** The time of step 0, for the Dates in the worker records (default: now). */
  readonly epoch?: Date;
  /** Milliseconds between steps, for the Dates in the worker records (default 1000). */
  readonly stepMs?: number;
}

/** Per-app state the snapshot does not hold. */
interface AppState {
  readonly name: string;
  /** Mean session arrivals per step, before the wave. */
  readonly baseArrivals: number;
  /** Where in the wave this app starts, so apps do not peak together. */
  readonly phase: number;
  bundle: number;
  /** Steps left in a bad patch (many 5xx, more crashes); 0 when healthy. */
  incidentSteps: number;
}

/** A worker being started: not in the snapshot until its cold start is over. */
interface PendingSpawn {
  readonly workerId: string;
  readonly app: AppState;
  readonly coldStartSeconds: number;
  readonly readyAtStep: number;
  /** Sessions that arrived for it and wait for it to be ready. */
  waiting: number;
}

/** A bundle restore in progress. */
interface PendingRestore {
  readonly app: AppState;
  readonly seconds: number;
  readonly ok: boolean;
  readonly doneAtStep: number;
}

/** Per-worker state the snapshot does not hold. */
interface WorkerHealth {
  /** Consecutive failed health checks. */
  failures: number;
  /** Fails every check from now on, until stopped. */
  unhealthy: boolean;
}

/**
 * The simulated orchestrator. Its {@link workers} Map is the live snapshot: records are
 * mutated in place each step, added when a worker is ready, deleted when it stops, exactly
 * as a real server keeps its worker table.
 */
export class OrchestratorSimulator {
  /** The worker table, keyed by worker id: feed it to the tracker. */
  readonly workers = new Map<string, ActiveWorker>();
  /** The names of the hosted apps. */
  readonly appNames: readonly string[];

  private readonly random: SeededRandom;
  private readonly record: (event: TelemetryEvent) => void;
  private readonly epochMs: number;
  private readonly stepMs: number;
  private readonly apps: AppState[];
  private readonly appByName = new Map<string, AppState>();
  private readonly health = new Map<string, WorkerHealth>();
  private readonly pendingSpawns: PendingSpawn[] = [];
  private readonly pendingRestores: PendingRestore[] = [];
  private nextWorker = 1;
  private stepCount = 0;
  private summary = emptySummary();

  constructor(options: SimulatorOptions) {
    const { seed, apps } = options;
    if (!Number.isInteger(apps) || apps < 1 || apps > MAX_APPS) {
      throw new TypeError(`OrchestratorSimulator: apps must be an integer 1 … ${MAX_APPS}, got ${String(apps)}`);
    }
    this.random = new SeededRandom(seed);
    this.record = options.record;
    this.epochMs = (options.epoch ?? new Date()).getTime();
    this.stepMs = options.stepMs ?? 1000;
    this.apps = [];
    for (let i = 0; i < apps; i += 1) {
      const app: AppState = {
        name: APP_NAMES[i] ?? `app-${i + 1}`,
        baseArrivals: 0.12 + this.random.next() * 0.18,
        phase: this.random.next() * 2 * Math.PI,
        bundle: 1,
        incidentSteps: 0,
      };
      this.apps.push(app);
      this.appByName.set(app.name, app);
    }
    this.appNames = this.apps.map((a) => a.name);
    // Every app starts with one worker on its way up.
    for (const app of this.apps) this.spawn(app, 0);
  }

  /** Steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** The simulated time of the current step. */
  get now(): Date {
    return new Date(this.epochMs + this.stepCount * this.stepMs);
  }

  /** Sessions waiting for a worker's cold start, over all apps. */
  get waitingSessions(): number {
    let n = 0;
    for (const p of this.pendingSpawns) n += p.waiting;
    return n;
  }

  /** Runs one step: every event of it is recorded before this returns. */
  advance(): StepSummary {
    this.stepCount += 1;
    this.summary = emptySummary();
    const now = this.now;
    this.finishColdStarts(now);
    this.finishRestores();
    this.closeSessions();
    this.checkHealth();
    this.stopDrainedAndIdle(now);
    this.updateIncidents();
    this.openSessions();
    this.keepSpares();
    this.uploadBundles();
    this.proxyRequests();
    this.dropAuditEntries();
    this.markIdle(now);
    return this.summary;
  }

  private emit(event: TelemetryEvent): void {
    this.record(event);
  }

  private spawn(app: AppState, waiting: number): void {
    // Most cold starts take a few seconds; one in twenty pulls a fresh image and is slow.
    const slow = this.random.chance(0.05) ? 6 : 1;
    const coldStartSeconds = round(clamp(this.random.logNormal(2.5, 0.6) * slow, 0.3, 120), 3);
    this.pendingSpawns.push({
      workerId: `${app.name}-${this.nextWorker++}`,
      app,
      coldStartSeconds,
      readyAtStep: this.stepCount + Math.max(1, Math.ceil(coldStartSeconds)),
      waiting,
    });
  }

  private finishColdStarts(now: Date): void {
    for (let i = 0; i < this.pendingSpawns.length;) {
      const p = this.pendingSpawns[i] as PendingSpawn;
      if (p.readyAtStep > this.stepCount) {
        i += 1;
        continue;
      }
      this.pendingSpawns.splice(i, 1);
      this.emit({ type: 'worker_spawned', coldStartSeconds: p.coldStartSeconds });
      this.summary.spawned += 1;
      this.workers.set(p.workerId, {
        appId: p.app.name,
        bundleId: bundleId(p.app),
        draining: false,
        idleSince: p.waiting === 0 ? now : null,
        startedAt: now,
        sessions: 0,
      });
      this.health.set(p.workerId, { failures: 0, unhealthy: false });
      const worker = this.workers.get(p.workerId) as ActiveWorker;
      for (let s = 0; s < p.waiting; s += 1) this.openSessionOn(worker);
    }
  }

  private openSessionOn(worker: ActiveWorker): void {
    worker.sessions += 1;
    this.emit({ type: 'session_opened' });
    this.summary.sessionsOpened += 1;
    // A session opens with a WebSocket upgrade: 101 Switching Protocols.
    this.request(worker.appId, 101, this.random.logNormal(0.02, 0.5));
  }

  private closeSession(worker: ActiveWorker): void {
    worker.sessions -= 1;
    this.emit({ type: 'session_closed' });
    this.summary.sessionsClosed += 1;
  }

  private finishRestores(): void {
    for (let i = 0; i < this.pendingRestores.length;) {
      const r = this.pendingRestores[i] as PendingRestore;
      if (r.doneAtStep > this.stepCount) {
        i += 1;
        continue;
      }
      this.pendingRestores.splice(i, 1);
      this.emit({ type: 'bundle_restored', ok: r.ok, seconds: r.seconds });
      if (!r.ok) {
        this.summary.restoresFailed += 1;
        continue;
      }
      this.summary.restoresSucceeded += 1;
      // The new bundle is live: new sessions go to new workers, old ones drain.
      r.app.bundle += 1;
      for (const worker of this.workers.values()) {
        if (worker.appId === r.app.name) worker.draining = true;
      }
    }
  }

  private closeSessions(): void {
    for (const worker of this.workers.values()) {
      const p = 1 / (worker.draining ? DRAINING_SESSION_MEAN_STEPS : SESSION_MEAN_STEPS);
      const n = worker.sessions;
      for (let s = 0; s < n; s += 1) {
        if (this.random.chance(p)) this.closeSession(worker);
      }
    }
  }

  private checkHealth(): void {
    for (const [id, worker] of this.workers) {
      const health = this.health.get(id) as WorkerHealth;
      const app = this.appByName.get(worker.appId) as AppState;
      if (!health.unhealthy) {
        health.unhealthy = this.random.chance(app.incidentSteps > 0 ? P_UNHEALTHY_IN_INCIDENT : P_UNHEALTHY);
      }
      if (health.unhealthy || this.random.chance(P_HEALTH_BLIP)) {
        health.failures += 1;
        this.emit({ type: 'health_check_failed', app: worker.appId });
        this.summary.healthChecksFailed += 1;
      } else {
        health.failures = 0;
      }
      if (health.failures >= HEALTH_CHECK_FAILURES_TO_CRASH) {
        // Its sessions are lost with it.
        while (worker.sessions > 0) this.closeSession(worker);
        this.stop(id, 'crashed');
      }
    }
  }

  private stop(workerId: string, reason: StopReason): void {
    this.workers.delete(workerId);
    this.health.delete(workerId);
    this.emit({ type: 'worker_stopped', reason });
    this.summary.stopped[reason] += 1;
  }

  private stopDrainedAndIdle(now: Date): void {
    const idle = new Map<string, number>();
    for (const worker of this.workers.values()) {
      if (!worker.draining && worker.sessions === 0) idle.set(worker.appId, (idle.get(worker.appId) ?? 0) + 1);
    }
    const timeoutMs = IDLE_TIMEOUT_STEPS * this.stepMs;
    for (const [id, worker] of this.workers) {
      if (worker.sessions > 0) continue;
      if (worker.draining) {
        // The drain is complete.
        this.stop(id, 'graceful');
        continue;
      }
      const idleWorkers = idle.get(worker.appId) ?? 0;
      const idleSince = worker.idleSince;
      if (idleWorkers > WARM_WORKERS_PER_APP && idleSince && now.getTime() - idleSince.getTime() >= timeoutMs) {
        idle.set(worker.appId, idleWorkers - 1);
        this.stop(id, 'idle_timeout');
      }
    }
  }

  private updateIncidents(): void {
    for (const app of this.apps) {
      if (app.incidentSteps > 0) app.incidentSteps -= 1;
      else if (this.random.chance(P_INCIDENT)) app.incidentSteps = this.random.int(20, 60);
    }
  }

  private openSessions(): void {
    for (const app of this.apps) {
      const wave = 1 + 0.7 * Math.sin((2 * Math.PI * this.stepCount) / ARRIVAL_WAVE_STEPS + app.phase);
      const arrivals = this.random.poisson(app.baseArrivals * wave);
      for (let a = 0; a < arrivals; a += 1) this.route(app);
    }
  }

  /** Packs a new session onto the fullest worker with room, so that others can go idle. */
  private route(app: AppState): void {
    let best: ActiveWorker | undefined;
    let running = 0;
    for (const worker of this.workers.values()) {
      if (worker.appId !== app.name) continue;
      running += 1;
      if (worker.draining || worker.sessions >= MAX_SESSIONS_PER_WORKER) continue;
      if (best === undefined || worker.sessions > best.sessions) best = worker;
    }
    if (best !== undefined) {
      best.idleSince = null;
      this.openSessionOn(best);
      return;
    }
    const starting = this.pendingSpawns.filter((p) => p.app === app);
    const withRoom = starting.find((p) => p.waiting < MAX_SESSIONS_PER_WORKER);
    if (withRoom !== undefined) {
      withRoom.waiting += 1;
    } else if (running + starting.length < MAX_WORKERS_PER_APP) {
      this.spawn(app, 1);
    } else {
      // No capacity left: the proxy answers 503 at once.
      this.request(app.name, 503, this.random.logNormal(0.003, 0.3));
    }
  }

  /** Starts a spare worker for each app that has no idle worker and none starting. */
  private keepSpares(): void {
    const covered = new Set<string>();
    const total = new Map<string, number>();
    for (const worker of this.workers.values()) {
      total.set(worker.appId, (total.get(worker.appId) ?? 0) + 1);
      if (!worker.draining && worker.sessions === 0) covered.add(worker.appId);
    }
    for (const p of this.pendingSpawns) {
      total.set(p.app.name, (total.get(p.app.name) ?? 0) + 1);
      if (p.waiting < MAX_SESSIONS_PER_WORKER) covered.add(p.app.name);
    }
    for (const app of this.apps) {
      if (!covered.has(app.name) && (total.get(app.name) ?? 0) < MAX_WORKERS_PER_APP) this.spawn(app, 0);
    }
  }

  private uploadBundles(): void {
    for (const app of this.apps) {
      if (!this.random.chance(P_UPLOAD)) continue;
      this.emit({ type: 'bundle_uploaded' });
      this.summary.uploads += 1;
      // Restoring dependencies takes seconds to minutes; the simulation runs it at 5x speed.
      const ok = !this.random.chance(P_RESTORE_FAILS);
      const seconds = round(clamp(this.random.logNormal(ok ? 30 : 12, 0.8), 2, 900), 2);
      this.pendingRestores.push({
        app,
        seconds,
        ok,
        doneAtStep: this.stepCount + Math.max(1, Math.ceil(seconds / 5)),
      });
    }
  }

  private proxyRequests(): void {
    for (const worker of this.workers.values()) {
      if (worker.sessions === 0) continue;
      const app = this.appByName.get(worker.appId) as AppState;
      const n = this.random.poisson(worker.sessions * REQUESTS_PER_SESSION);
      for (let r = 0; r < n; r += 1) this.appRequest(app);
    }
    // Requests naming no app: typos, stale bookmarks, scanners. Labelled app="unknown".
    const unknown = this.random.poisson(this.apps.length * UNKNOWN_APP_REQUESTS_PER_APP);
    for (let r = 0; r < unknown; r += 1) {
      this.request(undefined, 404, this.random.logNormal(0.002, 0.4));
      this.summary.unknownAppRequests += 1;
    }
  }

  private appRequest(app: AppState): void {
    const p5xx = app.incidentSteps > 0 ? 0.2 : 0.008;
    const u = this.random.next();
    let status: number;
    if (u < p5xx) status = this.random.pick(CODES_5XX);
    else if (u < p5xx + 0.035) status = this.random.pick(CODES_4XX);
    else if (u < p5xx + 0.06) status = this.random.pick(CODES_3XX);
    else status = this.random.pick(CODES_2XX);
    const slow = app.incidentSteps > 0 ? 4 : 1;
    const seconds = status >= 500 ? this.random.logNormal(0.4, 1.1) : this.random.logNormal(0.04, 0.9) * slow;
    this.request(app.name, status, seconds);
  }

  private request(app: string | undefined, status: number, seconds: number): void {
    const rounded = round(clamp(seconds, 0.0005, 30), 4);
    // A request that resolved to no app carries no `app`: the tracker labels it "unknown".
    this.emit(
      app === undefined
        ? { type: 'proxy_request', status, seconds: rounded }
        : { type: 'proxy_request', app, status, seconds: rounded },
    );
    this.summary.requests += 1;
    if (status >= 500) this.summary.requests5xx += 1;
  }

  private dropAuditEntries(): void {
    if (!this.random.chance(P_AUDIT_DROP)) return;
    const n = this.random.int(1, 6);
    for (let i = 0; i < n; i += 1) this.emit({ type: 'audit_entry_dropped' });
    this.summary.auditEntriesDropped += n;
  }

  private markIdle(now: Date): void {
    for (const worker of this.workers.values()) {
      if (worker.sessions > 0) worker.idleSince = null;
      else worker.idleSince ??= now;
    }
  }
}

function bundleId(app: AppState): string {
  return `${app.name}@${app.bundle}`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
