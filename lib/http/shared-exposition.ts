/**
 * One serialization shared by the concurrent scrapes of one format, and its gzip.
 *
 * @packageDocumentation
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { ExpositionFormat } from './content-negotiation';
import type { MetricsSource } from './metrics-source';
import { OutputBuffers } from './output-buffers';
import { renderForScrape, type CollectorFailure, type ErrorHandling, type ScrapeRendering } from './render-registry';

/** One serialization in flight: its text, and its gzip once a scrape asked for it. */
export interface InFlightExposition {
  /** The rendered exposition. */
  readonly text: Promise<Buffer>;
  /** The rendering behind it, for scrapes that take only some of its families. */
  readonly rendering: Promise<ScrapeRendering>;
  /** Its gzip, once a scrape of this serialization asked for one. */
  gzipped?: Promise<Buffer>;
}

/** What one rendering produces: the rendering, and its gzip when a scrape asked before it ended. */
interface Rendering {
  readonly rendering: ScrapeRendering;
  readonly gzipped: Buffer | undefined;
}

/** A serialization's entry, with what only this module needs to see. */
interface Entry extends InFlightExposition {
  readonly rendering: Promise<ScrapeRendering>;
  /** The rendering with its gzip. */
  readonly compressed: Promise<Rendering>;
  wantsGzip: boolean;
  /**
   * Whether a scrape arriving now may join: until the rendering reads its first collector.
   * After that, what it reads may predate the scrape, which must see everything recorded
   * before it arrived.
   */
  joinable: boolean;
  /** Settles once this rendering settled or was abandoned: the next one of its format may start. */
  readonly over: Promise<void>;
  /** Settles `over`. */
  readonly end: () => void;
  /** How many still read its bytes: responses being sent, gzips compressing (see `hold`). */
  holders: number;
  /** Its bytes once rendered, until they go back to the buffers for a later rendering. */
  bytes: Buffer | undefined;
}

/** How a {@link SharedExposition} renders. */
export interface SharingOptions {
  /** What a collector that throws does to the rendering (see `renderForScrape`). */
  readonly errorHandling: ErrorHandling;
  /** Told, once per rendering, of the collectors it left out (`continue` only). */
  readonly onFailures?: (failures: readonly CollectorFailure[]) => void;
}

const ignore = (): void => undefined;

/** zlib's gzip on the thread pool: 365 KB take about 1 ms there, none of it on the event loop. */
const gzip = promisify(gzipCallback);

/**
 * Shares one serialization between the concurrent scrapes of one format: a scrape that
 * arrives before a rendering of its format has started reading the registry joins it rather
 * than starting its own, so N scrapers arriving together cost one rendering. A rendering reads
 * its collectors over several turns of the event loop (the writer gives the loop a turn every
 * half millisecond), so a scrape that arrives once it has begun waits for the next one, shared by
 * every scrape that arrives meanwhile: each scrape sees everything recorded before it arrived,
 * and at most one rendering of a format runs at a time. Nothing is cached beyond the renderings
 * in flight, and the buffers they were written in, reused once their answers are sent.
 *
 *     scrapes:     a-b-----c--d-------e
 *     renderings:  [ab·····][cd·····] [e····]   (· = reading; c and d wait for the first to end)
 * @internal
 */
export class SharedExposition {
  /**
   * The latest serialization of each format: the one to join while it is joinable. A field per
   * format, not a Map: an entry comes and goes with every rendering, and a Map whose entries
   * come and go that often is what kept the listener's responses alive through young-generation
   * collections (see the connections in listener-connections.ts).
   */
  private readonly inFlight: Record<ExpositionFormat, Entry | undefined> = {
    prometheus: undefined,
    openmetrics: undefined,
  };
  /** The buffers renderings are written into, reused once nothing reads them. */
  private readonly buffers = new OutputBuffers();

  constructor(
    private readonly source: MetricsSource,
    private readonly options: SharingOptions = { errorHandling: 'fail' },
  ) {}

