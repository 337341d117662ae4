/**
 * `cache()` over real HTTP: what is stored and reused, variants, revalidation, RFC 5861's stale
 * responses, and Cache-Status. Staleness comes from the `Age` the application sends, not from
 * waiting.
 */
import { describe, expect, it } from 'vitest';
import { type CacheOptions, cache, region } from '../../../middleware/cache/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { listen, request, until } from './helpers.js';

/** An application answering `reply(request, n)` (n counts its calls from 1), and its call count. */
function counted(reply: (request: Request, n: number) => Response | Promise<Response>) {
  const calls = { n: 0, requests: [] as Request[] };
  const app: Application = (req) => {
    calls.n++;
    calls.requests.push(req);
    return reply(req, calls.n);
  };
  return { app, calls };
}

async function cachedServer(
  reply: (request: Request, n: number) => Response | Promise<Response>,
  options: CacheOptions = {},
) {
  const { app, calls } = counted(reply);
  const url = await listen(cache(options)(app));
  return { url, calls };
}

describe('cache(): fresh responses', () => {
  it('stores a fresh GET and answers the next from the store, with Age and Cache-Status', async () => {
    const { url, calls } = await cachedServer(
      (_r, n) =>
        new FastResponse(`page ${n}`, { headers: { 'cache-control': 'max-age=60', age: '5' } }),
    );
    const first = await request(`${url}/page`);
    expect(first.body).toBe('page 1');
    expect(first.headers['cache-status']).toMatch(
      /^mortar; fwd=uri-miss; fwd-status=200; ttl=55; stored$/,
    );
    const second = await request(`${url}/page`);
    expect(second.body).toBe('page 1');
    expect(Number(second.headers.age)).toBeGreaterThanOrEqual(5);
    expect(second.headers['cache-status']).toMatch(/^mortar; hit; ttl=5[45]$/);
    expect(calls.n).toBe(1);
  });

  it('answers HEAD from a stored GET, without a body', async () => {
    const { url, calls } = await cachedServer(
      () => new FastResponse('0123456789', { headers: { 'cache-control': 'max-age=60' } }),
    );
    await request(`${url}/h`);
    const head = await request(`${url}/h`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('10');
    expect(head.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(calls.n).toBe(1);
  });

  it('gives a hit of a body stored from a stream its Content-Length, on GET and HEAD', async () => {
    const { url } = await cachedServer(
      () =>
        new FastResponse(new Blob(['0123456789']).stream(), {
          headers: { 'cache-control': 'max-age=60' },
        }),
    );
    await request(`${url}/s`); // streamed: no Content-Length; stored once read to its end
    await until(async () =>
      /hit/.test(String((await request(`${url}/s`)).headers['cache-status'])),
    );
    for (const method of ['GET', 'HEAD']) {
      const reply = await request(`${url}/s`, {}, method);
      expect(reply.headers['cache-status']).toMatch(/^mortar; hit/);
      expect(reply.headers['content-length']).toBe('10');
    }
  });

  it('keeps the query apart: /p?a=1 and /p?a=2 are two entries', async () => {
    const { url, calls } = await cachedServer(
      (r) =>
        new FastResponse(new URL(r.url).search, { headers: { 'cache-control': 'max-age=60' } }),
    );
    expect((await request(`${url}/p?a=1`)).body).toBe('?a=1');
    expect((await request(`${url}/p?a=2`)).body).toBe('?a=2');
    expect((await request(`${url}/p?a=1`)).body).toBe('?a=1');
    expect(calls.n).toBe(2);
  });

  it.each([
    ['cache-control', 'no-cache'],
    ['cache-control', 'max-age=0'],
    ['cache-control', 'min-fresh=120'],
    ['pragma', 'no-cache'],
  ])(
    'does not answer a request with %s: %s from a fresh entry: it asks the application',
    async (name, value) => {
      const { url, calls } = await cachedServer(
        (_r, n) => new FastResponse(`page ${n}`, { headers: { 'cache-control': 'max-age=60' } }),
      );
      await request(`${url}/page`);
      expect((await request(`${url}/page`)).body).toBe('page 1');
      const asked = await request(`${url}/page`, { [name]: value });
      expect(asked.body).toBe('page 2');
      expect(asked.headers['cache-status']).not.toMatch(/; hit/);
      expect(calls.n).toBe(2);
    },
  );
});

describe('cache(): what is never stored', () => {
  const cases: [string, Record<string, string>, Record<string, string>][] = [
    ['private', { 'cache-control': 'private, max-age=60' }, {}],
    ['no-store', { 'cache-control': 'no-store, max-age=60' }, {}],
    ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }, {}],
    ['a Set-Cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }, {}],
    [
      'an Authorization request',
      { 'cache-control': 'max-age=60' },
      { authorization: 'Basic eDp5' },
    ],
    ['no lifetime and no validator', {}, {}],
  ];
  it.each(cases)('%s', async (_name, headers, requestHeaders) => {
    const { url, calls } = await cachedServer((_r, n) => new FastResponse(`n${n}`, { headers }));
    const first = await request(`${url}/x`, requestHeaders);
    expect((await request(`${url}/x`, requestHeaders)).body).toBe('n2');
    expect(calls.n).toBe(2);
    expect(first.headers['cache-status']).toMatch(/^mortar; fwd=uri-miss; fwd-status=200; detail=/);
  });

  it('gives no heuristic freshness unless asked: Last-Modified alone is revalidated each time', async () => {
    const headers = { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' };
    const plain = await cachedServer(() => new FastResponse('x', { headers }));
    await request(`${plain.url}/x`);
    await request(`${plain.url}/x`);
    expect(plain.calls.n).toBe(2);
    expect(plain.calls.requests[1]!.headers.get('if-modified-since')).toBe(
      headers['last-modified'],
    );
    const heuristic = await cachedServer(() => new FastResponse('x', { headers }), {
      heuristic: 0.1,
    });
    await request(`${heuristic.url}/x`);
    expect((await request(`${heuristic.url}/x`)).headers['cache-status']).toMatch(/^mortar; hit/);
    expect(heuristic.calls.n).toBe(1);
  });

  it('stores an Authorization request’s response marked public', async () => {
    const { url, calls } = await cachedServer(
      () => new FastResponse('shared', { headers: { 'cache-control': 'public, max-age=60' } }),
    );
    await request(`${url}/x`, { authorization: 'Basic eDp5' });
    await request(`${url}/x`, { authorization: 'Basic eDp5' });
    expect(calls.n).toBe(1);
  });

  it('a not-storable URL goes straight through (no lock) and is stored once it says so', async () => {
    let storable = false;
    const { url, calls } = await cachedServer(
      () =>
        new FastResponse('x', {
          headers: { 'cache-control': storable ? 'max-age=60' : 'no-store' },
        }),
    );
    await request(`${url}/x`);
    await request(`${url}/x`);
    storable = true;
    await request(`${url}/x`);
    expect((await request(`${url}/x`)).headers['cache-status']).toMatch(/^mortar; hit/);
    expect(calls.n).toBe(3);
  });
});

describe('cache(): variants', () => {
  it.each([
    ['Accept-Encoding', 'accept-encoding', ['gzip', 'br']],
    ['Accept-Language', 'accept-language', ['en', 'fr']],
  ])('keeps one entry per %s', async (field, name, [a, b]) => {
    const { url, calls } = await cachedServer(
      (r) =>
        new FastResponse(`for ${r.headers.get(name)}`, {
          headers: { 'cache-control': 'max-age=60', vary: field },
        }),
    );
    expect((await request(`${url}/v`, { [name]: a! })).body).toBe(`for ${a}`);
    const missed = await request(`${url}/v`, { [name]: b! });
    expect(missed.body).toBe(`for ${b}`);
    expect(missed.headers['cache-status']).toMatch(/fwd=vary-miss/);
    expect((await request(`${url}/v`, { [name]: a! })).body).toBe(`for ${a}`);
    expect((await request(`${url}/v`, { [name]: b! })).body).toBe(`for ${b}`);
    expect(calls.n).toBe(2);
  });
});

describe('cache(): revalidation', () => {
  it('revalidates a stale entry with its ETag; a 304 updates the headers and keeps the body', async () => {
    const { url, calls } = await cachedServer((r, n) => {
      if (n > 1 && r.headers.get('if-none-match') === '"v1"') {
        return new FastResponse(null, {
          status: 304,
          headers: { etag: '"v1"', 'cache-control': 'max-age=60', 'x-seen': 'second' },
        });
      }
      return new FastResponse('body one', {
        headers: { etag: '"v1"', 'cache-control': 'max-age=10', age: '11', 'x-seen': 'first' },
      });
    });
    await request(`${url}/r`);
    const revalidated = await request(`${url}/r`);
    expect(calls.requests[1]!.headers.get('if-none-match')).toBe('"v1"');
    expect(revalidated.status).toBe(200);
    expect(revalidated.body).toBe('body one');
    expect(revalidated.headers['x-seen']).toBe('second');
    expect(revalidated.headers['cache-status']).toMatch(/^mortar; fwd=stale; fwd-status=304/);
    expect(calls.n).toBe(2);
  });

  it('revalidates with Last-Modified (If-Modified-Since), and a 304 adds the fields it brings', async () => {
    const modified = 'Mon, 01 Jan 2024 00:00:00 GMT';
    const { url, calls } = await cachedServer((r, n) => {
      if (n > 1 && r.headers.get('if-modified-since') === modified) {
        return new FastResponse(null, {
          status: 304,
          headers: { 'last-modified': modified, 'cache-control': 'max-age=60', 'x-new': 'added' },
        });
      }
      return new FastResponse('dated', {
        headers: { 'last-modified': modified, 'cache-control': 'max-age=10', age: '11' },
      });
    });
    await request(`${url}/d`);
    const revalidated = await request(`${url}/d`);
    expect(revalidated.body).toBe('dated');
    expect(revalidated.headers['x-new']).toBe('added');
    const hit = await request(`${url}/d`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(calls.n).toBe(2);
  });

  it('a 304 that adds a Vary field evicts the entry; the client gets a full response', async () => {
    const { url, calls } = await cachedServer((r, n) => {
      if (n === 2 && r.headers.get('if-none-match') === '"v1"') {
        return new FastResponse(null, {
          status: 304,
          headers: { etag: '"v1"', 'cache-control': 'max-age=60', vary: 'Accept-Language' },
        });
      }
      return new FastResponse(`body ${n}`, {
        headers: {
          etag: n === 1 ? '"v1"' : '"v2"',
          'cache-control': 'max-age=10',
          ...(n === 1 ? { age: '11' } : { vary: 'Accept-Language' }),
        },
      });
    });
    await request(`${url}/r`);
    const reply = await request(`${url}/r`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('body 3');
    expect(calls.n).toBe(3);
    expect(calls.requests[2]!.headers.get('if-none-match')).toBeNull();
  });

  it('answers a client’s matching If-None-Match with a 304 from the store', async () => {
    const { url } = await cachedServer(
      () => new FastResponse('tagged', { headers: { etag: '"t"', 'cache-control': 'max-age=60' } }),
    );
    await request(`${url}/t`);
    const reply = await request(`${url}/t`, { 'if-none-match': '"t"' });
    expect(reply.status).toBe(304);
    expect(reply.body).toBe('');
  });
});

describe('cache(): ranges of a stored response (RFC 9110 §14)', () => {
  const modified = 'Mon, 01 Jan 2024 00:00:00 GMT';
  /** A stored `abcdefghij` (text/plain, ETag "r"), its server, and the application's calls. */
  async function stored() {
    const server = await cachedServer((r) =>
      r.headers.get('range')
        ? new FastResponse('ab', { status: 206, headers: { 'content-range': 'bytes 0-1/10' } })
        : new FastResponse('abcdefghij', {
            headers: {
              'cache-control': 'max-age=60',
              'content-type': 'text/plain',
              etag: '"r"',
              'last-modified': modified,
            },
          }),
    );
    await request(`${server.url}/r`);
    return server;
  }

  it('answers a single range and a suffix range from the store with a 206', async () => {
    const { url, calls } = await stored();
    const one = await request(`${url}/r`, { range: 'bytes=2-4' });
    expect(one.status).toBe(206);
    expect(one.body).toBe('cde');
    expect(one.headers['content-range']).toBe('bytes 2-4/10');
    expect(one.headers['content-length']).toBe('3');
    expect(one.headers['content-type']).toBe('text/plain');
    expect(one.headers['cache-status']).toMatch(/^mortar; hit/);
    const suffix = await request(`${url}/r`, { range: 'bytes=-3' });
    expect([suffix.status, suffix.body]).toEqual([206, 'hij']);
    expect(calls.n).toBe(1);
  });

  it('answers several ranges as multipart/byteranges', async () => {
    const { url } = await stored();
    const reply = await request(`${url}/r`, { range: 'bytes=0-1, 5-6' });
    expect(reply.status).toBe(206);
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(
      String(reply.headers['content-type']),
    )?.[1];
    expect(boundary).toBeDefined();
    expect(reply.body).toBe(
      `--${boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/10\r\n\r\nab` +
        `\r\n--${boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 5-6/10\r\n\r\nfg` +
        `\r\n--${boundary}--\r\n`,
    );
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
  });

  it('answers a range past the end with 416 and Content-Range: bytes */10', async () => {
    const { url, calls } = await stored();
    const reply = await request(`${url}/r`, { range: 'bytes=20-30' });
    expect(reply.status).toBe(416);
    expect(reply.headers['content-range']).toBe('bytes */10');
    expect(reply.body).toBe('');
    expect(calls.n).toBe(1);
  });

  it('honours If-Range: a matching ETag or date gets the range, another the full 200', async () => {
    const { url } = await stored();
    const tag = await request(`${url}/r`, { range: 'bytes=0-2', 'if-range': '"r"' });
    expect([tag.status, tag.body]).toEqual([206, 'abc']);
    const date = await request(`${url}/r`, { range: 'bytes=0-2', 'if-range': modified });
    expect([date.status, date.body]).toEqual([206, 'abc']);
    const other = await request(`${url}/r`, { range: 'bytes=0-2', 'if-range': '"old"' });
    expect([other.status, other.body]).toEqual([200, 'abcdefghij']);
    expect(other.headers['content-range']).toBeUndefined();
  });

  it('ignores Range on a HEAD and in another unit', async () => {
    const { url } = await stored();
    const head = await request(`${url}/r`, { range: 'bytes=0-2' }, 'HEAD');
    expect([head.status, head.headers['content-length']]).toEqual([200, '10']);
    const items = await request(`${url}/r`, { range: 'items=0-2' });
    expect([items.status, items.body]).toEqual([200, 'abcdefghij']);
  });

  it('forwards a Range request it cannot answer as it came, and a full GET still fills the store', async () => {
    const { url, calls } = await cachedServer((r) =>
      r.headers.get('range')
        ? new FastResponse('ab', { status: 206, headers: { 'content-range': 'bytes 0-1/10' } })
        : new FastResponse('abcdefghij', { headers: { 'cache-control': 'max-age=60' } }),
    );
    const missed = await request(`${url}/m`, { range: 'bytes=0-1' });
    expect([missed.status, missed.body]).toEqual([206, 'ab']);
    expect(missed.headers['cache-status']).toBe(
      'mortar; fwd=uri-miss; fwd-status=206; detail=partial',
    );
    expect(calls.requests[0]!.headers.get('range')).toBe('bytes=0-1');
    await request(`${url}/m`);
    const hit = await request(`${url}/m`, { range: 'bytes=8-' });
    expect([hit.status, hit.body]).toEqual([206, 'ij']);
    expect(calls.n).toBe(2);
  });
});

describe('cache() and region(): options', () => {
  it('refuse an option they do not know, naming the one meant', () => {
    expect(() => cache({ maxEntrysize: 1 } as never)).toThrow(
      /cache: unknown option "maxEntrysize" — did you mean "maxEntrySize"\?/,
    );
    expect(() => region({ name: 'r', ttl: 1, expire: 2 } as never)).toThrow(
      /region: unknown option "expire"/,
    );
    expect(() => region({ name: 'r', ttl: 1, lock: { wait: 1 } } as never)).toThrow(
      /region: unknown option "lock.wait"/,
    );
  });

  it('refuse sizes and durations out of range, with the unit expected', () => {
    expect(() => cache({ maxEntrySize: -1 })).toThrow(
      /cache: option "maxEntrySize" must be a number of bytes \(an integer ≥ 1\), got -1/,
    );
    expect(() => cache({ lockTimeout: 0 })).toThrow(
      /cache: option "lockTimeout" must be milliseconds \(an integer ≥ 1\)/,
    );
    expect(() => cache({ heuristic: 2 })).toThrow(
      /cache: option "heuristic" must be a fraction from 0 to 1/,
    );
    expect(() => cache({ keepStale: Number.NaN })).toThrow(
      /cache: option "keepStale" must be seconds/,
    );
  });
});

describe('cache({ cacheStatus: false }) (RFC 9211 §5: a cache may keep its workings to itself)', () => {
  it('sends no Cache-Status on a miss, a hit, a pass or another method, and leaves the application’s own', async () => {
    const { url, calls } = await cachedServer(
      (request, n) => {
        const path = new URL(request.url).pathname;
        if (path === '/own') {
          return new FastResponse('own', {
            headers: { 'cache-control': 'no-store', 'cache-status': 'inner; fwd=uri-miss' },
          });
        }
        const cacheControl = path === '/page' ? 'max-age=60' : 'no-store';
        return new FastResponse(`${path} ${n}`, { headers: { 'cache-control': cacheControl } });
      },
      { cacheStatus: false },
    );
    const miss = await request(`${url}/page`);
    const hit = await request(`${url}/page`);
    expect(hit.body).toBe(miss.body);
    expect(hit.headers.age).toBeDefined();
    // A no-store URL, then again once it is remembered as one (the pass path).
    const pass = [await request(`${url}/private`), await request(`${url}/private`)];
    const posted = await request(`${url}/page`, {}, 'POST');
    for (const reply of [miss, hit, ...pass, posted]) {
      expect(reply.headers['cache-status']).toBeUndefined();
    }
    expect((await request(`${url}/own`)).headers['cache-status']).toBe('inner; fwd=uri-miss');
    expect(calls.n).toBe(5);
    expect(() => cache({ cacheStatus: 'no' as unknown as boolean })).toThrow(
      /cache: option "cacheStatus" must be true or false/,
    );
  });
});
