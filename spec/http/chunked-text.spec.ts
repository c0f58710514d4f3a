/**
 * The writer's output: whatever mix of text pieces and arena lines is added, in whatever
 * order, with flushes anywhere, the bytes are the UTF-8 of the texts added, in order. The
 * oracle is the texts joined by the test and encoded by Node.
 */
import fc from 'fast-check';
import { ChunkedText } from '../../lib/http/chunked-text';
import { LineArena, type Placement } from '../../lib/http/line-arena';
import { OutputBuffers } from '../../lib/http/output-buffers';

/** Text of lines, ASCII or not (a multi-byte character takes 2 to 4 bytes in UTF-8). */
const lineText = fc.oneof(
  fc.constantFrom('a_total{app="x"} 1\n', 'b{app="ünïcode ✓"} 2.5\n', '\n', 'c 😀\n'),
  fc.string({ maxLength: 40 }).map((s) => `${s}\n`),
);

/** One step: a piece of text, an arena line (by index into the lines placed), or a flush. */
type Step = { piece: string } | { line: number } | { flush: true };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ piece: lineText }), weight: 2 },
  // Runs of neighbours: most steps take the line after the last one taken (see below).
  { arbitrary: fc.record({ line: fc.nat(59) }), weight: 5 },
  { arbitrary: fc.record({ flush: fc.constant(true as const) }), weight: 1 },
);

/** `lines` placed in arenas in their order, a new arena whenever the last one is full. */
function placeAll(lines: readonly string[], arenaSize: number): Placement[] {
  let arena = new LineArena(arenaSize);
  return lines.map((line) => {
    const slot: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    if (!arena.place(line, slot)) {
      arena = new LineArena(Math.max(arenaSize, LineArena.sizeFor(line)));
      arena.place(line, slot);
    }
    return slot;
  });
}

describe('ChunkedText', () => {
  it('writes pieces and arena lines, runs copied or not, as the UTF-8 of their texts in order', () => {
    fc.assert(
      fc.property(
        fc.array(lineText, { minLength: 60, maxLength: 60 }),
        fc.array(step, { maxLength: 400 }),
        fc.boolean(),
        fc.constantFrom(0, 1024),
        (lines, steps, neighbours, arenaSize) => {
          const placed = placeAll(lines, arenaSize);
          const out = new ChunkedText(16, undefined);
          let expected = '';
          let next = 0;
          for (const s of steps) {
            if ('piece' in s) {
              out.piece(s.piece);
              expected += s.piece;
            } else if ('line' in s) {
              // With `neighbours`, lines in their placed order: long runs in one arena.
              const i = neighbours ? next % lines.length : s.line;
              next = i + 1;
              const slot = placed[i] as Placement;
              const arena = slot.arena as LineArena;
              out.placed(lines[i] as string, arena.bytes, slot.lineStart, slot.lineEnd);
              expected += lines[i] as string;
            } else {
              out.flush();
            }
          }
          expect(out.finish().toString('utf8')).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('copies a run of more than eight neighbours from its arena, and writes a shorter one as text', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line_${i} ${i}\n`);
    const placed = placeAll(lines, 0);
    const arena = placed[0]?.arena as LineArena;
    const write = (count: number): string => {
      const out = new ChunkedText(16, undefined);
      for (let i = 0; i < count; i += 1) {
        const slot = placed[i] as Placement;
        out.placed(lines[i] as string, arena.bytes, slot.lineStart, slot.lineEnd);
      }
      // Bytes changed in the arena after the lines were added: a copied run shows them, text
      // pieces do not.
      arena.bytes.write('X', 0, 'latin1');
      const text = out.finish().toString('utf8');
      arena.bytes.write('l', 0, 'latin1');
      return text;
    };
    expect(write(8)).toBe(lines.slice(0, 8).join(''));
    expect(write(9)).toBe(`X${lines.slice(0, 9).join('').slice(1)}`);
  });

  it('ends a run where the next line lies in another arena, even at the same offset', () => {
    // Two arenas laid out alike: line i of one starts where line i of the other does.
    const a = Array.from({ length: 20 }, (_, i) => `a_${String(i).padStart(2, '0')} 1\n`);
    const b = Array.from({ length: 20 }, (_, i) => `b_${String(i).padStart(2, '0')} 2\n`);
    const inA = placeAll(a, 0);
    const inB = placeAll(b, 0);
    const out = new ChunkedText(16, undefined);
    const add = (lines: string[], slots: Placement[], i: number): void => {
      const slot = slots[i] as Placement;
      out.placed(lines[i] as string, (slot.arena as LineArena).bytes, slot.lineStart, slot.lineEnd);
    };
    for (let i = 0; i < 10; i += 1) add(a, inA, i);
    for (let i = 10; i < 20; i += 1) add(b, inB, i);
    expect(out.finish().toString('utf8')).toBe(a.slice(0, 10).join('') + b.slice(10).join(''));
  });

  it('grows its buffer as it must, taking new ones from the pool and giving back those it outgrew', () => {
    const buffers = new OutputBuffers();
    const given: Uint8Array[] = [];
    const give = buffers.give.bind(buffers);
    buffers.give = (bytes: Uint8Array): void => {
      given.push(bytes);
      give(bytes);
    };
    const lines = Array.from({ length: 3000 }, (_, i) => `series_${i}{app="a-${i}"} ${i}\n`);
    const placed = placeAll(lines, 1 << 20);
    const out = new ChunkedText(16 * 1024, buffers);
    let expected = '';
    for (const [i, line] of lines.entries()) {
      if (i % 3 === 0) {
        out.piece(line);
      } else {
        const slot = placed[i] as Placement;
        out.placed(line, (slot.arena as LineArena).bytes, slot.lineStart, slot.lineEnd);
      }
      expected += line;
    }
    expect(out.finish().toString('utf8')).toBe(expected);
    // 16 KiB, 32, 64, 128: three outgrown.
    expect(given.map((b) => b.length)).toEqual([16 * 1024, 32 * 1024, 64 * 1024]);
  });
});
