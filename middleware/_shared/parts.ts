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
