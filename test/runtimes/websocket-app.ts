// The WebSocket chain served on Node, Deno, Bun and workerd by test/e2e/runtimes-websocket: an
// echo endpoint mounted at /ws by urlmap behind three middlewares — one that keeps how the last
// socket closed (acceptedWebSocket) and answers /closed with it, one that adds a Set-Cookie
// and an X-Chain header to every response (they must reach the 101), one that refuses `?deny`
// with a 401 of its own (written as is, no upgrade). Portable: no `node:` module.
import { urlmap } from '../../middleware/urlmap/index.js';
import {
  acceptedWebSocket,
  type WebSocketClosed,
  webSocket,
} from '../../middleware/websocket/index.js';
import {
  type Application,
  compose,
  FastResponse,
  type Middleware,
  withHeaders,
} from '../../src/index.js';

let lastClosed: WebSocketClosed | null = null;
const record: Middleware = (app) => async (request, environ) => {
  if (new URL(request.url).pathname === '/closed') return FastResponse.json(lastClosed);
  const response = await app(request, environ);
  void acceptedWebSocket(response, environ)?.closed.then((closed) => {
    lastClosed = closed;
  });
  return response;
};

const stamp: Middleware = (app) => async (request, environ) =>
  withHeaders(await app(request, environ), {
    'set-cookie': 'seen=1; Path=/; HttpOnly',
    'x-chain': 'stamped',
  });

const auth: Middleware = (app) => (request, environ) =>
  new URL(request.url).searchParams.has('deny')
    ? new Response('who are you?\n', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="ws"', 'content-type': 'text/plain' },
      })
    : app(request, environ);

/**
 * Says where it is mounted on open, then echoes each message as it came, text or binary; `bye`
 * closes the socket from the server with 4001.
 */
const echo = webSocket(
  (_request, environ) => ({
    open: (peer) => {
      peer.send(`open at ${environ.scriptName}`);
    },
    message: (peer, message) => {
      if (message.rawData === 'bye') return peer.close(4001, 'asked to leave');
      peer.send(typeof message.rawData === 'string' ? message.text() : message.uint8Array());
    },
  }),
  { protocols: ['echo.v2', 'echo.v1'] },
);

export const app: Application = compose(record, stamp, auth)(urlmap({ '/ws': echo }));
