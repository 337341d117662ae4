/**
 * The HTTP gateway: serves any {@link Application} on Node's `node:http` through srvx's fast
 * `Request`/`Response` bridge, without touching the `Request`/`Response` globals.
 *
 * ```ts
 * import { serve } from 'mortar/node';
 * const server = await serve(app, { port: 8000 });
 * console.log(server.url); // http://127.0.0.1:8000/
 * ```
 *
 * What it guarantees: request and response bodies stream with back-pressure; a client that
 * disconnects aborts `request.signal`; a HEAD response never pumps its body (an endless stream
 * under HEAD is cancelled at once); every `Set-Cookie` header is kept; SIGINT/SIGTERM stop
 * accepting, let in-flight requests finish (bounded by `shutdownTimeout`) and exit 0.
 * A malformed request target or `Host` is a 400; a thrown `HTTPError` is its own response;
 * anything else thrown, or a return value that is not a `Response`, is a 500 and one log line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { NodeRequest } from 'srvx/node';
import type { Application, Environ } from '../../types.js';
import { listenError } from '../_shared/listen.js';
import { settle } from '../_shared/log.js';
import { asResponse, failureResponse } from '../_shared/outcome.js';
import { isValidHost, requestTargetPath } from '../_shared/request-target.js';
import { type ShutdownOptions, shutdownControl } from '../_shared/shutdown.js';
import { writeResponse } from './response-writer.js';

/** Options of {@link serve}. */
export interface ServeOptions extends ShutdownOptions {
  /** Interface to bind: loopback only by default; `'0.0.0.0'` for every IPv4. @default '127.0.0.1' */
  host?: string;
  /** TCP port; `0` picks a free port (read it from `server.url`). @default 8000 */
  port?: number;
  /** Print `mortar: listening on <url>` once listening. @default true */
  announce?: boolean;
}

/** A running HTTP gateway. */
export interface Server {
  /** The URL it answers on, with the real port: `http://127.0.0.1:8000/`. */
  readonly url: string;
  /** The underlying Node server, for what this interface does not cover. */
  readonly node: http.Server;
  /**
   * Stops accepting, lets in-flight requests finish (up to `shutdownTimeout` milliseconds),
   * then closes every connection. Resolves when the server is closed; calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Serves `app` over HTTP/1.1 on Node.
 *
 * @returns The running server, once it listens.
 * @throws Error `port 8000 on 127.0.0.1 is already in use` (code `EADDRINUSE`) and other
 *   listen errors, with the address in the message.
 */
export async function serve(app: Application, options: ServeOptions = {}): Promise<Server> {
  if (typeof app !== 'function') {
    throw new TypeError(`serve(): the application must be a function, got ${typeof app}`);
  }
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8000;
  const log = options.log ?? ((line: string) => console.error(line));
  const state = { draining: false };
  const server = http.createServer(requestListener(app, log, state));
  server.on('clientError', onClientError);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(listenError(error, `port ${port} on ${host}`));
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  if (options.announce ?? true) log(`mortar: listening on ${url}`);

  const close = shutdownControl(
    (shutdownTimeout) => {
      state.draining = true;
      return drain(server, shutdownTimeout, log);
    },
    { ...options, log },
  );
  if (options.signal?.aborted) await close();
  return { url, node: server, close };
}

/**
 * The `node:http` request listener: checks the request target and `Host` (400 for a malformed
 * one), runs the application, and writes what it answers (the outcome rule for what it throws).
 */
function requestListener(
  app: Application,
  log: (line: string) => void,
  state: { draining: boolean },
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const send = (res: http.ServerResponse, value: unknown, request: Request): void => {
    const response = asResponse(value, request, log);
    settle(
      writeResponse(res, response, request, log),
      log,
      `the response to ${request.method} ${request.url}`,
    );
  };
  const fail = (error: unknown, request: Request): Response => failureResponse(error, request, log);

  return (req, res) => {
    if (state.draining) res.shouldKeepAlive = false;
    const target = req.url ?? '/';
    const hostProblem = checkHost(req);
    if (hostProblem !== undefined) {
      badRequest(res, hostProblem);
      return;
    }
    if (target === '*') {
      res.writeHead(req.method === 'OPTIONS' ? 204 : 400, { 'content-length': '0' }).end();
      return;
    }
    const pathInfo = requestTargetPath(target);
    if (typeof pathInfo !== 'string') {
      badRequest(res, pathInfo.error);
      return;
    }
    const request = new NodeRequest({ req, res }) as Request;
    const environ: Environ = {
      scriptName: '',
      pathInfo,
      remoteAddress: req.socket.remoteAddress,
      gateway: 'http',
    };
    let result: Response | Promise<Response>;
    try {
      result = app(request, environ);
    } catch (error) {
      send(res, fail(error, request), request);
      return;
    }
    if (isThenable(result)) {
      settle(
        Promise.resolve(result).then(
          (response) => send(res, response, request),
          (error: unknown) => send(res, fail(error, request), request),
        ),
        log,
        `the response to ${request.method} ${request.url}`,
      );
    } else send(res, result, request);
  };
}

/**
 * What is wrong with the request's `Host` (RFC 9112 §3.2: two Host lines, or an invalid value,
 * is a 400), or `undefined`. Node keeps only the first of two
 * Host lines, so they are counted in the raw headers.
 */
function checkHost(req: http.IncomingMessage): string | undefined {
  const host = req.headers.host;
  // An HTTP/1.1 request without Host never gets here: Node answers it 400 (requireHostHeader).
  if (host === undefined) return undefined;
  if (!isValidHost(host)) return 'the Host header is not a valid host[:port]';
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  }
  return count > 1 ? 'the request has more than one Host header' : undefined;
}

/** A malformed request line or header block, as Node's parser saw it: 400 (431 too large). */
function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && !socket.destroyed) {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\n\r\n`);
  } else socket.destroy();
}

/**
 * Stops accepting, closes idle keep-alive connections as they become idle, and after
 * `timeout` milliseconds closes the rest; resolves when the server is closed.
 */
function drain(server: http.Server, timeout: number, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 25);
    const force = setTimeout(() => {
      log(`mortar: requests still running after ${timeout} ms; closing their connections`);
      server.closeAllConnections();
    }, timeout);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function badRequest(res: http.ServerResponse, reason: string): void {
  const body = `400 Bad Request\n\n${reason}\n`;
  res.shouldKeepAlive = false;
  res
    .writeHead(400, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
    })
    .end(body);
}

/** Whether an application's result is a promise (or any thenable), read without throwing. */
function isThenable(value: unknown): value is PromiseLike<Response> {
  try {
    return typeof (value as Partial<PromiseLike<unknown>> | null)?.then === 'function';
  } catch {
    return false;
  }
}
