/**
 * `cache()` and stale responses: RFC 5861's stale-while-revalidate and stale-if-error, and the
 * client's `max-stale`, which never obtains a response that forbids stale reuse.
 */
import { describe, expect, it } from 'vitest';
import { cache } from '../../../middleware/cache/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { listen, request, until } from './helpers.js';

describe('cache(): stale-while-revalidate', () => {
  it('serves stale at once to every request and refreshes exactly once in the background', async () => {
    let calls = 0;
    let openRefresh!: () => void;
    const refreshGate = new Promise<void>((resolve) => {
      openRefresh = resolve;
    });
    const app: Application = async () => {
      calls++;
      if (calls === 1) {
        return new FastResponse('old', {
          headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60', age: '2' },
        });
      }
      await refreshGate; // the refresh answers only once every stale response went out
      return new FastResponse('new', { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache()(app));
    await request(`${url}/swr`);
    const stale = await Promise.all(Array.from({ length: 20 }, () => request(`${url}/swr`)));
    expect(stale.map((r) => r.body)).toEqual(Array(20).fill('old'));
    expect(stale[0]!.headers['cache-status']).toMatch(/^mortar; hit; ttl=-\d+$/);
    expect(calls).toBe(2);
    openRefresh();
    await until(async () => (await request(`${url}/swr`)).body === 'new');
    expect(calls).toBe(2);
  });
  it('answers a Range request from the stale entry and refreshes the full response', async () => {
    const seen: (string | null)[] = [];
    const app: Application = (r) => {
      seen.push(r.headers.get('range'));
      return seen.length === 1
        ? new FastResponse('0123456789', {
            headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60', age: '2' },
          })
        : new FastResponse('abcdefghij', { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache()(app));
    await request(`${url}/swr`);
    const stale = await request(`${url}/swr`, { range: 'bytes=0-3' });
    expect([stale.status, stale.body]).toEqual([206, '0123']);
    await until(async () => (await request(`${url}/swr`, { range: 'bytes=0-3' })).body === 'abcd');
    expect(seen).toEqual([null, null]);
  });
});

describe('cache(): stale-if-error', () => {
  const stored = (age: number) =>
    new FastResponse('good', {
      headers: { 'cache-control': 'max-age=1, stale-if-error=60', age: String(age) },
    });

  it.each([
    ['throws', () => Promise.reject(new Error('down'))],
    ['answers 503', () => new FastResponse('busy', { status: 503 })],
  ] as const)('serves the stale response when the application %s', async (_name, fail) => {
    let calls = 0;
    const app: Application = () => (++calls === 1 ? stored(2) : fail());
    const url = await listen(cache()(app));
    await request(`${url}/e`);
    const reply = await request(`${url}/e`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('good');
    expect(reply.headers['cache-status']).toMatch(/fwd=stale.*detail=stale-if-error/);
    expect(calls).toBe(2);
  });

  it('passes the error on once past the window', async () => {
    let calls = 0;
    const app: Application = () =>
      ++calls === 1 ? stored(100) : new FastResponse('busy', { status: 503 });
    const url = await listen(cache()(app));
    await request(`${url}/e`);
    const reply = await request(`${url}/e`);
    expect(reply.status).toBe(503);
    expect(reply.body).toBe('busy');
  });

  it('never serves a must-revalidate response in place of an error', async () => {
    let calls = 0;
    const app: Application = () =>
      ++calls === 1
        ? new FastResponse('good', {
            headers: {
              'cache-control': 'max-age=1, stale-if-error=60, must-revalidate',
              age: '2',
            },
          })
        : new FastResponse('busy', { status: 503 });
    const url = await listen(cache()(app));
    await request(`${url}/e`);
    expect((await request(`${url}/e`)).status).toBe(503);
  });
});

describe('cache(): a client’s max-stale', () => {
  it.each([
    'max-age=1, must-revalidate',
    'max-age=1, proxy-revalidate',
    'max-age=1, s-maxage=1',
    'no-cache',
  ])('never obtains a stale "%s" response without revalidation', async (cacheControl) => {
    let calls = 0;
    const app: Application = () =>
      new FastResponse(`v${++calls}`, {
        headers: { 'cache-control': cacheControl, age: '5', etag: `"${calls}"` },
      });
    const url = await listen(cache()(app));
    await request(`${url}/m`);
    const reply = await request(`${url}/m`, { 'cache-control': 'max-stale=1000' });
    expect(reply.body).toBe('v2');
    expect(calls).toBe(2);
  });

  it('never obtains a response that set a cookie (it was never stored)', async () => {
    let calls = 0;
    const app: Application = () =>
      new FastResponse(`v${++calls}`, {
        headers: { 'cache-control': 'public, max-age=1', age: '5', 'set-cookie': 'sid=secret' },
      });
    const url = await listen(cache()(app));
    await request(`${url}/m`);
    const reply = await request(`${url}/m`, { 'cache-control': 'max-stale=1000' });
    expect(reply.body).toBe('v2');
  });

  it('obtains a plain stale response (kept for revalidation by its ETag)', async () => {
    let calls = 0;
    const app: Application = () =>
      new FastResponse(`v${++calls}`, {
        headers: { 'cache-control': 'max-age=1', age: '5', etag: '"e"' },
      });
    const url = await listen(cache()(app));
    await request(`${url}/m`);
    const reply = await request(`${url}/m`, { 'cache-control': 'max-stale=1000' });
    expect(reply.body).toBe('v1');
  });

  it('a fresh must-revalidate response is a hit (the library revalidates it: mortar does not)', async () => {
    let calls = 0;
    const app: Application = () =>
      new FastResponse(`v${++calls}`, {
        headers: { 'cache-control': 'max-age=60, must-revalidate' },
      });
    const url = await listen(cache()(app));
    await request(`${url}/m`);
    expect((await request(`${url}/m`)).body).toBe('v1');
  });
});
