/**
 * The connections of one metrics listener: each socket until it closes (so `close()` can wait
 * for them all), and a bound on how many are held open.
 *
 * Node's HTTP server closes a connection that has not sent a complete request within
 * `headersTimeout` of opening (the listener sets it to `requestTimeoutMs`), but only bounds
 * time: with Node's defaults a connection that sends nothing is held for 60 to 90 s, and a
 * thousand of them, opened faster than that, use up a process's 1,024 descriptors, so that a
 * scrape cannot even connect. Here at most `maxConnections` are held. A plain cap (Node's own
 * `server.maxConnections`) would refuse the scrape that arrives during a flood; instead, the
 * connection that makes one too many closes another to make room:
 *
 * 1. the oldest connection that has not sent a complete request yet (a scraper sends its
 *    request as soon as it connects, so only a flood of newer connections could push it out);
 * 2. else the kept-alive connection idle the longest (a scraper whose idle connection is
 *    closed connects again for its next scrape);
 * 3. else, when every connection is serving a request or was handed over to an `upgrade` or
 *    `connect` listener (a WebSocket of the fallback), the new connection itself.
 *
 *     connections:  a b c d          (maxConnections 4; a, b, c never sent a request)
 *     e connects:     b c d e        a, the oldest that sent nothing, is closed
 *
 * @packageDocumentation
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What is known of one open connection. */
interface Connection {
  /**
   * The responses to requests received on it and not yet answered in full (more than one only
   * when the client pipelines). Kept on their connection rather than in one Set of the
   * listener's: V8 rebuilds a Set's table as entries come and go, and a table that outlived a
   * young-generation collection kept its successor and the responses it held alive through the
   * next ones. Under 16 concurrent scrapers that promoted about 0.75 MB per scavenge into the
   * old generation, and brought a mark-compact every second or two (bench/README.md).
   */
  readonly inProgress: ServerResponse[];
  /** When it last became idle (a sequence number, larger is later), or -1 until its first request. */
  idleSince: number;
  /** Handed over to an `upgrade` or `connect` listener: no longer HTTP, never closed to make room. */
  detached: boolean;
}

/** Whether a request hands its socket over to listeners of `event` (when there are some). */
function isDetaching(event: string | symbol): event is 'upgrade' | 'connect' {
  return event === 'upgrade' || event === 'connect';
}

/**
 * Tracks and bounds the connections of `server` (see the module comment). `onFull` is called
 * the first time a connection has to be closed to make room, so the host learns that
 * `maxConnections` was reached without a report per connection.
 * @internal
 */
export class ListenerConnections {
  /** Every socket until it closes, those closed to make room included: what `close()` waits for. */
  readonly sockets = new Set<Socket>();
  /** The connections counted against `maxConnections`, oldest first. */
  private readonly open = new Map<Socket, Connection>();
  private idleSequence = 0;
  private fullReported = false;

  constructor(
    server: Server,
    private readonly maxConnections: number,
    private readonly onFull: () => void,
  ) {
    server.on('connection', (socket: Socket) => this.connected(socket));
    // A request that upgrades (a WebSocket) or tunnels (CONNECT) reaches an 'upgrade' or
    // 'connect' listener instead of the request handler, and its socket is no longer HTTP. One
    // more listener of ours sees it go, but Node answers such a request as a plain one when
    // nobody listens: ours is added only beside another one, and leaves with the last of them.
    const detach = (req: IncomingMessage): void => this.detached(req.socket);
    server.on('newListener', (event: string | symbol, listener: unknown) => {
      if (listener !== detach && isDetaching(event) && !server.listeners(event).includes(detach)) {
        server.prependListener(event, detach);
      }
    });
    server.on('removeListener', (event: string | symbol, listener: unknown) => {
      if (listener !== detach && isDetaching(event) && server.listenerCount(event) === 1) {
        server.off(event, detach);
      }
    });
  }

  /** A request arrived on `req`'s connection; `res` closes once it is answered (or the socket is gone). */
  requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.open.get(req.socket);
    if (connection === undefined) return;
    const inProgress = connection.inProgress;
    inProgress.push(res);
    res.once('close', () => {
      const at = inProgress.indexOf(res);
      if (at >= 0) inProgress.splice(at, 1);
      if (inProgress.length === 0) connection.idleSince = this.idleSequence += 1;
    });
  }

  /**
   * The last response in progress on each connection still counted: for `close()`, which
   * closes each such connection once that response is sent. Only the last: a connection
   * closed after an earlier one would drop the answers to requests the client pipelined
   * behind it.
   */
  lastResponses(): ServerResponse[] {
    const responses: ServerResponse[] = [];
    for (const c of this.open.values()) {
      const last = c.inProgress[c.inProgress.length - 1];
      if (last !== undefined) responses.push(last);
    }
    return responses;
  }

  /**
   * Closes every connection that is not serving a request and was not handed over: for
   * `close()`, which otherwise would wait its whole grace period for clients that send nothing.
   */
  closeIdle(): void {
    for (const [socket, c] of this.open) if (c.inProgress.length === 0 && !c.detached) socket.destroy();
  }

  private connected(socket: Socket): void {
    this.sockets.add(socket);
    this.open.set(socket, { inProgress: [], idleSince: -1, detached: false });
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.open.delete(socket);
    });
    if (this.open.size > this.maxConnections) this.makeRoom(socket);
  }

  private detached(socket: Socket): void {
    const connection = this.open.get(socket);
    if (connection !== undefined) connection.detached = true;
  }

  /** Closes one connection to bring the count back to `maxConnections`; see the module comment. */
  private makeRoom(newest: Socket): void {
    let neverRequested: Socket | undefined;
    let longestIdle: Socket | undefined;
    let idleSince = Infinity;
    for (const [socket, c] of this.open) {
      if (socket === newest || c.inProgress.length > 0 || c.detached) continue;
      if (c.idleSince < 0) {
        neverRequested = socket;
        break;
      }
      if (c.idleSince < idleSince) {
        idleSince = c.idleSince;
        longestIdle = socket;
      }
    }
    const victim = neverRequested ?? longestIdle ?? newest;
    // Out of the count at once: its 'close' event comes later, after more connections may have.
    this.open.delete(victim);
    victim.destroy();
    if (!this.fullReported) {
      this.fullReported = true;
      this.onFull();
    }
  }
}