  /** Joins the serialization of `format` that has not started reading yet, or starts one. */
  join(format: ExpositionFormat): InFlightExposition {
    const current = this.inFlight[format];
    if (current?.joinable === true) return current;
    let end: () => void = ignore;
    const over = new Promise<void>((resolve) => (end = resolve));
    // `entry` is declared on the next line; render() reads it only after its first await.
    const rendering = this.render(format, () => entry, current?.over);
    const entry: Entry = {
      rendering: rendering.then((r) => r.rendering),
      compressed: rendering,
      text: rendering.then((r) => r.rendering.bytes),
      wantsGzip: false,
      joinable: true,
      over,
      end,
      holders: 0,
      bytes: undefined,
    };
    entry.rendering.catch(ignore);
    entry.text.catch(ignore);
    this.inFlight[format] = entry;
    const settle = (): void => this.abandon(format, entry);
    // Also marks `rendering` handled: a rejection nobody waits for any more must not become an
    // unhandled rejection, which would end the host process.
    rendering.then((r) => {
      settle();
      // Settled, the entry is no longer joined: only its holders read its bytes from now on.
      entry.bytes = r.rendering.bytes;
      this.recycle(entry);
    }, settle);
    return entry;
  }

  /**
   * Holds `entry`'s bytes until the function returned is called (once; later calls do
   * nothing): whoever sends them or compresses them holds them, and once the rendering has
   * settled and nobody holds them, its buffer goes back for a later rendering. A holder that
   * never lets go only keeps that buffer from being reused.
   */
  hold(entry: InFlightExposition): () => void {
    const own = entry as Entry;
    own.holders += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      own.holders -= 1;
      this.recycle(own);
    };
  }

  private recycle(entry: Entry): void {
    if (entry.holders > 0 || entry.bytes === undefined) return;
    this.buffers.give(entry.bytes);
    entry.bytes = undefined;
  }

  /**
   * Gathers and renders `format`, and compresses the text when `wantsGzip()` says a scrape has
   * asked by then. An async function rather than a chain of `then`s: each `await` of a promise
   * takes one microtask, where a `then` callback that returns a promise takes three.
   */
  private async render(
    format: ExpositionFormat,
    entryOf: () => Entry,
    previous: Promise<void> | undefined,
  ): Promise<Rendering> {
    // One rendering of a format at a time: this one starts when the one before it is over.
    if (previous !== undefined) await previous;
    // Started at once, a rendering's first slice would run before Node reads any other socket,
    // and no concurrent scrape could join it. Starting it on the next turn of the event loop
    // (setImmediate, after the poll phase) lets every scrape already received join this one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const entry = entryOf();
    entry.joinable = false;
    const wantsGzip = (): boolean => entry.wantsGzip;
    const registry = await this.source.gather();
    const rendered = await renderForScrape(registry, format, this.options.errorHandling, this.buffers);
    if (rendered.failures.length > 0) this.options.onFailures?.(rendered.failures);
    const bytes = rendered.bytes;
    // Compressed as part of this serialization, on the thread pool, when a scrape has asked by
    // now (Prometheus always does): scrapes that arrive meanwhile still join it rather than
    // start a render of their own, and the event loop stays free.
    return { rendering: rendered, gzipped: wantsGzip() ? await gzip(bytes) : undefined };
  }

  /** The gzip of `entry`'s text, compressed once however many scrapes ask. */
  gzipped(entry: InFlightExposition): Promise<Buffer> {
    if (entry.gzipped === undefined) {
      const own = entry as Entry;
      own.wantsGzip = true;
      // Held from now, while the scrape that asks holds it too, until the gzip has read it.
      const release = this.hold(own);
      const gzipped = own.compressed.then((r) => r.gzipped ?? gzip(r.rendering.bytes));
      gzipped.then(release, release);
      entry.gzipped = gzipped;
    }
    return entry.gzipped;
  }

  /**
   * Stops sharing `entry` (when it settled, or when a scrape waiting on it timed out), so the
   * next scrape of `format` starts afresh instead of joining a serialization that hangs.
   */
  abandon(format: ExpositionFormat, entry: InFlightExposition): void {
    if (this.inFlight[format] === entry) this.inFlight[format] = undefined;
    // Its turn is over: the next rendering of the format may start (a hung one never holds
    // the others up past the timeout that abandoned it).
    (entry as Entry).end();
  }
}
