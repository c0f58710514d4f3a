/**
 * The buffers scrapes are written into: reused, and never while an answer in them is still
 * being sent.
 */
import { get, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Counter, Registry } from 'prom-client';
import { serveMetrics, type MetricsServer } from '../../lib';
import { OutputBuffers } from '../../lib/http/output-buffers';
import { SharedExposition } from '../../lib/http/shared-exposition';
import { httpRequest } from '../helpers/http-client';

describe('OutputBuffers', () => {
  it('hands a buffer given back out again, to a request it is large enough for', () => {
    const buffers = new OutputBuffers();
    const first = buffers.take(100_000);
    expect(first.length).toBeGreaterThanOrEqual(100_000);
    buffers.give(first.subarray(0, 10)); // any view of it gives the whole buffer back
    expect(buffers.take(200_000).buffer).not.toBe(first.buffer); // too small for that
    const again = buffers.take(50_000);
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(first.length);
    // Taken, it is no longer kept: the next request gets another one.
    expect(buffers.take(50_000).buffer).not.toBe(first.buffer);
  });

  it('takes back only what it handed out, once, and keeps at most three, the largest', () => {
    const buffers = new OutputBuffers();
    // Node's shared pool slices small buffers out of one ArrayBuffer: never to be written over.
    const foreign = [Buffer.from('not from the pool'), Buffer.allocUnsafe(20_000), Buffer.allocUnsafeSlow(20_000)];
    for (const buffer of foreign) buffers.give(buffer);
    const taken = buffers.take(1);
    expect(foreign.some((buffer) => buffer.buffer === taken.buffer)).toBe(false);
    // Nor does what it hands out share memory with Node's pool.
    expect(taken.buffer).not.toBe(Buffer.allocUnsafe(10).buffer);

    const sizes = [20_000, 40_000, 60_000, 80_000];
    const handed = sizes.map((size) => buffers.take(size));
    for (const buffer of handed) buffers.give(buffer);
    buffers.give(handed[3] as Buffer); // twice: still kept once
    const back = [buffers.take(1), buffers.take(1), buffers.take(1), buffers.take(1)];
    const reused = back.filter((b) => handed.some((h) => h.buffer === b.buffer)).map((b) => b.length);
    expect(reused.sort((a, b) => a - b)).toEqual([40_000, 60_000, 80_000]);
  });
});

describe('serveMetrics: an answer still being sent keeps its buffer', () => {
  let served: MetricsServer | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  /** The value of every `big_total` sample of an exposition, and how many there are. */
  function values(text: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('big_total{')) continue;
      const value = line.slice(line.lastIndexOf(' ') + 1);
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    return counts;
  }

  it('sends every byte of a slow reader’s answer as rendered, while later scrapes render', async () => {
    const registry = new Registry();
    const big = new Counter({ name: 'big_total', help: 'h', labelNames: ['n'], registers: [registry] });
    // About 14 MB: more than the loopback socket's buffers take, so the answer waits in ours.
    const SERIES = 120_000;
    const pad = 'x'.repeat(80);
    for (let i = 0; i < SERIES; i += 1) big.inc({ n: `${pad}-${i}` });
    served = await serveMetrics({ registry, port: 0 });

    // The slow reader: its answer starts, then it stops reading.
    let response: IncomingMessage | undefined;
    const chunks: Buffer[] = [];
    const started = new Promise<void>((resolve, reject) => {
      get(served?.url as string, (res) => {
        response = res;
        res.once('data', (chunk: Buffer) => {
          chunks.push(chunk);
          res.pause();
          resolve();
        });
      }).once('error', reject);
    });
    await started;

    // Every series moves to 2, and two more scrapes render (the second would reuse a buffer
    // given back too early) and are read whole.
    for (let i = 0; i < SERIES; i += 1) big.inc({ n: `${pad}-${i}` });
    for (let k = 0; k < 2; k += 1) {
      const later = await httpRequest(served.url);
      expect(values(later.text)).toEqual(new Map([['2', SERIES]]));
    }

    const slow = response as IncomingMessage;
    const rest = new Promise<void>((resolve, reject) => {
      slow.on('data', (chunk: Buffer) => chunks.push(chunk));
      slow.once('end', resolve);
      slow.once('error', reject);
    });
    slow.resume();
    await rest;
    expect(values(Buffer.concat(chunks).toString('utf8'))).toEqual(new Map([['1', SERIES]]));
  }, 60_000);
});

describe('SharedExposition: a gzip still compressing keeps its buffer', () => {
  afterEach(() => jest.restoreAllMocks());

  it('gives the buffer back once a gzip asked for after the rendering has read it', async () => {
    const registry = new Registry();
    new Counter({ name: 'some_total', help: 'h', registers: [registry] }).inc();
    const shared = new SharedExposition({ registry, gather: () => Promise.resolve(registry) });
    // A spy calls the real give() through, and notes each call.
    const give = jest.spyOn(OutputBuffers.prototype, 'give');
    const given = (): Uint8Array[] => give.mock.calls.map(([bytes]) => bytes);
    const entry = shared.join('prometheus');
    const letGo = shared.hold(entry); // a scrape
    const rendering = await entry.rendering; // settled, nobody asked for gzip
    const gzipped = shared.gzipped(entry); // the gzip starts now, on the thread pool
    letGo();
    // The scrape let go, but the gzip has not read the bytes yet: they stay out of reach.
    expect(given()).toEqual([]);
    expect(gunzipSync(await gzipped).toString()).toBe(await registry.metrics());
    expect(given()).toHaveLength(1);
    expect(given()[0]?.buffer).toBe(rendering.bytes.buffer);
  });
});
