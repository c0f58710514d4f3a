/**
 * Validation of worker records, field by field.
 *
 * A snapshot is the orchestrator's own data structure, so a bug there (a NaN session count,
 * a missing Date) must cost one rejected entry, never a wrong gauge or a thrown exception.
 *
 * @packageDocumentation
 */
import { describe } from './describe';
import { messageOf } from './errors';

/** What is wrong with a worker record: the field and a message quoting its value. @internal */
export interface WorkerProblem {
  readonly field: string;
  readonly message: string;
}

function problem(field: string, expected: string, value: unknown): WorkerProblem {
  return { field, message: `${field} must be ${expected}, got ${describe(value)}` };
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/**
 * The first problem of `worker` as an `ActiveWorker`, or `undefined` when it is valid. Never
 * throws: a getter that throws is itself the problem. This is the slow path that explains a
 * rejection; the reconciler's hot loop makes the same checks without allocating.
 * @internal
 */
export function findWorkerProblem(worker: unknown): WorkerProblem | undefined {
  try {
    if (worker === null || typeof worker !== 'object') {
      return { field: 'worker', message: `worker must be an object, got ${describe(worker)}` };
    }
    const w = worker as Record<string, unknown>;
    const appId = w.appId;
    if (typeof appId !== 'string' || appId === '') {
      return problem('appId', 'a non-empty string', appId);
    }
    const draining = w.draining;
    if (typeof draining !== 'boolean') return problem('draining', 'a boolean', draining);
    const sessions = w.sessions;
    if (typeof sessions !== 'number' || !Number.isInteger(sessions) || sessions < 0) {
      return problem('sessions', 'a non-negative integer', sessions);
    }
    const startedAt = w.startedAt;
    if (!isValidDate(startedAt)) return problem('startedAt', 'a valid Date', startedAt);
    const idleSince = w.idleSince;
    if (idleSince !== undefined && idleSince !== null && !isValidDate(idleSince)) {
      return problem('idleSince', 'a valid Date, null or absent', idleSince);
    }
    const bundleId = w.bundleId;
    if (bundleId !== undefined && typeof bundleId !== 'string') {
      return problem('bundleId', 'a string or absent', bundleId);
    }
    return undefined;
  } catch (err) {
    return { field: 'worker', message: `reading the worker threw: ${messageOf(err)}` };
  }
}
