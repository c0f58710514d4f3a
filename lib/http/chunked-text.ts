/**
 * The exposition as the writer produces it: pieces of text, and runs of lines already encoded
 * in a {@link LineArena}, written into one growing buffer.
 *
 * @packageDocumentation
 */
import type { OutputBuffers } from './output-buffers';

/**
 * How many pieces of text are gathered before they are written into the buffer at once: 512
 * lines of a piece each, or fewer of two (about 30 KB).
 */
const PIECES_PER_CHUNK = 512;

/**
 * The smallest buffer an exposition starts in (and so the smallest the scrapes' buffer pool
 * holds): a smaller exposition gains nothing from a smaller buffer.
 */
const MIN_BUFFER = 16 * 1024;

/**
 * The longest run of arena lines written as text pieces rather than copied: copying a run first
 * writes the pieces gathered before it, a join and an encode of its own, which a run of a few
 * lines among series that moved does not repay.
 */
const SHORT_RUN = 8;

/**
 * The exposition as it is written, into one growing buffer, so that no step joins or encodes
 * the whole text at once (at 1000 apps that is 365 KB, several milliseconds of one stretch),
 * and nothing is copied twice:
 *
 * - pieces of text, gathered a few hundred at a time and joined and encoded then. Each line
 *   ends with its own newline: a line is one piece (a header, a cached line) or two (a
 *   series' cached prefix, and its value's text);
 * - whole lines already encoded in an arena ({@link ChunkedText.placed}): neighbours that lie
 *   next to each other there are copied as one run, with no string made for them.
 */
export class ChunkedText {
  /**
   * The pieces gathered since the last write, in slots reused for every chunk (an array grown by
   * `push` for every chunk was about 150 KiB of garbage per 1000-app scrape), joined whole: a
   * short chunk empties the slots past its own first.
   */
  private readonly pieces: string[] = new Array<string>(PIECES_PER_CHUNK).fill('');
  private count = 0;
  /** The run of arena lines not written yet: its arena's bytes, from `runStart` to `runEnd`. */
  private runBytes: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  /** How many lines the run holds, and the text of its first {@link SHORT_RUN}. */
  private runCount = 0;
  private readonly runLines: string[] = new Array<string>(SHORT_RUN).fill('');
  private bytes: Buffer;
  private length = 0;

  constructor(
    sizeHint: number,
    private readonly buffers: OutputBuffers | undefined,
  ) {
    this.bytes = this.allocate(Math.max(MIN_BUFFER, sizeHint));
  }

  private allocate(size: number): Buffer {
    return this.buffers?.take(size) ?? Buffer.allocUnsafe(size);
  }

  /** Adds one line, without its newline. */
  line(text: string): void {
    this.piece(text);
    this.piece('\n');
  }

  /** Adds text that ends a line with its newline, or starts one that a later piece ends. */
  piece(text: string): void {
    if (this.runCount > 0) this.endRun();
    this.pieces[this.count] = text;
    this.count += 1;
    if (this.count === PIECES_PER_CHUNK) this.writePieces();
  }

  /**
   * Adds the whole line `line`, whose UTF-8 bytes lie in `arena` from `start` to `end` and stay
   * there unchanged until this text is flushed: it extends the run before it when it follows
   * that run in the same arena.
   */
  placed(line: string, arena: Buffer, start: number, end: number): void {
    if (this.runCount > 0) {
      if (arena === this.runBytes && start === this.runEnd) {
        this.runEnd = end;
        if (this.runCount < SHORT_RUN) this.runLines[this.runCount] = line;
        this.runCount += 1;
        return;
      }
      this.endRun();
    }
    this.runBytes = arena;
    this.runStart = start;
    this.runEnd = end;
    this.runLines[0] = line;
    this.runCount = 1;
  }

  /** Writes the run: a short one as pieces of text, a longer one copied from its arena. */
  private endRun(): void {
    const count = this.runCount;
    const arena = this.runBytes as Buffer;
    this.runCount = 0;
    this.runBytes = undefined;
    if (count <= SHORT_RUN) {
      for (let i = 0; i < count; i += 1) this.piece(this.runLines[i] as string);
      return;
    }
    this.writePieces();
    const size = this.runEnd - this.runStart;
    this.makeRoom(size);
    arena.copy(this.bytes, this.length, this.runStart, this.runEnd);
    this.length += size;
  }

  /** Writes everything added so far into the buffer (the writer does so before each pause). */
  flush(): void {
    if (this.runCount > 0) this.endRun();
    this.writePieces();
  }

  private writePieces(): void {
    if (this.count === 0) return;
    // A short chunk (a slice or the end) leaves the last chunk's pieces behind its own.
    if (this.count < PIECES_PER_CHUNK) this.pieces.fill('', this.count);
    const text = this.pieces.join('');
    this.count = 0;
    // At most 3 bytes a UTF-16 unit in UTF-8: with that much room write() cannot truncate.
    // Short of it, the exact length decides (an exposition is mostly ASCII: a byte a unit).
    if (this.length + text.length * 3 > this.bytes.length) this.makeRoom(Buffer.byteLength(text, 'utf8'));
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** Grows the buffer, when it must, to take `size` more bytes. */
  private makeRoom(size: number): void {
    const needed = this.length + size;
    if (needed <= this.bytes.length) return;
    const grown = this.allocate(Math.max(this.bytes.length * 2, needed));
    this.bytes.copy(grown, 0, 0, this.length);
    this.buffers?.give(this.bytes);
    this.bytes = grown;
  }

  /** All the bytes written. */
  finish(): Buffer {
    this.flush();
    return this.bytes.subarray(0, this.length);
  }
}
