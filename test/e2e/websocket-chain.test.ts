/**
 * The middleware chain around a WebSocket, over a real `serve()` on loopback: the handshake is
 * an ordinary request every middleware sees; what they add reaches the 101, what they refuse
 * is written as it is, and those that rebuild responses keep the upgrade.
 */
import { once } from 'node:events';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { accessLog } from '../../middleware/access-log/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { compress } from '../../middleware/compress/index.js';
import { csrf } from '../../middleware/csrf/index.js';
import { debug } from '../../middleware/debug/index.js';
import { errors } from '../../middleware/errors/index.js';
import { lint } from '../../middleware/lint/index.js';
import { getSession, session } from '../../middleware/session/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { webSocket } from '../../middleware/websocket/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import {
  type Application,
  compose,
  FastResponse,
  type Middleware,
  withHeaders,
} from '../../src/index.js';
import { closeNow } from '../helpers/net.js';
import { headerValues, rawHandshake } from '../helpers/websocket.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

async function start(app: Application): Promise<Server> {
  const server = await serve(app, { port: 0, announce: false });
  servers.push(server);
  return server;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

const echo = webSocket({ message: (peer, message) => void peer.send(message.text()) });

/** Opens a client on `path`, waits for it to open, and gives it with a queue of its messages. */
async function connect(
  server: Server,
  path: string,
  init: { headers?: Record<string, string> } = {},
) {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${path.slice(1)}`, init);
  const messages: string[] = [];
  ws.addEventListener('message', (event) => messages.push(String(event.data)));
  await once(ws as unknown as EventTarget, 'open');
  return { ws, messages };
}

const SECRET = 'a secret of at least 32 characters, for tests';

describe('the chain around a WebSocket on serve()', () => {
  it("sends a new session's Set-Cookie on the 101, and a hook reads the session", async () => {
    const app = compose(session({ secret: SECRET, cookie: { secure: false } }))(
      urlmap({
        '/login': async (_request, environ) => {
          (await getSession(environ)).set('user', 'ann');
          return new FastResponse('in');
        },
        '/ws': webSocket(async (_request, environ) => {
          const mine = await getSession(environ);
          const user = String(mine.get('user') ?? 'nobody');
          mine.set('seen', true);
          return { open: (peer) => void peer.send(`hello ${user}`) };
        }),
      }),
    );
    const server = await start(app);
    const fresh = await rawHandshake(server.url, '/ws');
    expect(fresh.status).toBe(101);
    const cookies = headerValues(fresh, 'set-cookie');
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^mortar_session=[^;]+;.*HttpOnly/i);
    expect(headerValues(fresh, 'sec-websocket-accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    expect(fresh.head).not.toMatch(/x-mortar-websocket-accept|content-type/i);

    const login = await fetch(`${server.url}login`);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const { ws, messages } = await connect(server, '/ws', { headers: { cookie } });
    await until(() => messages.length > 0);
    expect(messages).toEqual(['hello ann']);
    ws.close();
  });

  it('writes a refusal (401) with its WWW-Authenticate and body, and upgrades nothing', async () => {
    const auth: Middleware = (app) => (request, environ) =>
      request.headers.get('authorization') === 'Bearer good'
        ? app(request, environ)
        : new Response('log in first\n', {
            status: 401,
            headers: { 'www-authenticate': 'Bearer realm="chat"', 'content-type': 'text/plain' },
          });
    const server = await start(compose(auth)(echo));
    const refused = await rawHandshake(server.url, '/');
    expect(refused.status).toBe(401);
    expect(headerValues(refused, 'www-authenticate')).toEqual(['Bearer realm="chat"']);
    expect(refused.body).toBe('log in first\n');
    expect(refused.head).not.toMatch(/sec-websocket-accept|x-mortar-websocket-accept/i);
    const allowed = await rawHandshake(server.url, '/', { authorization: 'Bearer good' });
    expect(allowed.status).toBe(101);
  });

  it('csrf refuses a foreign Origin with 403 and upgrades a same-origin handshake', async () => {
    // origins '*': the socket app itself lets any origin in, so the 403 is csrf's.
    const app = compose(csrf({ token: false }))(
      webSocket({ open: (peer) => void peer.send('hi') }, { origins: '*' }),
    );
    const server = await start(app);
    const { host } = new URL(server.url);
    const foreign = await rawHandshake(server.url, '/', { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.head).not.toMatch(/sec-websocket-accept/i);
    const same = await rawHandshake(server.url, '/', { origin: `http://${host}` });
    expect(same.status).toBe(101);
  });

  it('upgrades a response rebuilt by withHeaders or new Response(body, res), with the headers added', async () => {
    const added: Middleware = (app) => async (request, environ) =>
      withHeaders(await app(request, environ), { 'x-added': 'by withHeaders' });
    const copied: Middleware = (app) => async (request, environ) => {
      const response = await app(request, environ);
      const copy = new Response(response.body, response);
      copy.headers.set('x-copied', 'yes');
      return copy;
    };
    const server = await start(compose(added, copied)(echo));
    const answer = await rawHandshake(server.url, '/');
    expect(answer.status).toBe(101);
    expect(headerValues(answer, 'x-added')).toEqual(['by withHeaders']);
    expect(headerValues(answer, 'x-copied')).toEqual(['yes']);
    const { ws, messages } = await connect(server, '/');
    ws.send('round trip');
    await until(() => messages.length > 0);
    expect(messages).toEqual(['round trip']);
    ws.close();
  });

  it('compress leaves the accept alone: no Content-Encoding or Vary on the 101, messages flow', async () => {
    const server = await start(compose(compress({ threshold: 0 }))(echo));
    const answer = await rawHandshake(server.url, '/', { 'accept-encoding': 'gzip, br' });
    expect(answer.status).toBe(101);
    expect(answer.head).not.toMatch(/content-encoding|vary/i);
    const { ws, messages } = await connect(server, '/', { headers: { 'accept-encoding': 'gzip' } });
    ws.send('plain');
    await until(() => messages.length > 0);
    expect(messages).toEqual(['plain']);
    ws.close();
  });

  it('lint (strict), bodyLimit, errors() and debug() pass the accept as it is', async () => {
    const app = compose(
      errors(),
      debug({ log: () => {} }),
      lint({ strict: true }),
      bodyLimit({ maxBytes: 0 }),
    )(echo);
    const server = await start(app);
    const { ws, messages } = await connect(server, '/');
    ws.send('through four');
    await until(() => messages.length > 0);
    expect(messages).toEqual(['through four']);
    ws.close();
  });
});

