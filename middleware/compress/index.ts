/**
 * `mortar/compress` — compress responses the client can decode: br, gzip (and zstd where
 * the runtime has it), chosen by `Accept-Encoding` and its q-values (RFC 9110 §12.5.3), in
 * a stream for a streamed body. paste.gzipper, Hono's `compress`, express's `compression`.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { compress } from 'mortar/compress';
 * import { errors } from 'mortar/errors';
 * const app = compose(compress(), errors())(site);
 * // or tuned: compress({ encodings: ['gzip'], threshold: 2048, level: { gzip: 9 } })
 * ```
 *
 * A compressed response gets `Content-Encoding`, `Vary: Accept-Encoding`, no
 * `Content-Length` for a stream (the compressed length for a body in memory), no
 * `Accept-Ranges`, and a weak ETag (`W/"…"`: the bytes differ from the identity
 * representation's). A streamed body — a web stream, or the file stream static sends for a
 * file too large for its memory cache — is compressed as it is read, no faster than the
 * client reads it. A `text/event-stream` body is flushed after every chunk, so each event
 * reaches the client at once.
 *
 * `threshold`: a body whose length is known (`Content-Length`, or a body in memory) is sent as
 * it is when shorter; a stream of unknown length is read up to `threshold` bytes first and
 * sent as it is when it ends within them (expressjs/compression decides on the first write) —
 * except an event stream, which is never held back.
 *
 * `HEAD` gets the header fields `GET` would (RFC 9110 §9.3.2): `Vary` always, and when GET's
 * body would be compressed (its length known and at least `threshold`) its `Content-Encoding`
 * and weak ETag, and no `Content-Length` (GET's is known only once compressed, §8.6).
 *
 * Left alone: a WebSocket handshake's accept (it becomes a 101, with no body to compress nor
 * `Vary` to add), 1xx/204/304, a 206 or any request with `Range`, a response that already has
 * `Content-Encoding` (static's precompressed files: never twice) or says
 * `Cache-Control: no-transform`, a `Content-Length` under `threshold`, no `Content-Type`, and
 * the types in `skipTypes` (images, video, audio, fonts and archives that are compressed
 * already; an `+xml` or `+json` type, such as SVG, is always compressed). Every response that
 * could have been compressed carries `Vary: Accept-Encoding`, compressed or not, so caches
 * keep the two apart.
 * @module mortar/compress
 */

import { is, optionChecker } from '../../src/_internal/options.js';
import { type ResponseParts, responseParts } from '../../src/_internal/response-parts.js';
import { negotiateEncoding } from '../../src/negotiation.js';
import type { Middleware } from '../../src/types.js';
import { acceptedWebSocket } from '../../src/websocket.js';
import { bodyLength, headerPairs, responseFromParts } from '../_shared/parts.js';
import { discard, type NodeReadable, readAhead, webStream } from './body.js';
import { type Encoder, encoders, type Levels } from './encoders.js';

/** Options of {@link compress}. */
export interface CompressOptions {
  /**
   * The codings offered, in the server's order of preference (which breaks q-value ties).
   * One the runtime cannot produce is dropped (zstd needs a zlib that has it).
   * @default ['br', 'gzip']
   */
  encodings?: readonly ('br' | 'gzip' | 'zstd')[];
  /**
   * Bodies shorter than this many bytes are sent as they are; a stream of unknown length is
   * read this far before deciding (not an event stream). @default 1024
   */
  threshold?: number;
  /** Compression levels: brotli quality 0–11, gzip 1–9, zstd 1–22. @default { br: 4, gzip: 6, zstd: 3 } */
  level?: Levels;
  /**
   * Media types not worth compressing: exact (`application/zip`) or a whole top-level type
   * (`image/*`). An `+xml`/`+json` type is compressed whatever this says.
   * @default DEFAULT_SKIP_TYPES
   */
  skipTypes?: readonly string[];
}

/** {@link CompressOptions.skipTypes}'s default: what is already compressed. */
export const DEFAULT_SKIP_TYPES: readonly string[] = [
  'image/*',
  'video/*',
  'audio/*',
  'font/woff',
  'font/woff2',
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/zstd',
  'application/x-bzip2',
  'application/x-xz',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/vnd.rar',
  'application/wasm+gzip',
  'application/octet-stream',
];

const checkOptions = optionChecker<CompressOptions>('compress', {
  encodings: is.listOf(is.oneOf('br', 'gzip', 'zstd')),
  threshold: is.bytes(),
  level: is.object,
  skipTypes: is.strings,
});

/**
 * Compresses responses by `Accept-Encoding`.
 * @throws ConfigError at construction for an unknown option or coding, or a threshold that is
 *   not a whole number of bytes ≥ 0.
 */
