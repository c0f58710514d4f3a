/**
 * Reading an exposition (either text format) the way a scraper does: families with their
 * help, type and samples, each sample with its labels and value. The kit reads what the
 * registry serves, not prom-client's internals, so it works with any registry and any
 * collector.
 *
 * @packageDocumentation
 */
import { metadataOf, splitFamilies } from '../http';

/** One sample line: `name{label="value",…} value [timestamp]`. */
export interface Sample {
  readonly name: string;
  /** Its labels in the order written, values unescaped. */
  readonly labels: readonly (readonly [string, string])[];
  readonly value: number;
  /** The timestamp as written, when the line has one. */
  readonly timestamp: string | undefined;
}

/** One family: its metadata and its samples. */
export interface SampleFamily {
  readonly name: string;
  readonly type: string | undefined;
  /** The help text as written (escaped), `undefined` without a `# HELP` line. */
  readonly help: string | undefined;
  readonly unit: string | undefined;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A sample value as the text formats write it: a number, `NaN`, `+Inf` or `-Inf`, the words in
 * any case, as Prometheus reads them (prom-client writes `Nan`).
 */
export function parseValue(text: string): number | undefined {
  const word = text.toLowerCase();
  if (word === 'nan') return NaN;
  if (word === '+inf' || word === 'inf' || word === '+infinity' || word === 'infinity') return Infinity;
  if (word === '-inf' || word === '-infinity') return -Infinity;
  return NUMBER.test(text) ? Number(text) : undefined;
}

/** A value as the text formats write it (`NaN`, `+Inf`, `-Inf`, or the number). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A label value escaped as the text formats want it. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `{a="1",b="2"}`, or nothing without labels. */
export function formatLabels(labels: readonly (readonly [string, string])[]): string {
  return labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Reads the labels from `line[at]` = `{`; returns them and where they end, or undefined. */
function readLabels(line: string, at: number): { labels: [string, string][]; end: number } | undefined {
  const labels: [string, string][] = [];
  let i = at + 1;
  const spaces = (): void => {
    while (line[i] === ' ' || line[i] === '\t') i += 1;
  };
  for (;;) {
    spaces();
    if (line[i] === '}') return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(line.slice(i))?.[0];
    if (name === undefined) return undefined;
    i += name.length;
    spaces();
    if (line[i] !== '=') return undefined;
    i += 1;
    spaces();
    if (line[i] !== '"') return undefined;
    i += 1;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      i += 1;
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i];
        if (next === undefined) return undefined;
        i += 1;
        value += next === 'n' ? '\n' : next;
      } else {
        value += c;
      }
    }
    labels.push([name, value]);
    spaces();
    if (line[i] === ',') i += 1;
    else if (line[i] !== '}') return undefined;
  }
}

/**
 * One sample line, or `undefined` when it cannot be read. An OpenMetrics exemplar
 * (` # {…} value [timestamp]`) is read past and left out.
 */
export function parseSample(line: string): Sample | undefined {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined) return undefined;
  let i = name.length;
  let labels: [string, string][] = [];
  if (line[i] === '{') {
    const read = readLabels(line, i);
    if (read === undefined) return undefined;
    labels = read.labels;
    i = read.end;
  }
  if (line[i] !== ' ' && line[i] !== '\t') return undefined;
  const [valueText = '', ...rest] = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  const value = parseValue(valueText);
  if (value === undefined) return undefined;
  // Then an optional timestamp, then an optional exemplar, which starts with `#`.
  const timestamp = rest[0] === '#' ? undefined : rest[0];
  if (timestamp !== undefined && parseValue(timestamp) === undefined) return undefined;
  const after = rest[timestamp === undefined ? 0 : 1];
  if (after !== undefined && after !== '#') return undefined;
  return { name, labels, value, timestamp };
}

/** One sample written back as a line, labels in the order given. */
export function formatSample(sample: Sample): string {
  const timestamp = sample.timestamp === undefined ? '' : ` ${sample.timestamp}`;
  return `${sample.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}${timestamp}`;
}

/**
 * The families of `text` (either format) with their samples. Lines may be indented (an
 * expected text in a template literal); blank lines and comments other than `# HELP`,
 * `# TYPE` and `# UNIT` are left out. Throws an `Error` naming `source` and quoting the first
 * line it cannot read.
 */
export function readFamilies(text: string, source: string): SampleFamily[] {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return splitFamilies(lines.join('\n')).map((family) => {
    let help: string | undefined;
    let unit: string | undefined;
    const samples: Sample[] = [];
    for (const line of family.lines) {
      const metadata = metadataOf(line);
      if (metadata?.kind === 'HELP') help = metadata.rest.trimEnd();
      else if (metadata?.kind === 'UNIT') unit = metadata.rest.trim();
      else if (metadata === undefined && !line.startsWith('#')) {
        const sample = parseSample(line);
        if (sample === undefined) throw new Error(`${source}: cannot read the sample line "${line}"`);
        samples.push(sample);
      }
    }
    return { name: family.name, type: family.type, help, unit, samples };
  });
}

/** Whether `sample` holds every label of `wanted` with the same value (numbers as text). */
export function hasLabels(sample: Sample, wanted: Readonly<Record<string, string | number>>): boolean {
  return Object.entries(wanted).every(([key, value]) =>
    sample.labels.some(([name, actual]) => name === key && actual === String(value)),
  );
}