describe('accessLog and a WebSocket', () => {
  it('logs an accepted socket as 101 when it closes, with bytes sent, lifetime and bytes received', async () => {
    const lines: string[] = [];
    const json: string[] = [];
    const app = compose(
      accessLog({ write: (line) => lines.push(line) }),
      accessLog({ write: (line) => json.push(line), format: 'json', requestIdHeader: false }),
    )(webSocket({ message: (peer, message) => void peer.send(`echo: ${message.text()}`) }));
    const server = await start(app);
    const { ws, messages } = await connect(server, '/chat', { headers: { 'user-agent': 'ua/1' } });
    ws.send('hello'); // 5 bytes in, 11 out
    ws.send('héllo'); // 6 bytes in, 12 out
    await until(() => messages.length === 2);
    expect(lines).toEqual([]); // not at the handshake
    ws.close(1000, 'bye');
    await until(() => lines.length > 0 && json.length > 0);
    expect(lines[0]).toMatch(
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/chat HTTP\/1\.1" 101 23 "-" "ua\/1" \d+\.\dms \S+ websocket=\d+\.\dms close=1000 received=11$/,
    );
    const entry = JSON.parse(json[0]!);
    expect(entry).toMatchObject({
      status: 101,
      bytes: 23,
      aborted: false,
      websocket: { code: 1000, reason: 'bye', bytesReceived: 11 },
    });
    expect(entry.durationMs).toBeGreaterThanOrEqual(entry.websocket.durationMs);
  });

  it('logs a socket lost without a closing handshake as aborted, close 1006, with the 101 id', async () => {
    const lines: string[] = [];
    const server = await start(compose(accessLog({ write: (line) => lines.push(line) }))(echo));
    const answer = await rawHandshake(server.url, '/gone'); // then drops the connection
    expect(answer.status).toBe(101);
    const [id] = headerValues(answer, 'x-request-id');
    await until(() => lines.length > 0);
    expect(lines[0]).toMatch(
      /"GET \/gone HTTP\/1\.1" 101 - "-" "-" \d+\.\dms (\S+) aborted websocket=\d+\.\dms close=1006 received=0$/,
    );
    expect(lines[0]).toContain(` ${id} aborted`);
  });

  it('logs a refused handshake at once with its status', async () => {
    const lines: string[] = [];
    const app = compose(accessLog({ write: (line) => lines.push(line), format: 'common' }))(
      webSocket(() => new Response('no\n', { status: 401 })),
    );
    const server = await start(app);
    const refused = await rawHandshake(server.url, '/ws');
    expect(refused.status).toBe(401);
    await until(() => lines.length > 0);
    expect(lines[0]).toMatch(/"GET \/ws HTTP\/1\.1" 401 3$/);
  });
});
