/**
 * The bound on the `app` label.
 *
 * App names come from requests and health checks, that is from outside. The first `maxApps`
 * distinct names get a series of their own; later names are counted under
 * {@link AppOverflow}, so totals stay right while the number of series stays bounded whatever
 * the traffic. {@link AppUnknown} and {@link AppOverflow} never take a slot.
 *
 * @packageDocumentation
 */
import { describeValue } from '../describe-value';
import { TelemetryError } from '../errors';
import { AppOverflow, AppUnknown } from '../labels';

/** The default bound on distinct `app` label values. */
export const DEFAULT_MAX_APPS = 1000;

/**
 * Maps app names to bounded label values. One per tracker, shared by every collector that
 * carries an `app` label (the event counters, and `blockyard_app_workers` with `byApp`), so the
 * bound holds for the tracker as a whole. Made by {@link newBoundedAppLabels}.
 * @internal
 */
export class BoundedAppLabels {
  private readonly known = new Set<string>();
  private overflowReported = false;

  constructor(
    private readonly maxApps: number,
    /** Called once, with the first app name that did not get a series of its own. */
    private readonly onFirstOverflow: (app: string, maxApps: number) => void,
  ) {}

  /** The label value for `app`: itself while there is room, else {@link AppOverflow}. */
  resolve(app: string): string {
    if (this.known.has(app) || app === AppUnknown || app === AppOverflow) return app;
    if (this.known.size < this.maxApps) {
      this.known.add(app);
      return app;
    }
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.onFirstOverflow(app, this.maxApps);
    }
    return AppOverflow;
  }

  /** How many distinct app names have a series of their own. */
  get size(): number {
    return this.known.size;
  }
}

/**
 * The tracker's one {@link BoundedAppLabels}: its first overflow is reported once through
 * `report`, as a `bound` error naming the app and the bound, whichever collector met it first.
 * @internal
 */
export function newBoundedAppLabels(maxApps: number, report: (error: TelemetryError) => void): BoundedAppLabels {
  return new BoundedAppLabels(maxApps, (app, max) =>
    report(
      new TelemetryError(
        'bound',
        `more than ${max} distinct app names; ${describeValue(app)} and later new apps are counted as ${AppOverflow}`,
        { field: 'app' },
      ),
    ),
  );
}
