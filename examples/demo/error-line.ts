/**
 * The demo's line for a report of `errors$`, printed on stderr:
 *
 *     tracker error (subscriber, counts$): a subscriber of counts$ threw: page gone
 *     tracker error (source): the snapshot source threw: database down
 *
 * The origin always, the field only when the report names one (a bad snapshot entry's field,
 * the stream whose subscriber threw), so a report without a field never prints `undefined`.
 *
 * @packageDocumentation
 */
import type { TelemetryError } from '../../lib';

/** The stderr line for one report of `errors$`. */
export function formatErrorLine(error: TelemetryError): string {
  const where = error.field === undefined ? error.origin : `${error.origin}, ${error.field}`;
  return `tracker error (${where}): ${error.message}`;
}
