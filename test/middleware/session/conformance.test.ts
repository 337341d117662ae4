/**
 * One conformance suite, run against every store: first the ServerStore interface (memory, file,
 * Redis), then the session behaviour through the middleware (those three and the cookie
 * store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../../middleware/session/file.js';
import {
  CookieStore,
  getSession,
  MemoryStore,
  type ServerStore,
  type SessionRecord,
  session,
} from '../../../middleware/session/index.js';
import { RedisStore } from '../../../middleware/session/redis.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../../helpers/redis.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const ID = 'A'.repeat(32);
const OTHER = 'B'.repeat(32);
const record = (data: Record<string, unknown>): SessionRecord => ({
  data,
  createdAt: 1_700_000_000_000,
  accessedAt: 1_700_000_000_000,
});

let redis: RedisServer | undefined;
let fileDir: string;
const redisStores: RedisStore[] = [];
beforeAll(async () => {
  fileDir = mkdtempSync(path.join(tmpdir(), 'mortar-sessions-'));
  if (redisAvailable) redis = await RedisServer.start();
  else console.warn(`Redis store tests skipped: ${redisSkipReason}`);
});
afterAll(async () => {
  await Promise.all(redisStores.map((store) => store.close()));
  await redis?.remove();
  rmSync(fileDir, { recursive: true, force: true });
});

let counter = 0;
const factories: [string, () => ServerStore, boolean][] = [
  ['MemoryStore', () => new MemoryStore(), true],
  ['FileStore', () => new FileStore(path.join(fileDir, `store-${counter++}`)), true],
  [
    'RedisStore',
    () => {
      const store = new RedisStore({ url: redis!.url, prefix: `test:${counter++}:` });
      redisStores.push(store);
      return store;
    },
    redisAvailable,
  ],
];

describe.each(factories)('%s: the ServerStore interface', (_name, make, available) => {
  it.skipIf(!available)('gets what was set, and nothing for an unknown id', async () => {
    const store = make();
    await store.set(ID, record({ a: 1, nested: { b: [1, 'x'] } }), 60);
    expect(await store.get(ID)).toEqual(record({ a: 1, nested: { b: [1, 'x'] } }));
    expect(await store.get(OTHER)).toBeUndefined();
  });

  it.skipIf(!available)(
    'does not alias: changing a record got does not change the stored one',
    async () => {
      const store = make();
      await store.set(ID, record({ list: [1] }), 60);
      const got = await store.get(ID);
      (got!.data.list as number[]).push(2);
      expect((await store.get(ID))!.data.list).toEqual([1]);
    },
  );

  it.skipIf(!available)('destroys, and destroying an absent id is fine', async () => {
    const store = make();
    await store.set(ID, record({ a: 1 }), 60);
    await store.destroy(ID);
    expect(await store.get(ID)).toBeUndefined();
    await store.destroy(OTHER);
  });

  it.skipIf(!available)('expires after the TTL, and touch extends it', async () => {
    const store = make();
    await store.set(ID, record({ a: 1 }), 1);
    await store.set(OTHER, record({ b: 1 }), 1);
    await new Promise((r) => setTimeout(r, 600));
    await store.touch(OTHER, record({ b: 1 }), 2);
    await new Promise((r) => setTimeout(r, 700));
    expect(await store.get(ID)).toBeUndefined();
    expect(await store.get(OTHER)).toEqual(expect.objectContaining({ data: { b: 1 } }));
  });

  it.skipIf(!available)('touch does not bring back a destroyed session', async () => {
    const store = make();
    await store.touch(ID, record({ a: 1 }), 60);
    expect(await store.get(ID)).toBeUndefined();
  });

  it.skipIf(!available)(
    'update reads the current record and writes the change atomically',
    async () => {
      const store = make();
      expect(store.update).toBeDefined();
      await store.set(ID, record({ n: 0 }), 60);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.update!(ID, 60, (current) => ({
            ...current!,
            data: { ...current!.data, [`k${i}`]: i, n: (current!.data.n as number) + 1 },
          })),
        ),
      );
      const data = (await store.get(ID))!.data;
      expect(data.n).toBe(20);
      expect(Object.keys(data)).toHaveLength(21);
    },
  );
});

const counterApp: Application = async (request, environ) => {
  const s = await getSession(environ);
  const { pathname } = new URL(request.url);
  if (pathname === '/regenerate') await s.regenerate();
  if (pathname === '/destroy') {
    await s.destroy();
    return new FastResponse('destroyed');
  }
  if (pathname !== '/read') s.set('count', ((s.get('count') as number) ?? 0) + 1);
  return FastResponse.json({ id: s.id, count: s.get('count') ?? 0, isNew: s.isNew });
};

const sessionFactories: [string, () => ServerStore | CookieStore, boolean, boolean][] = [
  ['MemoryStore', () => new MemoryStore(), true, true],
  ['FileStore', () => new FileStore(path.join(fileDir, `session-${counter++}`)), true, true],
  [
    'RedisStore',
    () => {
      const store = new RedisStore({ url: redis!.url, prefix: `session:${counter++}:` });
      redisStores.push(store);
      return store;
    },
    redisAvailable,
    true,
  ],
  ['CookieStore', () => new CookieStore(), true, false],
];

describe.each(sessionFactories)('%s: sessions', (_name, make, available, serverSide) => {
  const client = () => new TestClient(session({ secret: SECRET, store: make() })(counterApp));

  it.skipIf(!available)('keeps values across requests of one client', async () => {
    const c = client();
    expect((await c.get('/')).json()).toMatchObject({ count: 1 });
    expect((await c.get('/')).json()).toMatchObject({ count: 2, isNew: false });
    expect((await c.get('/read')).json()).toMatchObject({ count: 2 });
  });

  it.skipIf(!available)('gives another client its own session', async () => {
    const store = make();
    const app = session({ secret: SECRET, store })(counterApp);
    const a = new TestClient(app);
    const b = new TestClient(app);
    await a.get('/');
    await a.get('/');
    expect((await b.get('/')).json()).toMatchObject({ count: 1 });
  });

  it.skipIf(!available)('regenerate gives a new id and keeps the data', async () => {
    const c = client();
    const first = (await c.get('/')).json<{ id: string }>();
    const after = (await c.get('/regenerate')).json<{ id: string; count: number }>();
    expect(after.id).not.toBe(first.id);
    expect(after.count).toBe(2);
    expect((await c.get('/read')).json()).toMatchObject({ id: after.id, count: 2 });
  });

  it.skipIf(!available)('destroy clears the cookie and the data', async () => {
    const c = client();
    await c.get('/');
    const res = await c.get('/destroy');
    expect(res.headers.getSetCookie().join()).toMatch(/Max-Age=0/);
    expect((await c.get('/read')).json()).toMatchObject({ count: 0, isNew: true });
  });

  // CookieStore keeps the session in the client: the last response wins (documented), so
  // the rule is stated for the server-side stores only.
  if (serverSide) {
    it.skipIf(!available)(
      'N parallel increments on one session end at N (no lost updates)',
      async () => {
        const c = client();
        await c.get('/');
        const n = 25;
        await Promise.all(Array.from({ length: n }, () => c.get('/')));
        expect((await c.get('/read')).json()).toMatchObject({ count: n + 1 });
      },
    );
  }
});
