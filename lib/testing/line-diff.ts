/**
 * A line diff for messages: what `collectAndCompare` shows when an exposition differs from
 * the expected text.
 *
 * @packageDocumentation
 */

/** Lines kept around each change, so a change is read in its family. */
const CONTEXT = 2;
/** Above this many cells the longest common subsequence is not computed (memory, time). */
const MAX_CELLS = 4_000_000;

/** One line of a diff: kept (` `), expected only (`-`), or got only (`+`). */
type DiffLine = readonly [' ' | '-' | '+', string];

/** The edit script between `a` and `b` from their longest common subsequence. */
function editScript(a: readonly string[], b: readonly string[]): DiffLine[] {
  const width = b.length + 1;
  // lengths[i * width + j]: the length of the LCS of a[i..] and b[j..].
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lengths[(i + 1) * width + j] as number, lengths[i * width + j + 1] as number);
    }
  }
  const script: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      script.push([' ', a[i] as string]);
      i += 1;
      j += 1;
    } else if (
      j >= b.length ||
      (i < a.length && (lengths[(i + 1) * width + j] as number) >= (lengths[i * width + j + 1] as number))
    ) {
      script.push(['-', a[i] as string]);
      i += 1;
    } else {
      script.push(['+', b[j] as string]);
      j += 1;
    }
  }
  return script;
}

/**
 * The differences between `expected` and `got`, line by line: `- ` for a line only expected,
 * `+ ` for a line only got, two spaces for the {@link CONTEXT} lines kept around each change,
 * and `…` where unchanged lines are skipped. Very long texts get the lines only one side has,
 * without context.
 */
export function lineDiff(expected: readonly string[], got: readonly string[]): string {
  if (expected.length * got.length > MAX_CELLS) {
    const inGot = new Set(got);
    const inExpected = new Set(expected);
    return [
      ...expected.filter((line) => !inGot.has(line)).map((line) => `- ${line}`),
      ...got.filter((line) => !inExpected.has(line)).map((line) => `+ ${line}`),
    ].join('\n');
  }
  const script = editScript(expected, got);
  const near = script.map((_, k) =>
    script.slice(Math.max(0, k - CONTEXT), k + CONTEXT + 1).some(([mark]) => mark !== ' '),
  );
  const out: string[] = [];
  script.forEach(([mark, line], k) => {
    if (near[k] === true) out.push(`${mark} ${line}`);
    else if (near[k - 1] === true || (k === 0 && script.length > 0)) out.push('…');
  });
  return out.join('\n');
}
