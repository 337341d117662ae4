/**
 * The proxy's pure rules, one by one: which paths may leave for the upstream, how the target
 * parses, and how the upstream's URLs and cookie paths map onto the mount.
 */
import { describe, expect, it } from 'vitest';
import { connectionNames } from '../../../middleware/proxy/headers.js';
import { proxy } from '../../../middleware/proxy/index.js';
import { parseTarget, unsafePath, upstreamPath } from '../../../middleware/proxy/path.js';
import { rewriteCookiePath, rewriteLocation } from '../../../middleware/proxy/rewrite.js';

describe('unsafePath', () => {
  it.each(['', '/', '/a/b', '/a.b/..c/...', '/%2f', '/a%20b', '/.well-known/x', '/a/%2e%2ex'])(
    'lets %s through',
    (path) => expect(unsafePath(path)).toBeUndefined(),
  );
  it.each(['/a/%zz', '/%', '/%2'])('refuses a malformed escape in %s', (path) =>
    expect(unsafePath(path)).toMatch(/malformed/),
  );
  it.each(['/%25252e%25252e', '/a%2f%2e%2e%2fb', '/x/..;/y'])('refuses %s', (path) =>
    expect(unsafePath(path)).toBeDefined(),
  );
});

describe('the target', () => {
  it('keeps the base path percent-encoded, without its trailing slash', () => {
    expect(parseTarget('http://h:9000/v1/a%20b/')).toMatchObject({
      origin: 'http://h:9000',
      base: '/v1/a%20b',
      host: 'h:9000',
    });
    expect(upstreamPath(parseTarget('http://h'), '', '')).toBe('/');
    expect(upstreamPath(parseTarget('http://h/v1'), '', '?q')).toBe('/v1?q');
  });

  it.each([
    ['ftp://h/', /not http/],
    ['/relative', /not a URL/],
    ['http://u:p@h/', /credentials/],
    ['http://h/?q=1', /query or fragment/],
    ['http://h/#f', /query or fragment/],
  ])('refuses %s at construction', (target, message) => {
    expect(() => proxy(target)).toThrow(message);
  });

  it('refuses unknown options and bad timeouts at construction', () => {
    expect(() => proxy('http://h', { timout: {} } as never)).toThrow(/did you mean "timeout"/);
    expect(() => proxy('http://h', { timeout: { headers: 0 } })).toThrow(/timeout.headers/);
    expect(() => proxy('http://h', { forwarded: 'x' as never })).toThrow(/forwarded/);
  });
});

describe('Connection', () => {
  it('lists the named fields in lower case, and refuses a name that is not a token', () => {
    expect([...connectionNames('close, X-Secret ,,Keep-Alive')!]).toEqual([
      'close',
      'x-secret',
      'keep-alive',
    ]);
    expect(connectionNames('x secret')).toBeUndefined();
  });
});

describe('rewrites', () => {
  const target = parseTarget('http://127.0.0.1:9000/v1');
  const root = parseTarget('http://127.0.0.1:9000');
  const mount = { origin: 'https://shop.example', prefix: '/api' };

  it.each([
    ['/v1/users/7', '/api/users/7'],
    ['/v1', '/api'],
    ['/v1/', '/api/'],
    ['/v1?x=1', '/api?x=1'],
    ['/v10/x', '/v10/x'],
    ['/other', '/other'],
    ['http://127.0.0.1:9000/v1/x', 'https://shop.example/api/x'],
    ['HTTP://127.0.0.1:9000/v1/x', 'https://shop.example/api/x'],
    ['http://127.0.0.1:9001/v1/x', 'http://127.0.0.1:9001/v1/x'],
    ['http://127.0.0.1:90000/v1/x', 'http://127.0.0.1:90000/v1/x'],
    ['//127.0.0.1:9000/v1/x', '//127.0.0.1:9000/v1/x'],
    ['relative/x', 'relative/x'],
  ])('Location %s → %s', (value, expected) => {
    expect(rewriteLocation(value, target, mount)).toBe(expected);
  });

  it('maps a root target to the mount', () => {
    expect(rewriteLocation('/x', root, mount)).toBe('/api/x');
    expect(rewriteLocation('/', root, mount)).toBe('/api/');
    expect(rewriteCookiePath('a=1; Path=/', root, '/api')).toBe('a=1; Path=/api');
  });

  it.each([
    ['sid=1; Path=/v1; HttpOnly', 'sid=1; Path=/api; HttpOnly'],
    ['sid=1; path = /v1/x', 'sid=1; path = /api/x'],
    ['sid=1; Path=/v2', 'sid=1; Path=/v2'],
    ['sid=1; HttpOnly', 'sid=1; HttpOnly'],
    ['path=/v1; Path=/v1', 'path=/v1; Path=/api'],
  ])('Set-Cookie %s → %s', (value, expected) => {
    expect(rewriteCookiePath(value, target, '/api')).toBe(expected);
  });
});
