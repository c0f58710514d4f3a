/**
 * The checks `lint` runs on each family: Prometheus's naming conventions, as promlint (what
 * `promtool check metrics` runs) checks them, one function per convention.
 *
 * @packageDocumentation
 */

/** What the checks read of a family. */
export interface LintedFamily {
  /** The name it is registered under (a counter with its `_total`). */
  readonly name: string;
  /** `counter`, `gauge`, `histogram`, `summary`, or anything a custom collector says. */
  readonly type: string | undefined;
  /** Its help text, whatever the collector gave (a string, nothing, or something else). */
  readonly help: unknown;
  /** Every label name its series carry, default labels and `le` / `quantile` included. */
  readonly labelNames: ReadonlySet<string>;
}

/** One check: its name (for documentation and tests), and the problems it finds in a family. */
export interface LintRule {
  readonly name: string;
  readonly check: (family: LintedFamily) => string[];
}

// Units. Prometheus names carry base units, so that every dashboard divides the same way:
// seconds, bytes, meters, grams, joules, volts, amperes, celsius / kelvin, and ratios for
// shares (0…1). Each non-base unit maps to the base unit to use instead.
const BASE_UNITS: ReadonlySet<string> = new Set([
  'seconds',
  'bytes',
  'meters',
  'metres',
  'grams',
  'joules',
  'volts',
  'amperes',
  'celsius',
  'kelvin',
  'ratio',
]);
const NON_BASE_UNITS: Readonly<Record<string, string>> = {
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  weeks: 'seconds',
  bits: 'bytes',
  inches: 'meters',
  feet: 'meters',
  yards: 'meters',
  miles: 'meters',
  pounds: 'grams',
  ounces: 'grams',
  calories: 'joules',
  fahrenheit: 'celsius',
  kelvins: 'kelvin',
  percent: 'ratio',
  percentage: 'ratio',
};
/** SI and binary prefixes: `milliseconds`, `kilobytes` and `mebibytes` are not base units. */
const PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'mega',
  'giga',
  'tera',
  'peta',
  'kibi',
  'mebi',
  'gibi',
  'tebi',
  'pebi',
];
/** Abbreviated units, as whole parts of a name (`_ms`, `_kb_`): spell them out. */
const ABBREVIATIONS: ReadonlySet<string> = new Set([
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
]);
const TYPES = ['counter', 'gauge', 'histogram', 'summary'];
const CAMEL_CASE = /[a-z][A-Z]/;

/** The parts of a name between underscores. */
const partsOf = (name: string): string[] => name.split('_');

/** The base unit `part` should be written in, when it is a known unit that is not one. */
function baseUnitFor(part: string): string | undefined {
  const lower = part.toLowerCase();
  if (BASE_UNITS.has(lower)) return undefined;
  const direct = NON_BASE_UNITS[lower];
  if (direct !== undefined) return direct;
  for (const prefix of PREFIXES) {
    if (!lower.startsWith(prefix)) continue;
    const unit = lower.slice(prefix.length);
    if (BASE_UNITS.has(unit)) return unit;
    const base = NON_BASE_UNITS[unit];
    if (base !== undefined) return base;
  }
  return undefined;
}

/** Every check `lint` runs, in the order its problems are listed for one family. */
export const LINT_RULES: readonly LintRule[] = [
  {
    name: 'help',
    check: ({ help }) => {
      if (help === undefined || help === null) return ['no help text'];
      if (typeof help !== 'string') return ['the help text is not a string'];
      return help.trim() === '' ? ['empty help text'] : [];
    },
  },
  {
    name: 'counter-total',
    check: ({ name, type }) => {
      const total = name.endsWith('_total');
      if (type === 'counter' && !total) return ['a counter\'s name should end in "_total"'];
      if (type !== undefined && type !== 'untyped' && type !== 'counter' && total) {
        return [`"_total" is for counters: this ${type} should not end in it`];
      }
      return [];
    },
  },
  {
    name: 'reserved-suffixes',
    check: ({ name, type }) => {
      if (type === undefined || type === 'untyped') return [];
      const problems: string[] = [];
      if (type !== 'histogram' && name.endsWith('_bucket')) problems.push('"_bucket" is for histogram buckets');
      for (const suffix of ['_count', '_sum']) {
        if (type !== 'histogram' && type !== 'summary' && name.endsWith(suffix)) {
          problems.push(`"${suffix}" is for histograms and summaries`);
        }
      }
      return problems;
    },
  },
  {
    name: 'reserved-labels',
    check: ({ type, labelNames }) => {
      if (type === undefined || type === 'untyped') return [];
      const problems: string[] = [];
      if (type !== 'histogram' && labelNames.has('le')) problems.push('label "le" is for histogram buckets');
      if (type !== 'summary' && labelNames.has('quantile')) problems.push('label "quantile" is for summaries');
      return problems;
    },
  },
  {
    name: 'base-units',
    check: ({ name }) =>
      partsOf(name).flatMap((part) => {
        const base = baseUnitFor(part);
        return base === undefined ? [] : [`use the base unit "${base}" instead of "${part}"`];
      }),
  },
  {
    name: 'unit-abbreviations',
    check: ({ name }) =>
      partsOf(name)
        .filter((part) => ABBREVIATIONS.has(part.toLowerCase()))
        .map((part) => `abbreviated unit "${part}": spell the unit out`),
  },
  {
    name: 'snake-case',
    check: ({ name, labelNames }) => [
      ...(CAMEL_CASE.test(name) ? ['the name is in camelCase: write it in snake_case'] : []),
      ...[...labelNames]
        .filter((label) => CAMEL_CASE.test(label))
        .map((label) => `label "${label}" is in camelCase: write it in snake_case`),
    ],
  },
  {
    name: 'type-in-name',
    check: ({ name, type }) =>
      type !== undefined && TYPES.includes(type) && partsOf(name.toLowerCase()).includes(type)
        ? [`the name should not say its type "${type}"`]
        : [],
  },
  {
    name: 'colons',
    check: ({ name }) => (name.includes(':') ? ['colons are for recording rules: the name should not hold one'] : []),
  },
];
