/**
 * An exposition cut into its families, and families joined back into an exposition, in either
 * text format, byte for byte as prom-client writes them.
 *
 * prom-client writes each family as its `# HELP` and `# TYPE` lines followed by its samples,
 * one per line, and joins families with a blank line (Prometheus text 0.0.4) or a line break
 * (OpenMetrics, which ends with `# EOF`). Help texts and label values escape their line
 * breaks, so a family is exactly a run of lines: cutting an exposition at the lines that name
 * a new family and joining some of the pieces the way prom-client joins them gives, for each
 * family kept, the very bytes of the whole exposition.
 *
 * @packageDocumentation
 */
import type { ExpositionFormat } from './content-negotiation';

/** One family of an exposition: its name, its `# TYPE` (when it has one), and its lines. */
export interface ExpositionFamily {
  /** The name its `# HELP` / `# TYPE` lines give, or its first sample's name when it has none. */
  readonly name: string;
  /** The type its `# TYPE` line gives (`counter`, `gauge`, …), or `undefined` without one. */
  readonly type: string | undefined;
  /** Its lines, metadata and samples, as written, without line breaks. */
  readonly lines: readonly string[];
  /** The 1-based line number of its first line in the exposition, for messages. */
  readonly firstLine: number;
}

/** `# HELP name …`, `# TYPE name …` and `# UNIT name …`: the lines that name a family. */
const METADATA = /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+([^ \t]+)(?:[ \t]+(.*))?$/;
/** The metric name a sample line starts with. */
const SAMPLE_NAME = /^[^{ \t]+/;

/** The parts of a metadata line: which one, the family it names, and the rest (help, type, unit). */
export function metadataOf(line: string): { kind: 'HELP' | 'TYPE' | 'UNIT'; name: string; rest: string } | undefined {
  const match = METADATA.exec(line);
  if (match === null) return undefined;
  return { kind: match[1] as 'HELP' | 'TYPE' | 'UNIT', name: match[2] as string, rest: match[3] ?? '' };
}

/**
 * Cuts `text` (either format) into its families, in order. A metadata line naming another
 * family than the current one starts a new family; samples, and other comments, belong to the
 * current one. Samples without any metadata form a family per run of one sample name. Blank
 * lines and `# EOF` are left out.
 */
export function splitFamilies(text: string): ExpositionFamily[] {
  const families: { name: string; type: string | undefined; lines: string[]; firstLine: number; named: boolean }[] = [];
  let current: (typeof families)[number] | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line === '' || line === '# EOF') continue;
    const metadata = metadataOf(line);
    if (metadata !== undefined) {
      if (current?.name !== metadata.name) {
        current = { name: metadata.name, type: undefined, lines: [], firstLine: i + 1, named: true };
        families.push(current);
      }
      if (metadata.kind === 'TYPE') current.type = metadata.rest.trim();
    } else if (line.startsWith('#')) {
      if (current === undefined) continue; // a comment before any family: nothing to attach it to
    } else {
      const name = SAMPLE_NAME.exec(line)?.[0] ?? line;
      // Without metadata, a family is the run of samples of one name.
      if (current === undefined || (!current.named && current.name !== name)) {
        current = { name, type: undefined, lines: [], firstLine: i + 1, named: false };
        families.push(current);
      }
    }
    current.lines.push(line);
  }
  return families.map(({ name, type, lines: familyLines, firstLine }) => ({
    name,
    type,
    lines: familyLines,
    firstLine,
  }));
}

/**
 * Joins families into an exposition the way prom-client joins a registry's: a blank line
 * between families and a final line break (0.0.4), or a line break after each and `# EOF`
 * (OpenMetrics). No family gives an empty 0.0.4 body, or `# EOF` alone.
 */
export function joinFamilies(
  families: readonly { readonly lines: readonly string[] }[],
  format: ExpositionFormat,
): string {
  const blocks = families.map((family) => family.lines.join('\n'));
  if (format === 'openmetrics') return blocks.map((block) => `${block}\n`).join('') + '# EOF\n';
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`;
}
