/**
 * serveStatic and fileApp through TestClient: the conformance cases of send's and
 * serve-static's suites, restated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileApp, serveStatic } from '../../../middleware/static/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { type Fixture, MTIME, makeFixture, SECRET } from './fixture.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.remove());

/** The application below serveStatic: says it was reached. */
const below: Application = (request, environ) =>
  FastResponse.json(
    { below: true, method: request.method, pathInfo: environ.pathInfo },
    { status: 404 },
  );

const client = (options: Parameters<typeof serveStatic>[1] = {}) =>
  new TestClient(serveStatic(fx.root, options)(below));

describe('serveStatic: files and headers', () => {
  it('serves a file with type, length, validators, ranges and cache headers', async () => {
    const res = await client().get('/hello.txt');
    expect(res.status).toBe(200);
    expect(res.text()).toBe('Hello, static!\n');
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '15',
      'last-modified': MTIME.toUTCString(),
      'accept-ranges': 'bytes',
      'cache-control': 'public, max-age=0',
    });
    expect(res.headers.get('etag')).toMatch(/^W\/"f-[0-9a-f]+"$/);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await client().get('/style.css');
    const head = await client().head('/style.css');
    expect(head.status).toBe(200);
    expect(head.text()).toBe('');
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified']) {
      expect(head.headers.get(name)).toBe(get.headers.get(name));
    }
  });

  it('serves a file whose name needs percent-encoding', async () => {
    expect((await client().get('/caf%C3%A9%20menu.txt')).text()).toBe('menu\n');
  });

  it('serves an empty file', async () => {
    const res = await client().get('/empty.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('0');
    expect(res.text()).toBe('');
  });

  it('serves large files (streamed) byte for byte', async () => {
    const res = await client().get('/big.bin');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(res.bytes()).equals(fx.big)).toBe(true);
  });

  it('sets Cache-Control from maxAge and immutable, and lets setHeaders change headers', async () => {
    const res = await client({
      maxAge: 3600,
      immutable: true,
      setHeaders: (headers, file) => headers.set('x-file-size', String(file.size)),
    }).get('/hello.txt');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600, immutable');
    expect(res.headers.get('x-file-size')).toBe('15');
  });

  it('omits ETag and Last-Modified when told to', async () => {
    const res = await client({ etag: false, lastModified: false }).get('/hello.txt');
    expect(res.headers.has('etag')).toBe(false);
    expect(res.headers.has('last-modified')).toBe(false);
  });

  it('refuses bad options and a missing root at construction, naming them', () => {
    expect(() => serveStatic(`${fx.root}/nope`)).toThrow(/root ".*nope" does not exist/);
    expect(() => serveStatic(`${fx.root}/hello.txt`)).toThrow(/is not a folder/);
    expect(() => serveStatic(fx.root, { maxAge: -1 })).toThrow(/option "maxAge"/);
    expect(() => serveStatic(fx.root, { maxAge: 1.5 })).toThrow(/option "maxAge"/);
    expect(() => serveStatic(fx.root, { dotfiles: 'hide' as 'deny' })).toThrow(/option "dotfiles"/);
    expect(() => serveStatic(fx.root, { precompressed: ['lzma' as 'br'] })).toThrow(
      /option "precompressed" must be a list, each one of "br", "gzip", "zstd"/,
    );
  });
});

describe('serveStatic: methods and fallthrough', () => {
  it('passes other methods and unknown paths to the application', async () => {
    expect((await client().post('/hello.txt', { body: 'x' })).json()).toMatchObject({
      below: true,
      method: 'POST',
    });
    expect((await client().get('/nope.txt')).json()).toMatchObject({
      below: true,
      pathInfo: '/nope.txt',
    });
  });

  it('with fallthrough: false answers 405 with Allow, and 404', async () => {
    const strict = client({ fallthrough: false });
    const post = await strict.post('/hello.txt');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await strict.get('/nope.txt')).status).toBe(404);
  });

  it('works under a mount: paths come from pathInfo', async () => {
    const mounted = new TestClient(urlmap({ '/static': serveStatic(fx.root)(below) }));
    expect((await mounted.get('/static/hello.txt')).text()).toBe('Hello, static!\n');
  });
});

