/**
 * `collectAndCount`: how many series a registry or one of its families has, as
 * client_golang's `testutil.CollectAndCount` counts them.
 *
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { describeValue } from '../describe-value';
import type { SampleFamily } from './exposition-samples';
import { familiesOf, listed, registryArgument } from './registry-exposition';

/**
 * The label that tells a family's samples of one series apart: a histogram's buckets by `le`,
 * a summary's quantiles by `quantile`. Other types have one sample per series.
 */
const WITHIN_SERIES: Readonly<Record<string, string>> = { histogram: 'le', summary: 'quantile' };

/** The series of one family: distinct label sets, a histogram's or summary's samples counted once. */
function seriesOf(family: SampleFamily): number {
  const within = family.type === undefined ? undefined : WITHIN_SERIES[family.type];
  const keys = new Set(
    family.samples.map((sample) => {
      const labels = sample.labels
        .filter(([name]) => name !== within)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .sort();
      // A histogram's `_bucket`, `_sum` and `_count` are one series; elsewhere the name counts.
      return `${within === undefined ? sample.name : ''}{${labels.join(',')}}`;
    }),
  );
  return keys.size;
}

/**
 * How many series the family registered as `name` has in `registry`, or all its families
 * together without a name. A series is one label set: a histogram's buckets, sum and count
 * count once, as do a summary's quantiles, sum and count. A family without series (a labelled
 * counter never incremented) has 0.
 *
 * Rejects with an `Error` listing the families there are when none is registered as `name`, so
 * a misspelt name cannot pass for an empty family.
 *
 * ```ts
 * expect(await collectAndCount(registry, 'blockyard_proxy_requests_total')).toBe(2);
 * ```
 */
export async function collectAndCount(registry: Registry<RegistryContentType>, name?: string): Promise<number> {
  const owner = 'collectAndCount';
  const checked = registryArgument(owner, registry);
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError(`${owner}: name must be a family name, got ${describeValue(name)}`);
  }
  const families = await familiesOf(owner, checked);
  if (name === undefined) return families.reduce((sum, family) => sum + seriesOf(family), 0);
  const found = families.filter((family) => family.name === name);
  if (found.length === 0) {
    throw new Error(
      `${owner}: no family registered as ${name}; the registry has: ${families.length === 0 ? 'none' : listed(families.map((f) => f.name))}`,
    );
  }
  return found.reduce((sum, family) => sum + seriesOf(family), 0);
}
