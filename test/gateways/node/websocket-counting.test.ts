// Issue 25 (Measured): what bench:websocket's hot-path work must keep — the payload bytes a
// closed socket reports, 1009 past maxPayload counted in bytes, the chain's headers on the 101
// when a middleware rebuilt the accept — and what it changed: an open socket no longer keeps
// the response its handshake was answered on. Real sockets over loopback.
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { webSocket } from '../../../middleware/websocket/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import type { Application, Middleware } from '../../../src/index.js';
import { acceptedWebSocket, type WebSocketClosed } from '../../../src/websocket.js';
import { closeNow } from '../../helpers/net.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeNow(server);
});

async function start(app: Application): Promise<string> {
  const server = await serve(app, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: () => {},
  });
  servers.push(server);
  return server.url.replace(/^http/, 'ws');
}

/** A middleware that hands each accepted socket's `closed` to `seen`. */
const watch =
  (seen: (closed: Promise<WebSocketClosed>) => void): Middleware =>
  (app) =>
  async (request, environ) => {
    const response = await app(request, environ);
    const accepted = acceptedWebSocket(response, environ);
    if (accepted) seen(accepted.closed);
    return response;
  };

const echo = webSocket({ message: (peer, message) => void peer.send(message.rawData) });

/** Opens `url`, sends each of `messages` waiting for its echo, and closes with 1000. */
async function exchange(
  url: string,
  messages: (string | Uint8Array)[],
  echoes: unknown[] = [],
): Promise<number> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  for (const message of messages) {
    const back = new Promise<{ data: unknown }>((resolve) => {
      ws.onmessage = resolve;
    });
    ws.send(message);
    echoes.push((await back).data);
  }
  const closed = new Promise<number>((resolve) => {
    ws.onclose = (event) => resolve(event.code);
  });
  ws.close(1000);
  return closed;
}

describe('bytes a WebSocket reports when it closes', () => {
  it('counts text as UTF-8 bytes, both ways, short and longer than one 48 KiB encoding', async () => {
    let closed: Promise<WebSocketClosed> | undefined;
    const url = await start(watch((c) => (closed = c))(echo));
    const messages = [
      'héllo', // 6 bytes
      '€😀', // 3 + 4
      new Uint8Array([1, 2, 3, 4, 5]),
      'é'.repeat(20_000), // 40,000 bytes: more UTF-16 units than one scratch encoding takes
      `a${'😀'.repeat(9_000)}`, // 36,001: surrogate pairs across the chunk boundaries
      '\ud800x', // a lone surrogate is sent as U+FFFD: 3 + 1
    ];
    const echoes: unknown[] = [];
    expect(await exchange(url, messages, echoes)).toBe(1000);
    // Text comes back as text (sent as its UTF-8 bytes, see sendText), binary as binary.
    expect(echoes).toEqual([
      ...messages.slice(0, 2),
      new Uint8Array([1, 2, 3, 4, 5]).buffer,
      ...messages.slice(3, 5),
      '\ufffdx',
    ]);
    const total = 6 + 7 + 5 + 40_000 + 36_001 + 4;
    expect(await closed).toMatchObject({ code: 1000, bytesReceived: total, bytesSent: total });
  });

  it('closes with 1009 a message over maxPayload in bytes, though under it in characters', async () => {
    let closed: Promise<WebSocketClosed> | undefined;
    const app = watch((c) => (closed = c))(
      webSocket({ message: (peer) => void peer.send('never') }, { maxPayload: 8 }),
    );
    const ws = new WebSocket(await start(app));
    await new Promise((resolve) => {
      ws.onopen = resolve;
    });
    const code = new Promise<number>((resolve) => {
      ws.onclose = (event) => resolve(event.code);
    });
    ws.send('ééééé'); // 5 characters, 10 bytes
    expect(await code).toBe(1009);
    expect(await closed).toMatchObject({ code: 1009, bytesReceived: 10, bytesSent: 0 });
  });
  it('counts in bytesSent the publishes of other peers a socket received', async () => {
    const closed: Promise<WebSocketClosed>[] = [];
    const url = await start(
      watch((c) => closed.push(c))(
        webSocket({
          open: (peer) => peer.subscribe('room'),
          message: (peer, message) => peer.publish('room', message.text()),
        }),
      ),
    );
    const open = async () => {
      const ws = new WebSocket(url);
      await new Promise((resolve) => {
        ws.onopen = resolve;
      });
      return ws;
    };
    const sender = await open();
    const receiver = await open();
    const received = new Promise<{ data: unknown }>((resolve) => {
      receiver.onmessage = resolve;
    });
    sender.send('héllo'); // 6 bytes, published to the receiver only
    expect((await received).data).toBe('héllo');
    for (const ws of [sender, receiver]) {
      const done = new Promise((resolve) => {
        ws.onclose = resolve;
      });
      ws.close(1000);
      await done;
    }
    const [ofSender, ofReceiver] = await Promise.all(closed);
    expect(ofSender).toMatchObject({ bytesReceived: 6, bytesSent: 0 });
    expect(ofReceiver).toMatchObject({ bytesReceived: 0, bytesSent: 6 });
  });

  for (const when of ['at the handshake', 'only once the socket is open'] as const) {
    it(`settles \`closed\` read ${when}`, async () => {
      let closed: Promise<WebSocketClosed> | undefined;
      const app: Application = (_request, environ) => {
        const response: Response = environ.websocket!.accept({
          open() {
            if (when !== 'at the handshake') closed = acceptedWebSocket(response, environ)?.closed;
          },
          message: (peer, message) => void peer.send(message.rawData),
        });
        if (when === 'at the handshake') closed = acceptedWebSocket(response, environ)?.closed;
        return response;
      };
      expect(await exchange(await start(app), ['four'])).toBe(1000);
      expect(await closed).toMatchObject({ code: 1000, bytesReceived: 4, bytesSent: 4 });
    });
  }
});

