/**
 * One serialization shared by the concurrent scrapes of one format, and its gzip.
 *
 * @packageDocumentation
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { ExpositionFormat } from './content-negotiation';
import type { MetricsSource } from './metrics-source';
import { renderRegistry } from './render-registry';

/** One serialization in flight: its text, and its gzip once a scrape asked for it. */
export interface InFlightExposition {
  /** The rendered exposition. */
  readonly text: Promise<Buffer>;
  /** Its gzip, once a scrape of this serialization asked for one. */
  gzipped?: Promise<Buffer>;
}

/** What one rendering produces: the text, and its gzip when a scrape asked before it ended. */
interface Rendering {
  readonly text: Buffer;
  readonly gzipped: Buffer | undefined;
}

/** A serialization's entry, with what only this module needs to see. */
interface Entry extends InFlightExposition {
  readonly rendering: Promise<Rendering>;
  wantsGzip: boolean;
}

const ignore = (): void => undefined;

/** zlib's gzip on the thread pool: 365 KB take about 1 ms there, none of it on the event loop. */
const gzip = promisify(gzipCallback);

/**
 * Shares one serialization between the concurrent scrapes of one format: a scrape that
 * arrives while another of the same format is being gathered and rendered joins it rather
 * than starting its own, so N scrapers cost one rendering. Nothing is cached beyond the
 * in-flight promise: a scrape arriving after it settled starts a fresh one and sees fresh
 * values.
 * @internal
 */
export class SharedExposition {
  private readonly inFlight = new Map<ExpositionFormat, Entry>();

  constructor(private readonly source: MetricsSource) {}

  /** Joins the serialization of `format` in flight, or starts one. */
  join(format: ExpositionFormat): InFlightExposition {
    const current = this.inFlight.get(format);
    if (current !== undefined) return current;
    // `entry` is declared on the next line; render() reads it only after its first await.
    const rendering = this.render(format, () => entry.wantsGzip);
    const entry: Entry = { rendering, text: rendering.then((r) => r.text), wantsGzip: false };
    entry.text.catch(ignore);
    this.inFlight.set(format, entry);
    const settle = (): void => this.abandon(format, entry);
    // Also marks `rendering` handled: a rejection nobody waits for any more must not become an
    // unhandled rejection, which would end the host process.
    rendering.then(settle, settle);
    return entry;
  }

  /**
   * Gathers and renders `format`, and compresses the text when `wantsGzip()` says a scrape has
   * asked by then. An async function rather than a chain of `then`s: each `await` of a promise
   * takes one microtask, where a `then` callback that returns a promise takes three.
   */
  private async render(format: ExpositionFormat, wantsGzip: () => boolean): Promise<Rendering> {
    // Rendering is CPU work that runs to completion in microtasks, before Node reads any
    // other socket: started at once, it would be over before a concurrent scrape could join
    // it. Starting it on the next turn of the event loop (setImmediate, after the poll phase)
    // lets every scrape already received join this one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const registry = await this.source.gather();
    const text = Buffer.from(await renderRegistry(registry, format), 'utf8');
    // Compressed as part of this serialization, on the thread pool, when a scrape has asked by
    // now (Prometheus always does): scrapes that arrive meanwhile still join it rather than
    // start a render of their own, and the event loop stays free.
    return { text, gzipped: wantsGzip() ? await gzip(text) : undefined };
  }

  /** The gzip of `entry`'s text, compressed once however many scrapes ask. */
  gzipped(entry: InFlightExposition): Promise<Buffer> {
    if (entry.gzipped === undefined) {
      const own = entry as Entry;
      own.wantsGzip = true;
      const gzipped = own.rendering.then((r) => r.gzipped ?? gzip(r.text));
      gzipped.catch(ignore);
      entry.gzipped = gzipped;
    }
    return entry.gzipped;
  }

  /**
   * Stops sharing `entry` (when it settled, or when a scrape waiting on it timed out), so the
   * next scrape of `format` starts afresh instead of joining a serialization that hangs.
   */
  abandon(format: ExpositionFormat, entry: InFlightExposition): void {
    if (this.inFlight.get(format) === entry) this.inFlight.delete(format);
  }
}
