import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { accessLog, getRequestId } from '../../../middleware/access-log/index.js';
import { proxyFix } from '../../../middleware/proxy-fix/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, compose, FastResponse, HTTPError } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function logged(options: Parameters<typeof accessLog>[0] = {}) {
  const lines: string[] = [];
  return { lines, middleware: accessLog({ write: (line) => lines.push(line), ...options }) };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('accessLog', () => {
  it('writes Combined with bytes, duration and id; Common exactly; JSON with every field', async () => {
    const app: Application = () => new FastResponse('héllo', { status: 201 });
    const combined = logged();
    const client = new TestClient(combined.middleware(app));
    await client.get('/a?b=1', { headers: { referer: 'http://x/', 'user-agent': 'curl/8' } });
    expect(combined.lines[0]).toMatch(
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 201 6 "http:\/\/x\/" "curl\/8" \d+\.\dms [0-9a-f]{16}-[0-9a-z]+$/,
    );
    const common = logged({ format: 'common' });
    await new TestClient(common.middleware(app)).get('/c');
    expect(common.lines[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/c HTTP\/1\.1" 201 6$/);
    const json = logged({ format: 'json' });
    await new TestClient(json.middleware(app)).head('/j');
    const entry = JSON.parse(json.lines[0]!);
    expect(entry).toMatchObject({
      method: 'HEAD',
      target: '/j',
      status: 201,
      bytes: 0,
      aborted: false,
    });
    expect(typeof entry.durationMs).toBe('number');
    expect(() => accessLog({ format: 'apache' as never })).toThrow(/accessLog format/);
  });

  it('escapes control characters, quotes and ANSI escapes a client sent', async () => {
    const { lines, middleware } = logged();
    await new TestClient(middleware(() => new Response('x'))).get('/', {
      headers: { 'user-agent': 'a"b\\c\x1b[2J' },
    });
    expect(lines[0]).toContain('"a\\"b\\\\c\\x1b[2J"');
    expect(lines[0]).not.toContain('\x1b');
  });

  it('logs a streamed body when it ends, with the bytes the gateway read', async () => {
    const { lines, middleware } = logged({ format: 'json' });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const app: Application = () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new Uint8Array(1000));
            await gate;
            controller.enqueue(new Uint8Array(24));
            controller.close();
          },
        }),
      );
    const server = await serve(middleware(app), { port: 0, announce: false });
    servers.push(server);
    const response = fetch(server.url);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines).toHaveLength(0);
    release();
    expect((await (await response).arrayBuffer()).byteLength).toBe(1024);
    await until(() => lines.length > 0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ status: 200, bytes: 1024, aborted: false });
  });

  it('says so when the client goes away mid-body', async () => {
    const { lines, middleware } = logged({ format: 'json' });
    const app: Application = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(16 * 1024));
            return new Promise((r) => setTimeout(r, 5));
          },
        }),
      );
    const server = await serve(middleware(app), { port: 0, announce: false });
    servers.push(server);
    await new Promise<void>((resolve) => {
      const request = http.get(server.url, (res) => {
        res.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', () => {});
    });
    await until(() => lines.length > 0);
    const entry = JSON.parse(lines[0]!);
    expect(entry.aborted).toBe(true);
    expect(entry.bytes).toBeGreaterThan(0);
  });

  it('believes X-Request-Id from a trusted peer only; the id is in the environ and the response', async () => {
    const { lines, middleware } = logged({ format: 'json' });
    const app = middleware((_request, environ) =>
      Response.redirect(`http://localhost/${getRequestId(environ)}`),
    );
    const trusted = await new TestClient(app).get('/', { headers: { 'x-request-id': 'abc-123' } });
    expect(trusted.headers.get('x-request-id')).toBe('abc-123');
    expect(trusted.headers.get('location')).toBe('http://localhost/abc-123');
    const foreign = new TestClient(app, { remoteAddress: '198.51.100.9' });
    const spoofed = await foreign.get('/', { headers: { 'x-request-id': 'abc-123' } });
    expect(spoofed.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    const bad = await new TestClient(app).get('/', { headers: { 'x-request-id': 'a b' } });
    expect(bad.headers.get('x-request-id')).not.toBe('a b');
    expect(lines.map((l) => JSON.parse(l).requestId)[0]).toBe('abc-123');
  });

  it('inside proxyFix logs the client; a thrown HTTPError is logged with its status', async () => {
    const { lines, middleware } = logged({ format: 'common' });
    const app = compose(
      proxyFix(),
      middleware,
    )(() => {
      throw new HTTPError(403);
    });
    const res = await new TestClient(app).get('/', {
      headers: { 'x-forwarded-for': '203.0.113.5' },
    });
    expect(res.status).toBe(403);
    expect(lines[0]).toMatch(/^203\.0\.113\.5 .* 403 -$/);
  });
});
