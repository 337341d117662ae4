/**
 * The WebSocket servers `bench/websocket/index.ts` measures, one per process: `node
 * servers.mjs <name>` prints its `ws://` base URL on stdout and serves until killed. Each
 * serves `/room` (every client subscribed to one room; a message is published to the others)
 * and `/echo` (a message is sent back); `mortar-stack` serves them under `/ws` through
 * accessLog + session + urlmap. Asked `'rss'` over the IPC channel, a server collects garbage
 * (run it with `--expose-gc`) and answers its resident set size in bytes.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hooks } from 'crossws';
import crosswsNode from 'crossws/adapters/node';
import { WebSocketServer } from 'ws';
import { accessLog, batchedWriter } from '../../middleware/access-log/index.js';
import { getSession, session } from '../../middleware/session/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { webSocket } from '../../middleware/websocket/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { compose } from '../../src/index.js';
import type { WebSocketHooks } from '../../src/websocket.js';

const room: WebSocketHooks = {
  open: (peer) => peer.subscribe('room'),
  message: (peer, message) => peer.publish('room', message.text()),
};
const echo: WebSocketHooks = {
  message: (peer, message) => {
    peer.send(message.rawData);
  },
};
/** The hooks for a handshake's path: `/room` or `/echo` at the end. */
const hooksFor = (url: string): WebSocketHooks =>
  new URL(url).pathname.endsWith('/room') ? room : echo;

/** A node:http server with `onUpgrade` as its upgrade listener: its `ws://` base URL. */
async function listen(
  onUpgrade: (
    req: http.IncomingMessage,
    socket: import('node:stream').Duplex,
    head: Buffer,
  ) => void,
): Promise<string> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
  process.once('SIGTERM', () => process.exit(0));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const servers: Record<string, () => Promise<string>> = {
  async mortar() {
    const app = webSocket((request) => hooksFor(request.url));
    const server = await serve(app, { port: 0, announce: false });
    return server.url.replace(/^http/, 'ws').slice(0, -1);
  },
  async 'mortar-stack'() {
    // What a site puts around a socket: the access log (to a discarded stream, batched as the
    // default is), a cookie session the hooks factory reads, and a mount.
    const socket = webSocket(async (request, environ) => {
      await getSession(environ);
      return hooksFor(request.url);
    });
    const app = compose(
      accessLog({ write: batchedWriter(createWriteStream('/dev/null')) }),
      session({ secret: 'a-benchmark-secret-that-is-long-enough-0123456789' }),
    )(urlmap({ '/ws': socket }));
    const server = await serve(app, { port: 0, announce: false });
    return `${server.url.replace(/^http/, 'ws')}ws`;
  },
  async crossws() {
    // crossws's own Node adapter on a bare node:http server, with the same hooks.
    const adapter = crosswsNode({ resolve: (request) => hooksFor(request.url) as Partial<Hooks> });
    return listen((req, socket, head) => void adapter.handleUpgrade(req, socket, head));
  },
  async ws() {
    // Bare `ws`: what the other two are built on, with no hooks layer.
    const wss = new WebSocketServer({ noServer: true });
    return listen((req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (req.url?.endsWith('/room')) {
          ws.on('message', (data, isBinary) => {
            for (const client of wss.clients) {
              if (client !== ws) client.send(data, { binary: isBinary });
            }
          });
        } else {
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        }
      });
    });
  },
};

const name = process.argv[2] ?? '';
const start = servers[name];
if (!start) {
  console.error(
    `bench/websocket/servers.ts: unknown server "${name}"; one of ${Object.keys(servers).join(', ')}`,
  );
  process.exit(2);
}
process.on('message', (message) => {
  if (message !== 'rss') return;
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  process.send?.(process.memoryUsage().rss);
});
process.stdout.write(`${await start()}\n`);
