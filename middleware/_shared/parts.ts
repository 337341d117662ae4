/**
 * What the middleware that rewrite a response share (accessLog, compress, lint): reading a
 * FastResponse's parts uses it up (srvx's `_toNodeResponse`), so each rebuilds the response
 * from them — with the same helpers, the body's length without encoding it, and one counter
 * for a streamed body.
 */
import type { ResponseParts } from '../../src/_internal/response-parts.js';
import { FastResponse } from '../../src/response.js';
import type { HeadersInit } from '../../src/types.js';

/** `parts`' flat header list as pairs (srvx writes pairs without building a `Headers`), less `drop`. */
export function headerPairs(parts: ResponseParts, drop?: string): [string, string][] {
  const pairs: [string, string][] = [];
  const list = parts.headers;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== drop) pairs.push([list[i]!, list[i + 1]!]);
  }
  return pairs;
}

/** A response with `parts`' status and reason phrase, and `body` and `headers`. */
export function responseFromParts(
  parts: ResponseParts,
  body: unknown,
  headers: HeadersInit,
): Response {
  return new FastResponse(body as ConstructorParameters<typeof Response>[0], {
    status: parts.status,
    statusText: parts.statusText,
    headers,
  });
}

/** A body in memory's length in bytes (a string's as UTF-8, not encoded); `undefined` for a stream. */
export function bodyLength(body: ResponseParts['body']): number | undefined {
  if (body === null) return 0;
  if (typeof body === 'string') return utf8Length(body);
  if (body instanceof Uint8Array || body instanceof DataView) return body.byteLength;
  return undefined;
}

/** The UTF-8 byte length of `text`, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * `body`, passed on chunk by chunk as it is read (no buffering: a chunk is read when the
 * consumer asks); `done` is called once, with the bytes passed on, at the end (`aborted`
 * false), or at an error or a cancel (true). `each`, when given, sees every chunk first.
 */
export function countedStream(
  body: ReadableStream<Uint8Array>,
  done: (bytes: number, aborted: boolean) => void,
  each?: (chunk: Uint8Array, bytes: number) => void,
): ReadableStream<Uint8Array> {
  let bytes = 0;
  let finished = false;
  const finish = (aborted: boolean) => {
    if (finished) return;
    finished = true;
    done(bytes, aborted);
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: end, value } = await reader.read();
          if (end) {
            controller.close();
            finish(false);
          } else {
            bytes += value.byteLength;
            each?.(value, bytes);
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(error);
          finish(true);
        }
      },
      cancel(reason) {
        finish(true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** srvx's `FastResponse` internals on Node (`undefined` where FastResponse is the native class). */
const srvx = FastResponse.prototype as unknown as { _toNodeResponse?: () => unknown };
const toNodeResponse = srvx._toNodeResponse;
const nativeOf = Object.getOwnPropertyDescriptor(FastResponse.prototype, '_response')?.get;

/** A FastResponse's init whose header pairs are made only when a reader asks for them. */
class PartsInit {
  readonly status: number;
  readonly statusText: string;
  readonly #list: string[];
  #pairs: [string, string][] | undefined;
  constructor(parts: ResponseParts) {
    this.status = parts.status;
    this.statusText = parts.statusText;
    this.#list = parts.headers;
  }
  get headers(): [string, string][] {
    this.#pairs ??= headerPairs({ headers: this.#list } as ResponseParts);
    return this.#pairs;
  }
}

/**
 * A FastResponse that hands the gateway the parts it was made from as they are (no second
 * pass over its header fields); any other reader — `headers`, the body, `clone()` — gets a
 * response made from them, and the gateway then reads that one. srvx's `_toNodeResponse` and
 * `_response` are its private interface, read as response-parts.ts reads them.
 */
interface PartsResponse {
  new (parts: ResponseParts): Response;
}
const PartsResponse: PartsResponse | undefined =
  toNodeResponse && nativeOf
    ? (() => {
        const kParts = Symbol('mortar.parts');
        type Self = Response & { [kParts]?: ResponseParts | undefined };
        const headersOf = Object.getOwnPropertyDescriptor(FastResponse.prototype, 'headers')!.get!;
        class Made extends FastResponse {
          [kParts]: ResponseParts | undefined;
          constructor(parts: ResponseParts) {
            super(parts.body as BodyInit | null, new PartsInit(parts) as ResponseInit);
            this[kParts] = parts;
          }
        }
        Object.defineProperties(Made.prototype, {
          headers: {
            get(this: Self) {
              this[kParts] = undefined;
              return headersOf.call(this);
            },
          },
          _response: {
            get(this: Self) {
              this[kParts] = undefined;
              return nativeOf.call(this);
            },
          },
          _toNodeResponse: {
            value(this: Self) {
              const parts = this[kParts];
              if (parts === undefined) return toNodeResponse.call(this);
              this[kParts] = undefined;
              return parts;
            },
          },
        });
        return Made as unknown as PartsResponse;
      })()
    : undefined;

/**
 * A response of `parts` as they are (their flat header list, which the caller may have added
 * to): on Node the gateway writes them without reading the response again; elsewhere a
 * FastResponse made from them.
 */
export function partsResponse(parts: ResponseParts): Response {
  if (PartsResponse) return new PartsResponse(parts);
  return responseFromParts(parts, parts.body, headerPairs(parts));
}
