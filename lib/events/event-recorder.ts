/**
 * `EventRecorder`: validates each event and records it into the collectors, through one typed
 * table of what each kind of event does ({@link EVENT_EFFECTS}), exactly as the Go server
 * records them.
 *
 *     record():   --s--p--p--x--p--   (s = worker_spawned, p = proxy_request, x = invalid)
 *     effects:    --s--p--p-----p--   → spawned+1, active+1, cold start observed; requests+1, …
 *     returned:   --s--p--p--u--p--   (the accepted copy; u = undefined, x reported instead)
 *
 * Only validated, copied events reach the table (see `parseEvent`), and one try/catch around
 * the table's call contains whatever a collector throws, so no event can stop the next one.
 *
 * @packageDocumentation
 */
import type { Counter } from 'prom-client';
import { messageOf } from '../describe-value';
import { TelemetryError } from '../errors';
import { observeWithExemplar } from '../exemplars';
import { AppUnknown, STOP_REASONS, statusClassIndex, type StopReason } from '../labels';
import type { Metrics } from '../metrics';
import { onScrape } from '../scrape-hooks';
import type { BoundedAppLabels } from './app-labels';
import { parseEvent } from './parse-event';
import { ProxyRequestCounts } from './proxy-request-counts';
import type { TelemetryEvent, TelemetryEventType } from './telemetry-event';

/** The event of one kind. */
type EventOfType<K extends TelemetryEventType> = Extract<TelemetryEvent, { type: K }>;

/** What the effects record into: the collectors, and what one recorder keeps for them. */
interface Targets {
  readonly metrics: Metrics;
  /** `blockyard_workers_stopped_total` by reason: children made once, no label object per event. */
  readonly stopped: Readonly<Record<StopReason, Counter.Internal>>;
  /** Proxied requests counted in plain arrays, handed to prom-client at scrape time. */
  readonly proxyCounts: ProxyRequestCounts;
  /** The bound on `app` label values. */
  readonly apps: BoundedAppLabels;
}

type Effect<K extends TelemetryEventType> = (event: EventOfType<K>, into: Targets) => void;

/** What each kind of event records: the one table of effects. */
const EVENT_EFFECTS: { readonly [K in TelemetryEventType]: Effect<K> } = {
  worker_spawned: (e, { metrics: m }) => {
    m.workersSpawned.inc();
    m.workersActive.inc();
    if (e.coldStartSeconds !== undefined) observeWithExemplar(m.coldStartDuration, e.coldStartSeconds, e.trace);
  },
  worker_stopped: (e, { metrics: m, stopped }) => {
    stopped[e.reason].inc();
    m.workersActive.dec();
  },
  session_opened: (_e, { metrics: m }) => m.sessionsActive.inc(),
  session_closed: (_e, { metrics: m }) => m.sessionsActive.dec(),
  bundle_uploaded: (_e, { metrics: m }) => m.bundlesUploaded.inc(),
  bundle_restored: (e, { metrics: m }) => {
    if (e.ok) {
      m.bundleRestoresSucceeded.inc();
      if (e.seconds !== undefined) m.buildDuration.observe(e.seconds);
    } else {
      m.bundleRestoresFailed.inc();
    }
  },
  proxy_request: (e, { metrics: m, proxyCounts, apps }) => {
    proxyCounts.add(e.app === undefined ? AppUnknown : apps.resolve(e.app), statusClassIndex(e.status));
    if (e.seconds !== undefined) observeWithExemplar(m.proxyRequestDuration, e.seconds, e.trace);
  },
  health_check_failed: (e, { metrics: m, apps }) => m.healthChecksFailed.inc({ app: apps.resolve(e.app) }),
  audit_entry_dropped: (_e, { metrics: m }) => m.auditEntriesDropped.inc(),
};

/** Options of an {@link EventRecorder}. @internal */
export interface EventRecorderOptions {
  /**
   * The bound on `app` label values (`maxApps`; later apps are counted under `__overflow__`),
   * the tracker's one instance, which its other collectors with an `app` label share.
   */
  readonly apps: BoundedAppLabels;
  /** Where rejected events and failed effects are reported (app names beyond the bounds are reported by `apps`). */
  readonly report: (error: TelemetryError) => void;
}

/**
 * Records events into the contract's collectors. One per tracker; several can share one
 * `Metrics` (each flushes its own buffered counts before every read of the collector).
 * @internal
 */
export class EventRecorder {
  private readonly targets: Targets;
  private readonly report: (error: TelemetryError) => void;
  private readonly unhook: () => void;

  constructor(metrics: Metrics, options: EventRecorderOptions) {
    const report = options.report;
    this.report = report;
    const apps = options.apps;
    const stopped = Object.fromEntries(
      STOP_REASONS.map((reason) => [reason, metrics.workersStopped.labels(reason)]),
    ) as Record<StopReason, Counter.Internal>;
    this.targets = { metrics, stopped, proxyCounts: new ProxyRequestCounts(metrics.proxyRequests), apps };
    this.unhook = onScrape(metrics.proxyRequests, () => this.flush());
  }

  /**
   * Validates `input` and records it. Returns the accepted event (a clean copy), or
   * `undefined` when it was rejected, having reported why. Never throws.
   */
  record(input: unknown): TelemetryEvent | undefined {
    const parsed = parseEvent(input);
    if (!parsed.ok) {
      this.report(new TelemetryError('event', parsed.problem.message, { field: parsed.problem.field }));
      return undefined;
    }
    const event = parsed.event;
    try {
      (EVENT_EFFECTS[event.type] as Effect<TelemetryEventType>)(event, this.targets);
    } catch (err) {
      this.report(
        new TelemetryError('event', `recording a ${event.type} event failed: ${messageOf(err)}`, { cause: err }),
      );
    }
    return event;
  }

  /** Hands buffered counts to prom-client (also done before every read of the collector). */
  flush(): void {
    try {
      this.targets.proxyCounts.flush();
    } catch (err) {
      this.report(
        new TelemetryError('event', `flushing proxy request counts failed: ${messageOf(err)}`, { cause: err }),
      );
    }
  }

  /** Flushes and detaches from the collectors. Idempotent. */
  close(): void {
    this.flush();
    this.unhook();
  }
}
