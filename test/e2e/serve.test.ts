/**
 * The HTTP gateway over real loopback HTTP.
 */
import http from 'node:http';
import net from 'node:net';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { urlmap } from '../../middleware/urlmap/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import { type Application, FastResponse, HTTPError } from '../../src/index.js';
import { closeNow } from '../helpers/net.js';

const servers: Server[] = [];
const logs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
  logs.length = 0;
});

async function start(app: Application): Promise<string> {
  const server = await serve(app, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: (line) => logs.push(line),
    shutdownTimeout: 2000,
  });
  servers.push(server);
  return server.url;
}

/** Sends raw bytes and returns what came back until the server closed or `ms` passed. */
function raw(url: string, bytes: string, ms = 2000): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, ms);
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const defer = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('serve()', () => {
  it('binds 127.0.0.1, picks a free port for 0, and fills the environ', async () => {
    const url = await start((_request, environ) => FastResponse.json(environ));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(new URL(url).port).not.toBe('0');
    const res = await fetch(`${url}a%20b/c?x=1`);
    expect(await res.json()).toEqual({
      scriptName: '',
      pathInfo: '/a%20b/c',
      remoteAddress: '127.0.0.1',
      unixSocket: false,
      serverProtocol: 'HTTP/1.1',
      gateway: 'http',
    });
  });

  it('runs a mounted Hono app over real HTTP: route, query, headers, body and abort signal', async () => {
    const hono = new Hono();
    hono.post('/items/:id', async (c) =>
      c.json({
        id: c.req.param('id'),
        q: c.req.query('q'),
        type: c.req.header('content-type'),
        body: await c.req.json(),
        signal: c.req.raw.signal instanceof AbortSignal,
      }),
    );
    const url = await start(urlmap({ '/shop': hono.fetch }));
    const res = await fetch(`${url}shop/items/7?q=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ big: 'y'.repeat(200_000) }),
    });
    expect(await res.json()).toEqual({
      id: '7',
      q: 'x',
      type: 'application/json',
      body: { big: 'y'.repeat(200_000) },
      signal: true,
    });
  });

  it('keeps every Set-Cookie header', async () => {
    const url = await start(() => {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/; HttpOnly');
      return new FastResponse('ok', { headers });
    });
    const res = await fetch(url);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('keeps every Set-Cookie header of a native Response too', async () => {
    const url = await start(() => {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1');
      headers.append('set-cookie', 'b=2');
      return new Response(new ReadableStream({ start: (c) => c.close() }), { headers });
    });
    expect((await fetch(url)).headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('streams both ways: each uploaded chunk is echoed before the next is sent', async () => {
    const url = await start(
      (request) =>
        new FastResponse(
          request.body!.pipeThrough(
            new TransformStream({
              transform(chunk, controller) {
                controller.enqueue(
                  new TextEncoder().encode(`<${new TextDecoder().decode(chunk)}>`),
                );
              },
            }),
          ),
        ),
    );
    const request = http.request(url, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
    });
    const response = await new Promise<http.IncomingMessage>((resolve) => {
      request.on('response', resolve);
      request.write('one');
    });
    const received: string[] = [];
    for (const next of ['two', 'three', null]) {
      const [chunk] = (await new Promise((resolve) =>
        response.once('data', (c) => resolve([c])),
      )) as [Buffer];
      received.push(chunk.toString());
      if (next) request.write(next);
      else request.end();
    }
    expect(received).toEqual(['<one>', '<two>', '<three>']);
  });

  it('applies back-pressure: an unread endless response is not produced without bound', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024);
    const url = await start(
      () =>
        new FastResponse(
          new ReadableStream({
            pull(controller) {
              pulled++;
              controller.enqueue(chunk);
            },
          }),
        ),
    );
    const request = http.get(url);
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      request.on('response', resolve),
    );
    response.pause();
    await new Promise((r) => setTimeout(r, 500));
    const bytes = pulled * chunk.byteLength;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(32 * 1024 * 1024);
    request.destroy();
  });

  it('aborts request.signal when the client disconnects', async () => {
    const aborted = defer<string>();
    const started = defer<void>();
    const url = await start(
      (request) =>
        new Promise((resolve) => {
          request.signal.addEventListener('abort', () => {
            aborted.resolve('aborted');
            resolve(new FastResponse('late'));
          });
          started.resolve();
        }),
    );
    const request = http.get(url);
    request.on('error', () => {});
    await started.promise;
    request.destroy();
    expect(await aborted.promise).toBe('aborted');
  });

  it('answers HEAD on an endless stream promptly and cancels the stream', async () => {
    const cancelled = defer<void>();
    const url = await start(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new Uint8Array(1024));
            },
            cancel() {
              cancelled.resolve();
            },
          }),
          { headers: { 'content-type': 'application/octet-stream' } },
        ),
    );
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    await cancelled.promise;
  });

  it('turns a thrown HTTPError into its response, and anything else into a logged 500', async () => {
    const url = await start((request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/teapot') throw new HTTPError(418 as number, { body: 'short and stout' });
      if (pathname === '/string') throw 'a string';
      return Promise.reject(new Error('async boom'));
    });
    const teapot = await fetch(`${url}teapot`);
    expect(teapot.status).toBe(418);
    expect(await teapot.text()).toContain('short and stout');

    const string = await fetch(`${url}string`);
    expect(string.status).toBe(500);
    expect(await string.text()).toBe('500 Internal Server Error\n');
    const rejected = await fetch(`${url}x`, { headers: { accept: 'application/json' } });
    expect(rejected.status).toBe(500);
    expect(await rejected.text()).not.toContain('async boom');
    expect(logs.join('\n')).toContain('a thrown a string (a string)');
    expect(logs.join('\n')).toContain('async boom');
  });

  it('answers 500 and logs a line naming the problem when the app returns no Response', async () => {
    const url = await start((() => ({ status: 200 })) as unknown as Application);
    const res = await fetch(`${url}x`);
    expect(res.status).toBe(500);
    expect(logs).toEqual([
      expect.stringContaining('the application returned an object of class Object for GET'),
    ]);
  });

  it.each([
    ['a dot segment', 'GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n', '"." or ".." segment'],
    ['a malformed %-escape', 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', 'malformed %-escape'],
    ['a backslash', 'GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n', 'outside RFC 3986'],
    ['a bad Host', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 'Host header'],
    ['a non-http absolute target', 'GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n', 'not a path'],
    // RFC 9112 §3.2: two Host lines, or a Host that would break new URL(request.url).
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'more than one Host'],
    ['a Host port above 65535', 'GET / HTTP/1.1\r\nHost: a:70000\r\n\r\n', 'not a valid host'],
  ])('answers 400 to %s and keeps serving', async (_name, bytes, reason) => {
    let calls = 0;
    const url = await start(() => {
      calls++;
      return new FastResponse('fine');
    });
    const answer = await raw(url, bytes);
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain(reason);
    expect(calls).toBe(0);
    expect((await fetch(url)).status).toBe(200);
  });

  it('answers 400 to an HTTP/1.1 request without Host, and serves HTTP/1.0 without one', async () => {
    let calls = 0;
    const probe = await start(() => {
      calls++;
      return new FastResponse('fine');
    });
    expect(await raw(probe, 'GET / HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(calls).toBe(0);
    const url = await start(() => new FastResponse('fine'));
    expect(await raw(url, 'GET / HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*fine$/);
  });

  it('answers 400 to garbage that is not HTTP at all', async () => {
    const url = await start(() => new FastResponse('fine'));
    expect(await raw(url, 'HELLO THERE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect((await fetch(url)).status).toBe(200);
  });

  it('accepts a Host with an underscore (an nginx upstream name) and an IPv6 literal', async () => {
    const url = await start((request) => new FastResponse(new URL(request.url).host));
    expect(
      await raw(url, 'GET / HTTP/1.1\r\nHost: mortar_http\r\nConnection: close\r\n\r\n'),
    ).toMatch(/mortar_http$/);
    expect(
      await raw(url, 'GET / HTTP/1.1\r\nHost: [::1]:8000\r\nConnection: close\r\n\r\n'),
    ).toMatch(/\[::1\]:8000$/);
  });

  it('accepts an absolute-form target and gives the path as pathInfo', async () => {
    const url = await start(
      (request, environ) => new FastResponse(`${environ.pathInfo} ${request.url}`),
    );
    const answer = await raw(
      url,
      'GET http://example.com/p/q?r HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toContain('/p/q http://example.com/p/q?r');
  });

  it('says so when the port is in use', async () => {
    const url = await start(() => new FastResponse(''));
    const port = Number(new URL(url).port);
    await expect(
      serve(() => new FastResponse(''), { port, handleSignals: false, announce: false }),
    ).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
  });

  it('on close() stops accepting but lets an in-flight request finish', async () => {
    const release = defer<void>();
    const started = defer<void>();
    const server = await serve(
      async () => {
        started.resolve();
        await release.promise;
        return new FastResponse('finished');
      },
      { port: 0, handleSignals: false, announce: false },
    );
    const inflight = fetch(server.url).then((r) => r.text());
    await started.promise;
    const closed = server.close();
    await new Promise((r) => setTimeout(r, 100));
    await expect(fetch(server.url)).rejects.toThrow();
    release.resolve();
    expect(await inflight).toBe('finished');
    // The kept-alive connection is closed at once, not after its idle timeout.
    const timeout = new Promise((r) => setTimeout(() => r('still open'), 1000));
    expect(await Promise.race([closed.then(() => 'closed'), timeout])).toBe('closed');
  });

  it('on close() answers the next request on an idle keep-alive connection, then closes it', async () => {
    const server = await serve(() => new FastResponse('ok'), {
      port: 0,
      handleSignals: false,
      announce: false,
    });
    servers.push(server);
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk;
    });
    const ended = new Promise((resolve, reject) =>
      socket.once('end', resolve).once('error', reject),
    );
    const answers = async (count: number) => {
      while ((data.match(/\r\n\r\nok/g) ?? []).length < count) {
        if (socket.destroyed) throw new Error(`the connection was closed after:\n${data}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await answers(1);
    expect(data).toMatch(/\r\nKeep-Alive: timeout=5\r\n/i);
    const closed = server.close();
    // The connection is idle: its client may be sending right now, so it stays open.
    await new Promise((r) => setTimeout(r, 100));
    socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await answers(2);
    expect(data.slice(data.lastIndexOf('HTTP/1.1'))).toMatch(
      /^HTTP\/1.1 200[\s\S]*\r\nConnection: close\r\n/i,
    );
    await ended;
    await closed;
    socket.destroy();
  });
});
