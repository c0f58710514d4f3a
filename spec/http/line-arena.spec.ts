/**
 * The arena of cached lines: lines placed one after another, room measured in UTF-8 bytes, and
 * a replacement sized for the lines still in use. Expected values are worked out by hand.
 */
import { LineArena, type Placement } from '../../lib/http/line-arena';

describe('LineArena', () => {
  it('places lines one after another, and says when one no longer fits', () => {
    const arena = new LineArena(0); // the smallest: 16 KiB
    const slot: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    const wide = 'é'.repeat(4000); // 8,000 bytes, 12,000 at three bytes a unit
    expect(arena.hasRoom(wide)).toBe(true);
    arena.place(wide, slot);
    expect([slot.lineStart, slot.lineEnd]).toEqual([0, 8000]);
    expect(arena.bytes.toString('utf8', 0, 8000)).toBe(wide);
    // 8,384 bytes left: the exact length decides past the quick bound.
    expect(arena.hasRoom('é'.repeat(4192))).toBe(true);
    expect(arena.hasRoom('é'.repeat(4193))).toBe(false);
    const second: Placement = { arena: undefined, lineStart: 0, lineEnd: 0 };
    arena.place('ab\n', second);
    expect([second.lineStart, second.lineEnd]).toEqual([8000, 8003]);
  });

  it('sizes its replacement for the lines in use: those released no longer count', () => {
    const arena = new LineArena(0);
    const slots = Array.from({ length: 4 }, (): Placement => ({ arena: undefined, lineStart: 0, lineEnd: 0 }));
    for (const slot of slots) arena.place('x'.repeat(1000), slot);
    expect(arena.sizeAfter('y'.repeat(100))).toBe(2 * 4100);
    LineArena.release(slots[0] as Placement);
    LineArena.release(slots[0] as Placement); // once only
    expect(slots[0]?.arena).toBeUndefined();
    expect(arena.sizeAfter('y'.repeat(100))).toBe(2 * 3100);
    // Placed again elsewhere, a line leaves the arena it was in.
    const next = new LineArena(0);
    next.place('x'.repeat(1000), slots[1] as Placement);
    expect(slots[1]?.arena).toBe(next);
    expect(arena.sizeAfter('')).toBe(2 * 2000);
  });
});
