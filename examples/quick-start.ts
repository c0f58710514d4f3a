/**
 * Quick start: an orchestrator loop feeding the tracker, printing what it derives.
 *
 *   npx ts-node --transpile-only examples/quick-start.ts            # until Ctrl-C
 *   npx ts-node --transpile-only examples/quick-start.ts --ticks 3  # three ticks, then exit
 *
 * The orchestrator keeps its worker records in a Map and mutates them as sessions come and go.
 * Like the Go server, it reconciles at the end of its own autoscaler tick: it emits on a
 * Subject that is the tracker's tick. Events (spawns, sessions, requests) are recorded as they
 * happen. At the end the registry is printed as Prometheus would scrape it.
 */
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { WorkerStateTracker, newMetrics, type ActiveWorker } from '../lib';

const ticksArg = process.argv.indexOf('--ticks');
const maxTicks = ticksArg >= 0 ? Number(process.argv[ticksArg + 1]) : Infinity;

// A registry of our own; production code usually passes nothing (the default registry).
const registry = new Registry();
const metrics = newMetrics(registry);
const reconcile$ = new Subject<void>();
const tracker = new WorkerStateTracker({ metrics, tick: reconcile$ });

// Rejected input never throws: it shows up here, naming the field and the value.
tracker.errors$.subscribe((e) => console.error(`telemetry: ${e.message}`));
tracker.counts$.subscribe((c) =>
  console.log(`busy=${c.busy} idle=${c.idle} draining=${c.draining} sessions=${c.sessions}`),
);

// The orchestrator's own records, keyed by worker id. The tracker samples this Map.
const workers = new Map<string, ActiveWorker>();
tracker.feed(workers);

function spawn(id: string, appId: string): void {
  workers.set(id, { appId, draining: false, startedAt: new Date(), sessions: 0, idleSince: new Date() });
  tracker.record({ type: 'worker_spawned', coldStartSeconds: 1.5 });
}

spawn('w1', 'sales-dashboard');
spawn('w2', 'sales-dashboard');
spawn('w3', 'forecast');

let tick = 0;
const autoscaler = setInterval(() => {
  tick += 1;
  // Route a session to w1 and proxy some requests.
  const w1 = workers.get('w1');
  if (w1 !== undefined) {
    w1.sessions += 1;
    w1.idleSince = null;
  }
  tracker.record({ type: 'session_opened' });
  tracker.record({ type: 'proxy_request', app: 'sales-dashboard', status: 200, seconds: 0.042 });
  tracker.record({ type: 'proxy_request', status: 404 }); // resolved to no app: app="unknown"
  if (tick === 2) {
    const w3 = workers.get('w3');
    if (w3 !== undefined) w3.draining = true;
  }
  reconcile$.next(); // end of the autoscaler tick: reconcile
  if (tick >= maxTicks) shutdown();
}, 250);

function shutdown(): void {
  clearInterval(autoscaler);
  tracker.stop();
  void registry.metrics().then((text) => {
    const lines = text.split('\n').filter((l) => /^blockyard_(workers|sessions_active|proxy_requests)/.test(l));
    console.log(lines.join('\n'));
  });
}

process.once('SIGINT', shutdown);
