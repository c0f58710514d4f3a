/**
 * The live page's server side: `GET /` (the page) and `GET /events` (Server-Sent Events),
 * as the `fallback` handler of `serveMetrics`, which keeps `/metrics` and `/healthz`.
 *
 * The tracker's derived streams drive it. Each emission of `counts$` becomes one `tick`
 * message carrying the counts, the counts by app and the transitions found at that tick
 * (the tracker emits a tick's transitions and counts by app before its counts):
 *
 *     transitions$:  --x-y-------z------
 *     countsByApp$:  ----a-------a------
 *     counts$:       ----c-------c------
 *     SSE tick:      ----[c,a,x y]-[c,a,z]--   (one message per tick, to every open page)
 *
 * A page that connects (or reconnects) first gets a `history` message with the recent
 * points and transitions and the latest counts by app, so it is never empty. `close()` ends every open stream, so
 * stopping the demo leaves no socket open.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable, Subscription } from 'rxjs';
import type { StateCounts, WorkerTransition } from '../../lib';
import { CHART_POINTS, LISTED_TRANSITIONS, PAGE_CSP, renderPage, type PageInfo } from './page-html';

/** One point of the chart: the counts of one tick and when they arrived (ms since epoch). */
export interface CountsPoint extends StateCounts {
  readonly t: number;
}

/** One worker transition and when it arrived (ms since epoch). */
export interface TransitionRecord extends WorkerTransition {
  readonly t: number;
}

/** One app's counts at a tick, for the page's per-app table. */
export interface AppCounts {
  readonly app: string;
  readonly busy: number;
  readonly idle: number;
  readonly draining: number;
  readonly sessions: number;
}

/**
 * The `history` message: recent points (oldest first), transitions (newest first) and the
 * latest counts by app (by app name).
 */
export interface HistoryMessage {
  readonly points: readonly CountsPoint[];
  readonly transitions: readonly TransitionRecord[];
  readonly byApp: readonly AppCounts[];
}

/**
 * The `tick` message: one tick's counts, its counts by app (by app name) and its transitions
 * (in order, at most 50).
 */
export interface TickMessage {
  readonly counts: CountsPoint;
  readonly byApp: readonly AppCounts[];
  readonly transitions: readonly TransitionRecord[];
  /** Transitions of this tick left out of the message (a tick where many workers changed). */
  readonly more: number;
}

/** Options of a {@link LivePage}. */
export interface LivePageOptions {
  /** The tracker's counts stream. */
  readonly counts$: Observable<StateCounts>;
  /** The tracker's counts-by-app stream. */
  readonly countsByApp$: Observable<ReadonlyMap<string, StateCounts>>;
  /** The tracker's transitions stream. */
  readonly transitions$: Observable<WorkerTransition>;
  /** What the page says about the run. */
  readonly info: PageInfo;
  /** Pages that may be open at once (default 32); more get a 503, so tabs cannot pile up. */
  readonly maxClients?: number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
}

/** Transitions sent in one tick message at most. */
export const MAX_TRANSITIONS_PER_TICK = 50;
/** A page whose unsent data exceeds this is too slow to follow: its stream is ended. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * Serves the live page and its event stream from the tracker's derived streams. Create it
 * before the first tick (it subscribes at once), hand {@link handle} to `serveMetrics` as
 * `fallback`, and call {@link close} on shutdown.
 */
export class LivePage {
  private readonly html: string;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly clients = new Set<ServerResponse>();
  private readonly points: CountsPoint[] = [];
  private readonly recent: TransitionRecord[] = [];
  private pending: TransitionRecord[] = [];
  private byApp: readonly AppCounts[] = [];
  private readonly subscriptions: Subscription[] = [];
  private closed = false;

  constructor(options: LivePageOptions) {
    this.html = renderPage(options.info);
    this.maxClients = options.maxClients ?? 32;
    this.now = options.now ?? Date.now;
    this.subscriptions.push(
      options.transitions$.subscribe((transition) => {
        this.pending.push({ ...transition, t: this.now() });
      }),
      options.countsByApp$.subscribe((byApp) => {
        this.byApp = [...byApp]
          .map(([app, c]) => ({ app, busy: c.busy, idle: c.idle, draining: c.draining, sessions: c.sessions }))
          .sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
      }),
      options.counts$.subscribe({
        next: (counts) => this.onCounts(counts),
        // The tracker stopped: there will be nothing more to send.
        complete: () => this.endClients(),
      }),
    );
  }

  /** Open event streams (pages connected now). */
  get clientCount(): number {
    return this.clients.size;
  }

  /**
   * Handles every request `serveMetrics` does not: `/` (the page), `/events` (the stream),
   * 404 for anything else. Only GET and HEAD are allowed.
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/' && path !== '/index.html' && path !== '/events') {
      sendText(res, 404, `Not found. Try / (the live page) or /metrics.\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'Method not allowed.\n');
      return;
    }
    if (path === '/events') this.openStream(req, res);
    else this.sendPage(req, res);
  };

  /** Stops following the tracker and ends every open stream. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions.length = 0;
    this.endClients();
  }

  private sendPage(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(this.html),
      'Content-Security-Policy': PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : this.html);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) {
      sendText(res, 503, 'The demo is stopping.\n');
      return;
    }
    if (this.clients.size >= this.maxClients) {
      res.setHeader('Retry-After', '10');
      sendText(res, 503, `Too many open pages (${this.maxClients}); close one and retry.\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'keep-alive',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.clients.add(res);
    const forget = (): void => {
      this.clients.delete(res);
    };
    res.on('close', forget);
    req.socket.setNoDelay(true);
    const history: HistoryMessage = { points: this.points, transitions: this.recent, byApp: this.byApp };
    // retry: how long the browser waits before reconnecting after the stream drops.
    this.write(res, `retry: 2000\n\n${message('history', history)}`);
  }

  private onCounts(counts: StateCounts): void {
    const t = this.now();
    const point: CountsPoint = {
      t,
      busy: counts.busy,
      idle: counts.idle,
      draining: counts.draining,
      workers: counts.workers,
      sessions: counts.sessions,
    };
    this.points.push(point);
    if (this.points.length > CHART_POINTS) this.points.splice(0, this.points.length - CHART_POINTS);
    const transitions = this.pending;
    this.pending = [];
    for (const tr of transitions) this.recent.unshift(tr);
    if (this.recent.length > LISTED_TRANSITIONS) this.recent.length = LISTED_TRANSITIONS;
    if (this.clients.size === 0) return;
    const sent = transitions.slice(-MAX_TRANSITIONS_PER_TICK);
    const tick: TickMessage = {
      counts: point,
      byApp: this.byApp,
      transitions: sent,
      more: transitions.length - sent.length,
    };
    const text = message('tick', tick);
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      // The page stopped reading (a suspended tab, a stalled socket): let it reconnect later
      // rather than buffer without bound.
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }

  private endClients(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}
