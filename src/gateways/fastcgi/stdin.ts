/**
 * A FastCGI request's body: a stream fed by its STDIN records, never past `CONTENT_LENGTH`
 * (RFC 3875 §4.2), pausing the connection while the application does not read.
 */
import type { Exchange } from './exchange.js';

/** What a body needs of its connection: pausing reading for it, resuming, and a log. */
export interface BodyFlow {
  /** Pauses reading the connection for request `id` (its body queue is full). */
  hold(id: number): void;
  /** Lifts request `id`'s pause. */
  release(id: number): void;
  log(line: string): void;
}

/** The request body as a stream fed by STDIN records (made only for requests with one). */
export function bodyStream(exchange: Exchange, flow: BodyFlow): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        if (exchange.remaining === 0) controller.close();
        else exchange.stdin = controller;
      },
      pull: () => flow.release(exchange.id),
      cancel: () => {
        exchange.stdin = undefined;
        flow.release(exchange.id);
      },
    },
    { highWaterMark: 4 },
  );
}

/**
 * One STDIN record of a body still open: fed to the body up to `CONTENT_LENGTH`, which ends
 * it (what follows is dropped, with a log line); the empty record ends STDIN, and a body it
 * leaves short of its length errors.
 */
export function feedStdin(
  exchange: Exchange,
  stdin: ReadableStreamDefaultController<Uint8Array>,
  content: Buffer,
  flow: BodyFlow,
): void {
  const remaining = exchange.remaining;
  if (content.length === 0) {
    if (remaining !== undefined && remaining > 0) {
      const short = () =>
        new Error(`the request body ended ${remaining} bytes short of its CONTENT_LENGTH`);
      closeBody(exchange, short, flow);
    } else finishBody(exchange, stdin, flow);
    return;
  }
  let chunk = content;
  if (remaining !== undefined) {
    if (chunk.length > remaining) {
      flow.log(
        `mortar fastcgi: request ${exchange.id} sent STDIN past its CONTENT_LENGTH; ${content.length - remaining} bytes (and any later STDIN) dropped`,
      );
      chunk = chunk.subarray(0, remaining);
    }
    exchange.remaining = remaining - chunk.length;
  }
  stdin.enqueue(new Uint8Array(chunk));
  if (exchange.remaining === 0) finishBody(exchange, stdin, flow);
  else if ((stdin.desiredSize ?? 1) <= 0) flow.hold(exchange.id);
}

/** The body is complete: closed, and the connection flows again. */
function finishBody(
  exchange: Exchange,
  stdin: ReadableStreamDefaultController<Uint8Array>,
  flow: BodyFlow,
): void {
  stdin.close();
  exchange.stdin = undefined;
  // Whatever the body left queued, the connection carries other records (and requests) and
  // must flow again.
  flow.release(exchange.id);
}

/**
 * Ends the request body stream with `reason()` (the rest of its STDIN is dropped) and lifts
 * its pause: a request answered without reading a large body must not leave the connection
 * paused — on a kept-alive connection that hung every later request.
 */
export function closeBody(exchange: Exchange, reason: () => unknown, flow: BodyFlow): void {
  try {
    // The reason is made only for a body still open: an Error per request is not free.
    exchange.stdin?.error(reason());
  } catch {
    // already closed
  }
  exchange.stdin = undefined;
  flow.release(exchange.id);
}
