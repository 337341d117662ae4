/**
 * The proxy's pure rules, one by one: which paths may leave for the upstream, how the target
 * parses, and how the upstream's URLs and cookie paths map onto the mount.
 */
import { describe, expect, it } from 'vitest';
import { connectionNames } from '../../../middleware/_shared/hop-by-hop.js';
import { fetchTransport, proxy } from '../../../middleware/proxy/index.js';
import { proxy as nodeProxy, nodeTransport } from '../../../middleware/proxy/node.js';
import { parseTarget, unsafePath, upstreamPath } from '../../../middleware/proxy/path.js';
import { rewriteCookiePath, rewriteLocation } from '../../../middleware/proxy/rewrite.js';
import { isConfigError } from '../../../src/_internal/config-error.js';

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
    ['ftp://h/', 'an http: or https: URL, got "ftp://h/"'],
    ['/relative', 'an absolute http: or https: URL, got "/relative"'],
    ['http://u:p@h/', 'a URL without credentials (send them as a header), got "http://***@h/"'],
    ['http://h/?q=1', 'a URL without a query or fragment, got "http://h/?q=1"'],
    ['http://h/#f', 'a URL without a query or fragment, got "http://h/#f"'],
  ])('refuses %s at construction, a ConfigError naming proxy', (target, message) => {
    const refused = thrown(() => proxy(target));
    expect(isConfigError(refused)).toBe(true);
    expect((refused as Error).message).toBe(`proxy: target must be ${message}`);
  });

  it('refuses a target that is not a string or URL', () => {
    expect(() => proxy(42 as never)).toThrow(
      /^proxy: target must be an absolute http: or https: URL, got 42$/,
    );
  });
});

describe('the options', () => {
  it('refuses unknown options and bad values at construction, naming proxy', () => {
    expect(() => proxy('http://h', { timout: {} } as never)).toThrow(
      /^proxy: unknown option "timout" — did you mean "timeout"\?$/,
    );
    expect(() => proxy('http://h', { forwarded: 'x' as never })).toThrow(
      /^proxy: option "forwarded" must be one of "x-forwarded", "forwarded", got "x"$/,
    );
    expect(() => proxy('http://h', { rewrite: { location: 'no' as never } })).toThrow(
      /^proxy: option "rewrite\.location" must be true or false, got "no"$/,
    );
  });

  it('takes timeouts as whole milliseconds a timer can wait (1 to 2^31 − 1)', () => {
    const ms = 'milliseconds \\(an integer from 1 to 2147483647\\)';
    expect(() => proxy('http://h', { timeout: { headers: 0 } })).toThrow(
      new RegExp(`^proxy: option "timeout\\.headers" must be ${ms}, got 0$`),
    );
    expect(() => proxy('http://h', { timeout: { headers: 2 ** 31 } })).toThrow(
      new RegExp(`^proxy: option "timeout\\.headers" must be ${ms}, got 2147483648$`),
    );
    expect(() => proxy('http://h', { timeout: { headers: 2 ** 31 - 1 } })).not.toThrow();
    expect(() => nodeTransport({ keepAliveTimeout: 1.5 })).toThrow(
      new RegExp(`^nodeTransport: option "keepAliveTimeout" must be ${ms}, got 1\\.5$`),
    );
  });

  it("mortar/proxy/node's proxy names itself for its transport's options too", () => {
    expect(() => nodeProxy('http://h', { timeout: { connect: -1 } })).toThrow(
      /^proxy: option "timeout\.connect" must be milliseconds/,
    );
    expect(() => nodeProxy('http://h', { keepAliveTimeout: '4s' as never })).toThrow(
      /^proxy: option "keepAliveTimeout" must be milliseconds/,
    );
    expect(() => nodeProxy('http://h', { ca: 42 as never })).toThrow(
      /^proxy: option "ca" must be PEM certificates \(a string or Buffer, or a list of them\), got 42$/,
    );
    // Beside a transport of one's own, the options of the transport it would build are refused.
    expect(() => nodeProxy('http://h', { transport: nodeTransport(), ca: 'PEM' })).toThrow(
      /^proxy: option "ca" configures mortar\/proxy\/node's own transport; with option "transport", set it on that transport/,
    );
    expect(() => fetchTransport(42 as never)).toThrow(
      /^fetchTransport\(\): fetch must be a function, got number$/,
    );
    expect(() => nodeProxy('http://h', { conections: 2 } as never)).toThrow(
      /^proxy: unknown option "conections" — did you mean "connections"\?$/,
    );
  });
});

/** What `make` threw, else `undefined`. */
function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

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
