/**
 * A blocking collector, like promhttp's `blockingCollector`: a gauge whose collect() waits
 * until the test lets it go, so a test can hold a scrape in flight for as long as it needs.
 */
import { Gauge, type Registry, type RegistryContentType } from 'prom-client';
import { deferred, type Deferred } from './deferred';

/** The handle a test holds a {@link heldGauge} by. */
export interface HeldGauge {
  /** How many times collect() was entered: one per serialization. */
  readonly calls: number;
  /** Resolves once a scrape is inside collect(). */
  entered(): Promise<void>;
  /** Lets every scrape held now go on, with the gauge at `next`; later ones are held again. */
  release(next: number): void;
  /** Lets every scrape through from now on. */
  open(next: number): void;
}

/** Registers a held gauge named `name` on `registry`. */
export function heldGauge(registry: Registry<RegistryContentType>, name = 'test_held'): HeldGauge {
  let gate: Deferred<void> = deferred();
  let entered: Deferred<void> = deferred();
  let calls = 0;
  let value = 0;
  new Gauge({
    name,
    help: 'A gauge the test holds up.',
    registers: [registry],
    async collect() {
      calls += 1;
      entered.resolve();
      await gate.promise;
      this.set(value);
    },
  });
  return {
    get calls() {
      return calls;
    },
    entered: () => entered.promise,
    release(next: number) {
      value = next;
      const open = gate;
      gate = deferred();
      entered = deferred();
      open.resolve();
    },
    open(next: number) {
      value = next;
      gate.resolve();
    },
  };
}
