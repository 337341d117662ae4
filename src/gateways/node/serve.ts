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
 * accepting, drain keep-alive connections without dropping a request (bounded by
 * `shutdownTimeout`) and exit 0. The application's lifespans (see `withLifespan` in `mortar`)
 * start before the port is bound and stop after the drain.
 * A malformed request target or `Host` is a 400; a thrown `HTTPError` is its own response;
 * anything else thrown, or a return value that is not a `Response`, is a 500 and one log line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { is, optionChecker } from '../../_internal/options.js';
import type { Application } from '../../types.js';
import { startGatewayLifespans, stopThenThrow } from '../_shared/lifespan.js';
import { listenError } from '../_shared/listen.js';
import {
  DEFAULT_SHUTDOWN_TIMEOUT,
  SHUTDOWN_CHECKS,
  type ShutdownOptions,
  shutdownControl,
} from '../_shared/shutdown.js';
import { limitGatewayBody } from './body-limit.js';
import { DrainingServer } from './drain.js';
import { requestListener } from './listener.js';
import { WEBSOCKET_CHECKS, WebSocketGateway, type WebSocketServeOptions } from './upgrade.js';

/** Options of {@link serve}. */
export interface ServeOptions extends ShutdownOptions {
  /** Interface to bind: loopback only by default; `'0.0.0.0'` for every IPv4. @default '127.0.0.1' */
  host?: string;
  /** TCP port; `0` picks a free port (read it from `server.url`). @default 8000 */
  port?: number;
  /** Print `mortar: listening on <url>` once listening. @default true */
  announce?: boolean;
  /**
   * The largest request body accepted, in bytes: a larger `Content-Length` gets 413 before
   * the application runs, a chunked body errors with an HTTPError 413 once past it (see
   * `mortar/body-limit`). `Infinity` turns the limit off.
   * @default 10485760 (10 MiB)
   */
  maxBodySize?: number;
  /**
   * WebSocket settings (see {@link WebSocketServeOptions}): message size limit, idle timeout,
   * permessage-deflate, a pub/sub backplane. A handshake is upgraded when the application
   * accepts it through `environ.websocket` (`webSocket()` from `mortar/websocket`).
   */
  websocket?: WebSocketServeOptions;
}

/** {@link ServeOptions.maxBodySize}'s default: 10 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024;

const checkOptions = optionChecker<ServeOptions>('serve', {
  ...SHUTDOWN_CHECKS,
  host: is.string,
  port: is.port,
  announce: is.boolean,
  maxBodySize: is.bytes(true),
  websocket: is.object,
});
const checkWebSocketOptions = optionChecker<WebSocketServeOptions>(
  'serve: websocket',
  WEBSOCKET_CHECKS,
);

/** A running HTTP gateway. */
export interface Server {
  /** The URL it answers on, with the real port: `http://127.0.0.1:8000/`. */
  readonly url: string;
  /** The underlying Node server, for what this interface does not cover. */
  readonly node: http.Server;
  /**
   * Stops accepting and drains without dropping a request (see `drain.ts`): a response not
   * yet started is sent with `Connection: close`, an idle keep-alive connection stays until
   * its next request (answered so) or the keep-alive timeout its client was told (5 s), and
   * whatever is open `shutdownTimeout` milliseconds later is closed. Resolves when the server
   * is closed; calling it again returns the same promise. In a test's teardown, where no
   * client will send again, `node.closeIdleConnections()` after it ends idle ones at once.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** Options of {@link Server.close}. */
export interface CloseOptions {
  /**
   * The server stops to be replaced (a reload, `mortar serve --workers`'s SIGHUP): open
   * WebSockets are closed with 1012 Service Restart, which tells clients to reconnect, rather
   * than 1001 Going Away (RFC 6455 §7.4.1; IANA's WebSocket close code registry).
   * @default false
   */
  restart?: boolean;
}

/**
 * Serves `app` over HTTP/1.1 on Node.
 *
 * @returns The running server, once it listens.
 * @throws ConfigError (a rejection) for an unknown option or a value of the wrong kind;
 *   Error `port 8000 on 127.0.0.1 is already in use` (code `EADDRINUSE`) and other listen
 *   errors, with the address in the message.
 */
export async function serve(app: Application, options: ServeOptions = {}): Promise<Server> {
  if (typeof app !== 'function') {
    throw new TypeError(`serve(): the application must be a function, got ${typeof app}`);
  }
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8000;
  const log = options.log ?? ((line: string) => console.error(line));
  const shutdownTimeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  if (options.websocket !== undefined) checkWebSocketOptions(options.websocket);
  const lifespans = await startGatewayLifespans(app, { ...options, shutdownTimeout, log });
  app = lifespans.app; // the application with the lifespans' state in every environ
  const server = new DrainingServer(shutdownTimeout, log);
  const websocket = new WebSocketGateway(options.websocket, log);
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  const listener = gatewayListener(app, maxBodySize, log, server, websocket);
  server.on('request', listener);
  server.on('upgrade', websocket.upgradeListener(listener));
  server.on('clientError', onClientError);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(listenError(error, `port ${port} on ${host}`));
    });
    server.listen(port, host, () => resolve());
  }).catch(stopThenThrow(lifespans));
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  if (options.announce ?? true) log(`mortar: listening on ${url}`);

  // However the drain begins — close(), a signal, or node:cluster closing a worker's server
  // on worker.disconnect() — the WebSockets are closed with it, within the same timeout.
  let goingAway = { code: 1001, reason: 'server shutting down' };
  let websocketsClosed: Promise<void> = Promise.resolve();
  server.once('draining', () => {
    websocketsClosed = websocket.close(goingAway.code, goingAway.reason, shutdownTimeout);
  });
  const shutdown = shutdownControl(
    async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([closed, websocketsClosed]); // set by close()'s 'draining'
    },
    { ...options, shutdownTimeout, log },
    lifespans.stop,
  );
  const close = (how: CloseOptions = {}): Promise<void> => {
    if (how.restart && !server.draining) goingAway = { code: 1012, reason: 'server restarting' };
    return shutdown();
  };
  if (options.signal?.aborted) await close();
  return { url, node: server, close };
}

/** The request listener of `app` behind the gateway's body limit (bytes; Infinity: none). */
function gatewayListener(
  app: Application,
  maxBodySize: number,
  log: (line: string) => void,
  server: DrainingServer,
  websocket: WebSocketGateway,
): ReturnType<typeof requestListener> {
  if (maxBodySize === Number.POSITIVE_INFINITY) {
    return requestListener(app, log, server, undefined, undefined, websocket);
  }
  const limited = limitGatewayBody(app, maxBodySize);
  return requestListener(limited, log, server, undefined, maxBodySize, websocket);
}

/** A malformed request line or header block, as Node's parser saw it: 400 (431 too large). */
function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && !socket.destroyed) {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\n\r\n`);
  } else socket.destroy();
}
