/**
 * What the CGI-family gateways (FastCGI, SCGI, CGI) share on the way out: a `Response` as a
 * CGI response (RFC 3875 §6), its head and its body.
 */
import { Readable } from 'node:stream';
import { STATUS_TEXT } from '../../response.js';
import { drained, NO_BODY_STATUS, pumpBody } from './body.js';
import { responseParts } from './srvx.js';

/**
 * A response's CGI head (RFC 3875 §6.2: `Status:` line and headers, ending in a blank line,
 * every `Set-Cookie` its own line) and its body. A FastResponse is read from its parts (no
 * native `Response` is built). A body other than bytes or text comes back as a web stream.
 */
export function cgiResponse(response: Response): {
  head: string;
  body: string | Uint8Array | ReadableStream<Uint8Array> | null;
} {
  const parts = responseParts(response);
  const status = parts.status;
  let head = `Status: ${status} ${parts.statusText || STATUS_TEXT[status] || ''}\r\n`;
  for (let i = 0; i < parts.headers.length; i += 2) {
    head += `${parts.headers[i]}: ${parts.headers[i + 1]}\r\n`;
  }
  head += '\r\n';
  const body = parts.body;
  if (body == null || typeof body === 'string' || body instanceof Uint8Array) {
    return { head, body: body ?? null };
  }
  if (body instanceof DataView) {
    return { head, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  }
  if (body instanceof ReadableStream) return { head, body };
  return { head, body: Readable.toWeb(body as Readable) as ReadableStream<Uint8Array> };
}

/**
 * Writes a CGI response (head, then body) to a stream socket or stdout, waiting for `drain`;
 * never pumps a body for HEAD or a bodiless status; stops when `signal` aborts.
 *
 * @param head - The request was HEAD: the body is cancelled unread.
 */
export async function writeCGIResponse(
  out: NodeJS.WritableStream & { destroyed?: boolean },
  response: Response,
  head: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const { head: text, body } = cgiResponse(response);
  out.write(text, 'latin1');
  const skip = head || NO_BODY_STATUS.has(response.status);
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
    if (body !== null && !skip) out.write(body);
    return;
  }
  if (skip) {
    await body.cancel().catch(() => {});
    return;
  }
  await pumpBody(
    body,
    {
      write: (chunk) => out.write(chunk),
      drained: () => drained(out),
      gone: () => out.destroyed === true,
    },
    signal,
  );
}