export function compress(options: CompressOptions = {}): Middleware {
  checkOptions(options);
  const wanted = options.encodings ?? ['br', 'gzip'];
  const threshold = options.threshold ?? 1024;
  const available = encoders(options.level ?? {});
  const offered = wanted.filter((name) => available.has(name));
  const skip = skipper(options.skipTypes ?? DEFAULT_SKIP_TYPES);
  return function compress(app) {
    return async function compressApp(request, environ) {
      const response = await app(request, environ);
      if (request.headers.has('range') || acceptedWebSocket(response, environ)) return response;
      const status = response.status;
      if (status < 200 || status === 204 || status === 206 || status === 304) return response;
      const headers = response.headers;
      if (
        headers.has('content-encoding') ||
        /\bno-transform\b/i.test(headers.get('cache-control') ?? '')
      ) {
        return response;
      }
      const type = headers.get('content-type');
      if (type === null || skip(type)) return response;
      const length = headers.get('content-length');
      if (length !== null && Number(length) < threshold) return response;
      const coding = negotiateEncoding(request.headers.get('accept-encoding'), offered);
      const parts = responseParts(response);
      const out = new Headers(headerPairs(parts));
      addVary(out);
      if (request.method === 'HEAD') return head(parts, out, coding, threshold);
      if (coding === 'identity' || parts.body === null)
        return responseFromParts(parts, parts.body, out);
      return encode(parts, out, coding, available.get(coding)!, threshold, type);
    };
  };
}

/**
 * A HEAD response with the header fields GET's would have (RFC 9110 §9.3.2): Vary always; and
 * when GET's body would be compressed (its length known and at least `threshold`), GET's
 * Content-Encoding, ETag and Accept-Ranges, and no Content-Length — GET's is known only once
 * compressed, and a HEAD may send none but GET's (§8.6).
 */
function head(parts: ResponseParts, headers: Headers, coding: string, threshold: number) {
  const length = headers.get('content-length');
  const known = length === null ? bodyLength(parts.body) : Number(length);
  if (coding === 'identity' || known === undefined || known < threshold)
    return responseFromParts(parts, parts.body, headers);
  headers.delete('content-length');
  markEncoded(headers, coding);
  discard(parts.body);
  // A stream, not null: a gateway states no length for a stream (for a null body it says 0).
  return responseFromParts(parts, new ReadableStream({ start: (c) => c.close() }), headers);
}

/**
 * Compresses `parts`' body with `encoder`, or sends it as it is when it is shorter than
 * `threshold` (a stream of unknown length is read that far first; never an event stream,
 * whose events must leave at once).
 */
async function encode(
  parts: ResponseParts,
  headers: Headers,
  coding: string,
  encoder: Encoder,
  threshold: number,
  type: string,
): Promise<Response> {
  const body = parts.body!;
  const bytes = toBytes(body);
  if (bytes !== undefined) {
    if (bytes.byteLength < threshold) return responseFromParts(parts, bytes, headers);
    const compressed = await encoder.whole(bytes);
    headers.set('content-length', String(compressed.byteLength));
    markEncoded(headers, coding);
    return responseFromParts(parts, compressed, headers);
  }
  const eventStream = /^text\/event-stream\b/i.test(type);
  let stream = body instanceof ReadableStream ? body : webStream(body as NodeReadable);
  if (!eventStream && threshold > 0 && !headers.has('content-length')) {
    const start = await readAhead(stream, threshold);
    if (start instanceof Uint8Array) return responseFromParts(parts, start, headers);
    stream = start;
  }
  headers.delete('content-length');
  markEncoded(headers, coding);
  return responseFromParts(parts, encoder.stream(stream, eventStream), headers);
}

/** The headers of an encoded representation: its coding, no ranges, a weak ETag. */
function markEncoded(headers: Headers, coding: string): void {
  headers.set('content-encoding', coding);
  headers.delete('accept-ranges');
  const etag = headers.get('etag');
  if (etag?.startsWith('"')) headers.set('etag', `W/${etag}`);
}

const encoder = new TextEncoder();

/** A body in memory as bytes; `undefined` for a stream (web or Node). */
function toBytes(body: NonNullable<ResponseParts['body']>): Uint8Array | undefined {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof DataView)
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/** `Vary: Accept-Encoding` added (once; never beside `*`). */
function addVary(headers: Headers): void {
  const vary = headers.get('vary');
  if (vary === null) headers.set('vary', 'Accept-Encoding');
  else if (!/(^|,)\s*(\*|accept-encoding)\s*(,|$)/i.test(vary))
    headers.set('vary', `${vary}, Accept-Encoding`);
}

/** Whether a `Content-Type` is one of `types` (exact or `top/*`) and not `+xml`/`+json`. */
function skipper(types: readonly string[]): (type: string) => boolean {
  const exact = new Set(types.filter((t) => !t.endsWith('/*')).map((t) => t.toLowerCase()));
  const top = new Set(
    types.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -2).toLowerCase()),
  );
  return (type) => {
    const essence = type.split(';')[0]!.trim().toLowerCase();
    if (essence.endsWith('+xml') || essence.endsWith('+json')) return false;
    return exact.has(essence) || top.has(essence.slice(0, essence.indexOf('/')));
  };
}
