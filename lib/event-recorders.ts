/**
 * One stream per event kind, each feeding its collectors exactly as the Go server records
 * them.
 *
 *     record():        --s--p--p--x--p--   (s = worker_spawned, p = proxy_request, x = invalid)
 *     workerSpawned:   --s--------------   → spawned+1, active+1, cold start observed
 *     proxyRequest:    -----p--p-----p--   → requests{app, class}+1, duration observed
 *     errors$:         -----------e-----   (x never reaches a stream)
 *
 * Only validated, copied events reach these streams (see `parseEvent`), and every recorder
 * contains its own failures, so no event can end a stream.
 *
 * @packageDocumentation
 */
import { Subject, type Subscription } from 'rxjs';
import type { BoundedAppLabels } from './app-labels';
import { TelemetryError, messageOf } from './errors';
import type { TelemetryEvent, TelemetryEventType } from './events';
import { observeWithExemplar } from './exemplars';
import { AppUnknown, ReasonCrashed, ReasonGraceful, ReasonIdleTimeout, statusClassIndex } from './labels';
import type { Metrics } from './metrics';
import { ProxyRequestCounts } from './proxy-request-counts';
import { onScrape } from './scrape-hooks';

/** The event of one kind. */
export type EventOfType<K extends TelemetryEventType> = Extract<TelemetryEvent, { type: K }>;

type Streams = { readonly [K in TelemetryEventType]: Subject<EventOfType<K>> };

/**
 * The per-kind streams and the collectors behind them.
 * @internal
 */
export class EventRecorders {
  /** One stream per event kind; only valid, copied events are sent down them. */
  readonly streams: Streams = {
    worker_spawned: new Subject(),
    worker_stopped: new Subject(),
    session_opened: new Subject(),
    session_closed: new Subject(),
    bundle_uploaded: new Subject(),
    bundle_restored: new Subject(),
    proxy_request: new Subject(),
    health_check_failed: new Subject(),
    audit_entry_dropped: new Subject(),
  };

  private readonly proxyCounts: ProxyRequestCounts;
  private readonly subscriptions: Subscription[] = [];
  private readonly unhook: () => void;

  constructor(
    metrics: Metrics,
    private readonly apps: BoundedAppLabels,
    private readonly report: (error: TelemetryError) => void,
  ) {
    const m = metrics;
    this.proxyCounts = new ProxyRequestCounts(m.proxyRequests);
    this.unhook = onScrape(m.proxyRequests, () => this.flush());
    // Stopped workers, by reason: children created once, so the hot path does not build a
    // label object per event.
    const stopped = {
      [ReasonGraceful]: m.workersStopped.labels(ReasonGraceful),
      [ReasonCrashed]: m.workersStopped.labels(ReasonCrashed),
      [ReasonIdleTimeout]: m.workersStopped.labels(ReasonIdleTimeout),
    };

    this.on('worker_spawned', (e) => {
      m.workersSpawned.inc();
      m.workersActive.inc();
      if (e.coldStartSeconds !== undefined) observeWithExemplar(m.coldStartDuration, e.coldStartSeconds, e.trace);
    });
    this.on('worker_stopped', (e) => {
      stopped[e.reason].inc();
      m.workersActive.dec();
    });
    this.on('session_opened', () => m.sessionsActive.inc());
    this.on('session_closed', () => m.sessionsActive.dec());
    this.on('bundle_uploaded', () => m.bundlesUploaded.inc());
    this.on('bundle_restored', (e) => {
      if (e.ok) {
        m.bundleRestoresSucceeded.inc();
        if (e.seconds !== undefined) m.buildDuration.observe(e.seconds);
      } else {
        m.bundleRestoresFailed.inc();
      }
    });
    this.on('proxy_request', (e) => {
      const app = e.app === undefined ? AppUnknown : this.apps.resolve(e.app);
      this.proxyCounts.add(app, statusClassIndex(e.status));
      if (e.seconds !== undefined) observeWithExemplar(m.proxyRequestDuration, e.seconds, e.trace);
    });
    this.on('health_check_failed', (e) => {
      m.healthChecksFailed.inc({ app: this.apps.resolve(e.app) });
    });
    this.on('audit_entry_dropped', () => m.auditEntriesDropped.inc());
  }

  /** Sends a validated event down its kind's stream. */
  dispatch(event: TelemetryEvent): void {
    (this.streams[event.type] as Subject<TelemetryEvent>).next(event);
  }

  /** Hands buffered counts to prom-client (also done before every read of the collector). */
  flush(): void {
    try {
      this.proxyCounts.flush();
    } catch (err) {
      this.report(new TelemetryError('event', `flushing proxy request counts failed: ${messageOf(err)}`, { cause: err }));
    }
  }

  /** Flushes, completes every stream and detaches from the collectors. Idempotent. */
  stop(): void {
    this.flush();
    this.unhook();
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions.length = 0;
    for (const stream of Object.values(this.streams) as Subject<unknown>[]) stream.complete();
  }

  private on<K extends TelemetryEventType>(type: K, apply: (event: EventOfType<K>) => void): void {
    this.subscriptions.push(
      this.streams[type].subscribe((event) => {
        try {
          apply(event);
        } catch (err) {
          this.report(
            new TelemetryError('event', `recording a ${type} event failed: ${messageOf(err)}`, { cause: err }),
          );
        }
      }),
    );
  }
}
