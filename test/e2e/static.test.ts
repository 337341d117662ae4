/**
 * mortar/static over real HTTP: streaming, aborts and descriptors, a file that changes while
 * it is served, and a property: no request path ever reaches outside the root.
 */
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../../middleware/static/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import { type Application, FastResponse } from '../../src/index.js';
import { closeNow } from '../helpers/net.js';
import { type Fixture, makeFixture, SECRET } from '../middleware/static/fixture.js';

let fx: Fixture;
let server: Server;
let url: string;
const below: Application = () => new FastResponse('below', { status: 404 });

beforeAll(async () => {
  fx = makeFixture();
  server = await serve(serveStatic(fx.root, { precompressed: ['br', 'gzip'] })(below), {
    port: 0,
    handleSignals: false,
    announce: false,
    log: () => {},
  });
  url = server.url.slice(0, -1);
});
afterAll(async () => {
  await closeNow(server);
  fx.remove();
});

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

function get(
  pathname: string,
  headers: Record<string, string> = {},
  agent: http.Agent | false = false,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}${pathname}`, { headers, agent }, resolve);
    request.on('error', reject);
  });
}

async function readAll(response: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('serveStatic over HTTP', () => {
  it('streams a large file byte for byte with its Content-Length', async () => {
    const res = await get('/big.bin');
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(fx.big.byteLength);
    expect((await readAll(res)).equals(fx.big)).toBe(true);
  });

  it('serves a single range and a multipart range of a large file', async () => {
    const one = await get('/big.bin', { range: 'bytes=-100' });
    expect(one.statusCode).toBe(206);
    expect((await readAll(one)).equals(fx.big.subarray(-100))).toBe(true);
    const many = await get('/big.bin', { range: 'bytes=0-99,2000000-2000099' });
    const body = await readAll(many);
    expect(body.byteLength).toBe(Number(many.headers['content-length']));
    expect(body.includes(fx.big.subarray(2_000_000, 2_000_100))).toBe(true);
  });

  it('answers HEAD of a large file at once, without a body', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.request(`${url}/big.bin`, { method: 'HEAD', agent: false }, resolve).end(),
    );
    expect(res.headers['content-length']).toBe(String(fx.big.byteLength));
    expect((await readAll(res)).byteLength).toBe(0);
  });

  it('answers 304 and a precompressed variant over the wire', async () => {
    const first = await get('/style.css', { 'accept-encoding': 'br' });
    await readAll(first);
    expect(first.headers['content-encoding']).toBe('br');
    const again = await get('/style.css', {
      'accept-encoding': 'br',
      'if-none-match': String(first.headers.etag),
    });
    expect(again.statusCode).toBe(304);
    expect((await readAll(again)).byteLength).toBe(0);
  });

  it('closes every file descriptor after many aborted downloads', async () => {
    await readAll(await get('/hello.txt')); // warm up lazy descriptors
    const before = openDescriptors();
    for (let i = 0; i < 40; i++) {
      const res = await get(
        i % 2 ? '/big.bin' : '/medium.bin',
        i % 3 ? {} : { range: 'bytes=0-9,-10' },
      );
      await new Promise<void>((resolve) => res.once('data', () => resolve()));
      res.destroy();
    }
    let after = openDescriptors();
    for (let i = 0; i < 50 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = openDescriptors();
    }
    expect(after).toBeLessThanOrEqual(before);
  });

  it('never sends a short body as complete when the file shrinks mid-download', async () => {
    const file = path.join(fx.root, 'shrinking.bin');
    const content = Buffer.alloc(16 * 1024 * 1024, 7);
    writeFileSync(file, content);
    // On a kept-alive connection a short body would leave the client waiting for ever.
    const agent = new http.Agent({ keepAlive: true });
    const res = await get('/shrinking.bin', {}, agent);
    expect(Number(res.headers['content-length'])).toBe(content.byteLength);
    res.pause();
    await new Promise((r) => setTimeout(r, 100));
    truncateSync(file, 1024 * 1024);
    res.resume();
    let received = 0;
    const outcome = await new Promise<string>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      res.on('end', () => resolve(res.complete ? 'complete' : 'incomplete'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
      setTimeout(() => resolve('hung'), 3000);
    });
    agent.destroy();
    expect(received).toBeLessThan(content.byteLength);
    expect(['error', 'aborted', 'incomplete']).toContain(outcome);
  });
});

describe('property: nothing outside the root is ever served', () => {
  const pieces = [
    '..',
    '.',
    '%2e%2e',
    '%2E%2e',
    '%252e%252e',
    '.%2e',
    '..%2f',
    '..%5c',
    '..\\',
    '%00',
    '',
    'outside',
    'secret.txt',
    'link-outside.txt',
    'dir-link-outside',
    'sub',
    'hello.txt',
    '%c0%ae',
    '%2f',
    '~',
    'root',
  ];

  it('for random request paths, every answer is a root file, a refusal, or the app below', async () => {
    const app = serveStatic(fx.root, { dotfiles: 'allow' })(below);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.boolean(),
        async (segments, trailing) => {
          const pathInfo = `/${segments.join('/')}${trailing ? '/' : ''}`;
          const response = await app(new Request('http://localhost/'), {
            scriptName: '',
            pathInfo,
            gateway: 'test',
          });
          const body = await response.text();
          expect(body).not.toContain(SECRET);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
