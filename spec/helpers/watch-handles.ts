/**
 * The timers, sockets and servers a test creates, followed until each is destroyed: what a
 * test of "nothing left open" checks. Unlike `process.getActiveResourcesInfo()` (and jest's
 * --detectOpenHandles) it also sees unref'd timers, such as a tick timer that does not hold the
 * process open, and it sees only what was created since it started, not what other tests of
 * the same worker left running.
 */
import { createHook } from 'node:async_hooks';
import { waitUntil } from './wait-until';

/** What {@link watchHandles} reports and how it stops. */
export interface HandleWatch {
  /**
   * Resolves once every handle created since the watch began is destroyed; rejects after
   * `timeoutMs` naming `what` and each handle still open.
   */
  released(what: string, timeoutMs: number): Promise<void>;
  /** Stops watching. */
  dispose(): void;
}

const WATCHED = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP']);

/**
 * Starts following every timer, socket and server created from now on. With `stacks`, each
 * open handle is reported with the first frames of the stack that made it (costly: for tests
 * that create a few handles, not a soak's thousands).
 */
export function watchHandles({ stacks = false }: { stacks?: boolean } = {}): HandleWatch {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (!WATCHED.has(type)) return;
      live.set(id, stacks ? `${type} made at ${madeAt()}` : type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  /** Each handle still open: its kind, and where it was made when `stacks` asked for it. */
  const open = (): string[] => [...live.values()];
  const released = async (what: string, timeoutMs: number): Promise<void> => {
    await waitUntil(
      what,
      async () => {
        // Destroy hooks arrive on a later turn of the event loop (after this poll's own timer).
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        const left = open();
        if (left.length > 0) throw new Error(`still open: ${left.join('; ')}`);
        return true;
      },
      { timeoutMs, intervalMs: 20 },
    );
  };
  return { released, dispose: () => hook.disable() };
}

/** The frames of the current stack below Node's own and this module's, a few of them. */
function madeAt(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const outside = frames.filter((f) => !f.includes('node:') && !f.includes('watch-handles'));
  return outside
    .slice(0, 4)
    .map((f) => f.trim().replace(/^at /, ''))
    .join(' < ');
}
