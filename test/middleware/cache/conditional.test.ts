/**
 * A client's own conditional request answered from the store (RFC 9111 §4.3.2): the cache
 * evaluates `If-None-Match` and `If-Modified-Since` by the shared rules of RFC 9110 §13.2.2
 * (`middleware/_shared/conditional.ts`), `If-Modified-Since` against the stored `Date` when
 * the response has no `Last-Modified`, and never `If-Match` or `If-Unmodified-Since`.
 */
import { describe, expect, it } from 'vitest';
import { cache } from '../../../middleware/cache/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { listen, request } from './helpers.js';

/** A server whose application answers `headers` (and counts its calls). */
async function storing(headers: (r: Request) => Record<string, string>) {
  const calls = { n: 0 };
  const app: Application = (r) => {
    calls.n++;
    if (r.headers.get('if-none-match')?.includes('"t"')) {
      return new FastResponse(null, { status: 304, headers: headers(r) });
    }
    return new FastResponse('stored', { headers: headers(r) });
  };
  return { url: await listen(cache()(app)), calls };
}

describe('cache(): a client’s conditional request answered from the store', () => {
  it('evaluates If-Modified-Since against the stored Date when there is no Last-Modified', async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString();
    const { url, calls } = await storing(() => ({ date, 'cache-control': 'max-age=60' }));
    await request(`${url}/d`);
    const reply = await request(`${url}/d`, { 'if-modified-since': date });
    expect(reply.status).toBe(304);
    expect(reply.headers['cache-status']).toMatch(/^mortar; hit/);
    const before = new Date(Date.parse(date) - 60_000).toUTCString();
    expect((await request(`${url}/d`, { 'if-modified-since': before })).status).toBe(200);
    expect(calls.n).toBe(1);
  });

  it('does not evaluate If-Match or If-Unmodified-Since: they are the origin’s', async () => {
    const { url, calls } = await storing(() => ({
      etag: '"t"',
      'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
      'cache-control': 'max-age=60',
    }));
    await request(`${url}/m`);
    const conditions: Record<string, string>[] = [
      { 'if-match': '"other"' },
      { 'if-unmodified-since': 'Mon, 01 Jan 2000 00:00:00 GMT' },
      { 'if-match': '"other"', 'if-none-match': '"nope"' },
      { 'if-unmodified-since': 'Mon, 01 Jan 2000 00:00:00 GMT', 'if-modified-since': 'x' },
    ];
    for (const condition of conditions) {
      const reply = await request(`${url}/m`, condition);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('stored');
      expect(reply.headers['cache-status']).toMatch(/^mortar; hit/);
    }
    expect(calls.n).toBe(1);
  });

  it('answers a no-cache request’s matching If-None-Match with a 304 once it has revalidated', async () => {
    const { url, calls } = await storing(() => ({ etag: '"t"', 'cache-control': 'max-age=60' }));
    await request(`${url}/n`);
    const reply = await request(`${url}/n`, {
      'if-none-match': '"t"',
      'cache-control': 'no-cache',
    });
    expect(calls.n).toBe(2); // revalidated with the application first
    expect(reply.status).toBe(304);
    expect(reply.headers['cache-status']).toMatch(/^mortar; fwd=stale; fwd-status=304/);
  });
});
