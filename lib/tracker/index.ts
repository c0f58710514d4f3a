/**
 * The tracker family: worker snapshots reconciled on each tick into
 * `blockyard_workers{state}` and the derived streams, with the events recorded beside them.
 *
 * @packageDocumentation
 */
export { deriveStateCounts } from './derive-state-counts';
export type { WorkerTransition } from './state-diff';
export type { WorkerStateTrackerOptions } from './tracker-options';
export {
  EMPTY_COUNTS,
  workerState,
  type ActiveWorker,
  type SnapshotInput,
  type StateCounts,
  type WorkerSnapshot,
} from './worker-state';
export { WorkerStateTracker } from './worker-state-tracker';
export { invalidWorkerReason, type WorkerValidationOptions } from './worker-validation';
