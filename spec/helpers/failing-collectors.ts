/**
 * Collectors that fail on purpose, like promhttp's errorCollector: one whose collect() throws,
 * one whose collect() rejects after an await.
 */
import { Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';

/** Registers a gauge `name` whose collect() throws `<name> is broken` while `broken()` says so. */
export function throwingGauge(
  registry: Registry<RegistryContentType>,
  name: string,
  broken: () => boolean = () => true,
): void {
  new Gauge({
    name,
    help: 'Throws while broken.',
    registers: [registry],
    collect() {
      if (broken()) throw new Error(`${name} is broken`);
      this.set(1);
    },
  });
}

/** Registers a histogram `name` whose collect() rejects with `<name> rejected`. */
export function rejectingHistogram(registry: Registry<RegistryContentType>, name: string): void {
  new Histogram({
    name,
    help: 'Rejects.',
    registers: [registry],
    async collect() {
      await Promise.resolve();
      throw new Error(`${name} rejected`);
    },
  });
}
