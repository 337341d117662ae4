import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { compress } from '../../../middleware/compress/index.js';
import { serveStatic } from '../../../middleware/static/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { closeNow, which } from '../../helpers/net.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

const json = JSON.stringify({
  items: Array.from({ length: 400 }, (_, i) => ({ i, name: `item ${i}` })),
});

async function listen(app: Application): Promise<string> {
  const server = await serve(app, { port: 0, announce: false });
  servers.push(server);
  return server.url;
}

/** A GET over node:http (no automatic decoding): status, headers and the raw bytes. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      http
        .request(url, { headers, method }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        })
        .on('error', reject)
        .end();
    },
  );
}

/** A stream of `parts`, one chunk a pull. */
function chunks(parts: string[]): ReadableStream<Uint8Array> {
  const queue = parts.map((part) => new TextEncoder().encode(part));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

const decode: Record<string, (b: Buffer) => Buffer> = {
  br: zlib.brotliDecompressSync,
  gzip: zlib.gunzipSync,
};

describe('compress', () => {
  const app: Application = () =>
    new FastResponse(json, {
      headers: { 'content-type': 'application/json', etag: '"v1"', 'accept-ranges': 'bytes' },
    });

  it('round-trips br and gzip byte for byte, by q-value, with Vary, a weak ETag and the length', async () => {
    const url = await listen(compress()(app));
    for (const [accept, coding] of [
      ['gzip, br', 'br'],
      ['br;q=0.5, gzip', 'gzip'],
      ['*', 'br'],
      ['br;q=0, *;q=0.1', 'gzip'],
      ['x-gzip', 'gzip'],
    ] as const) {
      const res = await get(url, { 'accept-encoding': accept });
      expect(res.headers['content-encoding'], accept).toBe(coding);
      expect(decode[coding]!(res.body).toString()).toBe(json);
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers.etag).toBe('W/"v1"');
      expect(res.headers['accept-ranges']).toBeUndefined();
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
    }
    for (const accept of ['identity', 'gzip;q=0, br;q=0', '']) {
      const res = await get(url, accept ? { 'accept-encoding': accept } : {});
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.body.toString()).toBe(json);
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers.etag).toBe('"v1"');
    }
  });

  it('leaves alone what it must: 204/304, Range, encoded, no-transform, small, images', async () => {
    const cases: [string, Application, Record<string, string>?, string?][] = [
      ['Range', app, { range: 'bytes=0-9' }],
      ['304', () => new Response(null, { status: 304, headers: { 'content-type': 'text/plain' } })],
      [
        'encoded',
        () =>
          new Response(json, {
            headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
          }),
      ],
      [
        'no-transform',
        () =>
          new Response(json, {
            headers: { 'content-type': 'text/plain', 'cache-control': 'public, no-transform' },
          }),
      ],
      ['small', () => new FastResponse('tiny', { headers: { 'content-type': 'text/plain' } })],
      ['image', () => new Response(json, { headers: { 'content-type': 'image/png' } })],
      ['no type', () => new Response(new Blob([json]).stream())],
    ];
    for (const [label, handler, headers = {}, method = 'GET'] of cases) {
      const url = await listen(compress()(handler));
      const res = await get(url, { 'accept-encoding': 'br, gzip', ...headers }, method);
      expect(res.headers['content-encoding'] ?? 'none', label).toBe(
        label === 'encoded' ? 'gzip' : 'none',
      );
    }
    const svg = await listen(
      compress()(() => new Response(json, { headers: { 'content-type': 'image/svg+xml' } })),
    );
    expect((await get(svg, { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe(
      'gzip',
    );
  });

  it('streams a streamed body, and flushes each event of text/event-stream at once', async () => {
    let push!: (text: string) => void;
    let close!: () => void;
    const events = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => controller.enqueue(new TextEncoder().encode(text));
        close = () => controller.close();
      },
    });
    const url = await listen(
      compress()(() => new Response(events, { headers: { 'content-type': 'text/event-stream' } })),
    );
    const inflate = zlib.createBrotliDecompress();
    let text = '';
    inflate.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const ended = new Promise<void>((resolve) => {
      http.get(url, { headers: { 'accept-encoding': 'br' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('br');
        expect(res.headers['content-length']).toBeUndefined();
        res.pipe(inflate);
        inflate.on('end', resolve);
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    push('data: one\n\n');
    for (let i = 0; i < 100 && !text.includes('one'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(text).toBe('data: one\n\n');
    push('data: two\n\n');
    close();
    await ended;
    expect(text).toBe('data: one\n\ndata: two\n\n');
  });

  it("never compresses static's precompressed files twice", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-compress-'));
    try {
      writeFileSync(path.join(dir, 'app.js'), json);
      writeFileSync(path.join(dir, 'app.js.br'), zlib.brotliCompressSync(json));
      const url = await listen(
        compress()(
          serveStatic(dir, { precompressed: ['br'] })(() => new Response('none', { status: 404 })),
        ),
      );
      const res = await get(`${url}app.js`, { 'accept-encoding': 'br' });
      expect(res.headers['content-encoding']).toBe('br');
      expect(zlib.brotliDecompressSync(res.body).toString()).toBe(json);
      const plain = await get(`${url}app.js`, { 'accept-encoding': 'gzip' });
      expect(zlib.gunzipSync(plain.body).toString()).toBe(json);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers HEAD with the header fields GET gets: Vary, Content-Encoding, ETag, no length', async () => {
    const url = await listen(compress()(app));
    for (const accept of ['br', 'gzip', 'identity']) {
      const got = await get(url, { 'accept-encoding': accept });
      const headed = await get(url, { 'accept-encoding': accept }, 'HEAD');
      expect(headed.body.length).toBe(0);
      for (const name of ['vary', 'content-encoding', 'etag', 'accept-ranges', 'content-type']) {
        expect(headed.headers[name], `${accept} ${name}`).toBe(got.headers[name]);
      }
      expect(headed.headers.vary).toBe('Accept-Encoding');
      // GET's compressed length is known only once compressed: HEAD states none (RFC 9110 §8.6).
      expect(headed.headers['content-length']).toBe(
        accept === 'identity' ? got.headers['content-length'] : undefined,
      );
    }
    // A body under the threshold: neither is compressed, both carry Vary.
    const small = await listen(
      compress()(() => new Response('tiny', { headers: { 'content-type': 'text/plain' } })),
    );
    const headed = await get(small, { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(headed.headers.vary).toBe('Accept-Encoding');
    expect(headed.headers['content-encoding']).toBeUndefined();
  });

  it('sends a body shorter than the threshold as it is, its length known or not', async () => {
    const bodies: [string, () => BodyInit][] = [
      ['a string in a Response', () => 'tiny'],
      ['a short stream', () => chunks(['ti', 'ny'])],
      ['an empty stream', () => chunks([])],
      ['a stream just under the threshold', () => chunks(['x'.repeat(1000), 'y'.repeat(23)])],
    ];
    for (const [label, body] of bodies) {
      const handler = () => new Response(body(), { headers: { 'content-type': 'text/plain' } });
      const expected = await new Response(body()).text();
      const res = await get(await listen(compress()(handler)), { 'accept-encoding': 'gzip' });
      expect(res.headers['content-encoding'], label).toBeUndefined();
      expect(res.headers.vary, label).toBe('Accept-Encoding');
      expect(res.body.toString(), label).toBe(expected);
      const client = await new TestClient(compress()(handler)).get('/', {
        headers: { 'accept-encoding': 'br' },
      });
      expect(client.headers.get('content-encoding'), label).toBeNull();
      expect(client.text(), label).toBe(expected);
    }
    // At the threshold, a stream is compressed; every byte read ahead is in it, in order.
    const parts = ['a'.repeat(600), 'b'.repeat(424), 'c'.repeat(5000)];
    const res = await get(
      await listen(
        compress()(
          () => new Response(chunks(parts), { headers: { 'content-type': 'text/plain' } }),
        ),
      ),
      { 'accept-encoding': 'gzip' },
    );
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(res.body).toString()).toBe(parts.join(''));
  });

  it("compresses static's file bodies, streamed, but not a range of one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-compress-'));
    try {
      // 320 KB: past static's in-memory content cache (64 KiB), so its body is a file stream.
      const script = `${'export const line = "mortar";\n'.repeat(10_000)}`;
      writeFileSync(path.join(dir, 'app.js'), script);
      const site = compress()(serveStatic(dir)(() => new Response('none', { status: 404 })));
      const url = await listen(site);
      for (const coding of ['gzip', 'br'] as const) {
        const res = await get(`${url}app.js`, { 'accept-encoding': coding });
        expect(res.headers['content-encoding'], coding).toBe(coding);
        expect(res.headers['content-length']).toBeUndefined();
        expect(res.headers.vary).toBe('Accept-Encoding');
        expect(decode[coding]!(res.body).toString()).toBe(script);
      }
      const client = await new TestClient(site).get('/app.js', {
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(client.headers.get('content-encoding')).toBe('gzip');
      expect(zlib.gunzipSync(client.bytes()).toString()).toBe(script);
      const range = await get(`${url}app.js`, { 'accept-encoding': 'gzip', range: 'bytes=0-9' });
      expect(range.status).toBe(206);
      expect(range.headers['content-encoding']).toBeUndefined();
      expect(range.body.toString()).toBe(script.slice(0, 10));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is decoded by curl --compressed', async () => {
    const curl = which('curl');
    if (!curl) {
      if (process.env.CI) throw new Error('curl is required under CI (apt-get install -y curl)');
      console.warn('skipping: curl is not installed');
      return;
    }
    const url = await listen(compress()(app));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(curl, ['-s', '--compressed', url], (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(out).toBe(json);
  });

  it('refuses an unknown coding and a bad threshold', () => {
    expect(() => compress({ encodings: ['lzma' as 'br'] })).toThrow(
      /compress: option "encodings" must be a list, each one of "br", "gzip", "zstd", got an array/,
    );
    expect(() => compress({ threshold: -1 })).toThrow(/compress: option "threshold"/);
  });
});
