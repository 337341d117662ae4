/**
 * RFC 9111's finer rules over real HTTP, where http-cache-semantics alone reads otherwise or a
 * peer's suite (undici's cache interceptor) checks them: fields a cache never stores, how
 * `Cache-Control` is read, the corrected initial age, the age after a 304, and `Vary` on an
 * absent field.
 */
import { describe, expect, it } from 'vitest';
import { cache } from '../../../middleware/cache/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { listen, request } from './helpers.js';

/** `cache()` over an application answering `reply(n)` (n counts its calls from 1). */
async function served(reply: (n: number) => Response | Promise<Response>) {
  const calls = { n: 0 };
  const app: Application = () => reply(++calls.n);
  return { url: await listen(cache()(app)), calls };
}

const page = (n: number, headers: Record<string, string>, status = 200) =>
  new FastResponse(status === 304 ? null : `page ${n}`, { status, headers });

describe('cache(): fields never stored (RFC 9111 §3.1)', () => {
  it('serves a hit without the fields Connection names, nor Proxy-Authentication-Info', async () => {
    const { url, calls } = await served((n) =>
      page(n, {
        'cache-control': 'max-age=60',
        connection: 'x-hop',
        'x-hop': 'secret',
        'proxy-authentication-info': 'nextnonce="x"',
        'x-kept': 'yes',
      }),
    );
    await request(`${url}/c`);
    const hit = await request(`${url}/c`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(hit.headers['x-kept']).toBe('yes');
    expect(hit.headers['x-hop']).toBeUndefined();
    expect(hit.headers['proxy-authentication-info']).toBeUndefined();
    expect(calls.n).toBe(1);
  });
});

describe('cache(): reading Cache-Control (RFC 9111 §4.2.1, §5.2)', () => {
  it('takes the first of two max-age directives', async () => {
    const { url, calls } = await served((n) =>
      page(n, { 'cache-control': 'max-age=0, max-age=60' }),
    );
    await request(`${url}/d`);
    expect((await request(`${url}/d`)).body).toBe('page 2');
    expect(calls.n).toBe(2);
  });

  it('reads directive names in any case', async () => {
    const upper = await served((n) => page(n, { 'cache-control': 'MAX-AGE=60' }));
    await request(`${upper.url}/u`);
    expect((await request(`${upper.url}/u`)).headers['cache-status']).toMatch(/^mortar; hit/);
    const noCache = await served((n) => page(n, { 'cache-control': 'max-age=60, NO-CACHE' }));
    await request(`${noCache.url}/n`);
    expect((await request(`${noCache.url}/n`)).body).toBe('page 2');
    const shared = await served((n) => page(n, { 'cache-control': 'max-age=60, S-MAXAGE=0' }));
    await request(`${shared.url}/s`);
    expect((await request(`${shared.url}/s`)).body).toBe('page 2');
    expect([upper.calls.n, noCache.calls.n, shared.calls.n]).toEqual([1, 2, 2]);
  });
});

describe('cache(): the corrected initial age (RFC 9111 §4.2.3)', () => {
  it('counts the apparent age from Date', async () => {
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toUTCString();
    const old = await served((n) => page(n, { 'cache-control': 'max-age=60', date: ago(120) }));
    await request(`${old.url}/o`);
    expect((await request(`${old.url}/o`)).body).toBe('page 2'); // stale on arrival
    const recent = await served((n) => page(n, { 'cache-control': 'max-age=60', date: ago(30) }));
    await request(`${recent.url}/r`);
    const hit = await request(`${recent.url}/r`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit; ttl=(29|30)$/);
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(30);
    expect([old.calls.n, recent.calls.n]).toEqual([2, 1]);
  });

  it('adds the time the application took to the Age it sent', async () => {
    const { url, calls } = await served(async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      return page(n, { 'cache-control': 'max-age=600', age: '100' });
    });
    await request(`${url}/a`);
    const hit = await request(`${url}/a`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(101);
    expect(calls.n).toBe(1);
  });
});

describe('cache(): the age after a 304 (RFC 9111 §4.3.4)', () => {
  it('starts again from the 304, so an entry that came old is fresh once revalidated', async () => {
    const { url, calls } = await served((n) =>
      n === 1
        ? page(n, { 'cache-control': 'max-age=60', age: '100', etag: '"e"' })
        : page(n, { 'cache-control': 'max-age=60', etag: '"e"' }, 304),
    );
    await request(`${url}/v`);
    const revalidated = await request(`${url}/v`);
    expect(revalidated.headers['cache-status']).toMatch(/fwd=stale; fwd-status=304/);
    expect(revalidated.body).toBe('page 1');
    const hit = await request(`${url}/v`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit; ttl=(59|60)$/);
    expect(Number(hit.headers.age)).toBeLessThan(2);
    expect(calls.n).toBe(2);
  });
});

describe('cache(): Vary on an absent field (RFC 9111 §4.1)', () => {
  it('does not match an empty value to an absent field, either way', async () => {
    const { url, calls } = await served((n) =>
      page(n, { 'cache-control': 'max-age=60', vary: 'x-v' }),
    );
    await request(`${url}/x`);
    expect((await request(`${url}/x`, { 'x-v': '' })).body).toBe('page 2');
    expect((await request(`${url}/x`)).body).toBe('page 1');
    expect((await request(`${url}/x`, { 'x-v': '' })).body).toBe('page 2');
    expect(calls.n).toBe(2);
  });
});

describe('cache(): proxy-revalidate (RFC 9111 §5.2.2.8)', () => {
  it('is fresh for its max-age, then revalidated and never served stale', async () => {
    const { url, calls } = await served((n) =>
      page(n, {
        'cache-control': 'max-age=60, proxy-revalidate, stale-while-revalidate=600',
      }),
    );
    await request(`${url}/p`);
    const hit = await request(`${url}/p`);
    expect(hit.headers['cache-status']).toMatch(/^mortar; hit; ttl=(59|60)$/);
    expect(hit.headers['cache-control']).toBe(
      'max-age=60, proxy-revalidate, stale-while-revalidate=600',
    );
    expect(calls.n).toBe(1);
    const stale = await served((n) =>
      page(n, {
        'cache-control': 'max-age=60, proxy-revalidate, stale-while-revalidate=600',
        age: '90',
        etag: '"e"',
      }),
    );
    await request(`${stale.url}/p`);
    const again = await request(`${stale.url}/p`, { 'cache-control': 'max-stale=600' });
    expect(again.body).toBe('page 2'); // neither stale-while-revalidate nor max-stale serves it
    expect(stale.calls.n).toBe(2);
  });
});
