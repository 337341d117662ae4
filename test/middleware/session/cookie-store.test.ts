/**
 * CookieStore: sealing with iron-webcrypto, rotation, legacy seals, expiry, chunking.
 */
import * as Iron from 'iron-webcrypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CookieStore,
  getSession,
  type SessionOptions,
  session,
} from '../../../middleware/session/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NEW_SECRET = 'the-newer-secret-that-is-long-enough-000000';

/** /size?n=… stores n bytes; /get reads; /destroy destroys. */
const app: Application = async (request, environ) => {
  const url = new URL(request.url);
  const s = await getSession<Record<string, string>>(environ);
  if (url.pathname === '/size') s.set('blob', 'x'.repeat(Number(url.searchParams.get('n'))));
  if (url.pathname === '/set') for (const [k, v] of url.searchParams) s.set(k, v);
  if (url.pathname === '/destroy') await s.destroy();
  return FastResponse.json({
    id: s.id,
    isNew: s.isNew,
    keys: s.keys(),
    size: (s.get('blob') ?? '').length,
  });
};

const client = (options: Partial<SessionOptions> = {}, store = new CookieStore()) =>
  new TestClient(session({ secret: SECRET, store, ...options })(app));

const setCookies = (headers: Headers) =>
  Object.fromEntries(
    headers.getSetCookie().map((c) => {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      return [pair!.slice(0, eq), { value: pair!.slice(eq + 1), cleared: /Max-Age=0/.test(c) }];
    }),
  );

afterEach(() => vi.useRealTimers());

