/**
 * The HTTP rules of mortar/static, one pure function at a time (as send tests its own).
 */
import { describe, expect, it } from 'vitest';
import {
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeMatches,
  multipartByteranges,
  parseRange,
  parseStaticPath,
} from '../../../middleware/static/index.js';
import { negotiateEncoding } from '../../../src/index.js';

const NONE: ConditionalHeaders = {
  ifMatch: null,
  ifNoneMatch: null,
  ifModifiedSince: null,
  ifUnmodifiedSince: null,
  cacheControl: null,
};
const ETAG = 'W/"f-18c"';
const MTIME = Date.UTC(2026, 0, 2, 3, 4, 5);
const AT = new Date(MTIME).toUTCString();
const BEFORE = new Date(MTIME - 1000).toUTCString();
const AFTER = new Date(MTIME + 1000).toUTCString();
const V = { etag: ETAG, lastModified: MTIME + 123 };

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it.each<[string, Partial<ConditionalHeaders>, string, number]>([
    ['no conditions', {}, 'GET', 200],
    ['If-None-Match equal (weak comparison)', { ifNoneMatch: ETAG }, 'GET', 304],
    ['If-None-Match strong form of our weak tag', { ifNoneMatch: '"f-18c"' }, 'GET', 304],
    ['If-None-Match in a list', { ifNoneMatch: '"a", W/"f-18c" , "b"' }, 'HEAD', 304],
    ['If-None-Match *', { ifNoneMatch: '*' }, 'GET', 304],
    ['If-None-Match different', { ifNoneMatch: '"other"' }, 'GET', 200],
    ['If-None-Match match on POST → 412', { ifNoneMatch: ETAG }, 'POST', 412],
    ['If-Modified-Since at mtime', { ifModifiedSince: AT }, 'GET', 304],
    ['If-Modified-Since after', { ifModifiedSince: AFTER }, 'GET', 304],
    ['If-Modified-Since before', { ifModifiedSince: BEFORE }, 'GET', 200],
    ['If-Modified-Since invalid date is ignored', { ifModifiedSince: 'yesterday' }, 'GET', 200],
    [
      'If-Modified-Since ignored when If-None-Match is present',
      { ifNoneMatch: '"x"', ifModifiedSince: AFTER },
      'GET',
      200,
    ],
    ['If-Modified-Since ignored for POST', { ifModifiedSince: AFTER }, 'POST', 200],
    ['If-Match weak tag never matches (strong comparison)', { ifMatch: ETAG }, 'GET', 412],
    ['If-Match *', { ifMatch: '*' }, 'GET', 200],
    ['If-Match other', { ifMatch: '"x"' }, 'GET', 412],
    ['If-Unmodified-Since before mtime', { ifUnmodifiedSince: BEFORE }, 'GET', 412],
    ['If-Unmodified-Since at mtime', { ifUnmodifiedSince: AT }, 'GET', 200],
    ['If-Unmodified-Since invalid is ignored', { ifUnmodifiedSince: 'nope' }, 'GET', 200],
    [
      'If-Unmodified-Since ignored when If-Match is present',
      { ifMatch: '*', ifUnmodifiedSince: BEFORE },
      'GET',
      200,
    ],
    ['412 wins over 304', { ifMatch: '"x"', ifNoneMatch: ETAG }, 'GET', 412],
    [
      'Cache-Control: no-cache forces a full response',
      { ifNoneMatch: ETAG, cacheControl: 'no-cache' },
      'GET',
      200,
    ],
    [
      'no-cache among other directives',
      { ifModifiedSince: AT, cacheControl: 'max-age=0, no-cache' },
      'GET',
      200,
    ],
    [
      'max-age=0 alone still allows 304',
      { ifModifiedSince: AT, cacheControl: 'max-age=0' },
      'GET',
      304,
    ],
  ])('%s', (_name, headers, method, expected) => {
    expect(evaluatePreconditions(method, { ...NONE, ...headers }, V)).toBe(expected);
  });

  it('never matches a tag it does not have', () => {
    expect(evaluatePreconditions('GET', { ...NONE, ifNoneMatch: ETAG }, {})).toBe(200);
  });
});

describe('ifRangeMatches (RFC 9110 §13.1.5)', () => {
  it.each<[string | null, { etag?: string; lastModified?: number }, boolean]>([
    [null, V, true],
    ['"strong"', { etag: '"strong"' }, true],
    ['"strong"', { etag: '"other"' }, false],
    [ETAG, V, false],
    [AT, V, true],
    [AFTER, V, false],
    [BEFORE, V, false],
    ['garbage', V, false],
  ])('If-Range %j with %j → %j', (header, validators, expected) => {
    expect(ifRangeMatches(header, validators)).toBe(expected);
  });
});

