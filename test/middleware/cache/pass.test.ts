/**
 * `cache()` on routes that answer something not storable: this process's pass memory (by
 * request target and `Host`, forgotten after `passTtl`), and the response it hands back on
 * the pass path — the application's parts as they are, which a middleware outside may still
 * read and change.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { cache } from '../../../middleware/cache/index.js';
import { type Application, compose, FastResponse, type Middleware } from '../../../src/index.js';
import { countingStore, listen, request } from './helpers.js';

/** A GET with a `Host` of its own, over node:http. */
function requestAs(url: string, host: string) {
  return request(url, { host });
}

/** A private response whose body is a stream of two chunks. */
const streamed: Application = () =>
  new FastResponse(
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('one '));
        controller.enqueue(new TextEncoder().encode('two'));
        controller.close();
      },
    }),
    { headers: { 'cache-control': 'private' } },
  );

describe('cache(): the pass memory', () => {
  it('remembers a URL per Host: another host’s cacheable answer on the same target does not end it', async () => {
    const { store, reads } = countingStore();
    const app: Application = (r) =>
      new FastResponse('x', {
        headers: {
          'cache-control': new URL(r.url).hostname === 'a.test' ? 'no-store' : 'max-age=60',
        },
      });
    const url = await listen(cache({ store })(app));
    for (let i = 0; i < 3; i++) {
      const a = await requestAs(`${url}/x`, 'a.test');
      expect(a.headers['cache-status']).toBe(
        'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
      );
      await requestAs(`${url}/x`, 'b.test');
    }
    expect((await requestAs(`${url}/x`, 'b.test')).headers['cache-status']).toMatch(/^mortar; hit/);
    // a.test was looked up once: b.test's answers, stored, did not make it forget a.test.
    expect(reads.filter((key) => key.includes('//a.test/'))).toHaveLength(1);
  });

  it('forgets a URL after passTtl: the store is asked again', async () => {
    const { store, reads } = countingStore();
    const app: Application = () =>
      new FastResponse('x', { headers: { 'cache-control': 'no-store' } });
    const url = await listen(cache({ store, passTtl: 1 })(app));
    await request(`${url}/x`);
    await request(`${url}/x`);
    expect(reads).toHaveLength(1);
    // A request every 100 ms (a few dozen questions: the memory is not aged by their count)
    // until the store is read again, 1 s after the first answer at the latest.
    for (let i = 0; i < 50 && reads.length === 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await request(`${url}/x`);
    }
    expect(reads.length).toBeGreaterThan(1);
  });
});

/** Sets `x-outer: 1` on whatever the application answered, in place. */
const setsHeader: Middleware = (app) => async (r, e) => {
  const response = await app(r, e);
  response.headers.set('x-outer', '1');
  return response;
};

describe('cache(): the response on the pass path', () => {
  it('a middleware outside that sets a header on it: the client gets the header', async () => {
    const app: Application = () =>
      new FastResponse('body', { headers: { 'cache-control': 'no-store' } });
    const url = await listen(compose(setsHeader, cache())(app));
    for (let i = 0; i < 2; i++) {
      const reply = await request(`${url}/x`);
      expect(reply.headers['x-outer']).toBe('1');
      expect(reply.headers['cache-status']).toBe(
        'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
      );
      expect(reply.body).toBe('body');
    }
  });

  it('a middleware outside that reads a copy of its streamed body: the client gets it all', async () => {
    const copies: string[] = [];
    const readsCopy: Middleware = (app) => async (r, e) => {
      const response = await app(r, e);
      copies.push(await response.clone().text());
      return response;
    };
    const url = await listen(compose(readsCopy, cache())(streamed));
    for (let i = 0; i < 2; i++) expect((await request(`${url}/s`)).body).toBe('one two');
    expect(copies).toEqual(['one two', 'one two']);
  });

  it('streams a body on the pass path', async () => {
    const url = await listen(cache()(streamed));
    for (let i = 0; i < 2; i++) {
      const reply = await new Promise<{ body: string; status?: string }>((resolve, reject) => {
        http
          .get(`${url}/s`, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
            });
            res.on('end', () => resolve({ body, status: res.headers['cache-status'] as string }));
          })
          .on('error', reject);
      });
      expect(reply).toEqual({
        body: 'one two',
        status: 'mortar; fwd=uri-miss; fwd-status=200; detail=private',
      });
    }
  });
});