describe('serveStatic: directories', () => {
  it('serves index.html for / and for a directory with its slash', async () => {
    expect((await client().get('/')).text()).toBe('<h1>root index</h1>\n');
    expect((await client().get('/sub/')).text()).toBe('<h1>sub index</h1>\n');
  });

  it('redirects a directory without its slash with 301, keeping the query and the mount', async () => {
    const res = await client().get('/sub?a=1&b');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/sub/?a=1&b');
    const mounted = new TestClient(urlmap({ '/assets': serveStatic(fx.root)(below) }));
    const under = await mounted.get('/assets/sub');
    expect(under.headers.get('location')).toBe('/assets/sub/');
  });

  it('treats a directory named like a file as a directory', async () => {
    expect((await client().get('/dir.txt')).headers.get('location')).toBe('/dir.txt/');
    expect((await client().get('/dir.txt/')).text()).toContain('a directory named like a file');
  });

  it('does not redirect when redirect: false, and falls through', async () => {
    expect((await client({ redirect: false }).get('/sub')).json()).toMatchObject({ below: true });
  });

  it('falls through for a directory without an index, and for a file with a trailing slash', async () => {
    expect((await client().get('/empty-dir/')).json()).toMatchObject({ below: true });
    expect((await client().get('/hello.txt/')).json()).toMatchObject({ below: true });
    expect((await client({ index: false }).get('/sub/')).json()).toMatchObject({ below: true });
  });

  it('renders an escaped listing when asked, hiding dotfiles', async () => {
    const res = await client({ listing: true }).get('/listing/', {
      headers: { accept: 'text/html' },
    });
    expect(res.status).toBe(200);
    const html = res.text();
    expect(html).toContain('href="inner/"');
    expect(html).toContain('href="a.txt"');
    expect(html).toContain('&lt;b&gt;&amp;&quot;x&quot;.txt');
    expect(html).toContain('href="%3Cb%3E%26%22x%22.txt"');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('.dot');
    expect(html).toContain('href="../"');
  });
});

describe('serveStatic: dotfiles', () => {
  it('ignores dotfiles by default: as if absent', async () => {
    expect((await client().get('/.secret')).json()).toMatchObject({ below: true });
    expect((await client().get('/sub/.hidden')).json()).toMatchObject({ below: true });
  });

  it('denies them with 403 under deny, serves them under allow', async () => {
    expect((await client({ dotfiles: 'deny' }).get('/.secret')).status).toBe(403);
    expect((await client({ dotfiles: 'allow' }).get('/.secret')).text()).toBe('dotfile secret\n');
  });

  it('allows .well-known by default', async () => {
    expect((await client().get('/.well-known/security.txt')).text()).toContain('Contact:');
    expect((await client({ dotfiles: 'deny' }).get('/.well-known/security.txt')).status).toBe(200);
  });
});

describe('serveStatic: traversal never serves outside the root', () => {
  const direct = (pathInfo: string) =>
    serveStatic(fx.root, { fallthrough: false })(below)(new Request('http://localhost/'), {
      scriptName: '',
      pathInfo,
      gateway: 'test',
    });

  it.each([
    ['/../outside/secret.txt', 404],
    ['/%2e%2e/outside/secret.txt', 404],
    ['/%2E%2e/outside/secret.txt', 404],
    ['/%252e%252e/outside/secret.txt', 404],
    ['/..%2foutside%2fsecret.txt', 404],
    ['/..%5coutside%5csecret.txt', 404],
    ['/..\\outside\\secret.txt', 404],
    ['//outside/secret.txt', 404],
    ['/hello.txt%00.png', 400],
    ['/%c0%ae%c0%ae/outside/secret.txt', 400],
    ['/link-outside.txt', 404],
    ['/dir-link-outside/secret.txt', 404],
  ])('%s → %d', async (pathInfo, status) => {
    const res = await direct(pathInfo);
    expect(res.status).toBe(status);
    expect(await res.text()).not.toContain(SECRET);
  });

  it('follows a symlink inside the root by default, refuses it with followSymlinks: false', async () => {
    expect((await client().get('/link-inside.txt')).text()).toBe('Hello, static!\n');
    expect((await client({ followSymlinks: false }).get('/link-inside.txt')).json()).toMatchObject({
      below: true,
    });
  });

  it('follows any symlink only with followSymlinks: true', async () => {
    expect((await client({ followSymlinks: true }).get('/link-outside.txt')).text()).toBe(SECRET);
  });
});

