/**
 * A port free on 127.0.0.1, for a program that must be told its port (Prometheus) or for a
 * test that needs an address where nothing listens (a collector that is down).
 */
import { createServer, type AddressInfo } from 'node:net';

/** A port free on 127.0.0.1 now: the OS picks it, and it is released before this resolves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
