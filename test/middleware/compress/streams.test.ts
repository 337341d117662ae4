/**
 * compress() on streamed bodies, for every coding this runtime has (br, gzip, zstd where zlib
 * has it, and the CompressionStream fallback), in-process through TestClient and over real
 * loopback HTTP: each body decodes to the bytes the application streamed.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compress as nodeCompress } from '../../../middleware/compress/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import type { Application } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { closeNow } from '../../helpers/net.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => closeNow(s)));
});

type Compress = typeof nodeCompress;

/** compress() as loaded where `node:zlib` is missing: the CompressionStream fallback. */
async function fallbackCompress(): Promise<Compress> {
  const original = process.getBuiltinModule;
  process.getBuiltinModule = ((id: string) =>
    id === 'node:zlib' ? undefined : original(id)) as typeof original;
  try {
    vi.resetModules();
    return (await import('../../../middleware/compress/index.js')).compress;
  } finally {
    process.getBuiltinModule = original;
  }
}

const zstdDecompress = (zlib as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
const decoders: Record<string, (b: Buffer) => Buffer> = {
  br: zlib.brotliDecompressSync,
  gzip: zlib.gunzipSync,
  ...(zstdDecompress ? { zstd: zstdDecompress } : {}),
};

/** [label, coding, compress()] for every coding this runtime can produce. */
const codings: [string, string, () => Promise<Compress>][] = [
  ['br', 'br', async () => nodeCompress],
  ['gzip', 'gzip', async () => nodeCompress],
  ...(zstdDecompress
    ? [['zstd', 'zstd', async () => nodeCompress] as [string, string, () => Promise<Compress>]]
    : []),
  ['gzip (CompressionStream)', 'gzip', fallbackCompress],
];

/** Pseudo-random text (compressible, but not trivially): `size` bytes. */
function text(size: number, seed = 1): Uint8Array {
  const words = ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon ', 'zeta\n', 'eta ', 'theta '];
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const word = words[x % words.length]!;
    for (let j = 0; j < word.length && i < size; j++) out[i++] = word.charCodeAt(j);
  }
  return out;
}

/** A stream of `chunks`, one per pull, with a macrotask between chunks when `slow`. */
function chunked(chunks: Uint8Array[], slow = false): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (slow) await new Promise((resolve) => setTimeout(resolve, 5));
        if (index === chunks.length) controller.close();
        else controller.enqueue(chunks[index++]!);
      },
    },
    { highWaterMark: 0 },
  );
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const shapes: [string, () => Uint8Array[], boolean?][] = [
  ['two chunks', () => [text(100, 1), text(100, 2)]],
  ['many small chunks', () => split(text(5000), 7)],
  ['a slow stream', () => split(text(3000), 500), true],
  ['a large stream (2 MiB)', () => split(text(2 * 1024 * 1024), 64 * 1024)],
  ['an empty stream', () => []],
];

/** Length and SHA-256 of bytes: compared instead of the bytes (a deep compare of MiBs is slow). */
function digest(bytes: Uint8Array): string {
  return `${bytes.byteLength} ${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A GET over node:http (no automatic decoding): headers and the raw bytes. */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe.each(codings)('compress: streamed bodies, %s', (_label, coding, load) => {
  const appFor =
    (chunks: () => Uint8Array[], slow?: boolean): Application =>
    () =>
      new Response(chunked(chunks(), slow), { headers: { 'content-type': 'text/plain' } });

  it.each(shapes)('finishes and round-trips %s through TestClient', async (_s, chunks, slow) => {
    const compress = await load();
    const client = new TestClient(
      compress({ threshold: 0, encodings: [coding as 'gzip'] })(appFor(chunks, slow)),
    );
    const res = await client.get('/', { headers: { 'accept-encoding': coding } });
    expect(res.headers.get('content-encoding')).toBe(coding);
    expect(res.headers.get('content-length')).toBeNull();
    expect(digest(decoders[coding]!(Buffer.from(res.bytes())))).toBe(
      digest(Buffer.concat(chunks())),
    );
  });

  it.each(shapes)('finishes and round-trips %s over HTTP', async (_s, chunks, slow) => {
    const compress = await load();
    const server = await serve(
      compress({ threshold: 0, encodings: [coding as 'gzip'] })(appFor(chunks, slow)),
      { port: 0, announce: false, handleSignals: false },
    );
    servers.push(server);
    const res = await rawGet(server.url, { 'accept-encoding': coding });
    expect(res.headers['content-encoding']).toBe(coding);
    expect(digest(decoders[coding]!(res.body))).toBe(digest(Buffer.concat(chunks())));
  });
});

/**
 * Waits until `count()` has not changed over five looks 20 ms apart — one quiet look can be a
 * stall on a loaded machine — (at most 5 s); returns it.
 */
async function settled(count: () => number): Promise<number> {
  let last = -1;
  let quiet = 0;
  for (let i = 0; i < 250 && quiet < 5; i++) {
    const now = count();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return count();
}

// node:zlib's codings only: Node's own CompressionStream (the fallback, used where node:zlib is
// missing) reads ~256 MiB of random input to give 256 KiB out — Node's, not compress()'s.
describe.each(codings.filter(([label]) => !label.includes('CompressionStream')))(
  'compress: back-pressure, %s',
  (_label, coding, load) => {
    it('reads an endless stream only as the client reads, and a cancel reaches it', async () => {
      let pulled = 0;
      let cancelled = false;
      const endless = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulled++;
            controller.enqueue(crypto.getRandomValues(new Uint8Array(16 * 1024)));
          },
          cancel() {
            cancelled = true;
          },
        },
        { highWaterMark: 0 },
      );
      const compress = await load();
      const app = compress({ encodings: [coding as 'gzip'] })(
        () => new Response(endless, { headers: { 'content-type': 'text/plain' } }),
      );
      const response = await app(
        new Request('http://localhost/', { headers: { 'accept-encoding': coding } }),
        { scriptName: '', pathInfo: '/', gateway: 'test', remoteAddress: '127.0.0.1' },
      );
      expect(response.headers.get('content-encoding')).toBe(coding);
      const reader = response.body!.getReader();
      expect((await reader.read()).value!.byteLength).toBeGreaterThan(0);
      // The client reads no more: the application is asked for a bounded read-ahead, then nothing.
      const after = await settled(() => pulled);
      // gzip and zstd give out a block per 16 KiB chunk or so; brotli (quality 4) keeps ~8 MiB
      // of random input before its first block.
      expect(after).toBeLessThan(coding === 'br' ? 1100 : 50);
      await reader.cancel();
      expect(cancelled).toBe(true);
    });
  },
);
