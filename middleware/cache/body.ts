/**
 * A response body on its way to the client, copied for the store: bytes in memory are stored as
 * they are; a stream reaches the client chunk by chunk as it is read while a copy builds up,
 * kept only if the stream completes within `maxEntrySize` bytes.
 */
import type { ResponseParts } from '../../src/_internal/response-parts.js';
import { countedStream } from '../_shared/parts.js';

/** A body in memory as bytes, or `undefined` for a stream. */
export function bytesOf(body: ResponseParts['body']): Uint8Array | undefined {
  if (body === null) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof DataView)
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/** A web stream of `body` (a Node stream is async-iterable: read it as one). */
export function webStream(
  body: ReadableStream<Uint8Array> | NodeJS.ReadableStream,
): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  const iterator = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * `body` passed on as it is read; `done(bytes)` is called once at its end with the whole body
 * when it stayed within `limit` bytes, or with `undefined` (too large, an error, a cancel).
 */
export function teeToStore(
  body: ReadableStream<Uint8Array>,
  limit: number,
  done: (bytes: Uint8Array | undefined) => void,
): ReadableStream<Uint8Array> {
  let chunks: Uint8Array[] | undefined = [];
  const finish = (whole: Uint8Array | undefined) => {
    if (!chunks) return;
    chunks = undefined;
    done(whole);
  };
  return countedStream(
    body,
    (length, aborted) => finish(aborted || !chunks ? undefined : concat(chunks, length)),
    (chunk, length) => {
      if (length <= limit) chunks?.push(chunk);
      else finish(undefined); // too large: the client still gets it all, the store nothing
    },
  );
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const whole = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
