import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tenths } from '../../../middleware/access-log/format.js';
import { accessLog, batchedWriter, getRequestId } from '../../../middleware/access-log/index.js';
import { proxyFix } from '../../../middleware/proxy-fix/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { serveFastCGI } from '../../../src/gateways/fastcgi/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import {
  type Application,
  compose,
  FastResponse,
  HTTPError,
  toFetchHandler,
} from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { cgiParams, FastCGIClient } from '../../helpers/fastcgi-client.js';
import { closeNow } from '../../helpers/net.js';

const servers: Pick<Server, 'close'>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
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
    expect(() => accessLog({ format: 'apache' as never })).toThrow(
      /^accessLog: option "format" must be one of "combined", "common", "json" or a function, got "apache"$/,
    );
  });

  it('the request line has the protocol the client spoke: HTTP/1.0, FastCGI SERVER_PROTOCOL', async () => {
    const { lines, middleware } = logged({ format: 'common' });
    const app = middleware(() => new FastResponse('x'));
    const server = await serve(app, { port: 0, announce: false });
    servers.push(server);
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.end('GET /old HTTP/1.0\r\nHost: localhost\r\n\r\n');
    socket.resume();
    await once(socket, 'close');
    await until(() => lines.length > 0);
    expect(lines[0]).toMatch(/"GET \/old HTTP\/1\.0" 200 1$/);

    const fastcgi = await serveFastCGI(app, { port: 0, handleSignals: false });
    servers.push(fastcgi);
    const client = await FastCGIClient.connect(Number(new URL(fastcgi.url).port));
    client.request(1, cgiParams('GET', '/h2', { SERVER_PROTOCOL: 'HTTP/2.0' }));
    client.request(2, cgiParams('GET', '/ten', { SERVER_PROTOCOL: 'HTTP/1.0' }));
    await client.reply(1);
    await client.reply(2);
    client.close();
    await until(() => lines.length > 2);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/"GET \/h2 HTTP\/2\.0" 200 1$/),
      expect.stringMatching(/"GET \/ten HTTP\/1\.0" 200 1$/),
    ]);

    // A runtime's fetch handler does not say: the line ends at the target, as for HTTP/0.9.
    await toFetchHandler(app)(new Request('http://localhost/fetch'));
    await until(() => lines.length > 3);
    expect(lines[3]).toMatch(/"GET \/fetch" 200 1$/);
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

  it('over real HTTP logs the target and query the client sent, without building request.url', async () => {
    const { lines, middleware } = logged({ format: 'json' });
    let urlReads = 0;
    // Counts reads of the gateway request's url, made by accessLog or the mount below it.
    const counting: Application = (request, environ) => {
      const inner = Object.getPrototypeOf(request) as object;
      const descriptor = Object.getOwnPropertyDescriptor(inner, 'url')!;
      Object.defineProperty(request, 'url', {
        get() {
          urlReads++;
          return descriptor.get!.call(request);
        },
      });
      return middleware(urlmap({ '/shop': () => new FastResponse('ok') }))(request, environ);
    };
    const server = await serve(counting, { port: 0, announce: false });
    servers.push(server);
    const started = Date.now();
    const response = await fetch(`${server.url}shop/cart?b=1&c=%20d`);
    expect(await response.text()).toBe('ok');
    await until(() => lines.length > 0);
    const entry = JSON.parse(lines[0]!);
    expect(entry.target).toBe('/shop/cart?b=1&c=%20d');
    expect(urlReads).toBe(0);
    // Every field, in order; the arrival time in ISO 8601, on the wall clock.
    expect(Object.keys(entry)).toEqual([
      'time',
      'remoteAddress',
      'method',
      'target',
      'protocol',
      'status',
      'bytes',
      'durationMs',
      'referer',
      'userAgent',
      'requestId',
      'aborted',
    ]);
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(entry.time) - started)).toBeLessThan(1000);
    expect(entry).toMatchObject({
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 2,
      referer: null,
      aborted: false,
    });
  });

  it('JSON escapes what would break a line or a parser; an unknown address is null', async () => {
    const { lines, middleware } = logged({ format: 'json' });
    const app = middleware(() => new FastResponse('x'));
    // A header is Latin-1: DEL and C1 controls (NEL, U+0085, ends a line in some readers) can come.
    const headers = { 'user-agent': 'a\u007fb\u0085c"\\' };
    await app(new Request('http://localhost/', { headers }), {
      scriptName: '',
      pathInfo: '/',
      gateway: 'test',
    });
    expect(lines[0]).not.toMatch(/[\u007f\u0085]/);
    const entry = JSON.parse(lines[0]!);
    expect(entry.userAgent).toBe('a\u007fb\u0085c"\\');
    expect(entry.remoteAddress).toBeNull();
  });

  it('writes durations to one decimal as toFixed(1) does', () => {
    for (const ms of [0, 0.04, 0.05, 0.96, 1, 3.27, 12.25, 99.99, 1234.5678, 86_400_000.3]) {
      expect(tenths(ms)).toBe(ms.toFixed(1));
    }
  });
});

