/**
 * The arena of cached lines: lines placed one after another, room measured in UTF-8 bytes, and
 * a replacement sized for the lines still in use. Expected values are worked out by hand.
 */
import { LineArena, type Placement } from '../../lib/http/line-arena';

describe('LineArena', () => {
  it('places lines one after another, and refuses one that no longer fits, changing nothing', () => {
    const arena = new LineArena(16 * 1024);
    const slot: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    const wide = 'é'.repeat(4000); // 8,000 bytes in UTF-8
    expect(arena.place(wide, slot)).toBe(true);
    expect([slot.lineStart, slot.lineEnd]).toEqual([0, 8000]);
    expect(arena.bytes.toString('utf8', 0, 8000)).toBe(wide);
    // 8,384 bytes left: 8,386 do not fit, and the slot keeps its line where it was.
    expect(arena.place('é'.repeat(4193), slot)).toBe(false);
    expect([slot.arena, slot.lineStart, slot.lineEnd]).toEqual([arena, 0, 8000]);
    const second: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    expect(arena.place('ab\n', second)).toBe(true);
    expect([second.lineStart, second.lineEnd]).toEqual([8000, 8003]);
    expect(arena.place('é'.repeat(4190), second)).toBe(true); // 8,380 of the 8,381 left
    expect([second.lineStart, second.lineEnd]).toEqual([8003, 16383]);
  });

  it('makes a first arena with room for its first line, however long', () => {
    const long = 'ä'.repeat(20_000); // 40,000 bytes
    const arena = new LineArena(LineArena.sizeFor(long));
    const slot: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    expect(arena.place(long, slot)).toBe(true);
    expect(arena.bytes.toString('utf8', slot.lineStart, slot.lineEnd)).toBe(long);
    // The smallest arena is 256 bytes whatever the line asks.
    expect(new LineArena(LineArena.sizeFor('x')).bytes.length).toBe(256);
  });

  it('sizes its replacement for the lines in use: those released no longer count', () => {
    const arena = new LineArena(16 * 1024);
    const slots = Array.from({ length: 4 }, (): Placement => ({ arena: undefined, lineStart: 0, lineEnd: 0 }));
    for (const slot of slots) arena.place('x'.repeat(1000), slot);
    expect(arena.sizeAfter('y'.repeat(100))).toBe(2 * 4100);
    LineArena.release(slots[0] as Placement);
    LineArena.release(slots[0] as Placement); // once only
    expect(slots[0]?.arena).toBeUndefined();
    expect(arena.sizeAfter('y'.repeat(100))).toBe(2 * 3100);
    // Placed again elsewhere, a line leaves the arena it was in.
    const next = new LineArena(16 * 1024);
    next.place('x'.repeat(1000), slots[1] as Placement);
    expect(slots[1]?.arena).toBe(next);
    expect(arena.sizeAfter('')).toBe(2 * 2000);
  });
});
