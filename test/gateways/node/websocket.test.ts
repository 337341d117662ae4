/**
 * WebSockets on the HTTP gateway, over real loopback sockets: the handshake goes through the
 * chain, the gateway upgrades only on the chain's accept, and everything else is written as an
 * ordinary response on the raw socket.
 */
import net from 'node:net';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { webSocket } from '../../../middleware/websocket/index.js';
import { type ServeOptions, type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, compose, type Middleware, withHeaders } from '../../../src/index.js';
import { closeNow } from '../../helpers/net.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

async function start(app: Application, options: ServeOptions = {}): Promise<string> {
  const server = await serve(app, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: () => {},
    shutdownTimeout: 2000,
    ...options,
  });
  servers.push(server);
  return server.url;
}

/** A connected client that queues what it receives. */
async function connect(url: string, protocols?: string[]) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
  ws.binaryType = 'arraybuffer';
  const queue: unknown[] = [];
  const waiters: ((value: unknown) => void)[] = [];
  ws.onmessage = (event) => {
    const waiter = waiters.shift();
    if (waiter) waiter(event.data);
    else queue.push(event.data);
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`the handshake to ${url} failed`));
  });
  const next = () =>
    queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve));
  return { ws, next, closed };
}

/**
 * Sends raw bytes; resolves with what came back until the server closed (or 2 s passed), or
 * with a 101's head.
 */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 2000);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      // A 101's connection stays open: its head is the answer.
      if (data.startsWith('HTTP/1.1 101 ') && data.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const HANDSHAKE = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

const echo = webSocket({
  message: (peer, message) => {
    peer.send(typeof message.rawData === 'string' ? message.text() : message.uint8Array());
  },
});

describe('serve() and WebSockets', () => {
  it('echoes text and binary through a urlmap mount, whose socket app sees its scriptName', async () => {
    const mounted = webSocket((_request, environ) => ({
      open: (peer) => peer.send(`${environ.scriptName}|${environ.pathInfo}`),
      message: (peer, message) => {
        peer.send(typeof message.rawData === 'string' ? message.text() : message.uint8Array());
      },
    }));
    const url = await start(urlmap({ '/ws': mounted }));
    const client = await connect(`${url}ws/room`);
    expect(await client.next()).toBe('/ws|/room');
    client.ws.send('héllo');
    expect(await client.next()).toBe('héllo');
    client.ws.send(new Uint8Array([0, 1, 2, 255]));
    expect(new Uint8Array((await client.next()) as ArrayBuffer)).toEqual(
      new Uint8Array([0, 1, 2, 255]),
    );
    client.ws.close(1000, 'done');
    expect(await client.closed).toEqual({ code: 1000, reason: 'done' });
    // `/wsx` is not under `/ws`: urlmap's 404, written as an ordinary response.
    const answer = await raw(url, HANDSHAKE('/wsx'));
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).not.toMatch(/101/);
  });

  it('answers a plain GET to a socket endpoint 426 with Upgrade: websocket', async () => {
    const url = await start(echo);
    const response = await fetch(url);
    expect(response.status).toBe(426);
    expect(response.headers.get('upgrade')).toBe('websocket');
  });

  it('sends the headers the chain added on the 101, and never its marker', async () => {
    const stamp: Middleware = (app) => async (request, environ) =>
      withHeaders(await app(request, environ), { 'x-request-id': 'r-1', 'set-cookie': 'sid=1' });
    const url = await start(compose(stamp)(echo));
    const answer = await raw(url, HANDSHAKE('/'));
    const head = answer.slice(0, answer.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toMatch(/^http\/1\.1 101 /);
    expect(head).toContain('\r\nx-request-id: r-1');
    expect(head).toContain('\r\nset-cookie: sid=1');
    expect(head).not.toContain('x-mortar-websocket-accept');
    expect(head).not.toContain('content-type');
  });

  it('writes a middleware that refuses the handshake as an ordinary response, and upgrades nothing', async () => {
    let opened = false;
    const guard: Middleware = (app) => (request, environ) =>
      request.headers.get('authorization')
        ? app(request, environ)
        : new Response('who are you?', {
            status: 401,
            headers: { 'www-authenticate': 'Bearer' },
          });
    const url = await start(
      compose(guard)(
        webSocket({
          open: () => {
            opened = true;
          },
        }),
      ),
    );
    const answer = await raw(url, HANDSHAKE('/'));
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('www-authenticate: bearer');
    expect(answer).toContain('\r\n\r\nc\r\nwho are you?\r\n0\r\n\r\n'); // chunked, then closed
    expect(opened).toBe(false);
  });

  it('chooses the subprotocol the endpoint prefers among those offered', async () => {
    const url = await start(webSocket({}, { protocols: ['b', 'c'] }));
    const client = await connect(url, ['a', 'b']);
    expect(client.ws.protocol).toBe('b');
    client.ws.close();
  });

  it('closes with 1009 a message over the endpoint’s maxPayload, and over the gateway’s', async () => {
    const url = await start(webSocket({ message: (peer) => peer.send('ok') }, { maxPayload: 8 }));
    const small = await connect(url);
    small.ws.send('12345678');
    expect(await small.next()).toBe('ok');
    small.ws.send('123456789');
    expect((await small.closed).code).toBe(1009);

    const gateway = await start(echo, { websocket: { maxPayload: 16 } });
    const client = await connect(gateway);
    client.ws.send('x'.repeat(17));
    expect((await client.closed).code).toBe(1009);
  });

  it('closes open sockets with 1001 when the server shuts down', async () => {
    const server = await serve(echo, {
      port: 0,
      handleSignals: false,
      announce: false,
      log: () => {},
    });
    const client = await connect(server.url);
    client.ws.send('still here');
    expect(await client.next()).toBe('still here');
    await server.close();
    expect((await client.closed).code).toBe(1001);
  });

  it('serves an Upgrade that is not a WebSocket as an ordinary request', async () => {
    const url = await start(() => new Response('plain'));
    const answer = await raw(
      url,
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\n\r\n(5\r\n)?plain(\r\n0\r\n\r\n)?$/);
  });

  it('refuses a browser handshake from another origin 403 unless origins lists it', async () => {
    const url = await start(
      urlmap({
        '/own': echo,
        '/listed': webSocket({}, { origins: ['https://app.example'] }),
        '/any': webSocket({}, { origins: '*' }),
      }),
    );
    const from = (origin: string) => `Origin: ${origin}\r\n`;
    expect(await raw(url, HANDSHAKE('/own', from('https://evil.example')))).toMatch(
      /^HTTP\/1\.1 403 [\s\S]*Origin https:\/\/evil\.example is not this site's/,
    );
    // The handshakes here say `Host: 127.0.0.1`: that is the site's own origin.
    expect(await raw(url, HANDSHAKE('/own', from('http://127.0.0.1')))).toMatch(/^HTTP\/1\.1 101 /);
    expect(await raw(url, HANDSHAKE('/listed', from('https://app.example')))).toMatch(
      /^HTTP\/1\.1 101 /,
    );
    expect(await raw(url, HANDSHAKE('/listed', from('https://evil.example')))).toMatch(
      /^HTTP\/1\.1 403 /,
    );
    expect(await raw(url, HANDSHAKE('/any', from('https://evil.example')))).toMatch(
      /^HTTP\/1\.1 101 /,
    );
    expect(await raw(url, HANDSHAKE('/own', 'Sec-Fetch-Site: cross-site\r\n'))).toMatch(
      /^HTTP\/1\.1 403 /,
    );
  });

  it('negotiates permessage-deflate only when the gateway is told to', async () => {
    const offer = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n';
    const plain = await raw(await start(echo), HANDSHAKE('/', offer));
    expect(plain).toMatch(/^HTTP\/1\.1 101 /);
    expect(plain.toLowerCase()).not.toContain('sec-websocket-extensions');
    const deflating = await raw(
      await start(echo, { websocket: { perMessageDeflate: true } }),
      HANDSHAKE('/', offer),
    );
    expect(deflating.toLowerCase()).toContain('sec-websocket-extensions: permessage-deflate');
  });

  it('closes a peer that answers no ping within the idle timeout', async () => {
    const closed = new Promise<number | undefined>((resolve) => {
      const app = webSocket({ close: (_peer, details) => resolve(details.code) });
      void start(app, { websocket: { idleTimeout: 1 } }).then((url) => {
        // A raw client that completes the handshake and then never answers a ping.
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
        socket.on('error', () => {});
        socket.write(HANDSHAKE('/'));
      });
    });
    expect(await closed).toBe(1006);
  });
});
