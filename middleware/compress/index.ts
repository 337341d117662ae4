/**
 * `mortar/compress` — compress responses the client can decode: br, gzip (and zstd where
 * the runtime has it), chosen by `Accept-Encoding` and its q-values (RFC 9110 §12.5.3), in
 * a stream for a streamed body. paste.gzipper, Hono's `compress`, express's `compression`.
 *
 * ```ts
 * import { compress } from 'mortar/compress';
 * const app = compose(compress(), errors())(site);
 * // or tuned: compress({ encodings: ['gzip'], threshold: 2048, level: { gzip: 9 } })
 * ```
 *
 * A compressed response gets `Content-Encoding`, `Vary: Accept-Encoding`, no
 * `Content-Length` for a stream (the compressed length for a body in memory), no
 * `Accept-Ranges`, and a weak ETag (`W/"…"`: the bytes differ from the identity
 * representation's). A `text/event-stream` body is flushed after every chunk, so each event
 * reaches the client at once.
 *
 * Left alone: HEAD, 1xx/204/304, a 206 or any request with `Range`, a response that already
 * has `Content-Encoding` (static's precompressed files: never twice) or says
 * `Cache-Control: no-transform`, a body shorter than `threshold` when its length is known, no
 * `Content-Type`, and the types in `skipTypes` (images, video, audio, fonts and archives that
 * are compressed already; an `+xml` or `+json` type, such as SVG, is always compressed).
 * Every response that could have been compressed carries `Vary: Accept-Encoding`, compressed
 * or not, so caches keep the two apart.
 * @module mortar/compress
 */

import { type ResponseParts, responseParts } from '../../src/gateways/_shared/srvx.js';
import { negotiateEncoding } from '../../src/negotiation.js';
import type { Middleware } from '../../src/types.js';
import { optionNames, refuseUnknownOptions } from '../_shared/options.js';
import { headerPairs, responseFromParts } from '../_shared/parts.js';
import { type Encoder, encoders, type Levels } from './encoders.js';

/** Options of {@link compress}. */
export interface CompressOptions {
  /**
   * The codings offered, in the server's order of preference (which breaks q-value ties).
   * One the runtime cannot produce is dropped (zstd needs a zlib that has it).
   * @default ['br', 'gzip']
   */
  encodings?: readonly ('br' | 'gzip' | 'zstd')[];
  /** Bodies shorter than this many bytes (when the length is known) are sent as they are. @default 1024 */
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

const COMPRESS_OPTIONS = optionNames<CompressOptions>()([
  'encodings',
  'threshold',
  'level',
  'skipTypes',
]);

/**
 * Compresses responses by `Accept-Encoding`.
 * @throws TypeError at construction for an unknown coding or a threshold that is not a whole
 *   number of bytes ≥ 0.
 */
export function compress(options: CompressOptions = {}): Middleware {
  refuseUnknownOptions(options, COMPRESS_OPTIONS, 'compress');
  const wanted = options.encodings ?? ['br', 'gzip'];
  for (const name of wanted) {
    if (name !== 'br' && name !== 'gzip' && name !== 'zstd') {
      throw new TypeError(
        `compress encodings: unknown coding ${JSON.stringify(name)} (br, gzip, zstd)`,
      );
    }
  }
  const threshold = options.threshold ?? 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new TypeError(
      `compress threshold: expected a whole number of bytes ≥ 0, got ${String(threshold)}`,
    );
  }
  const available = encoders(options.level ?? {});
  const offered = wanted.filter((name) => available.has(name));
  const skip = skipper(options.skipTypes ?? DEFAULT_SKIP_TYPES);
  return (app) => async (request, environ) => {
    const response = await app(request, environ);
    if (request.method === 'HEAD' || request.headers.has('range')) return response;
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
    if (coding === 'identity' || parts.body === null)
      return responseFromParts(parts, parts.body, out);
    return encode(parts, out, coding, available.get(coding)!, threshold, type);
  };
}

/** Compresses `parts`' body with `encoder` (or sends it as it is, under the threshold). */
async function encode(
  parts: ResponseParts,
  headers: Headers,
  coding: string,
  encoder: Encoder,
  threshold: number,
  type: string,
): Promise<Response> {
  const body = parts.body;
  let compressed: Uint8Array | ReadableStream<Uint8Array>;
  if (body instanceof ReadableStream) {
    compressed = encoder.stream(body, /^text\/event-stream\b/i.test(type));
    headers.delete('content-length');
  } else {
    const bytes = toBytes(body);
    if (bytes === undefined) return responseFromParts(parts, body, headers);
    if (bytes.byteLength < threshold) return responseFromParts(parts, bytes, headers);
    compressed = await encoder.whole(bytes);
    headers.set('content-length', String(compressed.byteLength));
  }
  headers.set('content-encoding', coding);
  headers.delete('accept-ranges');
  const etag = headers.get('etag');
  if (etag !== null && etag.startsWith('"')) headers.set('etag', `W/${etag}`);
  return responseFromParts(parts, compressed, headers);
}

const encoder = new TextEncoder();

/** A body in memory as bytes; `undefined` for a Node stream (left as it is). */
function toBytes(body: ResponseParts['body']): Uint8Array | undefined {
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
