/**
 * proxy() mounted at /api in front of real upstreams (a bare node:http server, an Express app,
 * a raw TCP server), through mortar's HTTP gateway, with raw sockets where fetch would
 * normalise what is sent.
 */
import type http from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import type { Transport } from '../../../middleware/proxy/index.js';
import { proxy } from '../../../middleware/proxy/node.js';
import { proxyFix } from '../../../middleware/proxy-fix/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { compose } from '../../../src/index.js';
import { front, get, raw, rawUpstream, upstream } from './fixture.js';

/** A node:http upstream that answers each request with what it saw, as JSON. */
async function echo() {
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const { origin } = await upstream((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url }));
    });
  });
  return { origin, seen };
}

describe('the upstream request', () => {
  it('gets the base path + pathInfo as sent + the raw query, and X-Forwarded-*', async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const res = await get(`${server.url}api/users?x=1&y=%2F`);
    expect(res.status).toBe(200);
    expect(seen[0]!.url).toBe('/v1/users?x=1&y=%2F');
    const h = seen[0]!.headers;
    expect(h['x-forwarded-prefix']).toBe('/api');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(new URL(server.url).host);
    expect(h.host).toBe(new URL(origin).host);
  });

  it('keeps percent-encoding as the client sent it', async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1/`) }));
    const text = await raw(
      server.url,
      'GET /api/a%20b/%2Fx/caf%C3%A9;p=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(seen[0]!.url).toBe('/v1/a%20b/%2Fx/caf%C3%A9;p=1');
  });

  it.each([
    '/api/..',
    '/api/../secret',
    '/api/%2e%2e/secret',
    '/api/%2E%2e/secret',
    '/api/.%2e/secret',
    '/api/%2e/x',
    '/api/a/./b',
    '/api/%252e%252e/secret',
    '/api/..%2fsecret',
    '/api/..%2Fsecret',
    '/api/a%5c..%5csecret',
    '/api/a%5C..',
    '/api/a\\..\\secret',
    '/api/a%00b',
    '/api/..;/secret',
    '/api/%2e%2e;x/secret',
  ])('refuses %s with 400 and sends nothing upstream', async (path) => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const text = await raw(
      server.url,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 400/);
    expect(seen).toEqual([]);
  });

  it.each([
    '/..',
    '/../secret',
    '/%2e%2e/secret',
    '/%2E%2e/secret',
    '/.%2e/secret',
    '/%2e/x',
    '/a/./b',
    '/a\\..\\secret',
    '/a%5c..',
    '/a/..',
  ])('refuses pathInfo %s itself, whatever the gateway let through', async (pathInfo) => {
    // TestClient, Deno, Bun and Workers do not refuse what node:http's gateway does.
    const { origin, seen } = await echo();
    const app = proxy(`${origin}/v1`);
    const res = await app(new Request(`http://x/x`), {
      scriptName: '/api',
      pathInfo,
      gateway: 'test',
      remoteAddress: '127.0.0.1',
    });
    expect(res.status).toBe(400);
    expect(seen).toEqual([]);
  });

  it("hands the transport none of the client's framing fields", async () => {
    const sent: string[][] = [];
    const transport: Transport = async (upstream) => {
      sent.push([...upstream.headers]);
      await upstream.body?.cancel();
      upstream.settled();
      return { status: 204, headers: [], body: null };
    };
    const server = await front(urlmap({ '/api': proxy('http://127.0.0.1:9/v1', { transport }) }));
    await raw(
      server.url,
      'GET /api/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /api/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
    );
    expect(sent).toHaveLength(2);
    for (const fields of sent) {
      const names = fields.filter((_, i) => i % 2 === 0);
      expect(names).not.toContain('content-length');
      expect(names).not.toContain('transfer-encoding');
      expect(names).not.toContain('connection');
    }
  });

  it("drops the fields the client's Connection names, then adds its own forwarding fields", async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const text = await raw(
      server.url,
      'GET /api/x HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nAuthorization: Basic c2VjcmV0\r\n' +
        'Keep-Alive: timeout=5\r\nProxy-Authorization: p\r\nTE: trailers, gzip\r\nX-Kept: 1\r\n' +
        'Connection: close, X-Forwarded-For, Authorization\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    const h = seen[0]!.headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h.authorization).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h.te).toBe('trailers');
    expect(h['x-kept']).toBe('1');
    expect(h.connection ?? 'keep-alive').toBe('keep-alive');
  });

  it('replaces forwarding fields from an untrusted client, appends to a trusted proxy', async () => {
    const { origin, seen } = await echo();
    const headers = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' };
    const plain = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    await get(`${plain.url}api/x`, headers);
    expect(seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen[0]!.headers['x-forwarded-proto']).toBe('http');
    const behind = await front(compose(proxyFix())(urlmap({ '/api': proxy(`${origin}/v1`) })));
    await get(`${behind.url}api/x`, headers);
    expect(seen[1]!.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
    expect(seen[1]!.headers['x-forwarded-proto']).toBe('https');
  });

  it('sends RFC 7239 Forwarded when asked, and the public Host with preserveHost', async () => {
    const { origin, seen } = await echo();
    const server = await front(
      urlmap({ '/api': proxy(`${origin}/v1`, { forwarded: 'forwarded', preserveHost: true }) }),
    );
    await get(`${server.url}api/x`, { host: 'shop.example:8080', forwarded: 'for=6.6.6.6' });
    const h = seen[0]!.headers;
    expect(h.forwarded).toBe('for=127.0.0.1;proto=http;host="shop.example:8080"');
    expect(h['x-forwarded-for']).toBeUndefined();
    expect(h.host).toBe('shop.example:8080');
  });

  it('never forwards the framing: a GET with a declared body, then two pipelined requests', async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { connections: 1 }) }));
    // A body that is itself a request: forwarded with its length, it would be one upstream.
    const smuggled = 'GET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const text = await raw(
      server.url,
      `GET /api/a HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
        'GET /api/b HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /api/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(3);
    expect(text).toContain('{"url":"/v1/a"}');
    expect(text.indexOf('/v1/b')).toBeLessThan(text.indexOf('/v1/c'));
    expect(seen.map((s) => s.url)).toEqual(['/v1/a', '/v1/b', '/v1/c']);
    expect(seen[0]!.headers['content-length']).toBeUndefined();
    expect(seen[0]!.body).toBe('');
  });

  it('answers Expect: 100-continue itself (the gateway did) and sends the body on', async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const text = await raw(
      server.url,
      'POST /api/p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n' +
        'Connection: close\r\n\r\nhello',
    );
    expect(text).toMatch(/HTTP\/1\.1 200/);
    expect(seen[0]!.body).toBe('hello');
    expect(seen[0]!.headers.expect).toBeUndefined();
  });

  it('sends a POST body with the length it really has', async () => {
    const { origin, seen } = await echo();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const text = await raw(
      server.url,
      'POST /api/p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
        '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(seen[0]!.body).toBe('hello world');
  });
});

describe('the response', () => {
  it("drops the upstream's hop-by-hop fields and the ones its Connection names", async () => {
    const origin = await rawUpstream((socket) => {
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=9\r\n' +
            'X-Public: 2\r\nContent-Length: 2\r\n\r\nok',
        ),
      );
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const res = await get(`${server.url}api/x`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
    expect(res.headers['x-secret']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers['x-public']).toBe('2');
  });

  it('rewrites Location, Content-Location and Set-Cookie Path from an Express upstream', async () => {
    const app = express();
    app.get('/v1/login', (_req, res) => {
      res.cookie('sid', '1', { path: '/v1' });
      res.cookie('pref', '2', { path: '/v1/users' });
      res.cookie('other', '3', { path: '/v2' });
      res.redirect('/v1/users/7');
    });
    app.get('/v1/abs', (req, res) => {
      res.set('content-location', `http://${req.headers.host}/v1/abs.json`);
      res.redirect(`http://${req.headers.host}/v1/next?q=1`);
    });
    app.get('/v1/away', (_req, res) => res.redirect('https://example.com/v1/x'));
    const { origin } = await upstream(app);
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const login = await get(`${server.url}api/login`);
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe('/api/users/7');
    expect(login.headers['set-cookie']).toEqual([
      'sid=1; Path=/api',
      'pref=2; Path=/api/users',
      'other=3; Path=/v2',
    ]);
    const abs = await get(`${server.url}api/abs`);
    expect(abs.headers.location).toBe(`${server.url}api/next?q=1`);
    expect(abs.headers['content-location']).toBe(`${server.url}api/abs.json`);
    const away = await get(`${server.url}api/away`);
    expect(away.headers.location).toBe('https://example.com/v1/x');
    const off = await front(
      urlmap({
        '/api': proxy(`${origin}/v1`, { rewrite: { location: false, cookiePath: false } }),
      }),
    );
    const kept = await get(`${off.url}api/login`);
    expect(kept.headers.location).toBe('/v1/users/7');
    expect(kept.headers['set-cookie']![0]).toBe('sid=1; Path=/v1');
  });

  it("answers HEAD with the upstream's head (its Content-Length) and no body", async () => {
    const { origin } = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(100_000));
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const text = await raw(
      server.url,
      'HEAD /api/x HTTP/1.1\r\nHost: x\r\n\r\nGET /api/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const [head, rest] = [
      text.slice(0, text.indexOf('\r\n\r\n')),
      text.slice(text.indexOf('\r\n\r\n') + 4),
    ];
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head.toLowerCase()).toContain('content-length: 100000');
    // Nothing between the HEAD's head and the next response.
    expect(rest).toMatch(/^HTTP\/1\.1 200/);
  });

  it('passes a gzip body byte for byte with its Content-Encoding', async () => {
    const { gzipSync } = await import('node:zlib');
    const packed = gzipSync(Buffer.from('x'.repeat(50_000)));
    const { origin } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(packed);
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    const res = await get(`${server.url}api/x`, { 'accept-encoding': 'gzip' });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(packed)).toBe(true);
  });
});
