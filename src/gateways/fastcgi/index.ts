/**
 * `mortar/fastcgi` — the FastCGI gateway: the responder role of the FastCGI 1.0 specification, so any
 * `Application` runs behind nginx, lighttpd or Apache (mod_proxy_fcgi).
 *
 * ```ts
 * import { serveFastCGI } from 'mortar/fastcgi';
 * await serveFastCGI(app, { path: '/run/app.sock', socketMode: 0o660 });   // or { host, port }
 * ```
 *
 * It keeps a connection open when the front end asks (FCGI_KEEP_CONN) and serves several
 * requests on one connection at once (multiplexing); answers FCGI_GET_VALUES; aborts
 * `request.signal` on FCGI_ABORT_REQUEST or when the front end drops the connection; streams
 * both bodies (stdin is paused while the application does not read; stdout waits for
 * `drain`); never sends a stray empty stderr record or a `Connection` header.
 * @module mortar/fastcgi
 */

import net from 'node:net';
import { is, optionChecker } from '../../_internal/options.js';
import type { Application } from '../../types.js';
import { startGatewayLifespans, stopThenThrow } from '../_shared/lifespan.js';
import {
  listen,
  SOCKET_LISTEN_CHECKS,
  type SocketListenOptions,
  type SocketServer,
} from '../_shared/listen.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, shutdownControl } from '../_shared/shutdown.js';
import { FastCGIConnection } from './connection.js';
import type { FastCGISettings } from './exchange.js';

export {
  clearStaleSocket,
  type SocketListenOptions,
  type SocketServer,
} from '../_shared/listen.js';
export type { ShutdownOptions } from '../_shared/shutdown.js';

/** Options of {@link serveFastCGI}. */
export interface FastCGIOptions extends SocketListenOptions {
  /** FCGI_MAX_CONNS: announced to the front end, and connections beyond it refused. @default 1024 */
  maxConnections?: number;
  /**
   * FCGI_MAX_REQS: announced to the front end, and requests beyond it running at once are
   * refused with FCGI_OVERLOADED. @default 16384
   */
  maxRequests?: number;
  /**
   * Largest FCGI_PARAMS (the meta-variables: request line and headers) of one request, in
   * bytes; a larger one is answered 431 Request Header Fields Too Large. @default 65_536
   */
  maxParamsSize?: number;
}

const checkOptions = optionChecker<FastCGIOptions>('serveFastCGI', {
  ...SOCKET_LISTEN_CHECKS,
  maxConnections: is.positiveInteger,
  maxRequests: is.positiveInteger,
  maxParamsSize: is.positiveInteger,
});

/**
 * Serves `app` over FastCGI on a unix socket (`path`) or TCP (`host`, `port`).
 *
 * @returns The running server, once it listens.
 * @throws ConfigError (a rejection) for an unknown option or a value of the wrong kind; Error
 *   when the socket cannot be listened on (in use, no permission), naming it.
 */
export async function serveFastCGI(
  app: Application,
  options: FastCGIOptions = {},
): Promise<SocketServer> {
  checkOptions(options);
  const log = options.log ?? ((line: string) => console.error(line));
  const shutdownTimeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  const lifespans = await startGatewayLifespans(app, { ...options, shutdownTimeout, log });
  const maxConnections = options.maxConnections ?? 1024;
  const maxRequests = options.maxRequests ?? 16_384;
  const connections = new Set<FastCGIConnection>();
  let draining = false;
  const settings: FastCGISettings = {
    app: lifespans.app,
    log,
    values: {
      FCGI_MAX_CONNS: String(maxConnections),
      FCGI_MAX_REQS: String(maxRequests),
      FCGI_MPXS_CONNS: '1',
    },
    draining: () => draining,
    maxParamsSize: options.maxParamsSize ?? 65_536,
    maxRequests,
    running: { count: 0 },
  };
  const server = net.createServer((socket) => {
    const connection = new FastCGIConnection(socket, settings);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.maxConnections = maxConnections;
  const url = await listen(server, options, 'fastcgi').catch(stopThenThrow(lifespans));
  if (options.announce ?? true) log(`mortar: listening on ${url}`);
  const close = shutdownControl(
    (timeout) =>
      new Promise<void>((resolve) => {
        draining = true;
        server.close(() => resolve());
        for (const connection of connections) connection.closeWhenIdle();
        setTimeout(() => {
          for (const connection of connections) connection.destroy();
        }, timeout).unref();
      }),
    { ...options, log },
    lifespans.stop,
  );
  return { url, node: server, close };
}