describe('CookieStore', () => {
  it('seals the whole session into the cookie (iron Fe26.2), readable on the next request', async () => {
    const c = client();
    const res = await c.get('/set?user=ann');
    const cookie = setCookies(res.headers).mortar_session!.value;
    expect(cookie).toMatch(/^Fe26\.2\*1\*/);
    expect(cookie).not.toContain('ann');
    expect((await c.get('/get')).json()).toMatchObject({ keys: ['user'], isNew: false });
  });

  it.each([
    [
      'a flipped character',
      (v: string) => v.replace(/\*([A-Za-z0-9])/, (_m, ch) => `*${ch === 'a' ? 'b' : 'a'}`),
    ],
    ['truncation', (v: string) => v.slice(0, -10)],
    ['an empty value', () => ''],
  ])('rejects a seal altered by %s', async (_name, alter) => {
    const c = client();
    const sealed = setCookies((await c.get('/set?a=1')).headers).mortar_session!.value;
    const res = await c.get('/get', { headers: { cookie: `mortar_session=${alter(sealed)}` } });
    expect(res.json()).toMatchObject({ isNew: true, keys: [] });
  });

  it('rejects a seal made with another secret', async () => {
    const theirs = new TestClient(session({ secret: NEW_SECRET, store: new CookieStore() })(app));
    const sealed = setCookies((await theirs.get('/set?a=1')).headers).mortar_session!.value;
    const res = await client().get('/get', { headers: { cookie: `mortar_session=${sealed}` } });
    expect(res.json()).toMatchObject({ isNew: true });
  });

  it('rejects an expired seal (the idle timeout is the seal TTL)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const c = client({ idleTimeout: 60 });
    await c.get('/set?a=1');
    vi.setSystemTime(Date.now() + 61_000);
    // The client's jar has no Max-Age to drop it: the server must refuse the stale seal.
    const cookie = `mortar_session=${c.cookies.get('mortar_session')}`;
    const res = await c.get('/get', { headers: { cookie } });
    expect(res.json()).toMatchObject({ isNew: true });
  });

  it('rotation: an old seal still reads, the new one is sealed with the newest secret', async () => {
    const old = client();
    const sealed = setCookies((await old.get('/set?a=1')).headers).mortar_session!.value;
    const rotated = client({ secret: { 1: SECRET, 2: NEW_SECRET } });
    const res = await rotated.get('/set?b=2', { headers: { cookie: `mortar_session=${sealed}` } });
    expect(res.json()).toMatchObject({ keys: ['a', 'b'], isNew: false });
    expect(setCookies(res.headers).mortar_session!.value).toMatch(/^Fe26\.2\*2\*/);
  });

  it("still reads a seal made with iron's default of one PBKDF2 iteration", async () => {
    const now = Date.now();
    const legacy = await Iron.seal(
      { id: 'L'.repeat(32), data: { old: true }, createdAt: now, accessedAt: now },
      { id: '1', secret: SECRET },
      { ...Iron.defaults, ttl: 60_000 },
    );
    const res = await client().get('/get', { headers: { cookie: `mortar_session=${legacy}` } });
    expect(res.json()).toMatchObject({ id: 'L'.repeat(32), keys: ['old'], isNew: false });
  });

  it('chunks a large session across name.0..N, and back to one cookie when it shrinks', async () => {
    const c = client();
    const big = await c.get('/size?n=9000');
    const chunks = setCookies(big.headers);
    const names = Object.keys(chunks).filter((n) => !chunks[n]!.cleared);
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(names).toEqual(names.map((_, i) => `mortar_session.${i}`));
    for (const name of names) expect(chunks[name]!.value.length).toBeLessThanOrEqual(4000);
    expect((await c.get('/get')).json()).toMatchObject({ size: 9000 });

    const small = await c.get('/size?n=10');
    const after = setCookies(small.headers);
    expect(after.mortar_session!.cleared).toBe(false);
    for (const name of names) expect(after[name]!.cleared).toBe(true);
    expect(c.cookies.names()).toEqual(['mortar_session']);
    expect((await c.get('/get')).json()).toMatchObject({ size: 10 });

    await c.get('/size?n=5000');
    expect(c.cookies.names().sort()).toEqual(['mortar_session.0', 'mortar_session.1']);
    expect((await c.get('/get')).json()).toMatchObject({ size: 5000 });
  });

  it('fails to save beyond maxChunks with an error that gives the size', async () => {
    const c = client({}, new CookieStore({ maxChunks: 2 }));
    await expect(c.get('/size?n=20000')).rejects.toThrow(
      /the sealed session is \d+ bytes, more than 2 cookies of ~\d+ bytes hold/,
    );
  });

  it('destroy clears every chunk', async () => {
    const c = client();
    await c.get('/size?n=9000');
    const chunks = c.cookies.names().length;
    expect(chunks).toBeGreaterThanOrEqual(3);
    const res = await c.get('/destroy');
    const cleared = setCookies(res.headers);
    expect(Object.values(cleared).every((v) => v.cleared)).toBe(true);
    expect(Object.keys(cleared)).toHaveLength(chunks);
    expect(c.cookies.names()).toEqual([]);
  });

  it('refuses bad options', () => {
    expect(() => new CookieStore({ maxChunks: 0 })).toThrow(
      /CookieStore: option "maxChunks" must be a positive integer/,
    );
    expect(() => new CookieStore({ iterations: 0.5 })).toThrow(
      /CookieStore: option "iterations" must be a positive integer/,
    );
  });
});

describe('the Cookie header', () => {
  it('is read and parsed once per request, however many chunks are saved or cleared', async () => {
    let reads = 0;
    const inner = session({ secret: SECRET, store: new CookieStore() })(app);
    const counted = new TestClient((request, environ) => {
      const get = request.headers.get.bind(request.headers);
      request.headers.get = (name: string) => {
        if (name.toLowerCase() === 'cookie') reads++;
        return get(name);
      };
      return inner(request, environ);
    });
    for (const path of ['/size?n=9000', '/size?n=10', '/destroy']) {
      reads = 0;
      const res = await counted.get(path);
      expect(res.status).toBe(200);
      expect(reads, path).toBe(1);
    }
  });
});
