/**
 * WebSocket pass-through: proxy() mounted at /ws under urlmap, behind mortar's HTTP gateway,
 * in front of a real `ws` WebSocketServer; clients are `ws`'s, or raw sockets where a client
 * library would rewrite the handshake's fields.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { type RawData, WebSocketServer } from 'ws';
import { proxy as coreProxy } from '../../../middleware/proxy/index.js';
import { proxy } from '../../../middleware/proxy/node.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import type { Middleware } from '../../../src/index.js';
import { freePort, which } from '../../helpers/net.js';
import { selfSignedCertificate } from '../../helpers/tls.js';
import { front, lines, steady, until } from './fixture.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A `ws` server on its own node:http server: echoes each message (text as text, binary as
 * binary) and keeps each handshake's request and each close it got. `refuse` answers the
 * handshake with a raw response instead.
 */
async function wsUpstream(
  options: {
    refuse?: string;
    /** Answer no handshake: keep each socket, open, in `held`. */
    hold?: boolean;
    pick?: (offered: Set<string>) => string | false;
    tls?: { key: string; cert: string };
    headers?: string[];
  } = {},
) {
  const seen: Seen[] = [];
  const closes: { code: number; reason: string }[] = [];
  const sockets: WebSocket[] = [];
  const held: net.Socket[] = [];
  const server = options.tls ? https.createServer(options.tls) : http.createServer();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => options.pick?.(offered) ?? false,
  });
  wss.on('headers', (headers) => headers.push(...(options.headers ?? [])));
  server.on('upgrade', (req, socket, head) => {
    seen.push({ url: req.url!, headers: req.headers });
    if (options.hold) {
      held.push(socket as net.Socket);
      return;
    }
    if (options.refuse !== undefined) {
      socket.end(options.refuse);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data: RawData, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const ws of wss.clients) ws.terminate();
    for (const socket of held) socket.destroy();
    server.close();
    server.closeAllConnections();
    await once(server, 'close');
  });
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { origin, seen, closes, sockets, held };
}

/** A `ws` client to `url`: resolves once open, rejects with the status of a refusal. */
async function client(url: string, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.on('error', () => {});
  closers.push(async () => {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.terminate();
    await closed;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => reject(Object.assign(new Error(`${res.statusCode}`), { res, body })));
    });
    ws.once('error', reject);
  });
  return ws;
}

/** The next message `ws` gets, with whether it was binary. */
async function next(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}

/** A handshake written by hand on a raw socket; resolves with the response head. */
async function rawHandshake(url: string, target: string, extra: string): Promise<string> {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  closers.push(async () => {
    socket.destroy();
  });
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: front.test\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  let text = '';
  socket.setEncoding('latin1');
  for await (const chunk of socket) {
    text += chunk;
    if (text.includes('\r\n\r\n')) break;
  }
  return text;
}

const CHUNK = 256 * 1024;
const CHUNKS = 256; // 64 MiB, if nothing held them back

/**
 * Sends {@link CHUNKS} messages of {@link CHUNK} bytes on `ws`, each once the last has left
 * its socket; returns how many have left so far.
 */
function pump(ws: WebSocket): () => number {
  const chunk = Buffer.alloc(CHUNK);
  let sent = 0;
  const next = () => {
    if (sent < CHUNKS) {
      ws.send(chunk, () => {
        sent += 1;
        next();
      });
    }
  };
  next();
  return () => sent;
}

const wsURL = (server: { url: string }, path: string) => `ws${server.url.slice(4)}${path}`;

