/**
 * Buffered counts of `blockyard_proxy_requests_total{app,status}`.
 *
 * Every proxied request is counted, so this is the hottest path of the library. prom-client
 * hashes the label set on every `inc()`, even through a stored `labels()` handle; here a
 * request costs one Map lookup and one array increment instead, and prom-client gets the
 * totals (one `inc` per app and class that moved) just before each read of the collector,
 * through its scrape-time `collect()` hook. A scrape therefore always sees every request
 * recorded before it.
 *
 * @packageDocumentation
 */
import type { Counter } from 'prom-client';
import { STATUS_CLASSES } from '../labels';

/** @internal */
export class ProxyRequestCounts {
  /** Pending increments per app label, one slot per status class (1xx … 5xx). */
  private readonly pending = new Map<string, Float64Array>();
  private dirty = false;

  constructor(private readonly counter: Counter<'app' | 'status'>) {}

  /** Counts one request of `app` (an already bounded label value) in status class `classIndex`. */
  add(app: string, classIndex: number): void {
    let row = this.pending.get(app);
    if (row === undefined) {
      row = new Float64Array(STATUS_CLASSES.length);
      this.pending.set(app, row);
    }
    row[classIndex] = (row[classIndex] as number) + 1;
    this.dirty = true;
  }

  /** Hands every pending count to prom-client. Run before each read of the counter. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const [app, row] of this.pending) {
      for (let i = 0; i < row.length; i += 1) {
        const n = row[i] as number;
        if (n > 0) {
          row[i] = 0;
          this.counter.inc({ app, status: STATUS_CLASSES[i] }, n);
        }
      }
    }
  }
}
