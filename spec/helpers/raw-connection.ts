/**
 * A raw TCP connection to a test server on 127.0.0.1, for clients no HTTP library would be:
 * one that never sends a byte, one that stops halfway through a request.
 */
import { connect, type Socket } from 'node:net';

/** An open raw connection. */
export interface RawConnection {
  readonly socket: Socket;
  /** Resolves once the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /** Everything received so far, as text. */
  received(): string;
}

/** Connects to `port` on 127.0.0.1 and resolves once connected; sends nothing. */
export function openRawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    // A reset by the server (it closed the connection) is a close like any other here.
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ socket, closed, received: () => text }));
    socket.once('error', reject);
  });
}
