// The request-target and Host grammar every gateway and TestClient share.
import { describe, expect, it } from 'vitest';
import { isValidHost, parseHost, requestTargetPath } from '../../src/_internal/request-target.js';

describe('requestTargetPath (RFC 9112 §3.2, RFC 3986 §3.3)', () => {
  it.each([
    ['/', '/'],
    ['/a/b?x=1', '/a/b'],
    ['/caf%C3%A9/x', '/caf%C3%A9/x'],
    ["/a;b=c/!$&'()*+,=:@~", "/a;b=c/!$&'()*+,=:@~"],
    ['http://example.test/a?q', '/a'],
    ['HTTPS://example.test', '/'],
    ['//double', '//double'],
  ])('%s → %s', (target, path) => {
    expect(requestTargetPath(target)).toBe(path);
  });

  it.each([
    ['a/b', /not a path/],
    ['ftp://example.test/a', /not a path/],
    ['/a b', /outside RFC 3986/],
    ['/a%zz', /malformed %-escape/],
    ['/a\\b', /outside RFC 3986/],
    ['/a/../b', /"\." or "\.\." segment/],
    ['/a/%2e%2E/b', /segment/],
    ['/.', /segment/],
  ])('refuses %s', (target, message) => {
    const result = requestTargetPath(target);
    expect(typeof result).toBe('object');
    expect((result as { error: string }).error).toMatch(message);
  });
});

describe('isValidHost (RFC 9110 §7.2)', () => {
  it.each([
    'example.test',
    'example.test:8080',
    'app_upstream',
    '127.0.0.1:80',
    '[::1]:3000',
    'x~y',
  ])('accepts %s', (host) => expect(isValidHost(host)).toBe(true));
  it.each(['', 'a/b', 'user@host', 'a b', 'host:', 'host:123456', '[::1', 'a\r\nb'])(
    'refuses %j',
    (host) => expect(isValidHost(host)).toBe(false),
  );
});

describe('parseHost: the one host grammar', () => {
  it.each([
    ['Example.TEST', { hostname: 'example.test', port: undefined }],
    ['app_upstream:8080', { hostname: 'app_upstream', port: 8080 }],
    ['[::1]:3000', { hostname: '[::1]', port: 3000 }],
    ['127.0.0.1:0', { hostname: '127.0.0.1', port: 0 }],
    ['h:65535', { hostname: 'h', port: 65_535 }],
  ])('%s', (text, parts) => {
    expect(parseHost(text)).toEqual(parts);
  });

  it.each(['h:65536', 'h:99999', 'h:', 'a b', 'a/b', ''])('refuses %j', (text) => {
    expect(parseHost(text)).toBeUndefined();
    expect(isValidHost(text)).toBe(false);
  });
});