describe('batchedWriter', () => {
  // For the child processes below: the modules they import, by path.
  const module = fileURLToPath(new URL('../../../middleware/access-log/index.ts', import.meta.url));
  const mortar = fileURLToPath(new URL('../../../src/index.ts', import.meta.url));

  it('writes what waits in one write, flushAfterMs after its first line', async () => {
    const chunks: string[] = [];
    const write = batchedWriter({ write: (chunk) => chunks.push(chunk) }, { flushAfterMs: 40 });
    write('one');
    await new Promise((resolve) => setTimeout(resolve, 10));
    write('two');
    expect(chunks).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(chunks).toEqual(['one\ntwo\n']);
    const next = batchedWriter({ write: (chunk) => chunks.push(chunk) }, { flushAfterMs: 0 });
    next('three');
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toEqual(['one\ntwo\n', 'three\n']);
  });

  it('writes at once when bufferSize characters wait, and reports a failing sink once', async () => {
    const chunks: string[] = [];
    const write = batchedWriter({ write: (chunk) => chunks.push(chunk) });
    const line = 'x'.repeat(1023);
    for (let i = 0; i < 16; i++) write(line);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBe(16 * 1024);
    expect(() => batchedWriter({ write() {} }, { bufferSize: 0 })).toThrow(/bufferSize/);
    expect(() => batchedWriter({ write() {} }, { flushAfterMs: -1 })).toThrow(/flushAfterMs/);
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const failing = batchedWriter(
        {
          write: () => {
            throw new Error('EPIPE');
          },
        },
        { flushAfterMs: 0 },
      );
      failing('a');
      await new Promise((resolve) => setImmediate(resolve));
      failing('b');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      console.error = original;
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0]![0])).toMatch(/accessLog: writing the log failed/);
  });

  it('lets accessLog make its lines as the batch is written: same lines, same order', async () => {
    const chunks: string[] = [];
    // Long enough that the timed flush never comes before the three requests end, however
    // loaded the machine (50 ms did, under load); `until` below waits for it.
    const write = batchedWriter({ write: (chunk) => chunks.push(chunk) }, { flushAfterMs: 1000 });
    let made = 0;
    const format = (entry: { target: string; status: number; durationMs: number }) => {
      made++;
      if (entry.target === '/boom') throw new Error('format failed');
      return `${entry.target} ${entry.status} ${entry.durationMs >= 0}`;
    };
    const app = accessLog({ format, write })((request) =>
      new URL(request.url).pathname === '/slow'
        ? new Promise((resolve) => setTimeout(() => resolve(new FastResponse('z')), 20))
        : new FastResponse('y', { status: 202 }),
    );
    const client = new TestClient(app);
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      await client.get('/a?q=1');
      await client.get('/boom');
      await client.get('/slow');
      // Read when each response finished; not made yet — the batch makes them at its write,
      // or before a line given as text (which comes after them).
      expect({ made, chunks }).toEqual({ made: 0, chunks: [] });
      write('a line given as text');
      expect({ made, chunks }).toEqual({ made: 3, chunks: [] });
      await until(() => chunks.length > 0);
    } finally {
      console.error = original;
    }
    expect(chunks).toEqual(['/a?q=1 202 true\n/slow 200 true\na line given as text\n']);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]![0])).toMatch(/accessLog: the format or write function threw/);
  });

  it('by default shares one writer: twenty accessLog() add one listener to stderr', () => {
    const before = process.stderr.listenerCount('error');
    for (let i = 0; i < 20; i++) accessLog();
    expect(process.stderr.listenerCount('error') - before).toBeLessThanOrEqual(1);
  });

  it('by default keeps the process alive when stderr breaks (EPIPE)', async () => {
    const script = `
      const { accessLog } = await import(${JSON.stringify(module)});
      const { FastResponse } = await import(${JSON.stringify(mortar)});
      const app = accessLog()(() => new FastResponse('x'.repeat(100)));
      const environ = { scriptName: '', pathInfo: '/x', remoteAddress: '192.0.2.1' };
      for (let i = 0; i < 8; i++) {
        app(new Request('http://localhost/' + 'y'.repeat(4000)), environ);
        await new Promise((r) => setTimeout(r, 150));
      }
      process.stdout.write('survived');`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader of the child's stderr goes away at once: its next write fails with EPIPE.
    child.stderr!.destroy();
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
    });
    const [code] = (await once(child, 'exit')) as [number];
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'survived' });
  }, 20_000);

  it('by default loses no line when the process exits at once, or throws', () => {
    for (const end of ['process.exit(3)', "throw new Error('boom')"]) {
      const script = `
        const { accessLog } = await import(${JSON.stringify(module)});
        const { FastResponse } = await import(${JSON.stringify(mortar)});
        const app = accessLog({ format: 'common' })(() => new FastResponse('hi'));
        const environ = { scriptName: '', pathInfo: '/x', remoteAddress: '192.0.2.1', serverProtocol: 'HTTP/1.1' };
        app(new Request('http://localhost/x?y'), environ);
        app(new Request('http://localhost/x?z'), environ);
        ${end};`;
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          encoding: 'utf8',
        },
      );
      const logged = child.stderr.split('\n').filter((l) => l.startsWith('192.0.2.1'));
      expect(logged, child.stderr).toHaveLength(2);
      expect(logged[1]).toMatch(/"GET \/x\?z HTTP\/1\.1" 200 2$/);
    }
  });
});
