/**
 * Events: `record()` of proxy requests (50 apps, a mix of status codes, durations), against
 * calling prom-client directly as the Go server calls its collectors:
 * `labels(app, class).inc()` + `observe(seconds)`.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import {
  PROXY_REQUEST_BUCKETS,
  WorkerStateTracker,
  newMetrics,
  proxyStatusClass,
  type ProxyRequestEvent,
} from '../lib';
import type { Comparison } from './harness';

const STATUSES = [200, 200, 200, 200, 200, 200, 204, 301, 304, 404, 404, 500, 502, 101, 418];

/** A deterministic mix of proxy request events over `apps` apps. */
export function proxyEvents(count: number, apps: number): ProxyRequestEvent[] {
  const events: ProxyRequestEvent[] = [];
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < count; i += 1) {
    events.push({
      type: 'proxy_request',
      app: `app-${Math.floor(rand() * apps)}`,
      status: STATUSES[Math.floor(rand() * STATUSES.length)] as number,
      seconds: rand() * rand() * 2,
    });
  }
  return events;
}

export function eventComparison(): { comparison: Comparison; stop: () => void } {
  const events = proxyEvents(10_000, 50);
  const registry = new Registry();
  const tracker = new WorkerStateTracker({ metrics: newMetrics(registry), tick: NEVER });

  const floorRegistry = new Registry();
  const requests = new Counter({
    name: 'floor_requests_total',
    help: 'h',
    labelNames: ['app', 'status'],
    registers: [floorRegistry],
  });
  const duration = new Histogram({
    name: 'floor_seconds',
    help: 'h',
    buckets: [...PROXY_REQUEST_BUCKETS],
    registers: [floorRegistry],
  });
  let sink = 0;
  return {
    comparison: {
      name: 'record() proxy_request, 50 apps',
      unit: 'event',
      unitsPerCall: events.length,
      ours: () => {
        for (const event of events) tracker.record(event);
        sink += registry.getSingleMetric('blockyard_proxy_requests_total') ? 1 : 0;
      },
      floor: () => {
        for (const e of events) {
          requests.labels(e.app ?? 'unknown', proxyStatusClass(e.status)).inc();
          if (e.seconds !== undefined) duration.observe(e.seconds);
        }
        sink += 1;
      },
      goal: 0.25,
    },
    stop: () => {
      tracker.stop();
      if (sink < 0) console.log(sink);
    },
  };
}
