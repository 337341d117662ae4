import { describe, expect, it } from 'vitest';
import {
  forwardedNode,
  forwardedPrefix,
  fromRight,
  parseForwarded,
} from '../../../middleware/proxy-fix/forwarded.js';
import {
  getProxyOriginal,
  type ProxyFixOptions,
  proxyFix,
} from '../../../middleware/proxy-fix/index.js';
import { getSession, session } from '../../../middleware/session/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { type Application, compose } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

/** Answers with what it saw, as JSON. */
const echo: Application = (request, environ) =>
  Response.json({
    url: request.url,
    remoteAddress: environ.remoteAddress ?? null,
    scriptName: environ.scriptName,
    pathInfo: environ.pathInfo,
    original: getProxyOriginal(environ),
  });

async function seen(
  options: ProxyFixOptions,
  headers: Record<string, string>,
  remoteAddress = '127.0.0.1',
  path = '/a/b?q=1',
) {
  const client = new TestClient(proxyFix(options)(echo), { remoteAddress });
  return (await client.get(path, { headers })).json() as Promise<{
    url: string;
    remoteAddress: string | null;
    scriptName: string;
    pathInfo: string;
    original: { remoteAddress: string; url: string; scriptName: string; trusted: boolean };
  }>;
}

describe('proxyFix: X-Forwarded-*', () => {
  it('believes one hop of For and Proto by default: the client, and https in the URL', async () => {
    const got = await seen({}, { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' });
    expect(got.remoteAddress).toBe('203.0.113.7');
    expect(got.url).toBe('https://localhost/a/b?q=1');
    expect(got.original).toEqual({
      remoteAddress: '127.0.0.1',
      unixSocket: false,
      url: 'http://localhost/a/b?q=1',
      scriptName: '',
      trusted: true,
    });
  });

  it('takes the rightmost trusted value when there are more values than hops', async () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 203.0.113.7' };
    expect((await seen({ for: 1 }, headers)).remoteAddress).toBe('203.0.113.7');
    expect((await seen({ for: 2 }, headers)).remoteAddress).toBe('198.51.100.1');
    // fewer values than hops: not the chain configured, nothing believed
    expect((await seen({ for: 4 }, headers)).remoteAddress).toBe('127.0.0.1');
  });

  it('changes nothing for a peer outside trustedProxies (spoofed headers)', async () => {
    const headers = {
      'x-forwarded-for': '10.9.9.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-prefix': '/evil',
    };
    const got = await seen({ host: 1, prefix: 1 }, headers, '198.51.100.20');
    expect(got.remoteAddress).toBe('198.51.100.20');
    expect(got.url).toBe('http://localhost/a/b?q=1');
    expect(got.scriptName).toBe('');
    expect(got.original.trusted).toBe(false);
  });

  it('trusts configured ranges (CIDR, IPv4-mapped) and refuses a bad one at construction', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    const ranges = { trustedProxies: '10.0.0.0/8, 192.168.1.1' };
    expect((await seen(ranges, headers, '10.2.3.4')).remoteAddress).toBe('203.0.113.7');
    expect((await seen(ranges, headers, '::ffff:10.2.3.4')).remoteAddress).toBe('203.0.113.7');
    expect((await seen(ranges, headers, '127.0.0.1')).remoteAddress).toBe('127.0.0.1');
    expect(() => proxyFix({ trustedProxies: ['10.0.0.0/33'] })).toThrow(/trustedProxies/);
    expect(() => proxyFix({ for: -1 })).toThrow(
      /^proxyFix: option "for" must be an integer ≥ 0, got -1$/,
    );
  });

  it('sets host, port and prefix when counted: URL authority and scriptName', async () => {
    const headers = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'Shop.Example:8443',
      'x-forwarded-port': '443',
      'x-forwarded-prefix': '/shop/',
    };
    const got = await seen({ host: 1, port: 1, prefix: 1 }, headers);
    expect(got.url).toBe('https://shop.example/a/b?q=1');
    expect(got.scriptName).toBe('/shop');
    expect(got.pathInfo).toBe('/a/b');
  });

  it('ignores malformed values and keeps what the gateway saw', async () => {
    const headers = {
      'x-forwarded-for': 'not-an-ip',
      'x-forwarded-proto': 'gopher',
      'x-forwarded-host': 'a/b@c',
      'x-forwarded-port': '99999',
      'x-forwarded-prefix': '/../admin',
    };
    const got = await seen({ host: 1, port: 1, prefix: 1 }, headers);
    expect(got).toMatchObject({
      remoteAddress: '127.0.0.1',
      url: 'http://localhost/a/b?q=1',
      scriptName: '',
    });
  });

  it('keeps the public origin through a mount below it', async () => {
    const app = compose(proxyFix({ host: 1 }))(urlmap({ '/m': echo }));
    const client = new TestClient(app);
    const res = await client.get('/m/x', {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' },
    });
    const got = (await res.json()) as { url: string; scriptName: string };
    expect(got.url).toBe('https://public.example/x');
    expect(got.scriptName).toBe('/m');
  });

  it("makes session({ secure: 'auto' }) set Secure behind X-Forwarded-Proto: https", async () => {
    const app = compose(
      proxyFix(),
      session({ secret: 'a-secret-of-at-least-32-characters!!' }),
    )(async (_request, environ) => {
      (await getSession(environ)).set('n', 1);
      return new Response('ok');
    });
    const client = new TestClient(app);
    const behind = await client.get('/', { headers: { 'x-forwarded-proto': 'https' } });
    expect(behind.headers.get('set-cookie')).toMatch(/; Secure/i);
    const direct = await new TestClient(app).get('/');
    expect(direct.headers.get('set-cookie')).not.toMatch(/; Secure/i);
  });
});

