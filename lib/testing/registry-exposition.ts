/**
 * What every function of the kit starts with: the registry argument checked, and its
 * exposition rendered in the format asked for, without touching the registry; and how their
 * messages list what there is.
 *
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { messageOf } from '../describe-value';
import { renderRegistry, type ExpositionFormat } from '../http';
import { OptionChecks } from '../options';
import { readFamilies, type SampleFamily } from './exposition-samples';

/**
 * `registry` when it is a prom-client registry (of any copy of prom-client); else throws a
 * `TypeError` that names `owner`.
 */
export function registryArgument(owner: string, registry: unknown): Registry<RegistryContentType> {
  return new OptionChecks(owner).registry('registry', registry);
}

/**
 * The exposition of `registry` in `format`, rendered by prom-client through
 * `renderRegistry` (so an OpenMetrics rendering renames nothing in the registry). A collector
 * that throws rejects with an `Error` that names `owner` and keeps the thrown value as `cause`.
 */
export async function exposition(
  owner: string,
  registry: Registry<RegistryContentType>,
  format: ExpositionFormat,
): Promise<string> {
  try {
    return await renderRegistry(registry, format);
  } catch (err) {
    throw new Error(`${owner}: rendering the registry failed: ${messageOf(err)}`, { cause: err });
  }
}

/** The families of `registry`'s Prometheus text 0.0.4 exposition: names as registered. */
export async function familiesOf(owner: string, registry: Registry<RegistryContentType>): Promise<SampleFamily[]> {
  return readFamilies(await exposition(owner, registry, 'prometheus'), `${owner}: the exposition`);
}

/** How many items a message lists before it says how many more there are. */
const LISTED = 20;

/** `items` joined with `, `, at most {@link LISTED} of them, then how many more there are. */
export function listed(items: readonly string[]): string {
  const more = items.length - LISTED;
  return items.slice(0, LISTED).join(', ') + (more > 0 ? `, … and ${more} more` : '');
}

/** Orders strings by their UTF-16 code units, the same on every machine (no locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