describe('text frames', () => {
  it('reach every subscriber of a publish as the same text, and a sender asking for binary gets binary', async () => {
    const url = await start(
      webSocket({
        open: (peer) => peer.subscribe('room'),
        message: (peer, message) => {
          peer.publish('room', message.text());
          peer.send(message.text(), { binary: true } as never);
        },
      }),
    );
    const clients = await Promise.all(
      [0, 1, 2].map(async () => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        await new Promise((resolve) => {
          ws.onopen = resolve;
        });
        return ws;
      }),
    );
    const next = (ws: WebSocket) =>
      new Promise<unknown>((resolve) => {
        ws.onmessage = (event) => resolve(event.data);
      });
    const received = [next(clients[1]!), next(clients[2]!)];
    const own = next(clients[0]!);
    clients[0]!.send('héllo 😀');
    expect(await Promise.all(received)).toEqual(['héllo 😀', 'héllo 😀']);
    expect(new TextDecoder().decode((await own) as ArrayBuffer)).toBe('héllo 😀');
    for (const ws of clients) ws.close();
  });
});

describe('the accept response', () => {
  it('still upgrades, with the headers added, when a middleware rebuilt it', async () => {
    const rebuild: Middleware = (app) => async (request, environ) => {
      const response = await app(request, environ);
      const copy = new Response(response.body, response);
      copy.headers.set('x-rebuilt', 'yes');
      return copy;
    };
    const url = new URL(await start(rebuild(echo)));
    const head = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          `GET / HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toLowerCase()).toContain('\r\nx-rebuilt: yes\r\n');
    expect(head.toLowerCase()).not.toContain('x-mortar-websocket-accept');
    expect(head.toLowerCase()).not.toContain('content-type');
  });

  it('is not kept in memory, with its Request, node request and response, while the socket is open', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const kept: Record<string, WeakRef<object>> = {};
    const app: Application = (request, environ) => {
      const node = (request as { runtime?: { node?: { req?: object; res?: object } } }).runtime
        ?.node;
      kept.request = new WeakRef(request);
      kept['node request'] = new WeakRef(node!.req!);
      kept['node response'] = new WeakRef(node!.res!);
      return echo(request, environ);
    };
    const ws = new WebSocket(await start(app));
    await new Promise((resolve) => {
      ws.onopen = resolve;
    });
    const back = new Promise((resolve) => {
      ws.onmessage = resolve;
    });
    ws.send('still open');
    await back;
    // Wait for the collector (not a fixed sleep), the socket still open. A deref() keeps its
    // object alive to the end of the job: the collection runs in the next one.
    const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < 20; i++) {
      await tick();
      gc();
      await tick();
      if (Object.values(kept).every((ref) => ref.deref() === undefined)) break;
    }
    const alive = Object.entries(kept).filter(([, ref]) => ref.deref() !== undefined);
    expect(alive.map(([name]) => name)).toEqual([]);
    ws.close();
  });
});
