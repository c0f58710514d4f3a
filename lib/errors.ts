/**
 * The error channel: what the tracker reports instead of throwing.
 *
 * Telemetry must never break its host, so nothing on a hot path (feeding a snapshot,
 * recording an event, a tick, a scrape) throws into the caller. Rejected input and contained
 * failures are described by a {@link TelemetryError} on the tracker's `errors$` stream
 * instead, with a message that names the field and quotes the value.
 *
 * @packageDocumentation
 */

import { MAX_MESSAGE_LENGTH, clip } from './describe-value';

/**
 * Where a reported problem came from:
 * - `snapshot`: a fed or pulled snapshot, or one of its entries, was not valid;
 * - `event`: an event given to `record()` was not valid;
 * - `source`: a snapshot source (the `source()` option, or an Observable given to `connect()`)
 *   threw or errored;
 * - `tick`: the tick Observable errored or completed;
 * - `subscriber`: a subscriber of one of the tracker's streams threw;
 * - `bound`: a cardinality bound was reached (reported once), or an `app` name was longer than
 *   an `app` label may be (reported once per name).
 */
export type TelemetryErrorOrigin = 'snapshot' | 'event' | 'source' | 'tick' | 'subscriber' | 'bound';

/**
 * Every {@link TelemetryErrorOrigin}, in the order above: the `origin` label values of the
 * tracker's `blockyard_tracker_errors_total` (its `selfMetrics` option), each exported from the
 * start at 0. Bounded: six values, whatever is reported.
 * @internal
 */
export const TELEMETRY_ERROR_ORIGINS: readonly TelemetryErrorOrigin[] = Object.freeze([
  'snapshot',
  'event',
  'source',
  'tick',
  'subscriber',
  'bound',
]);

/**
 * A problem the tracker contained and reported rather than threw. `field` names the offending
 * field where there is one (`sessions`, `status`, `reason`, …) so callers can route or count
 * reports without parsing messages. The message is at most 1,024 characters, whatever it
 * quotes (cut with `…`), so a hostile value cannot flood the host's log through it.
 */
export class TelemetryError extends Error {
  /** Where the problem came from. */
  readonly origin: TelemetryErrorOrigin;
  /** The offending field, where the problem is one field's value. */
  readonly field: string | undefined;

  constructor(origin: TelemetryErrorOrigin, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(clip(message, MAX_MESSAGE_LENGTH), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TelemetryError';
    this.origin = origin;
    this.field = options.field;
  }
}
