import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyLimit } from '../../../middleware/body-limit/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, HTTPError, toFetchHandler } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { closeNow } from '../../helpers/net.js';

let calls = 0;
const reader: Application = async (request) => {
  calls++;
  const text = await request.text();
  return new Response(`read ${text.length}`);
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

/** A raw HTTP/1.1 request over loopback: chunked when `chunks` is given. */
function raw(
  url: string,
  options: { headers?: Record<string, string>; chunks?: string[]; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    request.on('error', reject);
    if (options.chunks) for (const chunk of options.chunks) request.write(chunk);
    request.end(options.body);
  });
}

describe('bodyLimit', () => {
  it('answers 413 at once for a Content-Length over the limit, without calling the app', async () => {
    calls = 0;
    const server = await serve(bodyLimit({ maxBytes: 10 })(reader), { port: 0, announce: false });
    servers.push(server);
    const res = await raw(server.url, { body: 'x'.repeat(11) });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(res.body).toContain('over the limit of 10 bytes');
    expect(calls).toBe(0);
    expect((await raw(server.url, { body: 'x'.repeat(10) })).body).toBe('read 10');
  });

  it('counts an in-process body that declares no length (TestClient)', async () => {
    const client = new TestClient(bodyLimit({ maxBytes: 10 })(reader));
    expect((await client.post('/', { body: 'x'.repeat(11) })).status).toBe(413);
    expect(await (await client.post('/', { body: 'x'.repeat(10) })).text()).toBe('read 10');
  });

  it('counts a body that streams more than the Content-Length it declares (TestClient, toFetchHandler)', async () => {
    const headers = { 'content-length': '10' };
    const body = 'x'.repeat(5000);
    calls = 0;
    const client = new TestClient(bodyLimit({ maxBytes: 1000 })(reader));
    const viaClient = await client.post('/', { headers, body });
    expect(viaClient.status).toBe(413);
    expect(await viaClient.text()).toContain('over the limit of 1000 bytes');
    const handler = toFetchHandler(bodyLimit({ maxBytes: 1000 })(reader));
    const request = new Request('http://localhost/', { method: 'POST', headers, body });
    expect(request.headers.get('content-length')).toBe('10');
    expect((await handler(request)).status).toBe(413);
    expect(calls).toBe(2);
    expect(await (await client.post('/', { headers, body: 'x'.repeat(10) })).text()).toBe(
      'read 10',
    );
  });

  it('counts whatever body a request carries, not the length it declares', async () => {
    // Behind the HTTP gateway, a middleware hands on a request of its own making that declares
    // 10 bytes and carries 5,000: counted, and refused past the limit.
    const swap =
      (next: Application): Application =>
      (request, environ) =>
        next(
          new Request(request.url, {
            method: 'POST',
            headers: { 'content-length': '10' },
            body: 'y'.repeat(5000),
          }),
          environ,
        );
    const server = await serve(swap(bodyLimit({ maxBytes: 1000 })(reader)), {
      port: 0,
      announce: false,
    });
    servers.push(server);
    expect((await raw(server.url, { body: 'x'.repeat(10) })).status).toBe(413);
    // The gateway's own request, within the limit, reads whole.
    const direct = await serve(bodyLimit({ maxBytes: 1000 })(reader), { port: 0, announce: false });
    servers.push(direct);
    expect((await raw(direct.url, { body: 'x'.repeat(1000) })).body).toBe('read 1000');
  });

  it('errors a chunked body mid-stream: the read rejects with an HTTPError 413', async () => {
    let caught: unknown;
    const catcher: Application = async (request) => {
      try {
        await request.arrayBuffer();
      } catch (error) {
        caught = error;
        throw error;
      }
      return new Response('no');
    };
    const server = await serve(bodyLimit({ maxBytes: 1000 })(catcher), {
      port: 0,
      announce: false,
    });
    servers.push(server);
    const res = await raw(server.url, { chunks: ['x'.repeat(600), 'x'.repeat(600)] });
    expect(res.status).toBe(413);
    expect(caught).toBeInstanceOf(HTTPError);
    expect((caught as HTTPError).status).toBe(413);
    const small = await raw(server.url, { chunks: ['x'.repeat(500), 'x'.repeat(500)] });
    expect(small.status).toBe(200);
  });

  it("keeps the gateway's request when it counts a body: srvx's runtime and ip, a form's type", async () => {
    const seen: unknown[] = [];
    const inspector: Application = async (request) => {
      const { runtime, ip } = request as { runtime?: { node?: { req?: unknown } }; ip?: unknown };
      seen.push(runtime?.node?.req instanceof http.IncomingMessage, ip);
      const form = await request.formData();
      return new Response(`read ${String(form.get('a')).length}`);
    };
    // The gateway's own limit, and the middleware's under a gateway without one.
    const gateway = await serve(inspector, { port: 0, announce: false, maxBodySize: 1000 });
    const middleware = await serve(bodyLimit({ maxBytes: 1000 })(inspector), {
      port: 0,
      announce: false,
      maxBodySize: Number.POSITIVE_INFINITY,
    });
    servers.push(gateway, middleware);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const server of [gateway, middleware]) {
      seen.length = 0;
      const res = await raw(server.url, { headers: form, chunks: ['a=xx', 'xx'] });
      expect(res.body).toBe('read 4');
      expect(seen).toEqual([true, '127.0.0.1']);
      const over = await raw(server.url, { headers: form, chunks: ['a=', 'x'.repeat(1000)] });
      expect(over.status).toBe(413);
    }
  });

  it('passes requests without a body untouched (the same Request object)', async () => {
    let seen: Request | undefined;
    const given = new Request('http://localhost/');
    await bodyLimit({ maxBytes: 0 })((request) => {
      seen = request;
      return new Response();
    })(given, { scriptName: '', pathInfo: '/', gateway: 'test' });
    expect(seen).toBe(given);
  });

  it('refuses a limit that is not a whole number of bytes', () => {
    expect(() => bodyLimit({ maxBytes: -1 })).toThrow(
      /^bodyLimit: option "maxBytes" must be a number of bytes \(an integer ≥ 0\), got -1$/,
    );
    expect(() => bodyLimit({ maxBytes: 1.5 })).toThrow(TypeError);
    expect(() => bodyLimit({} as never)).toThrow(
      /^bodyLimit: option "maxBytes" is required \(a number of bytes \(an integer ≥ 0\)\)$/,
    );
  });
});

describe('serve({ maxBodySize })', () => {
  it('limits every request at the gateway: 10 MiB unless set, Infinity turns it off', async () => {
    const limited = await serve(reader, { port: 0, announce: false, maxBodySize: 100 });
    const unlimited = await serve(reader, {
      port: 0,
      announce: false,
      maxBodySize: Number.POSITIVE_INFINITY,
    });
    const defaulted = await serve(reader, { port: 0, announce: false });
    servers.push(limited, unlimited, defaulted);
    expect((await raw(limited.url, { body: 'x'.repeat(101) })).status).toBe(413);
    expect((await raw(limited.url, { chunks: ['x'.repeat(60), 'x'.repeat(60)] })).status).toBe(413);
    expect((await raw(unlimited.url, { body: 'x'.repeat(101) })).body).toBe('read 101');
    const big = { 'content-length': String(10 * 1024 * 1024 + 1) };
    const refused = await raw(defaulted.url, { headers: big, body: '' }).catch(() => undefined);
    expect(refused?.status).toBe(413);
    await expect(serve(reader, { port: 0, maxBodySize: -5 })).rejects.toThrow(/maxBodySize/);
  });
});
