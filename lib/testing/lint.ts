/**
 * `lint`: a registry held against Prometheus's naming conventions, as client_golang's
 * `testutil.CollectAndLint` (promlint, what `promtool check metrics` runs) holds a collector.
 *
 * Each collector is read on its own, as the endpoint's `errorHandling: 'continue'` reads it,
 * so one that throws is a problem of its own and the others are still checked; a collector
 * without help text (which prom-client could not even render) is checked too.
 *
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { messageOf } from '../describe-value';
import { readCollectors, viewOfReads, type CollectorRead } from '../http';
import { LINT_RULES } from './lint-rules';
import { compareText, registryArgument } from './registry-exposition';

/** One problem `lint` found: the family, by the name it is registered under, and what is wrong. */
export interface LintProblem {
  /** The name the collector is registered under (`blockyard_workers_spawned_total`). */
  readonly metric: string;
  /** What is wrong, in a few words: `a counter's name should end in "_total"`. */
  readonly text: string;
}

/**
 * Resolves to the problems of every family of `registry`, sorted by metric then text, each
 * once; an empty list when it follows the conventions. The checks (at least promlint's):
 * help text missing or empty; a counter without `_total`, or `_total` on another type;
 * `_bucket`, `_count` and `_sum` on types that do not own them; `le` outside histograms and
 * `quantile` outside summaries; non-base units (`milliseconds`, `kilobytes`, `percent`,
 * `hours`, …) and abbreviated ones (`_ms`, `_kb`); camelCase names or label names; the type
 * in the name; colons. A collector that cannot be read is a problem too.
 *
 * ```ts
 * expect(await lint(newMetrics(new Registry()).registry)).toEqual([]);
 * ```
 */
export async function lint(registry: Registry<RegistryContentType>): Promise<LintProblem[]> {
  const checked = registryArgument('lint', registry);
  const reads = await readCollectors(checked);
  const problems: LintProblem[] = [];
  const read: Extract<CollectorRead, { data: unknown }>[] = [];
  for (const r of reads) {
    if ('error' in r) {
      problems.push({ metric: r.name, text: `collecting it failed: ${messageOf(r.error)}` });
      continue;
    }
    // Values copied: prom-client's getMetricsAsJSON writes the default labels into them. A
    // custom collector may give no values at all.
    const values = (r.data as Partial<typeof r.data>).values ?? [];
    read.push({ ...r, data: { ...r.data, values: values.map((value) => ({ ...value })) } });
  }
  // prom-client's own getMetricsAsJSON, on a view holding the values read: default labels included.
  const json = await viewOfReads(checked, 'prometheus', read).getMetricsAsJSON();
  read.forEach(({ name, collector, data }, i) => {
    // The labels its series carry (default labels included), and those a prom-client
    // collector declares before any series has them.
    const declared: unknown = (collector as { readonly labelNames?: unknown }).labelNames;
    const labelNames = new Set([
      // prom-client's histograms keep their labels apart from `le`, as `sharedLabels`.
      ...(json[i]?.values ?? []).flatMap((value) => [
        ...Object.keys(value.labels),
        ...Object.keys((value as { readonly sharedLabels?: object }).sharedLabels ?? {}),
      ]),
      ...(Array.isArray(declared) ? declared.filter((label): label is string => typeof label === 'string') : []),
    ]);
    // What the collector gave wins over what it declares; a custom collector may give neither.
    const given = data as Partial<typeof data>;
    const type: unknown = given.type ?? collector.type;
    const family = {
      name,
      type: typeof type === 'string' ? type : undefined,
      help: given.help ?? collector.help,
      labelNames,
    };
    for (const rule of LINT_RULES) for (const text of rule.check(family)) problems.push({ metric: name, text });
  });
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.metric}\n${p.text}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => compareText(a.metric, b.metric) || compareText(a.text, b.text));
}
