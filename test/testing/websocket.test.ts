import { describe, expect, it, vi } from 'vitest';
import { accessLog } from '../../middleware/access-log/index.js';
import { getSession, session } from '../../middleware/session/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { webSocket } from '../../middleware/websocket/index.js';
import { type Application, compose, FastResponse, type Middleware } from '../../src/index.js';
import { TestClient, WebSocketRefusedError } from '../../src/testing/index.js';

const echo = webSocket({
  message: (peer, message) => {
    peer.send(
      typeof message.rawData === 'string' ? `echo: ${message.text()}` : message.uint8Array(),
    );
  },
});

describe('TestClient.websocket', () => {
  it('echoes text as a string and binary as a Uint8Array, then closes with the code given', async () => {
    const closes: unknown[] = [];
    const app = webSocket({
      message: (peer, message) => {
        peer.send(
          typeof message.rawData === 'string' ? `echo: ${message.text()}` : message.uint8Array(),
        );
      },
      close: (_peer, details) => void closes.push(details),
    });
    const socket = await new TestClient(app).websocket('/');
    socket.send('hello');
    socket.send(new Uint8Array([1, 2, 3]));
    expect(await socket.next()).toBe('echo: hello');
    expect(await socket.next()).toEqual(new Uint8Array([1, 2, 3]));
    socket.close(1000, 'done');
    expect(await socket.closed).toEqual({ code: 1000, reason: 'done' });
    expect(closes).toEqual([{ code: 1000, reason: 'done' }]);
    await expect(socket.next()).rejects.toThrow(/closed with 1000 \(done\)/);
    expect(() => socket.send('late')).toThrow(/closed/);
  });

  it("sends the client's cookies on the handshake and stores a Set-Cookie of the accept", async () => {
    const app = compose(session({ secret: 'a secret of at least 32 characters, for tests' }))(
      urlmap({
        '/login': async (_request, environ) => {
          (await getSession(environ)).set('user', 'ann');
          return new FastResponse('in');
        },
        '/ws': webSocket(async (_request, environ) => {
          const user = (await getSession(environ)).get('user') ?? 'nobody';
          return { open: (peer) => void peer.send(`hello ${user}`) };
        }),
        '/fresh': webSocket(async (_request, environ) => {
          (await getSession(environ)).set('seen', true);
          return {};
        }),
      }),
    );
    const visitor = new TestClient(app);
    await visitor.websocket('/fresh');
    expect(visitor.cookies.names()).toEqual(['mortar_session']);

    const client = new TestClient(app);
    await client.post('/login');
    const socket = await client.websocket('/ws');
    expect(await socket.next()).toBe('hello ann');
    expect(await new TestClient(app).websocket('/ws').then((s) => s.next())).toBe('hello nobody');
  });

  it('rejects with the response of a refused handshake: status, headers and body', async () => {
    const auth: Middleware = (app) => (request, environ) =>
      request.headers.get('authorization') === 'Bearer good'
        ? app(request, environ)
        : new Response('log in first\n', {
            status: 401,
            headers: { 'www-authenticate': 'Bearer realm="chat"' },
          });
    const client = new TestClient(compose(auth)(echo));
    const refused = await client.websocket('/').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WebSocketRefusedError);
    const { response } = refused as WebSocketRefusedError;
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="chat"');
    expect(response.text()).toBe('log in first\n');
    const socket = await client.websocket('/', { headers: { authorization: 'Bearer good' } });
    socket.send('in');
    expect(await socket.next()).toBe('echo: in');
  });

  it('refuses a foreign Origin with 403 as the app says', async () => {
    const client = new TestClient(echo);
    await expect(
      client.websocket('/', { headers: { origin: 'http://evil.example' } }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it("negotiates the subprotocol in the server's order: offered a, b → b", async () => {
    const app = webSocket(
      { open: (peer) => void peer.send(`protocol ${peer.websocket.protocol}`) },
      { protocols: ['b', 'a'] },
    );
    const socket = await new TestClient(app).websocket('/', { protocols: ['a', 'b'] });
    expect(socket.protocol).toBe('b');
    expect(socket.headers.get('sec-websocket-protocol')).toBe('b');
    expect(await socket.next()).toBe('protocol b');
  });

  it('closes with 1009 a message over maxPayload, before the hook sees it', async () => {
    const seen: string[] = [];
    const app = webSocket(
      { message: (_peer, message) => void seen.push(message.text()) },
      { maxPayload: 4 },
    );
    const socket = await new TestClient(app).websocket('/');
    socket.send('1234');
    socket.send('12345');
    const closed = await socket.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/5 bytes is over the limit of 4/);
    expect(seen).toEqual(['1234']);
  });

  it("publishes among the client's sockets on one path, not to the sender", async () => {
    const app = webSocket({
      open: (peer) => peer.subscribe('room'),
      message: (peer, message) => peer.publish('room', message.text()),
    });
    const client = new TestClient(app);
    const [a, b, c] = await Promise.all([
      client.websocket('/'),
      client.websocket('/'),
      client.websocket('/'),
    ]);
    a.send('from a');
    expect(await b.next()).toBe('from a');
    expect(await c.next()).toBe('from a');
    b.close();
    expect((await b.closed).code).toBe(1005);
    c.send('from c');
    expect(await a.next()).toBe('from c');
  });

  it('gives the peer and message crossws offers', async () => {
    const seen: Record<string, unknown> = {};
    const app: Application = (_request, environ) =>
      environ.websocket!.accept({
        upgrade: () => ({ headers: { 'x-upgrade': 'yes' }, context: { room: 7 } }),
        open: (peer) => {
          Object.assign(seen, {
            id: typeof peer.id,
            url: peer.request.url,
            context: peer.context,
            remoteAddress: peer.remoteAddress,
            bufferedAmount: peer.bufferedAmount,
          });
        },
        message: (peer, message) => {
          Object.assign(seen, {
            json: message.json(),
            bytes: message.uint8Array().byteLength,
            buffer: message.arrayBuffer().byteLength,
            blob: message.blob().size,
            data: message.data,
          });
          peer.terminate();
        },
        close: (_peer, details) => void Object.assign(seen, { close: details }),
      });
    const socket = await new TestClient(app, { remoteAddress: '10.0.0.9' }).websocket('/x?y=1');
    expect(socket.headers.get('x-upgrade')).toBe('yes');
    socket.send('{"a":"é"}');
    expect(await socket.closed).toEqual({ code: 1006, reason: '' });
    expect(seen).toEqual({
      id: 'string',
      url: 'http://localhost/x?y=1',
      context: { room: 7 },
      remoteAddress: '10.0.0.9',
      bufferedAmount: 0,
      json: { a: 'é' },
      bytes: 10,
      buffer: 10,
      blob: 10,
      data: '{"a":"é"}',
      close: { code: 1006, reason: '' },
    });
  });

  it('rejects next() with what a hook threw, and closes with 1011', async () => {
    const app = webSocket({
      message: () => {
        throw new Error('the hook broke');
      },
    });
    const socket = await new TestClient(app).websocket('/');
    socket.send('x');
    await expect(socket.next()).rejects.toThrow('the hook broke');
    expect(await socket.closed).toEqual({ code: 1011, reason: 'internal error' });

    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const quiet = await new TestClient(app, { throwErrors: false }).websocket('/');
      quiet.send('x');
      await expect(quiet.next()).rejects.toThrow(/closed with 1011/);
      expect(logged).toHaveBeenCalledWith('TestClient.websocket: a hook threw:', expect.any(Error));
    } finally {
      logged.mockRestore();
    }
  });

  it('is logged by accessLog as 101 with the bytes counted, when it closes', async () => {
    const lines: string[] = [];
    const app = compose(accessLog({ write: (line) => lines.push(line), format: 'common' }))(echo);
    const socket = await new TestClient(app).websocket('/ws');
    socket.send('abc'); // 3 in, 9 out
    await socket.next();
    expect(lines).toEqual([]);
    socket.close(1000);
    await socket.closed;
    for (let turn = 0; turn < 10 && lines.length === 0; turn++) await Promise.resolve();
    expect(lines).toEqual([expect.stringMatching(/"GET \/ws HTTP\/1\.1" 101 9$/)]);
  });
});
