/**
 * What the CGI-family gateways (FastCGI, SCGI, CGI) share on the way out: a `Response` as a
 * CGI response (RFC 3875 §6), its head and its body.
 */
import { Readable } from 'node:stream';
import { sendableParts } from '../../_internal/outcome.js';
import { STATUS_TEXT } from '../../status.js';
import { type BodySink, drained, NO_BODY_STATUS, pumpBody } from '../_shared/body.js';

/**
 * A response's CGI head (RFC 3875 §6.2: `Status:` line and headers, ending in a blank line,
 * every `Set-Cookie` its own line) and its body. A FastResponse is read from its parts (no
 * native `Response` is built). A body other than bytes or text comes back as a web stream.
 * An invalid status line or header (a CR/LF would inject a header through the front end)
 * gives a plain 500 and one log line instead (see `sendableParts`).
 */
export function cgiResponse(
  response: Response,
  request: Request | undefined,
  log: (line: string) => void,
): {
  status: number;
  head: string;
  body: string | Uint8Array | ReadableStream<Uint8Array> | null;
} {
  const parts = sendableParts(response, request, log);
  const status = parts.status;
  let head = `Status: ${status} ${parts.statusText || STATUS_TEXT[status] || ''}\r\n`;
  for (let i = 0; i < parts.headers.length; i += 2) {
    head += `${parts.headers[i]}: ${parts.headers[i + 1]}\r\n`;
  }
  head += '\r\n';
  const body = parts.body;
  if (body == null || typeof body === 'string' || body instanceof Uint8Array) {
    return { status, head, body: body ?? null };
  }
  if (body instanceof DataView) {
    return { status, head, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  }
  if (body instanceof ReadableStream) return { status, head, body };
  return { status, head, body: Readable.toWeb(body as Readable) as ReadableStream<Uint8Array> };
}

/**
 * Writes the CGI response to `request` — head, then body — into `sink`: a stream socket or
 * stdout ({@link streamSink}), or FastCGI's STDOUT records. The one writer of the CGI family,
 * so the rule is kept once: never a body for HEAD or a bodiless status (such a body is
 * cancelled unread); a streamed body waits whenever the sink asks and stops when the sink is
 * gone or `stop` aborts (a function is called only when a body is streamed).
 *
 * @returns Resolves once the body is written (or the pump stopped); rejects with the body's
 *   error when reading it fails.
 */
export async function writeCGIResponse(
  sink: BodySink,
  response: Response,
  request: Request | undefined,
  log: (line: string) => void,
  stop?: AbortSignal | (() => AbortSignal),
): Promise<void> {
  const { status, head, body } = cgiResponse(response, request, log);
  sink.write(Buffer.from(head, 'latin1'));
  const skip = request?.method === 'HEAD' || NO_BODY_STATUS.has(status);
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
    if (body !== null && !skip) sink.write(typeof body === 'string' ? Buffer.from(body) : body);
    return;
  }
  if (skip) {
    await body.cancel().catch(() => {});
    return;
  }
  await pumpBody(body, sink, typeof stop === 'function' ? stop() : stop);
}

/** A stream socket or stdout as a CGI response's sink, waiting for its `drain`. */
export function streamSink(out: NodeJS.WritableStream & { destroyed?: boolean }): BodySink {
  return {
    write: (chunk) => out.write(chunk),
    drained: () => drained(out),
    gone: () => out.destroyed === true,
  };
}