describe('proxyFix: RFC 7239 Forwarded', () => {
  it('reads for/proto/host from the element of each hop: quoted, IPv6 in brackets, ports', async () => {
    const headers = {
      forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=HTTPS;host="shop.example"',
      'x-forwarded-for': '1.1.1.1',
    };
    const got = await seen({ forwarded: true, host: 1 }, headers);
    expect(got.remoteAddress).toBe('2001:db8:cafe::17');
    expect(got.url).toBe('https://shop.example/a/b?q=1');
  });

  it('obfuscated and unknown nodes, and a header that does not parse', async () => {
    expect((await seen({ forwarded: true }, { forwarded: 'for=_hidden' })).remoteAddress).toBe(
      '_hidden',
    );
    expect((await seen({ forwarded: true }, { forwarded: 'for=unknown' })).remoteAddress).toBe(
      null,
    );
    for (const bad of ['for=', 'for="1.2.3.4', 'for=1.2.3.4;for=5.6.7.8', 'nonsense', 'for=a b']) {
      expect((await seen({ forwarded: true }, { forwarded: bad })).remoteAddress).toBe('127.0.0.1');
    }
  });
});

describe('proxyFix: RFC 7239 §6 nodes with ports', () => {
  it('an obfuscated node with a port (or an obfuscated port) is the client, not the proxy', async () => {
    for (const node of ['"_hidden:4711"', '"_hidden:_p0rt"', '_hidden']) {
      const got = await seen({ forwarded: true }, { forwarded: `for=${node}` });
      expect(got.remoteAddress).toBe('_hidden');
    }
    const unknown = await seen({ forwarded: true }, { forwarded: 'for="unknown:4711"' });
    expect(unknown.remoteAddress).toBe(null);
  });
});

describe('the grammar', () => {
  it('forwardedNode: node = nodename [ ":" node-port ] for every nodename', () => {
    expect(forwardedNode('_hidden:4711')).toBe('_hidden');
    expect(forwardedNode('_x.y-z_1:_obf.port')).toBe('_x.y-z_1');
    expect(forwardedNode('unknown:_p')).toBe(null);
    expect(forwardedNode('UNKNOWN')).toBe(null);
    for (const bad of ['_hidden:', '_hidden:123456', '_:1', '_hidden:4711:1', '_hid den', '_a:_']) {
      expect(forwardedNode(bad)).toBeUndefined();
    }
  });

  it('forwardedPrefix: a path of segments, nothing a browser reads as another site', () => {
    expect(forwardedPrefix('/shop/')).toBe('/shop');
    expect(forwardedPrefix('/a/caf%C3%A9')).toBe('/a/caf%C3%A9');
    expect(forwardedPrefix('/')).toBe('');
    for (const bad of [
      '//evil.com',
      '///evil.com',
      '/\\evil.com',
      '/%5Cevil.com',
      '/%2F%2Fevil.com',
      '/%2fevil.com',
      'https://evil.com',
      'evil.com',
      '/a//b',
      '/a/../b',
      '/a/%2e%2E/b',
      '/a/.%2e',
      '/%2e',
      '/a%00b',
      '/a%0Db',
      '/a%7f',
      '/a\tb',
      '/a?b',
      '/a#b',
    ]) {
      expect(forwardedPrefix(bad), bad).toBeUndefined();
    }
  });

  it('fromRight', () => {
    expect(fromRight('a, b ,c', 1)).toBe('c');
    expect(fromRight('a, b ,c', 2)).toBe('b');
    expect(fromRight('a', 2)).toBeUndefined();
    expect(fromRight(null, 1)).toBeUndefined();
    expect(fromRight('a,', 1)).toBeUndefined();
  });

  it('parseForwarded', () => {
    expect(parseForwarded('For="[2001:db8::1]";proto=http, for=192.0.2.43')).toEqual([
      { for: '[2001:db8::1]', proto: 'http' },
      { for: '192.0.2.43' },
    ]);
    expect(parseForwarded('for="a\\"b"')).toEqual([{ for: 'a"b' }]);
    expect(parseForwarded('for=1;;')).toBeUndefined();
  });

  it('forwardedNode', () => {
    expect(forwardedNode('192.0.2.43:8080')).toBe('192.0.2.43');
    expect(forwardedNode('[2001:DB8::1]:_port')).toBe('2001:db8::1');
    expect(forwardedNode('2001:db8::1')).toBe('2001:db8::1');
    expect(forwardedNode('999.1.1.1')).toBeUndefined();
    expect(forwardedNode('0x7f.1')).toBeUndefined();
    expect(forwardedNode('toString')).toBeUndefined();
  });
});
