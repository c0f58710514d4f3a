/**
 * The demo's one line per tick: the derived counts, then what happened since the last line.
 *
 *     13:02:07 #12   busy  7  idle  3  draining  1  sessions  24 | spawned 1, idle_timeout 1, requests 31 (5xx 1)
 *
 * Fixed-width numbers so the columns line up while the counts move; notes only for what
 * happened, so a quiet tick stays short.
 *
 * @packageDocumentation
 */
import type { StateCounts } from '../../lib';
import type { StepSummary } from './simulator';

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

/** The notable things in `summary`, comma-separated; empty when nothing happened. */
export function describeSummary(s: StepSummary): string {
  const notes: string[] = [];
  const add = (n: number, what: string): void => {
    if (n > 0) notes.push(`${what} ${n}`);
  };
  add(s.spawned, 'spawned');
  add(s.stopped.graceful, 'graceful');
  add(s.stopped.crashed, 'crashed');
  add(s.stopped.idle_timeout, 'idle_timeout');
  add(s.uploads, 'uploaded');
  add(s.restoresSucceeded, 'restored');
  add(s.restoresFailed, 'restore FAILED');
  add(s.healthChecksFailed, 'health check failed');
  add(s.auditEntriesDropped, 'audit dropped');
  if (s.requests > 0) {
    const extra: string[] = [];
    if (s.requests5xx > 0) extra.push(`5xx ${s.requests5xx}`);
    if (s.unknownAppRequests > 0) extra.push(`unknown app ${s.unknownAppRequests}`);
    notes.push(`requests ${s.requests}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`);
  }
  return notes.join(', ');
}

/** One tick's line: time, tick number, the counts, and the notes of `summary`. */
export function formatTickLine(at: Date, tick: number, counts: StateCounts, summary: StepSummary): string {
  const head =
    `${clock(at)} #${String(tick).padEnd(4)} busy ${pad(counts.busy, 2)}  idle ${pad(counts.idle, 2)}  ` +
    `draining ${pad(counts.draining, 2)}  sessions ${pad(counts.sessions, 3)}`;
  const notes = describeSummary(summary);
  return notes === '' ? head : `${head} | ${notes}`;
}
