/**
 * The buffers scrapes are written into, kept for the next scrape once nothing reads them.
 *
 * A 1000-app exposition is 365 KB. A new buffer of that size for every scrape costs more than
 * its bytes: the C library maps and unmaps memory that large on every allocation (the pages
 * fault in as they are written), and V8, which counts it as external memory, runs a full
 * mark-compact every few hundred milliseconds under back-to-back scrapes to get it back (6–17 ms
 * each, seen with `--trace-gc`; none with the buffers reused). Kept and reused, the median
 * longest turn of an uncompressed 1000-app scrape went from 1.5–1.7 to 0.8–0.9 ms.
 *
 * A buffer is given back only by whoever knows that nothing reads it any more (see
 * shared-exposition.ts): a response still being sent, or a gzip still compressing, holds it.
 *
 * @packageDocumentation
 */

/**
 * How many buffers are kept: one per format, and one for a rendering that starts while the
 * last answer is still being sent.
 */
const KEPT = 3;

/** Hands out buffers, and keeps those given back for later. */
export class OutputBuffers {
  private readonly kept: Buffer[] = [];
  /** The buffers this pool handed out, by their memory: only those come back into it. */
  private readonly own = new WeakMap<ArrayBufferLike, Buffer>();

  /**
   * A buffer of at least `size` bytes: a kept one when one is large enough, else a new one of
   * exactly `size` (the writer decides how large a rendering starts: see MIN_BUFFER in chunked-text.ts).
   */
  take(size: number): Buffer {
    for (let i = 0; i < this.kept.length; i += 1) {
      const buffer = this.kept[i] as Buffer;
      if (buffer.length >= size) {
        this.kept.splice(i, 1);
        return buffer;
      }
    }
    // allocUnsafeSlow: memory of its own, never a slice of Node's shared pool (which
    // allocUnsafe may hand out, and whose other slices belong to other buffers).
    const buffer = Buffer.allocUnsafeSlow(size);
    this.own.set(buffer.buffer, buffer);
    return buffer;
  }

  /**
   * Takes back the buffer `bytes` was written in (any view of it), once nothing reads it. A
   * buffer this pool did not hand out is ignored; beyond {@link KEPT}, the smallest is dropped.
   */
  give(bytes: Uint8Array): void {
    const whole = this.own.get(bytes.buffer);
    if (whole === undefined || this.kept.includes(whole)) return;
    this.kept.push(whole);
    if (this.kept.length > KEPT) {
      let smallest = 0;
      for (let i = 1; i < this.kept.length; i += 1) {
        if ((this.kept[i] as Buffer).length < (this.kept[smallest] as Buffer).length) smallest = i;
      }
      this.kept.splice(smallest, 1);
    }
  }
}
