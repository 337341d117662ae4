// Issue 9 §4: serveStatic's options — wrong ones fail at construction, the forms users of
// serve-static and sirv write work, and setHeaders' validators are the ones compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticOptions, serveStatic } from '../../../middleware/static/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { type Fixture, makeFixture } from './fixture.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.remove());

const below: Application = (request, environ) =>
  environ.pathInfo === '/api/users'
    ? FastResponse.json({ users: [] })
    : FastResponse.json({ below: true, method: request.method }, { status: 404 });
const client = (options: StaticOptions = {}) =>
  new TestClient(serveStatic(fx.root, options)(below));

describe('serveStatic: options are checked at construction', () => {
  it.each([
    [{ index: 42 }, /option "index" must be a string or a list of strings or false, got 42/],
    [{ index: true }, /option "index" must be/],
    [{ index: [''] }, /option "index" must be/],
    [{ setHeaders: 3 }, /option "setHeaders" must be a function, got 3/],
    [{ redirect: 'yes' }, /serveStatic: option "redirect" must be true or false/],
    [{ etag: 1 }, /serveStatic: option "etag" must be true or false/],
    [{ extensions: [1] }, /option "extensions" must be/],
    [{ maxRanges: 0 }, /serveStatic: option "maxRanges" must be a positive integer/],
    [{ fallback: '../outside.html' }, /option "fallback" must name a file under the root/],
    [
      { fallback: { file: 'index.html', ignore: ['x'] } },
      /serveStatic: option "fallback.ignore" must be a list of RegExps/,
    ],
  ])('%j', (options, message) => {
    expect(() => serveStatic(fx.root, options as unknown as StaticOptions)).toThrow(message);
  });
});

describe('serveStatic: the forms of the anchors', () => {
  it("index: 'page.html', the string form serve-static users write", async () => {
    const res = await client({ index: 'page.html' }).get('/sub/');
    expect(res.status).toBe(200);
    expect(res.text()).toBe('<p>page</p>\n');
  });

  it("extensions: ['html'] serves clean URLs, and a real file first", async () => {
    const c = client({ extensions: ['htm', 'html'] });
    expect((await c.get('/sub/page')).text()).toBe('<p>page</p>\n');
    expect((await c.get('/hello.txt')).text()).toBe('Hello, static!\n');
    expect((await c.get('/sub/nothing')).status).toBe(404);
  });

  it('cacheControl: false sends no Cache-Control, on a 200 and a 304', async () => {
    const c = client({ cacheControl: false, maxAge: 60 });
    const res = await c.get('/hello.txt');
    expect(res.headers.get('cache-control')).toBeNull();
    const again = await c.get('/hello.txt', {
      headers: { 'if-none-match': res.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get('cache-control')).toBeNull();
  });

  it('acceptRanges: false sends no Accept-Ranges and answers a Range with the whole file', async () => {
    const res = await client({ acceptRanges: false }).get('/hello.txt', {
      headers: { range: 'bytes=0-4' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBeNull();
    expect(res.text()).toBe('Hello, static!\n');
  });

  it("fallback: a SPA's routes get its entry file, assets and the application's answers do not", async () => {
    const c = client({ fallback: 'index.html' });
    const route = await c.get('/settings/profile');
    expect(route.status).toBe(200);
    expect(route.text()).toBe('<h1>root index</h1>\n');
    expect((await c.get('/missing.js')).json()).toMatchObject({ below: true });
    expect((await c.get('/api/users')).json()).toEqual({ users: [] });
    const head = await c.head('/settings');
    expect(head.status).toBe(200);
  });

  it('fallback without fallthrough answers the entry file instead of a 404', async () => {
    const c = client({
      fallback: { file: 'index.html', ignore: [/^\/api\//] },
      fallthrough: false,
    });
    expect((await c.get('/deep/link.html')).text()).toBe('<h1>root index</h1>\n');
    expect((await c.get('/api/x')).status).toBe(404);
  });
});

describe('serveStatic: setHeaders sets the validators that are compared', () => {
  let strong: TestClient;
  beforeAll(() => {
    strong = client({
      setHeaders: (headers) => {
        headers.set('etag', '"v1-strong"');
        headers.set('last-modified', 'Wed, 01 Jan 2020 00:00:00 GMT');
      },
    });
  });

  it('If-None-Match with the ETag setHeaders sent gets a 304 carrying that ETag', async () => {
    const res = await strong.get('/hello.txt', { headers: { 'if-none-match': '"v1-strong"' } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"v1-strong"');
    expect(res.headers.get('last-modified')).toBe('Wed, 01 Jan 2020 00:00:00 GMT');
  });

  it('the ETag it replaced no longer matches', async () => {
    const plain = await client().get('/hello.txt');
    const res = await strong.get('/hello.txt', {
      headers: { 'if-none-match': plain.headers.get('etag')! },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"v1-strong"');
  });

  it('a strong ETag from setHeaders makes If-Match and If-Range work', async () => {
    const matched = await strong.get('/hello.txt', { headers: { 'if-match': '"v1-strong"' } });
    expect(matched.status).toBe(200);
    const ranged = await strong.get('/hello.txt', {
      headers: { range: 'bytes=0-4', 'if-range': '"v1-strong"' },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.text()).toBe('Hello');
  });

  it('If-Modified-Since compares against the Last-Modified setHeaders sent', async () => {
    const res = await strong.get('/hello.txt', {
      headers: { 'if-modified-since': 'Thu, 02 Jan 2020 00:00:00 GMT' },
    });
    expect(res.status).toBe(304);
  });
});
