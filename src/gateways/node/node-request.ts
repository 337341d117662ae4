/**
 * The Node request a handler gets: an `http.IncomingMessage` on the in-memory socket, its
 * method, target below the mount and headers, and the body pulled as the handler reads.
 */
import http from 'node:http';
import type { Environ } from '../../types.js';
import type { MemorySocket } from './memory-socket.js';

/** Node's `req.headers` for raw pairs: duplicates joined by `, `, `set-cookie` an array. */
function headersOf(raw: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const known = headers[name];
    if (name === 'set-cookie') headers[name] = [...((known as string[] | undefined) ?? []), value];
    else headers[name] = known === undefined ? value : `${known}, ${value}`;
  }
  return headers;
}

/** The Node request: method, target below the mount, headers, and the body pulled on read. */
export function incomingMessage(
  socket: MemorySocket,
  request: Request,
  environ: Environ,
  url: { host: string; search: string },
  gateway: http.IncomingMessage | undefined,
): http.IncomingMessage {
  const req = new http.IncomingMessage(socket as unknown as import('node:net').Socket);
  const below = `${environ.pathInfo || '/'}${url.search}`;
  req.method = request.method;
  req.url = below;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  if (gateway) {
    // The HTTP gateway's own message: its headers as Node parsed them, copied.
    req.rawHeaders = gateway.rawHeaders;
    req.headers = { ...gateway.headers };
  } else {
    const raw: string[] = [];
    for (const [name, value] of request.headers) raw.push(name, value);
    if (!request.headers.has('host')) raw.push('host', url.host);
    req.rawHeaders = raw;
    req.headers = headersOf(raw);
  }
  // Express's mounting: the prefix is the base, the full path the original.
  Object.assign(req, { originalUrl: `${environ.scriptName}${below}`, baseUrl: environ.scriptName });
  // IncomingMessage expects its parser to push (readingMore); here the body is pulled on read.
  (req as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore =
    false;
  const reader = request.body?.getReader();
  req._read = () => {
    if (!reader) {
      req.push(null);
      return;
    }
    reader.read().then(
      ({ done, value }) => {
        if (done) {
          req.complete = true;
          req.push(null);
        } else req.push(value);
      },
      (error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  };
  if (!reader) req.complete = true;
  return req;
}
