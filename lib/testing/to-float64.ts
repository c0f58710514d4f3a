/**
 * `toFloat64`: the value of one sample, as client_golang's `testutil.ToFloat64` gives it.
 *
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { describeValue } from '../describe-value';
import { formatLabels, formatSample, hasLabels, type Sample } from './exposition-samples';
import { familiesOf, listed, registryArgument } from './registry-exposition';

/** Label values to match, as a subset of a sample's labels (numbers match their text). */
export type SampleLabels = Readonly<Record<string, string | number>>;

/** The labels of `sample` and its value, for messages: `{app="a",status="2xx"} 3`. */
function shown(sample: Sample): string {
  return formatSample({ ...sample, name: '' }).trimStart();
}

/**
 * The value of the one sample of `registry` named `name` whose labels include `labels` (a
 * subset: other labels may be there too). `name` is the sample's name in the Prometheus text
 * exposition, as the collector was registered: `blockyard_proxy_requests_total`, or a
 * histogram's `blockyard_cold_start_seconds_count`, `…_sum` or `…_bucket` (with `le`).
 *
 * Rejects with an `Error` listing what it found when no sample or several match, so a test
 * can never pass by reading the wrong series. Works with any prom-client registry, of either
 * content type, and renames nothing in it.
 *
 * ```ts
 * expect(await toFloat64(registry, 'blockyard_proxy_requests_total', { app: 'sales', status: '2xx' })).toBe(3);
 * ```
 */
export async function toFloat64(
  registry: Registry<RegistryContentType>,
  name: string,
  labels: SampleLabels = {},
): Promise<number> {
  const owner = 'toFloat64';
  const checked = registryArgument(owner, registry);
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`${owner}: name must be a sample name, got ${describeValue(name)}`);
  const labelValues: unknown = labels;
  if (
    labelValues === null ||
    typeof labelValues !== 'object' ||
    !Object.values(labelValues).every((v) => typeof v === 'string' || typeof v === 'number')
  ) {
    throw new TypeError(`${owner}: labels must be an object of string or number values, got ${describeValue(labels)}`);
  }
  const samples = (await familiesOf(owner, checked)).flatMap((family) => family.samples);
  const named = samples.filter((sample) => sample.name === name);
  const matching = named.filter((sample) => hasLabels(sample, labels));
  const asked = `${name}${formatLabels(Object.entries(labels).map(([k, v]) => [k, String(v)]))}`;
  const [only] = matching;
  if (matching.length === 1 && only !== undefined) return only.value;
  if (matching.length > 1) {
    throw new Error(
      `${owner}: ${matching.length} samples match ${asked}; give labels that pick one of: ${listed(matching.map(shown))}`,
    );
  }
  if (named.length > 0) {
    throw new Error(`${owner}: no sample ${asked}; the samples named ${name} are: ${listed(named.map(shown))}`);
  }
  const names = [...new Set(samples.map((sample) => sample.name))];
  throw new Error(
    `${owner}: no sample named ${name} in the registry; ` +
      (names.length === 0 ? 'it has no sample at all' : `its sample names: ${listed(names)}`),
  );
}
