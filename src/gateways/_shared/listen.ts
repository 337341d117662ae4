/**
 * Listening, shared by every socket gateway: one clear error for a failed listen, stale unix
 * socket files cleared, socket modes applied, and the shapes of a socket gateway's options and
 * running server.
 */
import cluster from 'node:cluster';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { is, type OptionChecks } from '../../_internal/options.js';
import { SHUTDOWN_CHECKS, type ShutdownOptions } from './shutdown.js';

/** Where and how a socket gateway (FastCGI, SCGI) listens. */
export interface SocketListenOptions extends ShutdownOptions {
  /** A unix socket path (preferred behind a front end on the same host). @default undefined (TCP) */
  path?: string;
  /** File mode of the unix socket, e.g. `0o660` so nginx's worker group can connect. */
  socketMode?: number;
  /**
   * TCP interface when no path is given.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * TCP port when no path is given; `0` picks a free one.
   * @default 9000
   */
  port?: number;
  /** Log `mortar: listening on <url>` once listening, as `serve` does. @default true */
  announce?: boolean;
}

/** The value checks of {@link SocketListenOptions}, which FastCGI's and SCGI's tables spread. */
export const SOCKET_LISTEN_CHECKS: OptionChecks<SocketListenOptions> = {
  ...SHUTDOWN_CHECKS,
  path: is.string,
  socketMode: is.integer(0),
  host: is.string,
  port: is.port,
  announce: is.boolean,
};

/** A running socket gateway (FastCGI or SCGI). */
export interface SocketServer {
  /** `fastcgi://127.0.0.1:9000`, `scgi://…`, or `unix:/path/to.sock`. */
  readonly url: string;
  readonly node: net.Server;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * A listen failure as one clear line naming the address (`port 8000 on 127.0.0.1 is already in
 * use`), keeping the system error as its cause and its code.
 */
export function listenError(error: NodeJS.ErrnoException, where: string): Error {
  const message =
    error.code === 'EADDRINUSE'
      ? `${where} is already in use`
      : error.code === 'EACCES'
        ? `no permission to listen on ${where}`
        : `cannot listen on ${where}: ${error.message}`;
  return Object.assign(new Error(message, { cause: error }), { code: error.code });
}

/**
 * Removes a unix socket file that no process listens on any more (left by a crash); leaves
 * anything that is not a socket alone. `serveFastCGI` and `serveSCGI` do this before they
 * listen on a path, except in a cluster worker, whose primary owns the socket: a primary that
 * forks workers serving on a path calls it first (as `mortar serve --workers` does).
 *
 * @param path - The socket file's path.
 * @throws Error (code EADDRINUSE) when a process still listens on it.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`${path} is already in use`), { code: 'EADDRINUSE' });
  unlinkSync(path);
}

/**
 * Listens on a unix socket (removing a stale socket file first, then applying the mode) or
 * on TCP.
 *
 * @param scheme - Names the URL of a TCP listener (`fastcgi`, `scgi`).
 * @returns `unix:/path` or `scheme://host:port`.
 * @throws Error from {@link listenError} when the socket cannot be listened on.
 */
export async function listen(
  server: net.Server,
  options: SocketListenOptions,
  scheme: string,
): Promise<string> {
  const where = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port ?? 9000}`;
  // Cluster workers share the primary's socket; the primary cleared a stale one.
  if (options.path && !cluster.isWorker) await clearStaleSocket(options.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, where)));
    if (options.path) server.listen(options.path, resolve);
    else server.listen(options.port ?? 9000, options.host ?? '127.0.0.1', resolve);
  });
  if (options.path) {
    if (options.socketMode !== undefined) chmodSync(options.path, options.socketMode);
    return `unix:${options.path}`;
  }
  const address = server.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}
