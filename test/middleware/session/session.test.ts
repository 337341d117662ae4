/**
 * The session API and its security rules, through TestClient with MemoryStore.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  getSession,
  MemoryStore,
  type ServerStore,
  type SessionOptions,
  type SessionRecord,
  session,
} from '../../../middleware/session/index.js';
import { type Application, FastResponse, HTTPError } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { thenable } from '../../helpers/thenable.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const OTHER_SECRET = 'another-secret-that-is-also-long-enough-9876';

/** A MemoryStore that counts calls. */
class CountingStore extends MemoryStore {
  calls: string[] = [];
  override async get(id: string) {
    this.calls.push('get');
    return super.get(id);
  }
  override async set(id: string, record: SessionRecord, ttl: number) {
    this.calls.push('set');
    return super.set(id, record, ttl);
  }
  override async touch(id: string, record: SessionRecord, ttl: number) {
    this.calls.push('touch');
    return super.touch(id, record, ttl);
  }
  override async update(
    id: string,
    ttl: number,
    change: (c: SessionRecord | undefined) => SessionRecord,
  ) {
    this.calls.push('update');
    return super.update(id, ttl, change);
  }
  override async destroy(id: string) {
    this.calls.push('destroy');
    return super.destroy(id);
  }
}

/** GET /set?k=v sets, /get reads everything, /none never touches the session. */
const app: Application = async (request, environ) => {
  const url = new URL(request.url);
  if (url.pathname === '/none') return new FastResponse('untouched');
  const s = await getSession(environ);
  if (url.pathname === '/set') for (const [k, v] of url.searchParams) s.set(k, v);
  if (url.pathname === '/login') {
    await s.regenerate();
    s.set('user', url.searchParams.get('user'));
  }
  if (url.pathname === '/fail') {
    s.set('failed', 'yes');
    throw new HTTPError(403, { body: 'no' });
  }
  if (url.pathname === '/crash') {
    s.set('crashed', 'yes');
    throw new Error('boom');
  }
  return FastResponse.json({
    id: s.id,
    isNew: s.isNew,
    createdAt: s.createdAt,
    accessedAt: s.accessedAt,
    data: Object.fromEntries(s.keys().map((k) => [k, s.get(k)])),
  });
};

interface Seen {
  id: string;
  isNew: boolean;
  createdAt: number;
  accessedAt: number;
  data: Record<string, unknown>;
}

const make = (options: Partial<SessionOptions> = {}, store: ServerStore = new CountingStore()) => ({
  store: store as CountingStore,
  client: new TestClient(session({ secret: SECRET, store, ...options })(app)),
});

afterEach(() => vi.useRealTimers());

describe('session: lazy and saved only when needed', () => {
  it('a request that never touches the session reads nothing and sends no cookie', async () => {
    const { store, client } = make();
    await client.get('/set?a=1');
    store.calls = [];
    const res = await client.get('/none');
    expect(res.text()).toBe('untouched');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(store.calls).toEqual([]);
  });

  it('a new session that stays empty is not saved and sends no cookie', async () => {
    const { store, client } = make();
    const res = await client.get('/get');
    expect(res.json<Seen>().isNew).toBe(true);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(store.calls).toEqual([]);
  });

  it('saves a change once, with a cookie; a read-only request writes nothing', async () => {
    const { store, client } = make();
    const res = await client.get('/set?a=1');
    expect(store.calls).toEqual(['set']);
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(
      /^mortar_session=[A-Za-z0-9_-]{32}\.1\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    store.calls = [];
    const again = await client.get('/get');
    expect(again.json<Seen>()).toMatchObject({ isNew: false, data: { a: '1' } });
    expect(store.calls).toEqual(['get']);
    expect(again.headers.getSetCookie()).toEqual([]);
  });

  it('finds in-place changes to an object got from the session', async () => {
    const store = new MemoryStore();
    const mutate: Application = async (_request, environ) => {
      const s = await getSession<{ list: number[] }>(environ);
      const list = s.get('list') ?? [];
      if (!s.has('list')) s.set('list', list);
      else list.push(list.length);
      return FastResponse.json(s.get('list'));
    };
    const client = new TestClient(session({ secret: SECRET, store })(mutate));
    await client.get('/');
    await client.get('/');
    expect((await client.get('/')).json()).toEqual([0, 1]);
  });

  it('touches an unchanged session once the idle interval allows, not on every request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, client } = make({ idleTimeout: 600 });
    await client.get('/set?a=1');
    store.calls = [];
    await client.get('/get');
    expect(store.calls).toEqual(['get']);
    vi.setSystemTime(Date.now() + 61_000);
    await client.get('/get');
    expect(store.calls).toEqual(['get', 'get', 'touch']);
  });

  it('rolling re-sends the cookie with a fresh Max-Age on every response', async () => {
    const { client } = make({ rolling: true, cookie: { maxAge: 3600 } });
    await client.get('/set?a=1');
    const res = await client.get('/get');
    expect(res.headers.getSetCookie()[0]).toMatch(/Max-Age=3600/);
  });
});

