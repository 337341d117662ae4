/**
 * The streamed bodies compress() reads: a Node stream (static's file bodies) as a web stream,
 * and the first `threshold` bytes of a stream of unknown length read ahead, so a short body is
 * sent as it is — expressjs/compression decides the same way, on the first write.
 */

/** A Node readable (what `FastResponse` takes for a file body) — no `node:` import needed. */
export type NodeReadable = NodeJS.ReadableStream & { destroy?: (error?: Error) => void };

/**
 * `body` as a web stream, read chunk by chunk as the consumer asks (its async iterator: no
 * buffering, back-pressure kept); a cancel destroys it (its file is closed). Strings are
 * encoded as UTF-8.
 */
export function webStream(body: NodeReadable): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else if (typeof value === 'string') controller.enqueue(encoder.encode(value));
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      async cancel(reason) {
        await chunks.return?.();
        body.destroy?.(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A stream body that will not be sent (a HEAD's), cancelled or destroyed; others ignored. */
export function discard(body: unknown): void {
  if (body instanceof ReadableStream) void body.cancel().catch(() => {});
  else if (typeof (body as NodeReadable | null)?.destroy === 'function') {
    (body as NodeReadable).destroy!();
  }
}

/**
 * Reads `body` until `threshold` bytes or its end: the whole body as bytes when it ended
 * within them, else a stream that gives the chunks read and then the rest of `body` (a read
 * error is given after the chunks read, as `body` would have).
 */
export async function readAhead(
  body: ReadableStream<Uint8Array>,
  threshold: number,
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const read: Uint8Array[] = [];
  let length = 0;
  let failure: { error: unknown } | undefined;
  try {
    while (length < threshold) {
      const { done, value } = await reader.read();
      if (done)
        return read.length === 1
          ? read[0]!
          : new Uint8Array(await new Blob(read as BlobPart[]).arrayBuffer());
      read.push(value);
      length += value.byteLength;
    }
  } catch (error) {
    failure = { error };
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const first = read.shift();
        if (first) return controller.enqueue(first);
        if (failure) return controller.error(failure.error);
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