describe('serveStatic: conditional requests', () => {
  it('answers 304 to a matching If-None-Match, with validators and no body', async () => {
    const first = await client({ maxAge: 60 }).get('/hello.txt');
    const etag = first.headers.get('etag')!;
    const res = await client({ maxAge: 60 }).get('/hello.txt', {
      headers: { 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
    expect(res.text()).toBe('');
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    expect(res.headers.get('last-modified')).toBe(MTIME.toUTCString());
    expect(res.headers.has('content-length')).toBe(false);
  });

  it('answers 304 to If-Modified-Since at or after Last-Modified', async () => {
    const res = await client().get('/hello.txt', {
      headers: { 'if-modified-since': MTIME.toUTCString() },
    });
    expect(res.status).toBe(304);
    const older = new Date(MTIME.getTime() - 60_000).toUTCString();
    expect(
      (await client().get('/hello.txt', { headers: { 'if-modified-since': older } })).status,
    ).toBe(200);
  });

  it('ignores If-Modified-Since when If-None-Match does not match', async () => {
    const res = await client().get('/hello.txt', {
      headers: { 'if-none-match': '"nope"', 'if-modified-since': MTIME.toUTCString() },
    });
    expect(res.status).toBe(200);
  });

  it('answers 412 to a failing If-Match or If-Unmodified-Since', async () => {
    expect((await client().get('/hello.txt', { headers: { 'if-match': '"nope"' } })).status).toBe(
      412,
    );
    const older = new Date(MTIME.getTime() - 60_000).toUTCString();
    expect(
      (await client().get('/hello.txt', { headers: { 'if-unmodified-since': older } })).status,
    ).toBe(412);
    expect((await client().get('/hello.txt', { headers: { 'if-match': '*' } })).status).toBe(200);
  });

  it('gives a full response to Cache-Control: no-cache', async () => {
    const etag = (await client().get('/hello.txt')).headers.get('etag')!;
    const res = await client().get('/hello.txt', {
      headers: { 'if-none-match': etag, 'cache-control': 'no-cache' },
    });
    expect(res.status).toBe(200);
    expect(res.text()).toBe('Hello, static!\n');
  });
});

describe('serveStatic: ranges', () => {
  const range = (value: string, extra: Record<string, string> = {}) =>
    client().get('/hello.txt', { headers: { range: value, ...extra } });

  it('answers one range with 206 and Content-Range', async () => {
    const res = await range('bytes=0-4');
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 0-4/15');
    expect(res.headers.get('content-length')).toBe('5');
    expect(res.text()).toBe('Hello');
  });

  it('answers a suffix range with the last N bytes (sirv #155)', async () => {
    const res = await range('bytes=-7');
    expect(res.headers.get('content-range')).toBe('bytes 8-14/15');
    expect(res.text()).toBe('static!\n'.slice(-7));
  });

  it('answers bytes=N- to the end, and bytes=0- as 206', async () => {
    expect((await range('bytes=7-')).text()).toBe('static!\n');
    const all = await range('bytes=0-');
    expect(all.status).toBe(206);
    expect(all.headers.get('content-range')).toBe('bytes 0-14/15');
  });

  it('answers an unsatisfiable range with 416 and Content-Range: bytes */size', async () => {
    const res = await range('bytes=15-20');
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */15');
  });

  it('ignores a malformed Range and a non-bytes unit (full 200)', async () => {
    for (const value of ['bytes=5-1', 'bytes=x-y', 'chars=0-1', 'bytes']) {
      const res = await range(value);
      expect(res.status).toBe(200);
      expect(res.text()).toBe('Hello, static!\n');
    }
  });

  it('answers several ranges with multipart/byteranges, coalescing overlaps', async () => {
    const res = await range('bytes=0-1,7-8,8-9');
    expect(res.status).toBe(206);
    const type = res.headers.get('content-type')!;
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(type)![1]!;
    const body = res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    const parts = body.split(`--${boundary}`);
    expect(parts).toHaveLength(4);
    expect(parts[1]).toContain('content-range: bytes 0-1/15\r\n\r\nHe\r\n');
    expect(parts[2]).toContain('content-range: bytes 7-9/15\r\n\r\nsta\r\n');
    expect(parts[1]).toContain('content-type: text/plain; charset=utf-8');
    expect(parts[3]).toBe('--\r\n');
  });

  it('answers the full 200 for more ranges than maxRanges', async () => {
    const res = await client({ maxRanges: 2 }).get('/hello.txt', {
      headers: { range: 'bytes=0-0,2-2,4-4' },
    });
    expect(res.status).toBe(200);
  });

  it('serves ranges of a large (streamed) file, single and multiple', async () => {
    const one = await client().get('/big.bin', { headers: { range: 'bytes=1000000-1000099' } });
    expect(Buffer.from(one.bytes()).equals(fx.big.subarray(1_000_000, 1_000_100))).toBe(true);
    const many = await client().get('/big.bin', { headers: { range: 'bytes=0-9,-10' } });
    const raw = Buffer.from(many.bytes());
    expect(raw.includes(fx.big.subarray(0, 10))).toBe(true);
    expect(raw.includes(fx.big.subarray(-10))).toBe(true);
    expect(Number(many.headers.get('content-length'))).toBe(raw.byteLength);
  });

  it('applies the range only when If-Range matches: a date equal to Last-Modified', async () => {
    const ok = await range('bytes=0-4', { 'if-range': MTIME.toUTCString() });
    expect(ok.status).toBe(206);
    const stale = await range('bytes=0-4', {
      'if-range': new Date(MTIME.getTime() - 5000).toUTCString(),
    });
    expect(stale.status).toBe(200);
    const weak = await range('bytes=0-4', {
      'if-range': (await client().get('/hello.txt')).headers.get('etag')!,
    });
    expect(weak.status).toBe(200);
  });

  it('ignores Range on HEAD (range handling is defined for GET only)', async () => {
    const res = await client().head('/hello.txt', { headers: { range: 'bytes=0-4' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('15');
  });
});

describe('serveStatic: precompressed variants', () => {
  const gz = (accept: string | undefined) =>
    client({ precompressed: ['br', 'gzip'] }).get('/style.css', {
      headers: accept === undefined ? {} : { 'accept-encoding': accept },
    });

  it('serves br when accepted, with Content-Encoding, Vary and its own ETag', async () => {
    const identity = await gz(undefined);
    const br = await gz('gzip, deflate, br');
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(br.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(br.headers.get('etag')).toMatch(/-br"$/);
    expect(br.headers.get('etag')).not.toBe(identity.headers.get('etag'));
    const { brotliDecompressSync } = await import('node:zlib');
    expect(brotliDecompressSync(br.bytes()).toString()).toBe(fx.css);
  });

  it('honours q-values: gzip when br is refused or less wanted, identity when both are', async () => {
    expect((await gz('br;q=0, gzip')).headers.get('content-encoding')).toBe('gzip');
    expect((await gz('br;q=0.1, gzip;q=0.9')).headers.get('content-encoding')).toBe('gzip');
    const none = await gz('br;q=0, gzip;q=0');
    expect(none.headers.has('content-encoding')).toBe(false);
    expect(none.text()).toBe(fx.css);
    expect(none.headers.get('vary')).toBe('Accept-Encoding');
  });

  it('sends identity and still Vary when the client sends no Accept-Encoding', async () => {
    const res = await gz(undefined);
    expect(res.headers.has('content-encoding')).toBe(false);
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
  });

  it('applies ranges to the encoded bytes', async () => {
    const full = await gz('gzip');
    const part = await client({ precompressed: ['br', 'gzip'] }).get('/style.css', {
      headers: { 'accept-encoding': 'gzip', range: 'bytes=0-9' },
    });
    expect(part.status).toBe(206);
    expect(Buffer.from(part.bytes()).equals(Buffer.from(full.bytes()).subarray(0, 10))).toBe(true);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${full.bytes().byteLength}`);
  });

  it('serves the variant that exists', async () => {
    const res = await client({ precompressed: ['br', 'gzip'] }).get('/only-gz.js', {
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
  });

  it('a 304 for one encoding carries Vary', async () => {
    const etag = (await gz('br')).headers.get('etag')!;
    const res = await client({ precompressed: ['br', 'gzip'] }).get('/style.css', {
      headers: { 'accept-encoding': 'br', 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
  });
});

describe('fileApp', () => {
  it('serves one file to GET and HEAD, 405 otherwise, 404 when missing', async () => {
    const app = new TestClient(fileApp(`${fx.root}/hello.txt`, { maxAge: 86400 }));
    const res = await app.get('/anything');
    expect(res.text()).toBe('Hello, static!\n');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    expect((await app.head('/')).text()).toBe('');
    const post = await app.post('/');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await new TestClient(fileApp(`${fx.root}/missing`)).get('/')).status).toBe(404);
  });

  it('sends a download with Content-Disposition and a chosen type', async () => {
    const res = await new TestClient(
      fileApp(`${fx.root}/hello.txt`, { download: 'отчёт 2026.txt', contentType: 'text/x-custom' }),
    ).get('/');
    expect(res.headers.get('content-type')).toBe('text/x-custom');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="????? 2026.txt"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%202026.txt`,
    );
  });

  it('answers conditional and range requests like serveStatic', async () => {
    const app = new TestClient(fileApp(`${fx.root}/hello.txt`));
    const etag = (await app.get('/')).headers.get('etag')!;
    expect((await app.get('/', { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await app.get('/', { headers: { range: 'bytes=-1' } })).text()).toBe('\n');
  });
});
