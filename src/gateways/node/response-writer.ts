/**
 * Writing a fetch `Response` to a Node `ServerResponse`: srvx's fast path for its own
 * `FastResponse`, the standard one for any other `Response`; back-pressure, HEAD, a reason
 * phrase on the status line, and `Content-Length: 0` for an empty body.
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

type PreparedBody = string | Uint8Array | DataView | ReadableStream | Readable | null | undefined;
interface Prepared {
  status: number;
  statusText: string;
  headers: string[];
  body: PreparedBody;
}
type FastResponseLike = Response & { _toNodeResponse?: () => Prepared };

const NO_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * Sends `response` on `res`. Resolves when the response is finished or the client is gone;
 * rejects when the response body errors (the connection is destroyed first, so the client
 * sees a truncated response rather than a complete-looking one).
 */
export function writeResponse(
  res: ServerResponse,
  response: Response,
  head: boolean,
): Promise<void> {
  const prepared = prepare(response as FastResponseLike);
  const { status, headers } = prepared;
  let body = prepared.body;
  if (body == null && !NO_BODY_STATUS.has(status) && !hasHeader(headers, 'content-length')) {
    headers.push('content-length', '0');
  }
  if (res.destroyed) {
    discard(body);
    return Promise.resolve();
  }
  res.writeHead(status, prepared.statusText || STATUS_CODES[status] || '', headers);
  if (head || NO_BODY_STATUS.has(status)) {
    discard(body);
    body = null;
  }
  if (body == null) return end(res);
  if (typeof body === 'string' || body instanceof Uint8Array) {
    res.end(body);
    return Promise.resolve();
  }
  if (body instanceof DataView) {
    res.end(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    return Promise.resolve();
  }
  if (body instanceof ReadableStream) return pump(body, res);
  return pipeline(body, res).catch((error: unknown) => {
    if (res.destroyed && !res.writableFinished && isPrematureClose(error)) return;
    throw error;
  });
}

function prepare(response: FastResponseLike): Prepared {
  if (typeof response._toNodeResponse === 'function') {
    const prepared = response._toNodeResponse();
    return prepared.body instanceof ArrayBuffer
      ? { ...prepared, body: new Uint8Array(prepared.body) }
      : prepared;
  }
  const headers: string[] = [];
  for (const [name, value] of response.headers) headers.push(name, value);
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    body: response.body,
  };
}

function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === lowerName) return true;
  }
  return false;
}

function end(res: ServerResponse): Promise<void> {
  res.end();
  return Promise.resolve();
}

/** Never pumps: an endless stream must not keep a HEAD request (or a gone client) alive. */
function discard(body: PreparedBody): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else if (body && typeof (body as Readable).destroy === 'function') (body as Readable).destroy();
}

/** Copies a web stream to `res`, one chunk at a time, waiting for `drain` when told to. */
function pump(stream: ReadableStream, res: ServerResponse): Promise<void> {
  const reader = stream.getReader();
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const onClose = (): void => {
      if (finished) return;
      finished = true;
      reader.cancel().catch(() => {});
      resolve();
    };
    res.once('close', onClose);
    const fail = (error: unknown): void => {
      if (finished) return;
      finished = true;
      res.off('close', onClose);
      reader.cancel(error).catch(() => {});
      res.destroy(error instanceof Error ? error : undefined);
      reject(error);
    };
    const next = (): void => {
      reader.read().then(({ done, value }) => {
        if (finished) return;
        if (done) {
          finished = true;
          res.off('close', onClose);
          res.end(resolve);
        } else if (res.write(value)) next();
        else res.once('drain', next);
      }, fail);
    };
    next();
  });
}

function isPrematureClose(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