describe('parseRange (RFC 9110 §14)', () => {
  it.each<[string | null, number, unknown]>([
    [null, 100, undefined],
    ['bytes=0-9', 100, [{ start: 0, end: 9 }]],
    ['bytes=90-', 100, [{ start: 90, end: 99 }]],
    ['bytes=-10', 100, [{ start: 90, end: 99 }]],
    ['bytes=-1000', 100, [{ start: 0, end: 99 }]],
    ['bytes=95-1000', 100, [{ start: 95, end: 99 }]],
    [
      'bytes=0-0,-1',
      100,
      [
        { start: 0, end: 0 },
        { start: 99, end: 99 },
      ],
    ],
    ['bytes=0-10,5-20', 100, [{ start: 0, end: 20 }]],
    ['bytes=20-29,0-9,10-19', 100, [{ start: 0, end: 29 }]],
    [
      'bytes=50-59, 0-9',
      100,
      [
        { start: 0, end: 9 },
        { start: 50, end: 59 },
      ],
    ],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=200-300', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-5', 0, 'unsatisfiable'],
    ['bytes=200-300,0-1', 100, [{ start: 0, end: 1 }]],
    ['bytes=9-0', 100, undefined],
    ['bytes=a-b', 100, undefined],
    ['bytes=-', 100, undefined],
    ['bytes=', 100, undefined],
    ['items=0-9', 100, undefined],
    ['bytes 0-9', 100, undefined],
    ['BYTES=0-1', 100, [{ start: 0, end: 1 }]],
    ['bytes=1-2,3-4,5-6', 100, [{ start: 1, end: 6 }]],
  ])('%j of %d bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size, 16)).toEqual(expected);
  });

  it('answers the full representation (undefined) for more ranges than allowed', () => {
    const many = `bytes=${Array.from({ length: 17 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`;
    expect(parseRange(many, 100, 16)).toBeUndefined();
    expect(parseRange(many, 100, 17)).toHaveLength(17);
  });
});

describe('multipartByteranges', () => {
  it('frames parts with CRLFs and computes the exact length', () => {
    const framing = multipartByteranges(
      [
        { start: 0, end: 1 },
        { start: 5, end: 7 },
      ],
      10,
      'text/plain',
      'B',
    );
    const body = Buffer.concat([
      framing.heads[0]!,
      Buffer.from('ab'),
      framing.heads[1]!,
      Buffer.from('fgh'),
      framing.tail,
    ]).toString();
    expect(body).toBe(
      '--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/10\r\n\r\nab' +
        '\r\n--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 5-7/10\r\n\r\nfgh' +
        '\r\n--B--\r\n',
    );
    expect(framing.length).toBe(Buffer.byteLength(body));
    expect(framing.contentType).toBe('multipart/byteranges; boundary=B');
  });
});

describe('negotiateEncoding (RFC 9110 §12.5.3)', () => {
  const both = ['br', 'gzip'];
  it.each<[string | null, string[], string]>([
    [null, both, 'identity'],
    ['', both, 'identity'],
    ['gzip, deflate, br', both, 'br'],
    ['gzip', both, 'gzip'],
    ['br;q=0.5, gzip', both, 'gzip'],
    ['gzip;q=0, br;q=0', both, 'identity'],
    ['*', both, 'br'],
    ['*;q=0.1, gzip;q=0', both, 'br'],
    ['gzip;q=0, *', both, 'br'],
    ['x-gzip', both, 'gzip'],
    ['br', ['gzip'], 'identity'],
    ['gzip;q=0.5, identity', both, 'identity'],
    ['gzip, identity', both, 'gzip'],
    ['GZIP;Q=1', both, 'gzip'],
    ['gzip;q=nonsense', both, 'identity'],
  ])('Accept-Encoding %j over %j → %s', (header, available, expected) => {
    expect(negotiateEncoding(header, available)).toBe(expected);
  });
});

describe('parseStaticPath', () => {
  it.each<[string, unknown]>([
    ['', { segments: [], trailingSlash: false }],
    ['/', { segments: [], trailingSlash: true }],
    ['/a/b.txt', { segments: ['a', 'b.txt'], trailingSlash: false }],
    ['/a/', { segments: ['a'], trailingSlash: true }],
    ['/caf%C3%A9%20menu.txt', { segments: ['café menu.txt'], trailingSlash: false }],
    ['/a/../b', { refused: 'dot segment' }],
    ['/..', { refused: 'dot segment' }],
    ['/./a', { refused: 'dot segment' }],
    ['/%2e%2e/x', { refused: 'dot segment' }],
    ['/%2E%2e/x', { refused: 'dot segment' }],
    ['/.%2E/x', { refused: 'dot segment' }],
    ['/%252e%252e/x', { refused: 'double-encoded path characters' }],
    ['/%252f', { refused: 'double-encoded path characters' }],
    ['/a%2Fb', { refused: 'encoded "/" or "\\"' }],
    ['/a%2f..%2fb', { refused: 'encoded "/" or "\\"' }],
    ['/a%5Cb', { refused: 'encoded "/" or "\\"' }],
    ['/a\\b', { refused: 'backslash in the path' }],
    ['/..\\x', { refused: 'backslash in the path' }],
    ['//etc/passwd', { refused: 'empty path segment' }],
    ['/a//b', { refused: 'empty path segment' }],
    ['/a%00.txt', { error: 'NUL byte in the path' }],
    ['/a%zz', { error: 'malformed %-escape in the path' }],
    ['/%c0%ae%c0%ae/x', { error: 'malformed %-escape in the path' }],
    ['/%e0%80%ae', { error: 'malformed %-escape in the path' }],
  ])('%j → %j', (input, expected) => {
    expect(parseStaticPath(input)).toEqual(expected);
  });
});
