import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { cascade, urlmap } from '../../middleware/urlmap/index.js';
import { type Application, type Environ, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

/** Reports what it was given: which app, the URL it saw, and the environ's paths. */
const probe =
  (name: string): Application =>
  (request, environ) =>
    FastResponse.json({
      app: name,
      url: request.url,
      scriptName: environ.scriptName,
      pathInfo: environ.pathInfo,
    });

interface Seen {
  app: string;
  url: string;
  scriptName: string;
  pathInfo: string;
}

describe('urlmap matching', () => {
  const app = urlmap({
    '/': probe('root'),
    '/blog': probe('blog'),
    '/blog/admin/': probe('blog-admin'),
    '/caf%C3%A9': probe('cafe'),
    '/~user': probe('user'),
  });
  const client = new TestClient(app);

  it.each<[string, string, string, string, string]>([
    // path, app, scriptName, pathInfo, url seen by the app
    ['/', 'root', '', '/', 'http://localhost/'],
    ['/other', 'root', '', '/other', 'http://localhost/other'],
    ['/blog', 'blog', '/blog', '', 'http://localhost/'],
    ['/blog/', 'blog', '/blog', '/', 'http://localhost/'],
    ['/blog/x?y=1&z', 'blog', '/blog', '/x', 'http://localhost/x?y=1&z'],
    ['/blogs', 'root', '', '/blogs', 'http://localhost/blogs'],
    ['/blog/admin', 'blog-admin', '/blog/admin', '', 'http://localhost/'],
    ['/blog/admin/users', 'blog-admin', '/blog/admin', '/users', 'http://localhost/users'],
    ['/blog/administrator', 'blog', '/blog', '/administrator', 'http://localhost/administrator'],
    ['/caf%C3%A9/menu', 'cafe', '/caf%C3%A9', '/menu', 'http://localhost/menu'],
    ['/caf%c3%a9/menu', 'cafe', '/caf%c3%a9', '/menu', 'http://localhost/menu'],
    ['/%7Euser/x', 'user', '/%7Euser', '/x', 'http://localhost/x'],
    ['/blog/a%2Fb', 'blog', '/blog', '/a%2Fb', 'http://localhost/a%2Fb'],
    ['/blog%2Fadmin', 'root', '', '/blog%2Fadmin', 'http://localhost/blog%2Fadmin'],
    ['/Blog', 'root', '', '/Blog', 'http://localhost/Blog'],
  ])('%s → %s (scriptName %j, pathInfo %j)', async (path, name, scriptName, pathInfo, url) => {
    const seen = (await client.get(path)).json<Seen>();
    expect(seen).toEqual({ app: name, scriptName, pathInfo, url });
    expect(seen.scriptName + seen.pathInfo).toBe(path.split('?')[0]);
  });

  it('never hands on a protocol-relative //evil: it redirects to the merged path', async () => {
    const res = await client.get('/blog//evil.example/x?q=1');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/blog/evil.example/x?q=1');
  });

  it('keeps an outer scriptName when nested, and redirects under it', async () => {
    const nested = urlmap({ '/outer': urlmap({ '/inner': probe('deep') }) });
    const seen = (await new TestClient(nested).get('/outer/inner/x')).json<Seen>();
    expect(seen).toEqual({
      app: 'deep',
      scriptName: '/outer/inner',
      pathInfo: '/x',
      url: 'http://localhost/x',
    });
    const res = await new TestClient(nested).get('/outer/inner//evil');
    expect(res.headers.get('location')).toBe('/outer/inner/evil');
  });

  it('passes a new environ down and leaves the one it was given unchanged', async () => {
    const seen: Environ[] = [];
    const outer: Application = async (request, environ) => {
      const before = { ...environ };
      const response = await urlmap({ '/a': probe('a') })(request, environ);
      seen.push(before, environ);
      return response;
    };
    await new TestClient(outer).get('/a/b');
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toMatchObject({ scriptName: '', pathInfo: '/a/b' });
  });

  it('answers a plain 404 that does not list the mounts', async () => {
    const res = await new TestClient(urlmap({ '/secret-admin': probe('a') })).get('/x', {
      headers: { accept: 'text/html' },
    });
    expect(res.status).toBe(404);
    expect(res.text()).not.toContain('secret-admin');
  });

  it('uses a custom notFound', async () => {
    const app = urlmap(
      { '/a': probe('a') },
      { notFound: () => new FastResponse('nope', { status: 404 }) },
    );
    expect((await new TestClient(app).get('/b')).text()).toBe('nope');
  });
});

describe('urlmap host keys', () => {
  const app = urlmap([
    ['/', probe('any')],
    ['http://Example.COM/', probe('example')],
    [{ host: 'example.com', path: '/docs' }, probe('example-docs')],
    ['http://api.example.com:8080/v1', probe('api-8080')],
  ]);

  it.each([
    ['http://example.com', '/x', 'example'],
    ['http://EXAMPLE.com:3000', '/x', 'example'],
    ['http://example.com', '/docs/a', 'example-docs'],
    ['http://other.com', '/docs/a', 'any'],
    ['http://api.example.com:8080', '/v1/users', 'api-8080'],
    ['http://api.example.com:9090', '/v1/users', 'any'],
  ])('%s%s → %s', async (base, path, name) => {
    const seen = (await new TestClient(app, { baseURL: base }).get(path)).json<Seen>();
    expect(seen.app).toBe(name);
  });
});

describe('urlmap host keys: one host grammar, default ports, port keys first', () => {
  it('a key with the default port matches the URL that drops it', async () => {
    const app = urlmap({ '/': probe('any'), 'http://example.com:80/': probe('example-80') });
    for (const base of ['http://example.com', 'http://example.com:80']) {
      const seen = (await new TestClient(app, { baseURL: base }).get('/x')).json<Seen>();
      expect(seen.app).toBe('example-80');
    }
    const https = (
      await new TestClient(app, { baseURL: 'https://example.com' }).get('/x')
    ).json<Seen>();
    expect(https.app).toBe('any');
  });

  it("a key with a port ranks ahead of the same host's port-less key, in either order", async () => {
    const orders = [
      [
        ['http://example.com/', probe('any-port')],
        ['http://example.com:8080/', probe('8080')],
      ],
      [
        ['http://example.com:8080/', probe('8080')],
        ['http://example.com/', probe('any-port')],
      ],
    ] as [string, Application][][];
    for (const order of orders) {
      const app = urlmap(order);
      const on8080 = (
        await new TestClient(app, { baseURL: 'http://example.com:8080' }).get('/')
      ).json<Seen>();
      const on9090 = (
        await new TestClient(app, { baseURL: 'http://example.com:9090' }).get('/')
      ).json<Seen>();
      expect([on8080.app, on9090.app]).toEqual(['8080', 'any-port']);
    }
  });

  it('accepts the host names the gateway accepts (an nginx upstream with "_")', async () => {
    const app = urlmap({ '/': probe('any'), 'http://app_upstream/': probe('upstream') });
    const seen = (
      await new TestClient(app, { baseURL: 'http://app_upstream' }).get('/')
    ).json<Seen>();
    expect(seen.app).toBe('upstream');
  });

  it('refuses a key whose port is above 65535', () => {
    expect(() => urlmap({ 'http://example.com:70000/': probe('x') })).toThrow(/host is malformed/);
  });
});

describe('urlmap construction errors name the key', () => {
  it.each([
    [{ blog: probe('x') }, /key "blog": the path must start with "\/"/],
    [{ '/a?b': probe('x') }, /must not hold "\?" or "#"/],
    [{ '/a/../b': probe('x') }, /"\." and "\.\." segments/],
    [{ '/a//b': probe('x') }, /empty/],
    [{ '/a': 'nope' as unknown as Application }, /the value is string/],
    [{ '/a': probe('x'), '/a/': probe('y') }, /mounted twice/],
    [{ '/%zz': probe('x') }, /malformed %-escape/],
  ])('%j', (mapping, message) => {
    expect(() => urlmap(mapping as Record<string, Application>)).toThrow(message);
  });
});

describe('the mount invariant with a foreign fetch handler', () => {
  const hono = new Hono();
  hono.get('/', (c) => c.text('hono home'));
  hono.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') }));
  hono.post('/echo', async (c) =>
    c.json({ body: await c.req.text(), type: c.req.header('content-type') }),
  );
  const client = new TestClient(urlmap({ '/api': hono.fetch }));

  it('routes a Hono app correctly under a prefix, unchanged', async () => {
    expect((await client.get('/api')).text()).toBe('hono home');
    expect((await client.get('/api/users/42?q=x')).json()).toEqual({ id: '42', q: 'x' });
  });

  it('hands the body and headers through', async () => {
    const res = await client.post('/api/echo', { json: { a: 1 } });
    expect(res.json()).toEqual({ body: '{"a":1}', type: 'application/json' });
  });
});

describe('cascade', () => {
  const notFound: Application = async (request) => {
    await request.text();
    return new FastResponse('first: not here', { status: 404 });
  };
  const echo: Application = async (request) => FastResponse.json({ body: await request.text() });

  it('moves on while applications answer 404, replaying the body', async () => {
    const res = await new TestClient(cascade([notFound, notFound, echo])).post('/', {
      body: 'payload',
    });
    expect(res.json()).toEqual({ body: 'payload' });
  });

  it('returns the first answer that is not caught, and the last answer whatever it is', async () => {
    const forbidden: Application = () => new FastResponse('no', { status: 403 });
    expect((await new TestClient(cascade([forbidden, echo])).get('/')).status).toBe(403);
    expect((await new TestClient(cascade([notFound, notFound])).get('/')).text()).toBe(
      'first: not here',
    );
  });

  it('catches the statuses it is told to', async () => {
    const forbidden: Application = () => new FastResponse('no', { status: 403 });
    const app = cascade([forbidden, echo], { catch: [403, 404] });
    expect((await new TestClient(app).post('/', { body: 'x' })).json()).toEqual({ body: 'x' });
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    const app = cascade([notFound, echo], { maxBodySize: 4 });
    expect((await new TestClient(app).post('/', { body: '12345' })).status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('123'));
        controller.enqueue(new TextEncoder().encode('456'));
        controller.close();
      },
    });
    expect((await new TestClient(app).post('/', { body: stream })).status).toBe(413);
    expect((await new TestClient(app).post('/', { body: '1234' })).json()).toEqual({
      body: '1234',
    });
  });

  it('refuses an empty list', () => {
    expect(() => cascade([])).toThrow(/at least one/);
  });
});
