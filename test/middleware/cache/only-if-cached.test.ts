/**
 * A request's `only-if-cached` (RFC 9111 §5.2.1.7) over real HTTP: a stored response that the
 * request's other directives accept answers it; anything else is a 504 and the application is
 * never asked.
 */
import { describe, expect, it } from 'vitest';
import { type CacheOptions, cache } from '../../../middleware/cache/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { listen, request } from './helpers.js';

/** `cache(options)` over an application answering `headers` (its calls counted). */
async function served(headers: Record<string, string>, options: CacheOptions = {}) {
  const calls = { n: 0 };
  const app: Application = () => {
    calls.n++;
    return new FastResponse(`page ${calls.n}`, { headers });
  };
  return { url: await listen(cache(options)(app)), calls };
}

const ONLY = { 'cache-control': 'only-if-cached' };

describe('cache(): only-if-cached', () => {
  it('answers from a fresh stored response', async () => {
    const { url, calls } = await served({ 'cache-control': 'max-age=60' });
    await request(`${url}/p`);
    const reply = await request(`${url}/p`, ONLY);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('page 1');
    expect(reply.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(calls.n).toBe(1);
  });

  it('is a 504 with nothing stored, and the application is not asked', async () => {
    const { url, calls } = await served({ 'cache-control': 'max-age=60' });
    const reply = await request(`${url}/p`, ONLY);
    expect(reply.status).toBe(504);
    expect(reply.headers['cache-status']).toBe('mortar; detail=only-if-cached');
    expect(reply.body).toContain('only-if-cached');
    expect(calls.n).toBe(0);
    // Nor is a HEAD or a Range request sent on.
    expect((await request(`${url}/p`, ONLY, 'HEAD')).status).toBe(504);
    expect((await request(`${url}/p`, { ...ONLY, range: 'bytes=0-1' })).status).toBe(504);
    expect(calls.n).toBe(0);
  });

  it('is a 504 when the stored response would need revalidating', async () => {
    const { url, calls } = await served({ 'cache-control': 'max-age=60', age: '120', etag: '"a"' });
    await request(`${url}/p`);
    expect(calls.n).toBe(1);
    const reply = await request(`${url}/p`, ONLY);
    expect(reply.status).toBe(504);
    // The request's own no-cache asks for revalidation even of a fresh response.
    const fresh = await served({ 'cache-control': 'max-age=60' });
    await request(`${fresh.url}/p`);
    const noCache = await request(`${fresh.url}/p`, {
      'cache-control': 'no-cache, only-if-cached',
    });
    expect(noCache.status).toBe(504);
    expect([calls.n, fresh.calls.n]).toEqual([1, 1]);
  });

  it('takes a stale response the request allows (max-stale) or one within stale-while-revalidate', async () => {
    // A validator keeps a stale response stored (keepStale).
    const { url, calls } = await served({ 'cache-control': 'max-age=60', age: '90', etag: '"a"' });
    await request(`${url}/p`);
    const stale = await request(`${url}/p`, { 'cache-control': 'only-if-cached, max-stale=60' });
    expect(stale.status).toBe(200);
    expect(stale.body).toBe('page 1');
    expect(calls.n).toBe(1);
    const swr = await served({
      'cache-control': 'max-age=60, stale-while-revalidate=60',
      age: '90',
    });
    await request(`${swr.url}/p`);
    const reply = await request(`${swr.url}/p`, ONLY);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('page 1');
  });

  it('is a 504 for a URL that answered no-store, remembered or not, with no Cache-Status when off', async () => {
    const { url, calls } = await served({ 'cache-control': 'no-store' });
    await request(`${url}/p`);
    await request(`${url}/p`); // the pass memory now sends /p straight to the application
    expect(calls.n).toBe(2);
    const reply = await request(`${url}/p`, ONLY);
    expect(reply.status).toBe(504);
    expect(calls.n).toBe(2);
    const quiet = await served({ 'cache-control': 'no-store' }, { cacheStatus: false });
    const bare = await request(`${quiet.url}/p`, ONLY);
    expect(bare.status).toBe(504);
    expect(bare.headers['cache-status']).toBeUndefined();
    expect(quiet.calls.n).toBe(0);
  });
});
