/**
 * The one `node:http` request listener, for `serve()` and for `toNodeHandler()` inside a Node
 * server: the request-target and Host checks (a 400 for a malformed one), the application
 * called with a srvx request, and what it answers written (the outcome rule for what it
 * throws).
 */
import type http from 'node:http';
import { NodeRequest } from 'srvx/node';
import { settle } from '../../_internal/log.js';
import { asResponse, httpErrorResponse, runApplication } from '../../_internal/outcome.js';
import { isValidHost, requestTargetPath } from '../../_internal/request-target.js';
import type { Application, Environ } from '../../types.js';
import { onUnixListener } from './peer.js';
import { writeResponse } from './response-writer.js';
import type { WebSocketGateway } from './upgrade.js';

/** How a mounted listener (Express or Connect middleware) passes on. */
export interface MountOptions {
  /** A 404 from the application calls `next()` instead of being sent. */
  fallthrough: boolean;
}

/**
 * The `node:http` request listener: checks the request target and `Host` (400 for a malformed
 * one), runs the application, and writes what it answers (the outcome rule for what it throws).
 *
 * @param maxBodySize - Bytes of request body srvx lets a read take before it fails (the
 *   gateway's limit; `app` is wrapped by `limitGatewayBody`); `undefined`, no limit.
 * @param websocket - The server's WebSocket side: a handshake gets `environ.websocket`, and
 *   the chain's accept is upgraded instead of written (see upgrade.ts).
 */
export function requestListener(
  app: Application,
  log: (line: string) => void,
  state: { draining: boolean },
  mount?: MountOptions,
  maxBodySize?: number,
  websocket?: WebSocketGateway,
): (req: http.IncomingMessage, res: http.ServerResponse, next?: (error?: unknown) => void) => void {
  const send = sender(log, state, websocket);

  return (req, res, next) => {
    if (state.draining) res.shouldKeepAlive = false;
    const pathInfo = checkRequest(req, res);
    if (pathInfo === undefined) return;
    // srvx counts the body against the limit as it is read (see body-limit.ts).
    const request = new NodeRequest({ req, res, maxRequestBodySize: maxBodySize }) as Request;
    let environ: Environ = {
      scriptName: mount ? mountPrefix(req) : '',
      pathInfo,
      remoteAddress: req.socket.remoteAddress,
      unixSocket: onUnixListener(req.socket),
      serverProtocol: req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`,
      gateway: 'http',
    };
    if (websocket !== undefined && req.headers.upgrade !== undefined) {
      const slot = websocket.slotFor(req, request);
      if (slot !== undefined) environ = { ...environ, websocket: slot };
    }
    if (mount && next) {
      settle(
        runMounted(app, request, environ, next, mount, log).then(
          (response) => response && send(res, response, request),
        ),
        log,
        () => `the response to ${request.method} ${request.url}`,
      );
      return;
    }
    const response = runApplication(app, request, environ, log);
    if (response instanceof Promise) {
      // runApplication's promise is a native one; should a log throw, it is still settled.
      settle(
        response.then((value) => send(res, value, request)),
        log,
        () => `the response to ${request.method} ${request.url}`,
      );
    } else send(res, response, request);
  };
}

/**
 * How the listener answers: an accepted WebSocket handshake is upgraded, any other response
 * written (with `Connection: close` once the server drains).
 */
function sender(
  log: (line: string) => void,
  state: { draining: boolean },
  websocket: WebSocketGateway | undefined,
): (res: http.ServerResponse, response: Response, request: Request) => void {
  return (res, response, request) => {
    // Only a request that came by the `upgrade` event can be taken: one property read for
    // the others.
    if (
      websocket !== undefined &&
      res.req.headers.upgrade !== undefined &&
      websocket.take(res.req, res, request, response)
    ) {
      return;
    }
    // A response started once the server drains closes its connection (see drain.ts).
    if (state.draining) res.shouldKeepAlive = false;
    let written: Promise<void> | undefined;
    try {
      written = writeResponse(res, response, request, log);
    } catch (error) {
      written = Promise.reject(error);
    }
    if (written) settle(written, log, () => `the response to ${request.method} ${request.url}`);
  };
}

/**
 * The request's path as pathInfo, or `undefined` once it was answered: a 400 for a malformed
 * target or Host, and `OPTIONS *` (204; any other method with `*`, 400).
 */
function checkRequest(req: http.IncomingMessage, res: http.ServerResponse): string | undefined {
  const hostProblem = checkHost(req);
  if (hostProblem !== undefined) {
    badRequest(res, hostProblem);
    return undefined;
  }
  const target = req.url ?? '/';
  if (target === '*') {
    res.writeHead(req.method === 'OPTIONS' ? 204 : 400, { 'content-length': '0' }).end();
    return undefined;
  }
  const pathInfo = requestTargetPath(target);
  if (typeof pathInfo === 'string') return pathInfo;
  badRequest(res, pathInfo.error);
  return undefined;
}

/**
 * The mount prefix an Express or Connect mount consumed: Express's `req.baseUrl`, else the
 * part of Connect's `req.originalUrl` before `req.url`.
 */
function mountPrefix(req: http.IncomingMessage): string {
  const { baseUrl, originalUrl } = req as { baseUrl?: string; originalUrl?: string };
  if (typeof baseUrl === 'string') return baseUrl.replace(/\/$/, '');
  if (typeof originalUrl !== 'string') return '';
  const path = (value: string) => value.split('?')[0]!;
  const whole = path(originalUrl);
  const rest = path(req.url ?? '/');
  return whole.endsWith(rest) ? whole.slice(0, whole.length - rest.length).replace(/\/$/, '') : '';
}

/**
 * Runs the application as middleware: a thrown HTTPError is its response, any other error
 * goes to `next(error)` (Express's error handlers), and with `fallthrough` a 404 goes to
 * `next()`. Resolves with the response to send, or `undefined` when `next` took over.
 */
async function runMounted(
  app: Application,
  request: Request,
  environ: Environ,
  next: (error?: unknown) => void,
  mount: MountOptions,
  log: (line: string) => void,
): Promise<Response | undefined> {
  let response: Response;
  try {
    response = asResponse(await app(request, environ), request, log);
  } catch (error) {
    const answer = httpErrorResponse(error, request);
    if (answer === undefined) next(error);
    return answer;
  }
  if (mount.fallthrough && response.status === 404) {
    await response.body?.cancel().catch(() => {});
    next();
    return undefined;
  }
  return response;
}

/** The last Host found valid: a server sees the same one request after request. */
let lastValidHost = '';

/**
 * What is wrong with the request's `Host` (RFC 9112 §3.2: two Host lines, or an invalid value,
 * is a 400), or `undefined`. Node keeps only the first of two
 * Host lines, so they are counted in the raw headers.
 */
function checkHost(req: http.IncomingMessage): string | undefined {
  const host = req.headers.host;
  // An HTTP/1.1 request without Host never gets here: Node answers it 400 (requireHostHeader).
  if (host === undefined) return undefined;
  if (host !== lastValidHost) {
    if (!isValidHost(host)) return 'the Host header is not a valid host[:port]';
    lastValidHost = host;
  }
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  }
  return count > 1 ? 'the request has more than one Host header' : undefined;
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
