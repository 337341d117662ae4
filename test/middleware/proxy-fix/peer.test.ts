/**
 * Who the direct peer is, over real sockets: a TCP client that resets its connection right
 * after its request has no address by the time it is read, and must not pass for a Unix-socket
 * proxy; a client on a Unix-socket listener is one.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accessLog, getRequestId } from '../../../middleware/access-log/index.js';
import { getProxyOriginal, proxyFix } from '../../../middleware/proxy-fix/index.js';
import { compose } from '../../../src/compose.js';
import { serve, toNodeHandler } from '../../../src/gateways/node/index.js';
import type { Application } from '../../../src/types.js';
import { closeNow } from '../../helpers/net.js';

interface Seen {
  remoteAddress: string | undefined;
  peer: string | undefined;
  unixSocket: boolean | undefined;
  scheme: string;
  requestId: string;
}

/**
 * proxyFix and accessLog around an app that records what it was told; both trust
 * `trustedProxies` (their default, loopback and Unix sockets, unless given).
 */
function recording(trustedProxies?: string[]): { app: Application; seen: Seen[] } {
  const seen: Seen[] = [];
  const inner: Application = (request, environ) => {
    seen.push({
      remoteAddress: environ.remoteAddress,
      peer: getProxyOriginal(environ).remoteAddress,
      unixSocket: environ.unixSocket,
      scheme: new URL(request.url).protocol,
      requestId: getRequestId(environ),
    });
    return new Response('ok');
  };
  const app = compose(
    proxyFix(trustedProxies ? { trustedProxies } : {}),
    accessLog(trustedProxies ? { write: () => {}, trustedProxies } : { write: () => {} }),
  )(inner);
  return { app, seen };
}

const FORGED =
  'GET /side-effect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 6.6.6.6\r\n' +
  'X-Forwarded-Proto: https\r\nX-Request-Id: chosen-by-the-client\r\n\r\n';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('the direct peer is what the listener says', () => {
  it('a TCP client that resets right after its request is never trusted as a proxy', async () => {
    // The proxy is elsewhere (or on a Unix socket): this loopback client stands for the public.
    const { app, seen } = recording(['192.0.2.1', 'unix']);
    const server = await serve(app, { port: 0, announce: false, handleSignals: false });
    cleanups.push(() => closeNow(server));
    const closed: Promise<void>[] = [];
    server.node.on('connection', (socket: net.Socket) => {
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    });
    const { port } = server.node.address() as net.AddressInfo;
    // Until the application has run 40 times for a peer with no address (the case at stake),
    // at most 400 connections: each writes the forged request and resets at once.
    for (let i = 0; i < 400; i++) {
      if (seen.filter((s) => s.peer === undefined).length >= 40) break;
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(FORGED, () => {
            socket.resetAndDestroy();
            resolve();
          });
        });
        socket.on('error', reject);
      });
      // The server has read and run (or dropped) the request once its socket closed.
      while (closed.length <= i) await new Promise((resolve) => setImmediate(resolve));
      await closed[i];
    }
    const addressless = seen.filter((s) => s.peer === undefined);
    expect(addressless.length).toBeGreaterThanOrEqual(40);
    for (const s of seen) {
      expect(s.remoteAddress).not.toBe('6.6.6.6');
      expect(s.scheme).toBe('http:');
      expect(s.requestId).not.toBe('chosen-by-the-client');
      expect(s.unixSocket).toBe(false);
    }
  });

  it('a client on a Unix-socket listener is trusted by default', async () => {
    const { app, seen } = recording();
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-peer-'));
    const socketPath = path.join(dir, 'app.sock');
    const server = http.createServer(toNodeHandler(app));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(async () => {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(
          {
            socketPath,
            path: '/',
            headers: {
              'x-forwarded-for': '203.0.113.7',
              'x-forwarded-proto': 'https',
              'x-request-id': 'from-the-proxy',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk) => {
              text += chunk;
            });
            res.on('end', () => resolve(text));
          },
        )
        .on('error', reject);
    });
    expect(body).toBe('ok');
    expect(seen).toEqual([
      {
        remoteAddress: '203.0.113.7',
        peer: undefined,
        unixSocket: false,
        scheme: 'https:',
        requestId: 'from-the-proxy',
      },
    ]);
  });
});