describe('session: an application that answers with a thenable', () => {
  it('saves and sends the cookie once the thenable settles, as for a Promise', async () => {
    const store = new CountingStore();
    const later: Application = (_request, environ) =>
      thenable(async () => {
        (await getSession(environ)).set('user', 'ann');
        return new FastResponse('later');
      });
    const res = await new TestClient(session({ secret: SECRET, store })(later)).get('/');
    expect(res.text()).toBe('later');
    expect(store.calls).toEqual(['set']);
    expect(res.headers.getSetCookie()[0]).toMatch(/^mortar_session=/);
  });
});

describe('session: the API', () => {
  it('exposes id, isNew, createdAt and accessedAt (milliseconds)', async () => {
    const { client } = make();
    const before = Date.now();
    const first = (await client.get('/set?a=1')).json<Seen>();
    expect(first.isNew).toBe(true);
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.createdAt).toBeGreaterThanOrEqual(before);
    const second = (await client.get('/get')).json<Seen>();
    expect(second).toMatchObject({ id: first.id, isNew: false, createdAt: first.createdAt });
    expect(second.accessedAt).toBeGreaterThanOrEqual(first.createdAt);
  });

  it('has, delete and clear', async () => {
    const store = new MemoryStore();
    const steps: Application = async (_request, environ) => {
      const s = await getSession(environ);
      s.set('a', 1);
      s.set('b', 2);
      const seen: (boolean | number)[] = [s.has('a'), s.has('zz')];
      s.delete('a');
      seen.push(s.has('a'), s.keys().length);
      s.clear();
      seen.push(s.keys().length);
      return FastResponse.json(seen);
    };
    const res = await new TestClient(session({ secret: SECRET, store })(steps)).get('/');
    expect(res.json()).toEqual([true, false, false, 1, 0]);
  });

  it.each([
    [
      'a Date',
      new Date(),
      /the value is a Date, which JSON does not keep \(store date.toISOString\(\) or a number\)/,
    ],
    ['a Map', new Map(), /the value is a Map/],
    ['a BigInt', 10n, /BigInt/],
    ['a function', () => 1, /is a function/],
    ['undefined', undefined, /undefined, which JSON drops/],
    ['NaN', Number.NaN, /NaN/],
    ['a nested Date', { user: { since: new Date() } }, /the value at user.since is a Date/],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
      /refers back to itself/,
    ],
  ])('set() refuses %s at once, naming where', async (_name, value, message) => {
    let thrown: unknown;
    const setter: Application = async (_request, environ) => {
      const s = await getSession(environ);
      try {
        s.set('k', value);
      } catch (error) {
        thrown = error;
      }
      return new FastResponse('');
    };
    await new TestClient(session({ secret: SECRET })(setter)).get('/');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/^session\.set\("k"\): /);
    expect((thrown as Error).message).toMatch(message);
  });

  it('regenerate keeps the data, changes the id and destroys the old id in the store', async () => {
    const { store, client } = make();
    const before = (await client.get('/set?cart=3')).json<Seen>();
    store.calls = [];
    const after = (await client.get('/login?user=ann')).json<Seen>();
    expect(after.id).not.toBe(before.id);
    expect(after.data).toEqual({ cart: '3', user: 'ann' });
    expect(store.calls).toEqual(['get', 'destroy', 'set']);
    expect(await store.get(before.id)).toBeUndefined();
  });

  it('sends the session cookie with a thrown HTTPError, and saves nothing on other errors', async () => {
    const { client } = make();
    const res = await client.get('/fail');
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()[0]).toMatch(/^mortar_session=/);
    expect((await client.get('/get')).json<Seen>().data).toEqual({ failed: 'yes' });

    const fresh = make();
    await expect(fresh.client.get('/crash')).rejects.toThrow('boom');
    expect(fresh.store.calls).toEqual([]);
  });

  it('getSession without the middleware names it', () => {
    expect(() => getSession({ scriptName: '', pathInfo: '/', gateway: 'test' })).toThrow(
      "no session in this environ: wrap the application with session() from 'mortar/session'",
    );
  });

  it('collapses a Set-Cookie of the application with the same name, path and domain', async () => {
    const both: Application = async (_request, environ) => {
      (await getSession(environ)).set('a', 1);
      const headers = new Headers();
      headers.append('set-cookie', 'mortar_session=stale; Path=/');
      headers.append('set-cookie', 'theme=dark; Path=/');
      return new FastResponse('', { headers });
    };
    const res = await new TestClient(session({ secret: SECRET })(both)).get('/');
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies.filter((c) => c.startsWith('mortar_session='))).toHaveLength(1);
    expect(cookies.find((c) => c.startsWith('mortar_session='))).not.toContain('stale');
  });
});

