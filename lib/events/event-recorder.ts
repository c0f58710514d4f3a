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
import { messageOf } from '../describe-value';
import { TelemetryError } from '../errors';
import { AppUnknown, STATUS_CLASSES, STOP_REASONS, statusClassIndex, type StopReason } from '../labels';
import type { Metrics } from '../metrics';
import type { BoundedAppLabels } from './app-labels';
import { CounterSeries, HistogramWriter } from './direct-writes';
import { parseEvent } from './parse-event';
import type { TelemetryEvent, TelemetryEventType } from './telemetry-event';

/** The event of one kind. */
type EventOfType<K extends TelemetryEventType> = Extract<TelemetryEvent, { type: K }>;

/** What the effects record into: the collectors, and the writers one recorder keeps for them. */
interface Targets {
  readonly metrics: Metrics;
  /** `blockyard_workers_stopped_total`, one writer per reason. */
  readonly stopped: Readonly<Record<StopReason, CounterSeries>>;
  /** `blockyard_proxy_requests_total`: per app label, one writer per status class (1xx … 5xx). */
  readonly requests: Map<string, readonly CounterSeries[]>;
  /** `blockyard_health_checks_failed_total`: one writer per app label. */
  readonly healthChecks: Map<string, CounterSeries>;
  /** The three histograms. */
  readonly coldStarts: HistogramWriter;
  readonly requestDurations: HistogramWriter;
  readonly builds: HistogramWriter;
  /** The bound on `app` label values. */
  readonly apps: BoundedAppLabels;
}

type Effect<K extends TelemetryEventType> = (event: EventOfType<K>, into: Targets) => void;

/** What each kind of event records: the one table of effects. */
const EVENT_EFFECTS: { readonly [K in TelemetryEventType]: Effect<K> } = {
  worker_spawned: (e, into) => {
    into.metrics.workersSpawned.inc();
    into.metrics.workersActive.inc();
    if (e.coldStartSeconds !== undefined) {
      into.coldStarts.observeTraced(e.coldStartSeconds, e.trace);
    }
  },
  worker_stopped: (e, { metrics: m, stopped }) => {
    stopped[e.reason].add(1);
    m.workersActive.dec();
  },
  session_opened: (_e, { metrics: m }) => m.sessionsActive.inc(),
  session_closed: (_e, { metrics: m }) => m.sessionsActive.dec(),
  bundle_uploaded: (_e, { metrics: m }) => m.bundlesUploaded.inc(),
  bundle_restored: (e, { metrics: m, builds }) => {
    if (e.ok) {
      m.bundleRestoresSucceeded.inc();
      if (e.seconds !== undefined) builds.observe(e.seconds);
    } else {
      m.bundleRestoresFailed.inc();
    }
  },
  proxy_request: (e, into) => {
    const app = e.app === undefined ? AppUnknown : into.apps.resolve(e.app);
    let row = into.requests.get(app);
    if (row === undefined) {
      const counter = into.metrics.proxyRequests;
      row = STATUS_CLASSES.map((status) => new CounterSeries(counter, { app, status }));
      into.requests.set(app, row);
    }
    (row[statusClassIndex(e.status)] as CounterSeries).add(1);
    if (e.seconds !== undefined) {
      into.requestDurations.observeTraced(e.seconds, e.trace);
    }
  },
  health_check_failed: (e, into) => {
    const app = into.apps.resolve(e.app);
    let series = into.healthChecks.get(app);
    if (series === undefined) {
      series = new CounterSeries(into.metrics.healthChecksFailed, { app });
      into.healthChecks.set(app, series);
    }
    series.add(1);
  },
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

  constructor(metrics: Metrics, options: EventRecorderOptions) {
    const report = options.report;
    this.report = report;
    const apps = options.apps;
    const stopped = Object.fromEntries(
      STOP_REASONS.map((reason) => [reason, new CounterSeries(metrics.workersStopped, { reason })]),
    ) as Record<StopReason, CounterSeries>;
    this.targets = {
      metrics,
      stopped,
      requests: new Map(),
      healthChecks: new Map(),
      coldStarts: new HistogramWriter(metrics.coldStartDuration),
      requestDurations: new HistogramWriter(metrics.proxyRequestDuration),
      builds: new HistogramWriter(metrics.buildDuration),
      apps,
    };
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
}
