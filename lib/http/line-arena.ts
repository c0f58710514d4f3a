/**
 * The bytes of a collector's cached lines, kept side by side so that a scrape copies a run of
 * unchanged series in one step.
 *
 * A series whose value has not moved is written from its cached line. Given to the output as a
 * string, each such line is joined with its neighbours into a new string and then encoded into
 * the answer's buffer: at 1000 apps that is 365 KB of strings made and dropped per scrape, most
 * of what a scrape allocates, and under 16 concurrent scrapers it set V8's young generation
 * collecting every 35 ms, each collection holding every answer in flight. Kept here, in the
 * order the series are written, the lines of unchanged neighbours lie next to each other, and
 * the writer copies the whole stretch from this buffer into the answer's, with no string made.
 *
 * Bytes are only ever added past the end: a line's bytes never change once written, so a
 * rendering that copies from an arena while another rendering adds to it reads what it expects.
 * A full arena is not grown but replaced (see {@link LineArena.place}), and lines are placed
 * into the new one as scrapes write them, in their order again.
 *
 * @packageDocumentation
 */

/**
 * The smallest arena made: a few lines. Every collector has an arena per format once one of its
 * lines is made, and most hold a handful of series (a registry of 500 such collectors would
 * keep 16 MB of arenas at 16 KiB each); a wide one grows to its size in a few replacements,
 * each twice what is in use.
 */
const MIN_ARENA = 256;

/**
 * Where a line's bytes lie, kept by whoever holds the line (a cached series, in the writer):
 * in fields of its own rather than an object, one object fewer read per series and scrape.
 */
export interface Placement {
  /** The arena holding them, or undefined while the line has none (or no line). */
  arena: LineArena | undefined;
  /** Their first byte. */
  lineStart: number;
  /** Past their last byte. */
  lineEnd: number;
}

/** One collector's cached lines in one format, as UTF-8 bytes, appended in the order placed. */
export class LineArena {
  /** The bytes; those from {@link used} on are free. */
  readonly bytes: Buffer;
  private used = 0;
  /**
   * Bytes of lines placed here and still in use (taken off when their series moves): what a
   * replacement needs room for.
   */
  private live = 0;

  constructor(size: number) {
    // Memory of its own, never a slice of Node's shared pool: an arena lives as long as its
    // collector, and would keep a whole pool of other buffers' bytes alive with it.
    this.bytes = Buffer.allocUnsafeSlow(Math.max(MIN_ARENA, size));
  }

  /**
   * Adds `line`'s bytes past the end and says where in `slot`, when they fit in what is left;
   * returns false, and changes nothing, when they do not. An arena that says no is replaced by one
   * sized for what is in use ({@link sizeAfter}), and its lines placed there again as they are
   * written.
   */
  place(line: string, slot: Placement): boolean {
    const size = Buffer.byteLength(line, 'utf8');
    if (this.used + size > this.bytes.length) return false;
    LineArena.release(slot);
    const start = this.used;
    this.used += this.bytes.write(line, start, 'utf8');
    this.live += size;
    slot.arena = this;
    slot.lineStart = start;
    slot.lineEnd = this.used;
    return true;
  }

  /** Forgets the line of `slot` (its series moved): its arena no longer counts it in use. */
  static release(slot: Placement): void {
    if (slot.arena === undefined) return;
    slot.arena.live -= slot.lineEnd - slot.lineStart;
    slot.arena = undefined;
  }

  /**
   * The size for this arena's replacement, to hold `line` too: twice what is in use, so that
   * replacements come further apart as the lines they hold grow.
   */
  sizeAfter(line: string): number {
    return 2 * this.live + LineArena.sizeFor(line);
  }

  /** The size for a collector's first arena, whose first line is `line` (however long). */
  static sizeFor(line: string): number {
    return 2 * Buffer.byteLength(line, 'utf8');
  }
}
