/**
 * Real servers for the proxy tests: upstreams (a bare node:http server, a raw TCP one that
 * writes exact bytes), mortar's HTTP gateway in front, and clients that speak raw HTTP, so
 * nothing between the test and the proxy normalises a path or a header.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach } from 'vitest';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import type { Application } from '../../../src/index.js';
import { closeNow } from '../../helpers/net.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** mortar's HTTP gateway serving `app` on a free port (no body limit: 100 MB uploads pass). */
export async function front(app: Application): Promise<Server> {
  const server = await serve(app, {
    port: 0,
    announce: false,
    handleSignals: false,
    maxBodySize: Number.POSITIVE_INFINITY,
    log: () => {},
  });
  cleanups.push(() => closeNow(server));
  return server;
}

/** A bare node:http upstream; resolves with its `http://127.0.0.1:PORT` origin. */
export async function upstream(
  handler: http.RequestListener,
): Promise<{ origin: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

/** A raw TCP upstream: `onSocket` gets each connection and the bytes it has read so far. */
export async function rawUpstream(onSocket: (socket: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/**
 * Sends `text` on a new connection to `url`'s port (not half-closed: a server may close a
 * half-closed connection before it answers); resolves with all it reads until the server
 * closes it (the last request should say `Connection: close`).
 */
export function raw(url: string, text: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(text);
  });
}

/** A GET over node:http (no fetch: it would add headers of its own). */
export function get(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A log that keeps its lines. */
export function lines(): { log: (line: string) => void; lines: string[] } {
  const kept: string[] = [];
  return { log: (line) => kept.push(line), lines: kept };
}

/** Resolves once `check()` is true (looking every 10 ms, for at most 10 s). */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/**
 * Waits until `count()` has not changed over five looks 20 ms apart (at most 10 s) and
 * returns it: how far a stream got before back-pressure stopped it.
 */
export async function steady(count: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 500 && same < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = count();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}