describe('session: explicit save and stores', () => {
  it('save() lets a streaming response carry the cookie and the saved value', async () => {
    const store = new MemoryStore();
    const streaming: Application = async (_request, environ) => {
      const s = await getSession(environ);
      s.set('started', true);
      await s.save();
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('chunk'));
          controller.close();
        },
      });
      return new FastResponse(body);
    };
    const client = new TestClient(session({ secret: SECRET, store })(streaming));
    const res = await client.get('/');
    expect(res.text()).toBe('chunk');
    const id = /^mortar_session=([^.]+)\./.exec(res.headers.getSetCookie()[0]!)![1]!;
    expect((await store.get(id))!.data).toEqual({ started: true });
  });

  it('MemoryStore keeps at most maxSessions, dropping the least recently used', async () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const r = { data: {}, createdAt: 0, accessedAt: 0 };
    await store.set('a', r, 60);
    await store.set('b', r, 60);
    await store.get('a'); // a is now more recent than b
    await store.set('c', r, 60);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    expect(await store.get('c')).toBeDefined();
    expect(store.size).toBe(2);
  });

  it('MemoryStore: a flood of new anonymous sessions does not evict the ones clients came back with', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const r = { data: {}, createdAt: 0, accessedAt: 0 };
    const returning = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    for (const id of returning) {
      await store.set(id, r, 600);
      await store.get(id); // the client came back
    }
    for (let i = 0; i < 10_000; i++) await store.set(`anon-${i}`, r, 600);
    for (const id of returning) expect(await store.get(id)).toBeDefined();
    expect(store.size).toBe(100);
  });
});

describe("README's MemoryStore bound", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('states the default bound the store keeps', async () => {
    const stated =
      /`MemoryStore` is bounded: it holds at most `maxSessions` sessions \(default ([\d,]+);/.exec(
        readme,
      );
    expect(stated, "README's session section states MemoryStore's bound").not.toBeNull();
    const bound = Number(stated![1]!.replaceAll(',', ''));
    const store = new MemoryStore();
    const r = { data: {}, createdAt: 0, accessedAt: 0 };
    for (let i = 0; i <= bound; i++) await store.set(`s-${i}`, r, 600);
    expect(store.size).toBe(bound);
  });

  it('is right that a visitor who sets no value makes no entry', async () => {
    expect(readme).toMatch(/a visitor who never sets one makes no\s+entry/);
    const store = new MemoryStore();
    const site = session({ secret: SECRET, store })(app);
    for (let i = 0; i < 5; i++) expect((await new TestClient(site).get('/')).status).toBe(200);
    expect(store.size).toBe(0);
    await new TestClient(site).get('/set?a=1');
    expect(store.size).toBe(1);
  });
});

