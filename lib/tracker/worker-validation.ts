/**
 * Validation of worker records, field by field.
 *
 * A snapshot is the orchestrator's own data structure, so a bug there (a NaN session count, a
 * draining flag that is a string) must cost one rejected entry, never a wrong gauge or a thrown
 * exception.
 *
 * Two levels. By default the tracker checks, on every tick, the two fields that decide how a
 * worker counts: `draining` (a boolean) and `sessions` (a non-negative integer). The other
 * fields (`appId`, `startedAt`, `idleSince`, `bundleId`) label nothing and decide no count: a
 * worker whose `startedAt` is malformed still has a well-defined state, and leaving it out
 * would make the gauges wrong. Checking them also costs a memory access per worker per tick
 * (to its strings and Dates, which the counting never touches), which at a million workers is
 * most of the tick. Strict validation (`strictSnapshots: true`) checks them too and rejects
 * entries that fail; use it in tests and staging to catch orchestrator bugs.
 *
 * @packageDocumentation
 */
import { describeValue, messageOf } from '../describe-value';
import { isSessionCount } from './worker-state';

/** How thoroughly worker records are checked: the tracker option `strictSnapshots` in a pure function. */
export interface WorkerValidationOptions {
  /**
   * Also check the fields that decide no count (`appId`, `startedAt`, `idleSince`,
   * `bundleId`). Default false: only `draining` and `sessions`, which decide how a worker counts.
   */
  readonly strict?: boolean;
}

/**
 * Why the tracker would reject `worker` as an `ActiveWorker`, naming the field and
 * quoting its value, or `undefined` when it counts. Never throws; a getter that throws is
 * reported as such.
 */
export function invalidWorkerReason(worker: unknown, options: WorkerValidationOptions = {}): string | undefined {
  return findWorkerProblem(worker, options.strict ?? false)?.message;
}

/** What is wrong with a worker record: the field and a message quoting its value. @internal */
export interface WorkerProblem {
  readonly field: string;
  readonly message: string;
}

function problem(field: string, expected: string, value: unknown): WorkerProblem {
  return { field, message: `${field} must be ${expected}, got ${describeValue(value)}` };
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/**
 * The first problem of `worker` as an `ActiveWorker`, or `undefined` when it is valid: the
 * fields telemetry reads, and with `strict` every field. Never throws: a getter that throws is
 * itself the problem. This is the slow path that explains a rejection; the reconciler's hot
 * loop makes the same checks without allocating.
 * @internal
 */
export function findWorkerProblem(worker: unknown, strict: boolean): WorkerProblem | undefined {
  try {
    if (worker === null || typeof worker !== 'object') {
      return { field: 'worker', message: `worker must be an object, got ${describeValue(worker)}` };
    }
    const w = worker as Record<string, unknown>;
    const draining = w.draining;
    if (typeof draining !== 'boolean') return problem('draining', 'a boolean', draining);
    const sessions = w.sessions;
    if (!isSessionCount(sessions)) return problem('sessions', 'a non-negative integer', sessions);
    if (!strict) return undefined;
    const appId = w.appId;
    if (typeof appId !== 'string' || appId === '') {
      return problem('appId', 'a non-empty string', appId);
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

/**
 * The fields strict validation adds, as a boolean: the same rules as {@link findWorkerProblem}
 * past `sessions`, without allocating. May throw (a getter); callers catch.
 * @internal
 */
export function hasValidDescriptiveFields(w: Record<string, unknown>): boolean {
  const appId = w.appId;
  if (typeof appId !== 'string' || appId === '') return false;
  const startedAt = w.startedAt;
  if (!(startedAt instanceof Date) || Number.isNaN(startedAt.getTime())) return false;
  const idleSince = w.idleSince;
  if (idleSince !== undefined && idleSince !== null) {
    if (!(idleSince instanceof Date) || Number.isNaN(idleSince.getTime())) return false;
  }
  const bundleId = w.bundleId;
  return bundleId === undefined || typeof bundleId === 'string';
}
