/**
 * The timers, sockets and servers a test creates, followed until each is destroyed: what a
 * test of "nothing left open" checks. Unlike `process.getActiveResourcesInfo()` (and jest's
 * --detectOpenHandles) it also sees unref'd timers, such as a tick timer that does not hold the
 * process open, and it sees only what was created since it started, not what other tests of
 * the same worker left running.
 */
import { createHook } from 'node:async_hooks';

/** What {@link watchHandles} reports and how it stops. */
export interface HandleWatch {
  /** Each handle created since the watch began and not destroyed yet: its kind, and where it was made when asked. */
  open(): string[];
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
  return { open: () => [...live.values()], dispose: () => hook.disable() };
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
