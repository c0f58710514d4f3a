/**
 * The bounds on the `app` label: how many values, and how long each.
 *
 * App names come from requests and health checks, that is from outside. Two bounds keep what
 * they cost fixed whatever the traffic:
 * - how many: the first `maxApps` distinct names get a series of their own; later names are
 *   counted under {@link AppOverflow}, so totals stay right while the number of series stays
 *   bounded. {@link AppUnknown} and {@link AppOverflow} never take a slot.
 * - how long: a name longer than {@link MAX_APP_LABEL_LENGTH} characters is counted under a
 *   shortened value of exactly that length, its first characters, `…`, and 12 hex digits of
 *   the SHA-256 of the whole name, so two long names that share a beginning still count apart.
 *   (300 made-up names of 1 MiB each once made a 300 MiB exposition.) The shortened value takes
 *   a slot like any name, and is reported the first time it does.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { clip, describeValue } from '../describe-value';
import { TelemetryError } from '../errors';
import { AppOverflow, AppUnknown } from '../labels';

/** The default bound on distinct `app` label values. */
export const DEFAULT_MAX_APPS = 1000;

/**
 * The longest `app` label value: 128 characters, about twice a DNS label (63, the longest app
 * name a router that maps host names to apps can route), so a real app name is never
 * shortened, while 1,000 apps' labels stay within a few hundred kilobytes.
 */
const MAX_APP_LABEL_LENGTH = 128;

/** Hex digits of the name's hash at the end of a shortened value. */
const HASH_DIGITS = 12;

/** The label value of an app name longer than {@link MAX_APP_LABEL_LENGTH}: see the module comment. */
function shortened(app: string): string {
  // utf16le: every string its own bytes, even one with a lone surrogate (utf8 would merge those).
  const hash = createHash('sha256').update(app, 'utf16le').digest('hex').slice(0, HASH_DIGITS);
  return `${clip(app, MAX_APP_LABEL_LENGTH - HASH_DIGITS)}${hash}`;
}

/**
 * Maps app names to bounded label values. One per tracker, shared by every collector that
 * carries an `app` label (the event counters, and `blockyard_app_workers` with `byApp`), so
 * the bounds hold for the tracker as a whole; `report` hears of a name shortened (once per
 * name) and of the first name past `maxApps` (once), whichever collector met it first.
 * @internal
 */
export class BoundedAppLabels {
  private readonly known = new Set<string>();
  private overflowReported = false;

  constructor(
    private readonly maxApps: number,
    private readonly report: (error: TelemetryError) => void,
  ) {}

  /**
   * The label value for `app`: itself (shortened when too long) while there is room, else
   * {@link AppOverflow}.
   */
  resolve(app: string): string {
    const label = app.length > MAX_APP_LABEL_LENGTH ? shortened(app) : app;
    if (this.known.has(label) || label === AppUnknown || label === AppOverflow) return label;
    if (this.known.size < this.maxApps) {
      this.known.add(label);
      if (label !== app) {
        this.report(
          new TelemetryError(
            'bound',
            `app name of ${app.length} characters is longer than ${MAX_APP_LABEL_LENGTH}; ` +
              `${describeValue(app)} is counted as ${JSON.stringify(label)}`,
            { field: 'app' },
          ),
        );
      }
      return label;
    }
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.report(
        new TelemetryError(
          'bound',
          `more than ${this.maxApps} distinct app names; ${describeValue(app)} and later new apps are counted as ${AppOverflow}`,
          { field: 'app' },
        ),
      );
    }
    return AppOverflow;
  }
}
