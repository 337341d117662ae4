/**
 * One conformance suite for both cache stores (memory and a real Redis): the CacheStore
 * interface, then the response cache and a region on each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheStore,
  cache,
  MemoryCacheStore,
  region,
} from '../../../middleware/cache/index.js';
import { RedisCacheStore } from '../../../middleware/cache/redis.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../../helpers/redis.js';
import { listen, request, until } from './helpers.js';

let redis: RedisServer | undefined;
const redisStores: RedisCacheStore[] = [];
beforeAll(async () => {
  if (redisAvailable) redis = await RedisServer.start();
  else console.warn(`Redis cache store tests skipped: ${redisSkipReason}`);
});
afterAll(async () => {
  await Promise.all(redisStores.map((store) => store.close()));
  await redis?.remove();
});

let counter = 0;
const factories: [string, () => CacheStore, boolean][] = [
  ['MemoryCacheStore', () => new MemoryCacheStore(), true],
  [
    'RedisCacheStore',
    () => {
      const store = new RedisCacheStore({ url: redis!.url, prefix: `test:${counter++}:` });
      redisStores.push(store);
      return store;
    },
    redisAvailable,
  ],
];

const bytes = (text: string) => new TextEncoder().encode(text);

describe.each(factories)('%s: the CacheStore interface', (_name, make, available) => {
  it.skipIf(!available)(
    'gets what was set (metadata and body bytes), nothing for an unknown key',
    async () => {
      const store = make();
      await store.set('a', { meta: { n: 1, list: ['x'] }, body: bytes('body') }, 60);
      await store.set('b', { meta: 'only meta' }, 60);
      const a = await store.get('a');
      expect(a?.meta).toEqual({ n: 1, list: ['x'] });
      expect(new TextDecoder().decode(a?.body)).toBe('body');
      expect(await store.get('b')).toEqual({ meta: 'only meta' });
      expect(await store.get('c')).toBeUndefined();
    },
  );

  it.skipIf(!available)('forgets a record after its ttl, and on delete', async () => {
    const store = make();
    await store.set('short', { meta: 1 }, 0.1);
    await store.set('gone', { meta: 1 }, 60);
    await store.delete('gone');
    await store.delete('never');
    expect(await store.get('gone')).toBeUndefined();
    await until(async () => (await store.get('short')) === undefined);
  });

  it.skipIf(!available)('locks a key for one holder; only its token releases it', async () => {
    const store = make();
    const token = await store.lock('k', 10_000);
    expect(token).toBeTypeOf('string');
    expect(await store.lock('k', 10_000)).toBeUndefined();
    expect(await store.lock('other', 10_000)).toBeTypeOf('string');
    await store.unlock('k', 'not-the-token');
    expect(await store.lock('k', 10_000)).toBeUndefined();
    await store.unlock('k', token!);
    expect(await store.lock('k', 10_000)).toBeTypeOf('string');
  });

  it.skipIf(!available)('wakes a waiter on release, and at its timeout otherwise', async () => {
    const store = make();
    expect(await store.waitForUnlock('free', 10_000)).toBe(true);
    const token = await store.lock('k', 10_000);
    expect(await store.waitForUnlock('k', 50)).toBe(false);
    const waiting = store.waitForUnlock('k', 10_000);
    await store.unlock('k', token!);
    expect(await waiting).toBe(true);
  });

  it.skipIf(!available)('a lock lapses after its ttl (a holder that died)', async () => {
    const store = make();
    await store.lock('k', 100);
    expect(await store.waitForUnlock('k', 10_000)).toBe(true);
    expect(await store.lock('k', 100)).toBeTypeOf('string');
  });
});

describe.each(factories)('%s: behind cache() and region()', (_name, make, available) => {
  it.skipIf(!available)(
    'stores, serves a hit, keeps variants, and collapses 20 misses into 1 call',
    async () => {
      let calls = 0;
      const app: Application = async (r) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return new FastResponse(`for ${r.headers.get('accept-language')}`, {
          headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
        });
      };
      const url = await listen(cache({ store: make() })(app));
      const en = await Promise.all(
        Array.from({ length: 20 }, () => request(`${url}/p`, { 'accept-language': 'en' })),
      );
      expect(en.every((r) => r.body === 'for en')).toBe(true);
      expect(calls).toBe(1);
      expect((await request(`${url}/p`, { 'accept-language': 'fr' })).body).toBe('for fr');
      const hit = await request(`${url}/p`, { 'accept-language': 'en' });
      expect(hit.headers['cache-status']).toMatch(/^mortar; hit/);
      expect(calls).toBe(2);
    },
  );

  it.skipIf(!available)(
    'a region makes a value once and serves it stale while regenerating',
    async () => {
      const r = region({ name: `r${counter++}`, store: make(), ttl: 60, grace: 60 });
      let calls = 0;
      const create = async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { n: calls };
      };
      const first = await Promise.all(Array.from({ length: 10 }, () => r.getOrCreate('k', create)));
      expect(first).toEqual(Array(10).fill({ n: 1 }));
      await r.invalidate('k');
      const during = await Promise.all(
        Array.from({ length: 10 }, () => r.getOrCreate('k', create)),
      );
      expect(during.filter((v) => v.n === 1).length).toBeGreaterThanOrEqual(9);
      expect(calls).toBe(2);
    },
  );
});

describe.each(factories)('%s: a region invalidated as a whole', (_name, make, available) => {
  it.skipIf(!available)(
    'invalidateAll() on one region object is seen by another on the same store',
    async () => {
      const first = make();
      const second =
        first instanceof RedisCacheStore
          ? new RedisCacheStore({ url: redis!.url, prefix: first.prefix })
          : first;
      if (second !== first) redisStores.push(second as RedisCacheStore);
      const name = `whole${counter++}`;
      const here = region({ name, store: first, ttl: 60 });
      const there = region({ name, store: second, ttl: 60 });
      await here.set('a', 'a1');
      await here.set('b', 'b1');
      expect(await there.get('a')).toBe('a1');
      await there.invalidateAll();
      expect(await here.get('a')).toBeUndefined();
      expect(await here.getOrCreate('b', () => 'b2')).toBe('b2');
      expect(await there.getOrCreate('b', () => 'b3')).toBe('b2');
      expect(await there.getOrCreate('a', () => 'a2')).toBe('a2');
    },
  );
});

describe('RedisCacheStore: Redis down', () => {
  it.skipIf(!redisAvailable)(
    'cache() and region() go on without the store, and say so once',
    async () => {
      const server = await RedisServer.start();
      const store = new RedisCacheStore({ url: server.url, commandTimeout: 300 });
      redisStores.push(store);
      await server.remove();
      const errors: string[] = [];
      const original = console.error;
      console.error = (line: string) => errors.push(line);
      try {
        const url = await listen(
          cache({ store })(
            () => new FastResponse('origin', { headers: { 'cache-control': 'max-age=60' } }),
          ),
        );
        expect((await request(`${url}/x`)).body).toBe('origin');
        const r = region({ name: 'down', store, ttl: 60 });
        expect(await r.getOrCreate('k', () => 'computed')).toBe('computed');
      } finally {
        console.error = original;
      }
      expect(errors.some((line) => /cache store failed, going on without it/.test(line))).toBe(
        true,
      );
    },
  );
});

describe('RedisCacheStore: records read again', () => {
  it.skipIf(!redisAvailable)(
    'decodes a record once while its bytes stay the same, and sees every other write',
    async () => {
      const prefix = `test:${counter++}:`;
      const [here, there] = [0, 1].map(() => {
        const store = new RedisCacheStore({ url: redis!.url, prefix });
        redisStores.push(store);
        return store;
      }) as [RedisCacheStore, RedisCacheStore];
      await here.set('k', { meta: { v: 1 }, body: bytes('one') }, 60);
      const first = await here.get('k');
      expect(await here.get('k')).toBe(first); // the same record, as the memory store gives
      // Another process (another client on the same Redis) writes: read at once, never the old.
      await there.set('k', { meta: { v: 2 }, body: bytes('two') }, 60);
      const second = await here.get('k');
      expect(second?.meta).toEqual({ v: 2 });
      expect(new TextDecoder().decode(second?.body)).toBe('two');
      await there.set('k', { meta: { v: 2 }, body: bytes('TWO') }, 60); // only the body differs
      expect(new TextDecoder().decode((await here.get('k'))?.body)).toBe('TWO');
      await there.delete('k');
      expect(await here.get('k')).toBeUndefined();
      await here.set('k', { meta: { v: 3 } }, 60);
      expect(await here.get('k')).toEqual({ meta: { v: 3 } });
    },
  );
});
