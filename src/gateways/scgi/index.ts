/**
 * `mortar/scgi` — the SCGI gateway (the SCGI protocol: a netstring of meta-variables, the body, then a CGI
 * response on the same connection, which then closes).
 *
 * ```ts
 * import { serveSCGI } from 'mortar/scgi';
 * await serveSCGI(app, { path: '/run/app-scgi.sock', socketMode: 0o660 });
 * ```
 *
 * The same guarantees as the FastCGI gateway: the request body streams to the application
 * (the socket is paused while it does not read), the response body streams with
 * back-pressure, and a front end that drops the connection aborts `request.signal`.
 * @module mortar/scgi
 */
import net from 'node:net';
import { settle } from '../../_internal/log.js';
import { is, optionChecker, renamedOption } from '../../_internal/options.js';
import type { Application } from '../../types.js';
import { streamSink, writeCGIResponse } from '../_cgi/cgi-response.js';
import { answer, type MetaVariables, rebuildRequest } from '../_cgi/meta-variables.js';
import { startGatewayLifespans, stopThenThrow } from '../_shared/lifespan.js';
import {
  listen,
  SOCKET_LISTEN_CHECKS,
  type SocketListenOptions,
  type SocketServer,
} from '../_shared/listen.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, shutdownControl } from '../_shared/shutdown.js';
import { parseSCGIHeader } from './netstring.js';

export {
  clearStaleSocket,
  type SocketListenOptions,
  type SocketServer,
} from '../_shared/listen.js';
export type { ShutdownOptions } from '../_shared/shutdown.js';
export { parseSCGIHeader } from './netstring.js';

/** Options of {@link serveSCGI}. */
export interface SCGIOptions extends SocketListenOptions {
  /** Largest netstring of meta-variables accepted, in bytes. @default 65_536 */
  maxHeaderSize?: number;
  /**
   * Milliseconds a connection may stay silent while the header is awaited, or after the
   * response while the front end closes its side; then it is closed. @default 30_000
   */
  idleTimeoutMs?: number;
  /**
   * @deprecated The old name of {@link SCGIOptions.idleTimeoutMs} (milliseconds, where
   *   session's `idleTimeout` is seconds); it still works until 0.4.
   */
  idleTimeout?: number;
}

const checkOptions = optionChecker<SCGIOptions>('serveSCGI', {
  ...SOCKET_LISTEN_CHECKS,
  maxHeaderSize: is.positiveInteger,
  idleTimeoutMs: is.milliseconds(1),
  idleTimeout: is.milliseconds(1),
});

/**
 * Serves `app` over SCGI on a unix socket (`path`) or TCP (`host`, `port`; default 9000).
 * @throws ConfigError (a rejection) for an unknown option or a value of the wrong kind; Error
 *   when the socket cannot be listened on, naming it.
 */
export async function serveSCGI(
  app: Application,
  options: SCGIOptions = {},
): Promise<SocketServer> {
  checkOptions(options);
  const log = options.log ?? ((line: string) => console.error(line));
  const shutdownTimeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  const lifespans = await startGatewayLifespans(app, { ...options, shutdownTimeout, log });
  const limits = {
    maxHeaderSize: options.maxHeaderSize ?? 65_536,
    idleTimeout: renamedOption(options, 'idleTimeoutMs', 'idleTimeout', 'serveSCGI') ?? 30_000,
  };
  const sockets = new Set<net.Socket>();
  const busy = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
    busy.add(socket);
    settle(
      handle(socket, lifespans.app, log, limits).finally(() => busy.delete(socket)),
      log,
      'an SCGI request',
    );
  });
  const url = await listen(server, { port: 9000, ...options }, 'scgi').catch(
    stopThenThrow(lifespans),
  );
  if (options.announce ?? true) log(`mortar: listening on ${url}`);
  const close = shutdownControl(
    (timeout) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) if (!busy.has(socket)) socket.destroy();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, timeout).unref();
      }),
    { ...options, log },
    lifespans.stop,
  );
  return { url, node: server, close };
}

async function handle(
  socket: net.Socket,
  app: Application,
  log: (line: string) => void,
  limits: { maxHeaderSize: number; idleTimeout: number },
): Promise<void> {
  socket.on('error', () => {});
  // Silent too long before the header (or after the response): closed, so a peer that never
  // sends or never closes cannot hold a descriptor.
  socket.setTimeout(limits.idleTimeout, () => socket.destroy());
  const abort = new AbortController();
  socket.once('close', () => abort.abort());
  let parsed: { meta: MetaVariables; rest: Buffer } | undefined;
  let buffer = Buffer.alloc(0);
  try {
    while (!parsed) {
      const chunk = await nextChunk(socket);
      if (chunk === undefined) return;
      buffer = Buffer.concat([buffer, chunk]);
      parsed = parseSCGIHeader(buffer, limits.maxHeaderSize);
    }
  } catch (error) {
    log(`mortar scgi: ${(error as Error).message}; closing the connection`);
    socket.destroy();
    return;
  }
  socket.pause();
  socket.setTimeout(0); // the application may take its time
  const { meta, rest } = parsed;
  const body = bodyStream(socket, rest, Number(meta.CONTENT_LENGTH || 0));
  const rebuilt = rebuildRequest(meta, body, abort.signal, 'scgi');
  const { response, request } = await answer(app, rebuilt, log);
  try {
    await writeCGIResponse(streamSink(socket), response, request, log, abort.signal);
    // Whatever of the body the application left unread is read and dropped, so the front
    // end's FIN arrives and the connection closes (a paused socket never saw it: one
    // descriptor leaked per request with an unread body).
    body.cancel().catch(() => {});
    socket.removeAllListeners('data');
    socket.setTimeout(limits.idleTimeout, () => socket.destroy());
    socket.resume();
    socket.end();
  } catch (error) {
    log(`mortar scgi: the response body failed: ${(error as Error).message}`);
    socket.destroy();
  }
}

function nextChunk(socket: net.Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      cleanup();
      socket.pause();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

/** The next `length` bytes of the socket (starting with `first`), pulled as the reader asks. */
function bodyStream(socket: net.Socket, first: Buffer, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  let pending: Buffer | undefined = first.length ? first : undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining <= 0) {
        controller.close();
        return;
      }
      const chunk = pending ?? (await nextChunk(socket));
      pending = undefined;
      if (chunk === undefined) {
        controller.error(new Error('the connection closed before the request body ended'));
        return;
      }
      const part = chunk.subarray(0, remaining);
      remaining -= part.length;
      controller.enqueue(new Uint8Array(part));
      if (remaining <= 0) controller.close();
    },
  });
}