describe('session: cookies and ids', () => {
  const sessionCookie = (header: string) => /^mortar_session=([^;]+)/.exec(header)![1]!;

  it('is Secure over https by default, and takes the configured attributes', async () => {
    const https = new TestClient(session({ secret: SECRET })(app), {
      baseURL: 'https://app.localhost',
    });
    expect((await https.get('/set?a=1')).headers.getSetCookie()[0]).toMatch(/; Secure/);
    const custom = new TestClient(
      session({
        secret: SECRET,
        name: 'sid',
        cookie: {
          path: '/app',
          domain: 'localhost',
          sameSite: 'strict',
          maxAge: 600,
          secure: true,
          partitioned: true,
        },
      })(app),
    );
    const cookie = (await custom.get('/set?a=1')).headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^sid=/);
    for (const part of [
      'Max-Age=600',
      'Domain=localhost',
      'Path=/app',
      'HttpOnly',
      'Secure',
      'Partitioned',
      'SameSite=Strict',
    ]) {
      expect(cookie).toContain(part);
    }
  });

  it.each([
    ['a flipped bit in the id', (v: string) => `${v[0] === 'A' ? 'B' : 'A'}${v.slice(1)}`],
    [
      'a flipped bit in the signature',
      (v: string) => `${v.slice(0, -1)}${v.endsWith('A') ? 'B' : 'A'}`,
    ],
    ['truncation', (v: string) => v.slice(0, -5)],
    ['no signature', (v: string) => v.split('.')[0]!],
    ['an unknown key id', (v: string) => v.replace('.1.', '.9.')],
    ['garbage', () => '%%%;;;'],
  ])('rejects a cookie altered by %s and starts a new session', async (_name, alter) => {
    const { client, store } = make();
    const first = await client.get('/set?secret=1');
    const value = sessionCookie(first.headers.getSetCookie()[0]!);
    store.calls = [];
    const forged = await client.get('/get', {
      headers: { cookie: `mortar_session=${alter(value)}` },
    });
    const seen = forged.json<Seen>();
    expect(seen.isNew).toBe(true);
    expect(seen.data).toEqual({});
    expect(store.calls).toEqual([]);
  });

  it('rejects a cookie signed with another secret', async () => {
    const theirs = make({ secret: OTHER_SECRET });
    const value = sessionCookie((await theirs.client.get('/set?a=1')).headers.getSetCookie()[0]!);
    const ours = make();
    const seen = (
      await ours.client.get('/get', { headers: { cookie: `mortar_session=${value}` } })
    ).json<Seen>();
    expect(seen.isNew).toBe(true);
  });

  it('never adopts an unknown id, even correctly signed: a new id is issued', async () => {
    const store = new MemoryStore();
    const { client } = make({}, store);
    const first = await client.get('/set?a=1');
    const value = sessionCookie(first.headers.getSetCookie()[0]!);
    const id = value.split('.')[0]!;
    await store.destroy(id); // the server forgot it (expired, logged out elsewhere)
    const res = await client.get('/set?b=2');
    const seen = res.json<Seen>();
    expect(seen.id).not.toBe(id);
    expect(seen.data).toEqual({ b: '2' });
    expect(sessionCookie(res.headers.getSetCookie()[0]!).split('.')[0]).toBe(seen.id);
  });

  it('rotation: a cookie signed with the old secret still reads; new cookies use the newest', async () => {
    const store = new MemoryStore();
    const old = new TestClient(session({ secret: SECRET, store })(app));
    const value = sessionCookie((await old.get('/set?a=1')).headers.getSetCookie()[0]!);
    const rotated = new TestClient(session({ secret: { 1: SECRET, 2: OTHER_SECRET }, store })(app));
    const seen = await rotated.get('/login?user=ann', {
      headers: { cookie: `mortar_session=${value}` },
    });
    expect(seen.json<Seen>().data).toEqual({ a: '1', user: 'ann' });
    expect(sessionCookie(seen.headers.getSetCookie()[0]!)).toMatch(/\.2\./);
  });

  it.each([
    [{}, /session: option "secret" is required/],
    [{ secret: 'short' }, /option "secret" must be a string of at least 32 characters/],
    [{ secret: { 1: SECRET, 2: 'short' } }, /option "secret"\[2\] must be a string of at least 32/],
    [{ secret: { one: SECRET } }, /ids must be integers/],
    [{ secret: SECRET, idleTimeout: 0 }, /session: option "idleTimeout" must be seconds/],
    [{ secret: SECRET, name: 'bad name' }, /option "name" must be a cookie name, got "bad name"/],
    [
      { secret: SECRET, cookie: { sameSite: 'none', secure: false } },
      /option "cookie.sameSite" is "none", which needs cookie.secure/,
    ],
  ])('refuses bad options at construction: %j', (options, message) => {
    expect(() => session(options as SessionOptions)).toThrow(message);
  });
});

describe('session: timeouts (fake clock)', () => {
  it('ends a session idle for longer than idleTimeout', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { client } = make({ idleTimeout: 60 });
    const first = (await client.get('/set?a=1')).json<Seen>();
    vi.setSystemTime(Date.now() + 59_000);
    expect((await client.get('/get')).json<Seen>().id).toBe(first.id);
    vi.setSystemTime(Date.now() + 61_000);
    const later = (await client.get('/get')).json<Seen>();
    expect(later.isNew).toBe(true);
    expect(later.id).not.toBe(first.id);
  });

  it('ends a session at absoluteTimeout however busy it is', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { client } = make({ idleTimeout: 60, absoluteTimeout: 300 });
    const first = (await client.get('/set?a=1')).json<Seen>();
    for (const step of [50, 50, 50, 50, 50, 49]) {
      vi.setSystemTime(Date.now() + step * 1000);
      expect((await client.get(`/set?at=${step}`)).json<Seen>().id).toBe(first.id);
    }
    vi.setSystemTime(Date.now() + 2000); // 301 s after creation
    expect((await client.get('/get')).json<Seen>().isNew).toBe(true);
  });
});