describe('proxy() passes WebSockets on', () => {
  it('echoes text and binary through urlmap and proxy', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(`${up.origin}/v1`) }));
    const ws = await client(wsURL(server, 'ws/echo'));
    ws.send('hello');
    const text = await next(ws);
    expect([text.data.toString(), text.isBinary]).toEqual(['hello', false]);
    ws.send(Buffer.from([0, 1, 2, 255]));
    const binary = await next(ws);
    expect([[...binary.data], binary.isBinary]).toEqual([[0, 1, 2, 255], true]);
    expect(up.seen[0]!.url).toBe('/v1/echo');
  });

  it('runs the chain first: an outer 401 is written and no upstream is dialled', async () => {
    const up = await wsUpstream();
    const auth: Middleware = (app) => (request, environ) =>
      request.headers.get('authorization') === 'Bearer ok'
        ? app(request, environ)
        : new Response('who are you?', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
    const server = await front(auth(urlmap({ '/ws': proxy(up.origin) })));
    const head = await rawHandshake(server.url, '/ws/', 'Connection: Upgrade\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 401 [\s\S]*\r\nwww-authenticate: Bearer\r\n/i);
    expect(up.seen).toEqual([]);
    const ws = new WebSocket(wsURL(server, 'ws/'), { headers: { authorization: 'Bearer ok' } });
    ws.on('error', () => {});
    closers.push(async () => ws.terminate());
    await once(ws, 'open');
    expect(up.seen[0]!.headers.authorization).toBe('Bearer ok');
  });

  it('sends base + path as sent + query, forwarding fields that Connection cannot strip', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(`${up.origin}/v1`) }));
    const head = await rawHandshake(
      server.url,
      '/ws/room/a%20b;p?x=1&y=%2F',
      'Connection: Upgrade, X-Forwarded-For, X-Secret\r\nX-Forwarded-For: 6.6.6.6\r\n' +
        'X-Secret: s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n',
    );
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    const { url, headers } = up.seen[0]!;
    expect(url).toBe('/v1/room/a%20b;p?x=1&y=%2F');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe('front.test');
    expect(headers['x-forwarded-prefix']).toBe('/ws');
    expect(headers.host).toBe(new URL(up.origin).host);
    expect(headers['x-secret']).toBeUndefined();
    expect(headers['sec-websocket-key']).not.toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('answers 400 for a dot segment, before any upstream is dialled', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(`${up.origin}/v1`) }));
    const head = await rawHandshake(server.url, '/ws/%2e%2E/admin', 'Connection: Upgrade\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(up.seen).toEqual([]);
  });

  it("offers the client's subprotocols and returns the upstream's choice, or none", async () => {
    const up = await wsUpstream({ pick: (offered) => (offered.has('b') ? 'b' : false) });
    const server = await front(urlmap({ '/ws': proxy(up.origin) }));
    const ws = await client(wsURL(server, 'ws/'), ['a', 'b']);
    expect(ws.protocol).toBe('b');
    expect(up.seen[0]!.headers['sec-websocket-protocol']).toBe('a, b');
    // ws's client fails a 101 without one of its subprotocols; a browser takes it.
    const none = await rawHandshake(
      server.url,
      '/ws/',
      'Connection: Upgrade\r\nSec-WebSocket-Protocol: a\r\n',
    );
    expect(none).toMatch(/^HTTP\/1\.1 101 /);
    expect(none.toLowerCase()).not.toContain('sec-websocket-protocol');
  });

  it('passes close codes and reasons both ways', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(up.origin) }));
    const first = await client(wsURL(server, 'ws/'));
    first.close(4001, 'bye');
    await until(() => up.closes.length === 1, 'the upstream saw the close');
    expect(up.closes[0]).toEqual({ code: 4001, reason: 'bye' });

    const second = await client(wsURL(server, 'ws/'));
    up.sockets[1]!.close(4002, 'later');
    const [code, reason] = (await once(second, 'close')) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([4002, 'later']);
  });

  it("sends the upstream 101's fields on the client's, a cookie's Path rewritten", async () => {
    const up = await wsUpstream({ headers: ['Set-Cookie: s=1; Path=/v1/chat', 'X-Room: 7'] });
    const server = await front(urlmap({ '/ws': proxy(`${up.origin}/v1`) }));
    const head = await rawHandshake(server.url, '/ws/chat', 'Connection: Upgrade\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toMatch(/\r\nset-cookie: s=1; Path=\/ws\/chat\r\n/i);
    expect(head).toMatch(/\r\nx-room: 7\r\n/i);
  });

  it("gives the client an upstream's refusal, with its fields and body, and no 101", async () => {
    const up = await wsUpstream({
      refuse:
        'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Why: no\r\nContent-Length: 7\r\n\r\nnot you',
    });
    const server = await front(urlmap({ '/ws': proxy(up.origin) }));
    const refused = await client(wsURL(server, 'ws/')).catch((error) => error);
    expect(refused.res.statusCode).toBe(403);
    expect(refused.res.headers['x-why']).toBe('no');
    expect(refused.body).toBe('not you');
  });

  it('answers 502 before any 101 when the upstream is down, and logs one line', async () => {
    const port = await freePort();
    const log = lines();
    const server = await front(
      urlmap({ '/ws': proxy(`http://127.0.0.1:${port}`, { log: log.log }) }),
    );
    const refused = await client(wsURL(server, 'ws/')).catch((error) => error);
    expect(refused.res.statusCode).toBe(502);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^mortar proxy: 502 for WebSocket ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/,
    );
  });

  it('answers 504 when the upstream gives no handshake within timeout.headers, and drops it', async () => {
    const up = await wsUpstream({ hold: true });
    const log = lines();
    const options = { log: log.log, timeout: { headers: 200 } };
    const server = await front(urlmap({ '/ws': proxy(up.origin, options) }));
    const refused = await client(wsURL(server, 'ws/')).catch((error) => error);
    expect(refused.res.statusCode).toBe(504);
    expect(log.lines).toEqual([
      expect.stringMatching(/^mortar proxy: 504 for WebSocket ws:.*no response head within 200 ms/),
    ]);
    // Read it: a paused socket never sees the other side end.
    const held = up.held[0]!.resume();
    if (!held.readableEnded) await once(held, 'end');
  });

  it('reads no more from the upstream while the client is not reading, and resumes', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(up.origin) }));
    const ws = await client(wsURL(server, 'ws/'));
    ws.pause();
    const sent = pump(up.sockets[0]!);
    // The client's and the proxy's socket buffers, and one high-water mark on each leg.
    expect((await steady(sent)) * CHUNK).toBeLessThan(32 * 1024 * 1024);
    let received = 0;
    ws.on('message', () => {
      received += 1;
    });
    ws.resume();
    await until(() => received === CHUNKS, 'every message reached the client');
  });

  it('reads no more from the client while the upstream is not reading, and resumes', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': proxy(up.origin) }));
    const ws = await client(wsURL(server, 'ws/'));
    up.sockets[0]!.pause();
    const sent = pump(ws);
    expect((await steady(sent)) * CHUNK).toBeLessThan(32 * 1024 * 1024);
    up.sockets[0]!.resume();
    await until(() => sent() === CHUNKS, 'every message left the client');
  });

  it('answers 501 on a proxy with no webSocketTransport (mortar/proxy on its own)', async () => {
    const up = await wsUpstream();
    const server = await front(urlmap({ '/ws': coreProxy(up.origin) }));
    const refused = await client(wsURL(server, 'ws/')).catch((error) => error);
    expect(refused.res.statusCode).toBe(501);
    expect(up.seen).toEqual([]);
  });
});

const openssl = which('openssl');
const runTls = openssl || process.env.CI ? describe : describe.skip;
if (!openssl && !process.env.CI) {
  console.warn('skipping the wss: proxy tests: openssl is not installed (apt-get install openssl)');
}

runTls('a wss: upstream (an https: target)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-proxy-wss-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused (502) with a self-signed certificate and no CA; joined with it', async () => {
    const files = selfSignedCertificate(dir);
    const tls = { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8') };
    const up = await wsUpstream({ tls });
    const log = lines();
    const strict = await front(urlmap({ '/ws': proxy(up.origin, { log: log.log }) }));
    const refused = await client(wsURL(strict, 'ws/')).catch((error) => error);
    expect(refused.res.statusCode).toBe(502);
    expect(log.lines[0]).toMatch(/^mortar proxy: 502 for WebSocket wss:.*self[- ]signed/i);
    const trusting = await front(urlmap({ '/ws': proxy(up.origin, { ca: tls.cert }) }));
    const ws = await client(wsURL(trusting, 'ws/'));
    ws.send('over tls');
    expect((await next(ws)).data.toString()).toBe('over tls');
  });
});
