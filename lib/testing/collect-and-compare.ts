/**
 * `collectAndCompare`: a registry's exposition held against an expected text, as
 * client_golang's `testutil.CollectAndCompare` does.
 *
 * Both sides are read into families and written again in one canonical form, so what differs
 * is what a scraper would see differently, not how the text was laid out: families sorted by
 * name, each with its `# HELP`, `# TYPE` (and `# UNIT`) then its series sorted by labels, a
 * histogram's buckets in `le` order before its sum and count, labels sorted, values written
 * as prom-client writes them, indentation and blank lines dropped. Exemplars are left out:
 * their timestamps change with every run.
 *
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { describeValue, messageOf } from '../describe-value';
import { renderForScrape, type ExpositionFormat } from '../http';
import { formatSample, parseValue, readFamilies, type Sample, type SampleFamily } from './exposition-samples';
import { lineDiff } from './line-diff';
import { compareText, registryArgument } from './registry-exposition';

/** The label that orders a family's samples within one series. */
const BOUND: Readonly<Record<string, string>> = { histogram: 'le', summary: 'quantile' };

/** Where a sample comes within its series: the value line(s) first, then sum, count, created. */
function rank(family: string, sample: string): number {
  const suffix = sample.startsWith(family) ? sample.slice(family.length) : sample;
  return ['', '_total', '_bucket'].includes(suffix) ? 0 : ['_sum', '_count', '_created'].indexOf(suffix) + 1 || 4;
}

/** One family in the canonical form (see the module comment). */
function canonicalFamily(family: SampleFamily): string[] {
  const bound = family.type === undefined ? undefined : BOUND[family.type];
  const keyed = family.samples.map((sample) => {
    const labels = [...sample.labels].sort(([a], [b]) => compareText(a, b));
    const series = formatSample({
      ...sample,
      name: '',
      value: 0,
      timestamp: undefined,
      labels: labels.filter(([n]) => n !== bound),
    });
    const at = labels.find(([n]) => n === bound)?.[1];
    return {
      sample: { ...sample, labels } satisfies Sample,
      series,
      rank: rank(family.name, sample.name),
      at: at === undefined ? 0 : (parseValue(at) ?? 0),
    };
  });
  keyed.sort(
    (x, y) =>
      compareText(x.series, y.series) || x.rank - y.rank || x.at - y.at || compareText(x.sample.name, y.sample.name),
  );
  return [
    ...(family.help === undefined ? [] : [`# HELP ${family.name} ${family.help}`]),
    ...(family.type === undefined ? [] : [`# TYPE ${family.name} ${family.type}`]),
    ...(family.unit === undefined ? [] : [`# UNIT ${family.name} ${family.unit}`]),
    ...keyed.map(({ sample }) => formatSample(sample)),
  ];
}

/** Every family in the canonical form, sorted by name, a blank line between families. */
function canonical(families: readonly SampleFamily[]): string[] {
  return [...families]
    .sort((a, b) => compareText(a.name, b.name))
    .flatMap((family, i) => [...(i === 0 ? [] : ['']), ...canonicalFamily(family)]);
}

/**
 * Resolves when the exposition of `registry` equals `expected`, ignoring the order of
 * families and of series (and layout: indentation, blank lines, label order); rejects with an
 * `Error` holding a readable diff otherwise (`-` expected, `+` got). `# HELP` and `# TYPE`
 * lines take part, so a changed help text or type is a difference.
 *
 * `expected` may be written in either format: with a `# EOF` line it is compared with the
 * registry's OpenMetrics exposition (`# TYPE x counter` then `x_total`), else with its
 * Prometheus text 0.0.4. `names`, when given, limits both sides to the families registered
 * under those names (counters with their `_total`, as the endpoint's `name[]` takes them).
 *
 * ```ts
 * await collectAndCompare(registry, `
 *   # HELP blockyard_workers_spawned_total Total number of workers spawned.
 *   # TYPE blockyard_workers_spawned_total counter
 *   blockyard_workers_spawned_total 3
 * `, ['blockyard_workers_spawned_total']);
 * ```
 */
export async function collectAndCompare(
  registry: Registry<RegistryContentType>,
  expected: string,
  names?: readonly string[],
): Promise<void> {
  const owner = 'collectAndCompare';
  const checked = registryArgument(owner, registry);
  if (typeof expected !== 'string')
    throw new TypeError(`${owner}: expected must be a string, got ${describeValue(expected)}`);
  if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string'))) {
    throw new TypeError(`${owner}: names must be an array of family names, got ${describeValue(names)}`);
  }
  const format: ExpositionFormat = /^[ \t]*# EOF[ \t]*$/m.test(expected) ? 'openmetrics' : 'prometheus';
  let rendering;
  try {
    rendering = await renderForScrape(checked, format, 'fail');
  } catch (err) {
    throw new Error(`${owner}: rendering the registry failed: ${messageOf(err)}`, { cause: err });
  }
  let got = readFamilies(rendering.text, `${owner}: the exposition`);
  let want = readFamilies(expected, `${owner}: the expected text`);
  const wanted = names === undefined ? undefined : new Set(names);
  if (wanted !== undefined) {
    const gotFamilies = new Set<string>();
    for (const name of wanted) {
      const family = rendering.families.get(name);
      if (family !== undefined) gotFamilies.add(family);
    }
    got = got.filter((family) => gotFamilies.has(family.name));
    // The expected text has no registry behind it: in OpenMetrics, family `x` of a counter is `x_total` too.
    want = want.filter(
      (family) =>
        wanted.has(family.name) ||
        (format === 'openmetrics' && family.type === 'counter' && wanted.has(`${family.name}_total`)),
    );
  }
  const expectedLines = canonical(want);
  const gotLines = canonical(got);
  if (expectedLines.join('\n') === gotLines.join('\n')) return;
  const unknown = wanted === undefined ? [] : [...wanted].filter((name) => !rendering.families.has(name));
  const formatName = format === 'openmetrics' ? 'OpenMetrics, as the expected text has # EOF' : 'Prometheus text 0.0.4';
  throw new Error(
    `${owner}: the exposition differs from the expected text ` +
      `(${formatName}; families and series sorted; - expected, + got):\n${lineDiff(expectedLines, gotLines)}` +
      (unknown.length === 0 ? '' : `\nno collector is registered as: ${unknown.join(', ')}`),
  );
}
