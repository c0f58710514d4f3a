/**
 * `deriveStateCounts`: the count behind every tick, as a pure function for use outside a
 * tracker (a status page, a test, a one-off check of a snapshot).
 *
 * @packageDocumentation
 */
import { NOT_RECONCILED, SnapshotReconciler } from './snapshot-reconciler';
import { EMPTY_COUNTS, type SnapshotInput, type StateCounts } from './worker-state';
import type { WorkerValidationOptions } from './worker-validation';

/**
 * Counts the workers of `snapshot` by state: draining wins, then busy when sessions > 0, else
 * idle. Pure and total: entries that are not valid workers are left out, and anything that is
 * not a snapshot (or whose iterator throws) counts as empty. The tracker derives its gauges
 * with the same walk.
 */
export function deriveStateCounts(snapshot: SnapshotInput, options: WorkerValidationOptions = {}): StateCounts {
  const counts = new SnapshotReconciler({ strict: options.strict ?? false }).reconcile(snapshot);
  return counts === NOT_RECONCILED ? EMPTY_COUNTS : counts;
}
