/**
 * Writing a fetch `Response` to a Node `ServerResponse`: from its parts for srvx's
 * `FastResponse`, the standard way for any other `Response`; back-pressure, HEAD, a reason
 * phrase on the status line, and `Content-Length: 0` for an empty body (not on HEAD).
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeError } from '../../_internal/log.js';
import { discardBody, refusedParts, sendableParts } from '../../_internal/outcome.js';
import { invalidPart, type ResponseParts } from '../../_internal/response-parts.js';
import { drained, NO_BODY_STATUS, pumpBody } from '../_shared/body.js';

/**
 * Sends `response` to `request` on `res`. Returns `undefined` when it is written at once (a
 * body of bytes or text, or none: the hot path makes no promise); else a promise that
 * resolves when the response is finished or the client is gone, and rejects when the response
 * body errors (the connection is destroyed first, so the client sees a truncated response
 * rather than a complete-looking one). A response with an invalid status line or header
 * becomes a plain 500 and one log line (see `sendableParts`; the fields are checked by Node's
 * `writeHead`, which refuses what `invalidPart` would, and also a value that is no string). A
 * HEAD request gets the headers only: the body is never read.
 */
export function writeResponse(
  res: ServerResponse,
  response: Response,
  request: Request,
  log: (line: string) => void,
): Promise<void> | undefined {
  // The fields are checked by writeHead, by the same rules as invalidPart's: once per response.
  return writeParts(res, sendableParts(response, request, log, false), request, log, true);
}

/** `refusable`: a head Node refuses becomes a plain 500 (once; the 500's own is not). */
function writeParts(
  res: ServerResponse,
  parts: ResponseParts,
  request: Request,
  log: (line: string) => void,
  refusable: boolean,
): Promise<void> | undefined {
  const head = request.method === 'HEAD';
  const { status, headers } = parts;
  let body = parts.body;
  // An empty body is `Content-Length: 0` — but not on HEAD, where it would claim GET's body is
  // empty (RFC 9110 §9.3.2, §8.6): a HEAD answered without a length says nothing of it.
  if (
    body == null &&
    !head &&
    !NO_BODY_STATUS.has(status) &&
    !hasHeader(headers, 'content-length')
  ) {
    headers.push('content-length', '0');
  }
  if (res.destroyed) {
    discardBody(body);
    return undefined;
  }
  try {
    res.writeHead(status, parts.statusText || STATUS_CODES[status] || '', headers);
  } catch (error) {
    if (refusable && !res.headersSent) {
      // Node refused a field name or value (a control character, a name that is no token, a
      // value that is no string): a plain 500 and one line saying which, as invalidPart says it.
      const problem = invalidPart(parts) ?? `Node refused its head (${describeError(error)})`;
      return writeParts(res, refusedParts(parts, problem, request, log), request, log, false);
    }
    discardBody(body);
    res.destroy();
    return Promise.reject(error);
  }
  if (head || NO_BODY_STATUS.has(status)) {
    discardBody(body);
    body = null;
  }
  if (body == null) {
    res.end();
    return undefined;
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    res.end(body);
    return undefined;
  }
  if (body instanceof DataView) {
    res.end(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    return undefined;
  }
  if (body instanceof ReadableStream) return pumpInto(body, res);
  return pipeline(body as Readable, res).catch((error: unknown) => {
    if (res.destroyed && !res.writableFinished && isPrematureClose(error)) return;
    throw error;
  });
}

/** Pumps a web stream into `res`; the client going away cancels the stream at once. */
async function pumpInto(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.once('close', onClose);
  try {
    await pumpBody(
      body,
      {
        write: (chunk) => res.write(chunk),
        drained: () => drained(res),
        gone: () => res.destroyed,
      },
      gone.signal,
    );
  } catch (error) {
    res.destroy(error instanceof Error ? error : undefined);
    throw error;
  } finally {
    res.off('close', onClose);
  }
  if (gone.signal.aborted || res.destroyed) return;
  await new Promise<void>((resolve) => res.end(resolve));
}

function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === lowerName) return true;
  }
  return false;
}

function isPrematureClose(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
