import { describe, expect, it, vi } from 'vitest';
import { type Application, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

/** Sets the cookies named in the query (`/set?name=a=1; Path=/x`) and echoes what it got. */
const cookieApp: Application = (request) => {
  const url = new URL(request.url);
  const headers = new Headers({ 'content-type': 'application/json' });
  for (const value of url.searchParams.getAll('set')) headers.append('set-cookie', value);
  return new FastResponse(JSON.stringify({ cookie: request.headers.get('cookie') }), { headers });
};

const sent = async (client: TestClient, path: string): Promise<string | null> =>
  (await client.get(path)).json<{ cookie: string | null }>().cookie;

const set = (...cookies: string[]): string =>
  `/set?${cookies.map((c) => `set=${encodeURIComponent(c)}`).join('&')}`;

describe('TestClient', () => {
  it('calls the application in-process with a test environ', async () => {
    const seen: unknown[] = [];
    const app: Application = async (request, environ) => {
      seen.push(environ, request.method, await request.text());
      return new FastResponse('done', { status: 201 });
    };
    const res = await new TestClient(app).post('/a%20b?x=1', { body: 'hi' });
    expect(res.status).toBe(201);
    expect(res.text()).toBe('done');
    expect(seen).toEqual([
      {
        scriptName: '',
        pathInfo: '/a%20b',
        remoteAddress: '127.0.0.1',
        serverProtocol: 'HTTP/1.1',
        gateway: 'test',
      },
      'POST',
      'hi',
    ]);
  });

  it('sends json and form bodies with their content types', async () => {
    const echo: Application = async (request) =>
      FastResponse.json({ type: request.headers.get('content-type'), body: await request.text() });
    const client = new TestClient(echo);
    expect((await client.put('/', { json: { a: 1 } })).json()).toEqual({
      type: 'application/json',
      body: '{"a":1}',
    });
    expect((await client.post('/', { form: { a: 'b c' } })).json()).toEqual({
      type: 'application/x-www-form-urlencoded',
      body: 'a=b+c',
    });
  });

  it('keeps cookies and sends them back, most specific path first', async () => {
    const client = new TestClient(cookieApp);
    await client.get(set('a=1', 'b=2; Path=/x'));
    expect(await sent(client, '/')).toBe('a=1');
    expect(await sent(client, '/x/y')).toBe('b=2; a=1');
    expect(await sent(client, '/xy')).toBe('a=1');
  });

  it('uses the default path (the directory of the request) when Path is absent', async () => {
    const client = new TestClient(cookieApp);
    await client.get(`/dir/set?set=${encodeURIComponent('d=1')}`);
    expect(await sent(client, '/dir/page')).toBe('d=1');
    expect(await sent(client, '/other')).toBeNull();
  });

  it('honours Max-Age and Expires, and deletion by either', async () => {
    const client = new TestClient(cookieApp);
    await client.get(
      set(
        'keep=1; Max-Age=60',
        'gone=1; Max-Age=0',
        'past=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      ),
    );
    expect(client.cookies.names()).toEqual(['keep']);
    await client.get(set('keep=1; Max-Age=-1'));
    expect(await sent(client, '/')).toBeNull();
  });

  it('lets Max-Age win over Expires', async () => {
    const client = new TestClient(cookieApp);
    await client.get(set('a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60'));
    expect(client.cookies.get('a')).toBe('1');
  });

  it('replaces a cookie with the same name and path, keeps one with another path', async () => {
    const client = new TestClient(cookieApp);
    await client.get(set('a=1', 'a=2; Path=/p'));
    await client.get(set('a=3'));
    expect(await sent(client, '/p/q')).toBe('a=2; a=3');
  });

  it('keeps Secure cookies only over https (or localhost, as browsers do), and refuses a foreign Domain', async () => {
    const http = new TestClient(cookieApp, { baseURL: 'http://app.example.org' });
    await http.get(set('s=1; Secure', 'f=1; Domain=example.com'));
    expect(http.cookies.names()).toEqual([]);
    const https = new TestClient(cookieApp, { baseURL: 'https://app.example.com' });
    await https.get(set('s=1; Secure', 'f=1; Domain=example.com'));
    expect(await sent(https, '/')).toBe('s=1; f=1');
  });

  it('follows redirects when asked, turning a 303 into a GET', async () => {
    const app: Application = (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/login') {
        return new FastResponse(null, {
          status: 303,
          headers: { location: '/home', 'set-cookie': 'sid=abc; Path=/' },
        });
      }
      return FastResponse.json({ method: request.method, cookie: request.headers.get('cookie') });
    };
    const client = new TestClient(app);
    const unfollowed = await client.post('/login', { form: { u: 'ann' } });
    expect(unfollowed.status).toBe(303);
    const res = await client.post('/login', { form: { u: 'ann' }, followRedirects: true });
    expect(res.status).toBe(200);
    expect(res.url).toBe('http://localhost/home');
    expect(res.redirects).toEqual(['http://localhost/home']);
    expect(res.json()).toEqual({ method: 'GET', cookie: 'sid=abc' });
  });

  it('stops an endless redirect loop with an error', async () => {
    const loop: Application = () =>
      new FastResponse(null, { status: 302, headers: { location: '/' } });
    await expect(new TestClient(loop, { followRedirects: true }).get('/')).rejects.toThrow(
      /more than 10 redirects/,
    );
  });

  it('rethrows application errors by default, answers 500 when asked to', async () => {
    const broken: Application = () => {
      throw new Error('boom');
    };
    await expect(new TestClient(broken).get('/')).rejects.toThrow('boom');
    const lines: unknown[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line) => void lines.push(line));
    try {
      expect((await new TestClient(broken, { throwErrors: false }).get('/')).status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual([
      expect.stringMatching(/^mortar: unhandled error in GET \S+: Error: boom/),
    ]);
  });

  it('rejects a malformed path and a non-Response result clearly', async () => {
    const client = new TestClient(() => new FastResponse(''));
    await expect(client.get('/a/../b')).rejects.toThrow(/malformed path/);
    const wrong = new TestClient((() => 'text') as unknown as Application);
    await expect(wrong.get('/')).rejects.toThrow(
      /returned a string \(text\) for GET http:\/\/localhost\/, not a Response/,
    );
  });

  it('says what is wrong with a body that is not JSON', async () => {
    const res = await new TestClient(() => new FastResponse('<html>')).get('/');
    expect(() => res.json()).toThrow(/response 200 is not JSON: "<html>"/);
  });

  it('sends a request to an absolute URL on another host, with that host', async () => {
    const echo: Application = (request) => new FastResponse(new URL(request.url).host);
    const client = new TestClient(echo);
    expect((await client.get('http://example.com/x')).text()).toBe('example.com');
    expect((await client.get('https://api.example.com:8443/')).text()).toBe('api.example.com:8443');
    await expect(client.get('ftp://example.com/')).rejects.toThrow(/not an http\(s\) URL/);
  });
});

describe('TestClient cookie jar: the cases of the IETF http-state suite', () => {
  it('reads Expires by RFC 6265 §5.1.1: zone-less dates are UTC, a trailing zone is ignored', async () => {
    const client = new TestClient(cookieApp);
    await client.get(
      set(
        'zoneless=1; Expires=Fri, 01 Jan 2100 00:00:00',
        'offset=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT-0400',
        'twodigit=1; Expires=Fri, 01-Jan-99 00:00:00 GMT',
        'invalid=1; Expires=not a date',
      ),
    );
    // 99 is 1999 (§5.1.1 step 3): expired on arrival; an invalid date is no Expires at all.
    expect(client.cookies.names()).toEqual(['zoneless', 'offset', 'invalid']);
  });

  it('refuses a cookie for a public suffix', async () => {
    const client = new TestClient(cookieApp, { baseURL: 'http://shop.example.org' });
    await client.get(set('wide=1; Domain=.org', 'ok=1; Domain=example.org'));
    expect(client.cookies.names()).toEqual(['ok']);
  });

  it('keeps the creation time of a replaced cookie, so the order stays', async () => {
    const client = new TestClient(cookieApp);
    await client.get(set('a=1'));
    await client.get(set('b=1'));
    await client.get(set('a=2'));
    expect(await sent(client, '/')).toBe('a=2; b=1');
  });
});
