// CGI/1.1 meta-variables → Request and Environ (RFC 3875 §4.1), without a front end.
import { describe, expect, it } from 'vitest';
import { type MetaVariables, rebuildRequest } from '../../../src/gateways/_cgi/meta-variables.js';

const rebuild = (meta: MetaVariables, body: ReadableStream<Uint8Array> | null = null) =>
  rebuildRequest(meta, body, new AbortController().signal, 'fastcgi');

const get = (extra: MetaVariables = {}): MetaVariables => ({
  REQUEST_METHOD: 'GET',
  HTTP_HOST: 'example.test:8080',
  REQUEST_URI: '/app/caf%C3%A9?x=1',
  SCRIPT_NAME: '/app',
  PATH_INFO: '/café',
  REMOTE_ADDR: '10.0.0.7',
  ...extra,
});

describe('rebuildRequest', () => {
  it('takes the path from REQUEST_URI as the client spelled it, the mount from SCRIPT_NAME', () => {
    const rebuilt = rebuild(get());
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    expect(rebuilt.environ).toEqual({
      scriptName: '/app',
      pathInfo: '/caf%C3%A9',
      remoteAddress: '10.0.0.7',
      unixSocket: false,
      serverProtocol: undefined,
      gateway: 'fastcgi',
    });
    expect(rebuilt.request.url).toBe('http://example.test:8080/caf%C3%A9?x=1');
    expect(rebuilt.request instanceof Request).toBe(true);
  });

  it("frames the body by CONTENT_LENGTH alone: a client's Content-Length or Transfer-Encoding is no header", () => {
    const headers = (extra: MetaVariables) => {
      const rebuilt = rebuild(get({ REQUEST_METHOD: 'POST', ...extra }));
      if ('error' in rebuilt) throw new Error(rebuilt.error);
      return [
        rebuilt.request.headers.get('content-length'),
        rebuilt.request.headers.get('transfer-encoding'),
      ];
    };
    expect(headers({ HTTP_CONTENT_LENGTH: '5', HTTP_TRANSFER_ENCODING: 'chunked' })).toEqual([
      null,
      null,
    ]);
    expect(headers({ CONTENT_LENGTH: '3', HTTP_CONTENT_LENGTH: '5' })).toEqual(['3', null]);
  });

  it("says the peer is on a Unix socket from the front end's REMOTE_ADDR, never from its absence", () => {
    const environ = (extra: MetaVariables) => {
      const rebuilt = rebuild(get(extra));
      if ('error' in rebuilt) throw new Error(rebuilt.error);
      return rebuilt.environ;
    };
    // nginx's $remote_addr for a client of a `listen unix:` server
    expect(environ({ REMOTE_ADDR: 'unix:' })).toMatchObject({ unixSocket: true });
    // lighttpd's REMOTE_ADDR for a client of its `$SERVER["socket"] == "/path"` listener
    expect(environ({ REMOTE_ADDR: '/run/front.sock' })).toMatchObject({ unixSocket: true });
    expect(environ({ REMOTE_ADDR: '' })).toMatchObject({ unixSocket: false });
    const { REMOTE_ADDR: _, ...withoutAddress } = get();
    const rebuilt = rebuildRequest(withoutAddress, null, new AbortController().signal, 'scgi');
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    expect(rebuilt.environ).toMatchObject({ remoteAddress: undefined, unixSocket: false });
    expect(environ({ SERVER_PROTOCOL: 'HTTP/1.0' }).serverProtocol).toBe('HTTP/1.0');
  });

  it('keeps the client spelling of an encoded mount prefix', () => {
    const rebuilt = rebuild(get({ REQUEST_URI: '/%61pp/x', SCRIPT_NAME: '/app', PATH_INFO: '/x' }));
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    expect(rebuilt.environ.scriptName).toBe('/%61pp');
    expect(rebuilt.environ.pathInfo).toBe('/x');
  });

  it('an app at the root (SCRIPT_NAME "/" or empty) has scriptName ""', () => {
    for (const SCRIPT_NAME of ['', '/']) {
      const rebuilt = rebuild(get({ SCRIPT_NAME, REQUEST_URI: '/a/b' }));
      if ('error' in rebuilt) throw new Error(rebuilt.error);
      expect(rebuilt.environ).toMatchObject({ scriptName: '', pathInfo: '/a/b' });
    }
  });

  it('https from HTTPS=on, host from SERVER_NAME and SERVER_PORT without HTTP_HOST', () => {
    const rebuilt = rebuild(
      get({ HTTP_HOST: '', HTTPS: 'on', SERVER_NAME: 'example.test', SERVER_PORT: '8443' }),
    );
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    expect(rebuilt.request.url).toBe('https://example.test:8443/caf%C3%A9?x=1');
  });

  it('without REQUEST_URI, builds the path from SCRIPT_NAME, PATH_INFO and QUERY_STRING', () => {
    const rebuilt = rebuild(get({ REQUEST_URI: '', PATH_INFO: '/a b', QUERY_STRING: 'q=1' }));
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    expect(rebuilt.environ).toMatchObject({ scriptName: '/app', pathInfo: '/a%20b' });
    expect(rebuilt.request.url).toBe('http://example.test:8080/a%20b?q=1');
  });

  it('headers from HTTP_*, CONTENT_TYPE and CONTENT_LENGTH; never HTTP_PROXY (httpoxy)', () => {
    const rebuilt = rebuild(
      get({
        REQUEST_METHOD: 'POST',
        HTTP_X_FORWARDED_FOR: '1.2.3.4',
        HTTP_PROXY: 'http://evil.test',
        CONTENT_TYPE: 'text/plain',
        CONTENT_LENGTH: '2',
      }),
      new Response('hi').body,
    );
    if ('error' in rebuilt) throw new Error(rebuilt.error);
    const { headers } = rebuilt.request;
    expect(headers.get('x-forwarded-for')).toBe('1.2.3.4');
    expect(headers.get('proxy')).toBeNull();
    expect(headers.get('content-type')).toBe('text/plain');
    expect(headers.get('content-length')).toBe('2');
  });

  it('a POST body reaches request.text(); a GET has none', async () => {
    const post = rebuild(get({ REQUEST_METHOD: 'POST' }), new Response('body!').body);
    if ('error' in post) throw new Error(post.error);
    expect(await post.request.text()).toBe('body!');
    const plain = rebuild(get(), new Response('ignored').body);
    if ('error' in plain) throw new Error(plain.error);
    expect(plain.request.body).toBeNull();
  });

  it.each([
    [{ REQUEST_METHOD: '' }, /REQUEST_METHOD/],
    [{ REQUEST_METHOD: 'GE T' }, /REQUEST_METHOD/],
    [{ HTTP_HOST: 'a/b' }, /Host/],
    [{ REQUEST_URI: '/a/../b' }, /segment/],
    [{ REQUEST_URI: '/a%zz' }, /%-escape/],
  ])('refuses %j', (extra, message) => {
    const rebuilt = rebuild(get(extra as MetaVariables));
    expect('error' in rebuilt && rebuilt.error).toMatch(message);
  });
});
