/**
 * The content codings compress() can produce on this runtime: node:zlib where the runtime has
 * it (Node, Deno and Bun all answer `process.getBuiltinModule('node:zlib')`) — br, gzip, and
 * zstd where zlib has it — else the web platform's `CompressionStream` (gzip). Found without
 * an import, so `mortar/compress` bundles for any platform.
 *
 * Cloudflare Workers compress a response themselves, as its `Content-Encoding` says (their
 * `encodeBody: 'automatic'`, which every `new Response()` gets and a middleware that rebuilds a
 * response cannot tell from `'manual'`): there br and gzip pass the body as it is, and the
 * runtime compresses it (at its own level, dropping `Content-Length`) — compressed here, the
 * client would get it compressed twice.
 */
import type * as Zlib from 'node:zlib';
import { builtinModule } from '../../src/_internal/builtin.js';

/** A coding's two forms: all at once for a body in memory, and as a stream. */
export interface Encoder {
  /** The body, compressed (off the main thread with node:zlib). */
  whole(body: Uint8Array): Promise<Uint8Array>;
  /**
   * The stream, compressed as it is read.
   * @param flushEach - Flush after every chunk (`text/event-stream`: each event leaves at once).
   */
  stream(body: ReadableStream<Uint8Array>, flushEach: boolean): ReadableStream<Uint8Array>;
}

/** Levels: brotli quality 0–11, gzip and zstd levels; `undefined` for each coding's default. */
export interface Levels {
  br?: number | undefined;
  gzip?: number | undefined;
  zstd?: number | undefined;
}

const zlib = builtinModule<typeof Zlib>('node:zlib');

/** Workers: the runtime encodes a body as its Content-Encoding says (see the module). */
const runtimeEncodes =
  (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent ===
  'Cloudflare-Workers';

/**
 * The encoders this runtime has, by coding name, at `levels` (defaults: br 4 — what nginx
 * and Cloudflare use for dynamic responses — gzip 6, zstd 3).
 */
export function encoders(levels: Levels): Map<string, Encoder> {
  const found = new Map<string, Encoder>();
  if (runtimeEncodes) {
    const byRuntime: Encoder = { whole: async (body) => body, stream: (body) => body };
    found.set('br', byRuntime);
    found.set('gzip', byRuntime);
  } else if (zlib) {
    const br = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: levels.br ?? 4 } };
    found.set(
      'br',
      zlibEncoder(
        (body, done) => zlib.brotliCompress(body, br, done),
        () => zlib.createBrotliCompress(br),
      ),
    );
    const gzip = { level: levels.gzip ?? 6 };
    found.set(
      'gzip',
      zlibEncoder(
        (body, done) => zlib.gzip(body, gzip, done),
        () => zlib.createGzip(gzip),
      ),
    );
    const z = zlib as typeof zlib & {
      zstdCompress?: typeof zlib.gzip;
      createZstdCompress?: typeof zlib.createGzip;
      constants: { ZSTD_c_compressionLevel?: number };
    };
    if (
      z.zstdCompress &&
      z.createZstdCompress &&
      z.constants.ZSTD_c_compressionLevel !== undefined
    ) {
      const zstd = { params: { [z.constants.ZSTD_c_compressionLevel]: levels.zstd ?? 3 } };
      const compress = z.zstdCompress;
      const create = z.createZstdCompress;
      found.set(
        'zstd',
        zlibEncoder(
          (body, done) => compress(body, zstd as Zlib.ZlibOptions, done),
          () => create(zstd as Zlib.ZlibOptions),
        ),
      );
    }
  } else if (typeof CompressionStream === 'function') {
    found.set('gzip', webEncoder('gzip'));
  }
  return found;
}

type Callback = (error: Error | null, result: Uint8Array) => void;

function zlibEncoder(
  whole: (body: Uint8Array, done: Callback) => void,
  create: () => Zlib.Gzip | Zlib.BrotliCompress,
): Encoder {
  return {
    whole: (body) =>
      new Promise((resolve, reject) => {
        whole(body, (error, result) => (error ? reject(error) : resolve(result)));
      }),
    stream: (body, flushEach) => zlibStream(body, create(), flushEach),
  };
}

/**
 * `body` through a zlib stream, pulled: a pull reads from `body` and writes to zlib until zlib
 * has given something out or `body` has ended (zlib keeps small chunks back, and a pull that
 * enqueued nothing is never followed by another), so back-pressure reaches the application
 * and no more is read than the consumer asked for; cancelling stops both.
 */
function zlibStream(
  body: ReadableStream<Uint8Array>,
  z: Zlib.Gzip | Zlib.BrotliCompress,
  flushEach: boolean,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let produced = 0;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      z.on('data', (chunk: Buffer) => {
        produced++;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
      z.once('end', () => controller.close());
      z.once('error', (error) => {
        finished = true;
        controller.error(error);
      });
    },
    async pull(controller) {
      const before = produced;
      while (produced === before && !finished) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          finished = true;
          z.destroy();
          controller.error(error);
          return;
        }
        if (next.done) {
          finished = true;
          // 'end' closes the stream once zlib's last bytes are enqueued.
          z.end();
          return;
        }
        await new Promise<void>((resolve) => z.write(next.value, () => resolve()));
        if (flushEach) await new Promise<void>((resolve) => z.flush(() => resolve()));
      }
    },
    cancel(reason) {
      finished = true;
      z.destroy();
      return reader.cancel(reason);
    },
  });
}

function webEncoder(format: 'gzip'): Encoder {
  return {
    whole: async (body) =>
      new Uint8Array(
        await new Response(
          new Blob([body as BlobPart]).stream().pipeThrough(new CompressionStream(format)),
        ).arrayBuffer(),
      ),
    stream: (body) =>
      body.pipeThrough(
        new CompressionStream(format) as ReadableWritablePair<Uint8Array, Uint8Array>,
      ),
  };
}
