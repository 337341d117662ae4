/**
 * Writing a response body, shared by every gateway: the statuses that never carry one, and one
 * pump from a web stream into a sink that asks for back-pressure (a Node `ServerResponse`, a
 * socket, stdout, FastCGI's STDOUT records).
 */

/** Statuses whose responses never have a body (RFC 9110 §6.4.1, §15.3.6, §15.4.5). */
export const NO_BODY_STATUS: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** Where a pumped body goes. */
export interface BodySink {
  /** Writes one chunk; `false` when the sink asks the pump to wait for {@link drained}. */
  write(chunk: Uint8Array): boolean;
  /** Resolves once the sink takes more, or is gone. */
  drained(): Promise<void>;
  /** True once the peer is gone: the pump stops and cancels the body. */
  gone(): boolean;
}

/**
 * Copies `body` into `sink`, one chunk at a time, waiting whenever the sink asks. Stops (and
 * cancels the body) when the sink is gone or `stop` aborts. Resolves when the body ended or
 * the pump stopped; rejects with the body's error when reading it fails (the body is
 * cancelled first).
 */
export async function pumpBody(
  body: ReadableStream<Uint8Array>,
  sink: BodySink,
  stop?: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  stop?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        reader.cancel(error).catch(() => {});
        throw error;
      }
      if (chunk.done) return;
      if (sink.gone() || stop?.aborted) {
        cancel();
        return;
      }
      if (!sink.write(chunk.value)) await sink.drained();
    }
  } finally {
    stop?.removeEventListener('abort', cancel);
  }
}

/** Something that emits `drain` and `close`: a Node writable, socket or ServerResponse. */
interface Drainable {
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Resolves at the stream's next `drain` or `close`, leaving no listener behind. */
export function drained(stream: Drainable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
