/**
 * The data cache on the memory store: the dogpile rule (one creator, stale served during
 * regeneration, waiters bounded by the lock timeout), soft and hard invalidation, `cached`,
 * and the environ accessor.
 */
import { describe, expect, it } from 'vitest';
import { getRegion, region, regions } from '../../../middleware/cache/index.js';
import { FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

/** A creator that waits for `open()` and counts its calls. */
function gated<T>(value: (n: number) => T) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = {
    calls: 0,
    open: () => open(),
    create: async () => {
      const n = ++state.calls;
      await gate;
      return value(n);
    },
  };
  return state;
}

describe('region(): the dogpile rule', () => {
  it('one creator under concurrency; the others wait and get its value', async () => {
    const r = region({ name: 'one', ttl: 60 });
    const creator = gated((n) => `made ${n}`);
    const all = Promise.all(Array.from({ length: 50 }, () => r.getOrCreate('k', creator.create)));
    await new Promise((resolve) => setImmediate(resolve));
    creator.open();
    expect(new Set(await all)).toEqual(new Set(['made 1']));
    expect(creator.calls).toBe(1);
  });

  it('serves the stale value at once while one caller regenerates within grace', async () => {
    const r = region({ name: 'grace', ttl: 60, grace: 60 });
    await r.set('k', 'old', { ttl: 0 });
    const creator = gated(() => 'new');
    const regenerating = r.getOrCreate('k', creator.create);
    const others = await Promise.all(
      Array.from({ length: 10 }, () => r.getOrCreate('k', creator.create)),
    );
    expect(others).toEqual(Array(10).fill('old'));
    creator.open();
    expect(await regenerating).toBe('new');
    expect(creator.calls).toBe(1);
    expect(await r.getOrCreate('k', creator.create)).toBe('new');
  });

  it('waiters compute themselves once the lock timeout passes', async () => {
    const r = region({ name: 'timeout', ttl: 60, lock: { timeout: 100 } });
    const stuck = r.getOrCreate('k', () => new Promise<string>(() => {}));
    void stuck;
    expect(await r.getOrCreate('k', () => 'second')).toBe('second');
  });

  it('nothing is stored when the creator throws, and the error reaches the caller', async () => {
    const r = region({ name: 'throws', ttl: 60 });
    await expect(r.getOrCreate('k', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await r.getOrCreate('k', () => 'later')).toBe('later');
  });
});

describe('region(): invalidation', () => {
  it('soft: the old value is served while the next is made; hard: callers wait for the new one', async () => {
    const r = region({ name: 'inv', ttl: 60, grace: 60 });
    await r.getOrCreate('k', () => 'v1');
    await r.invalidate('k');
    const creator = gated(() => 'v2');
    const regenerating = r.getOrCreate('k', creator.create);
    expect(await r.getOrCreate('k', creator.create)).toBe('v1');
    creator.open();
    expect(await regenerating).toBe('v2');

    await r.invalidate('k', { hard: true });
    const hard = gated(() => 'v3');
    const first = r.getOrCreate('k', hard.create);
    const waiter = r.getOrCreate('k', hard.create);
    hard.open();
    expect(await Promise.all([first, waiter])).toEqual(['v3', 'v3']);
    expect(hard.calls).toBe(1);
  });
});

describe('region(): invalidateAll', () => {
  it('soft: every key counts as expired; its old value is served while one caller makes the next', async () => {
    const r = region({ name: 'all-soft', ttl: 60, grace: 60 });
    await r.set('a', 'a1');
    await r.set('b', 'b1');
    await r.invalidateAll();
    expect(await r.get('a')).toBeUndefined();
    const creator = gated(() => 'a2');
    const regenerating = r.getOrCreate('a', creator.create);
    expect(await r.getOrCreate('a', creator.create)).toBe('a1');
    creator.open();
    expect(await regenerating).toBe('a2');
    expect(await r.get('a')).toBe('a2');
    expect(await r.getOrCreate('b', () => 'b2')).toBe('b2');
    expect(creator.calls).toBe(1);
  });

  it('hard: every key is gone; one caller makes it while the others wait', async () => {
    const r = region({ name: 'all-hard', ttl: 60, grace: 60 });
    await r.set('a', 'a1');
    await r.invalidateAll({ hard: true });
    const creator = gated(() => 'a2');
    const all = Promise.all([
      r.getOrCreate('a', creator.create),
      r.getOrCreate('a', creator.create),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    creator.open();
    expect(await all).toEqual(['a2', 'a2']);
    expect(creator.calls).toBe(1);
  });

  it('a value being made while the region is invalidated is not kept as fresh', async () => {
    const r = region({ name: 'all-race', ttl: 60 });
    const creator = gated(() => 'made before');
    const making = r.getOrCreate('k', creator.create);
    await new Promise((resolve) => setImmediate(resolve));
    await r.invalidateAll();
    creator.open();
    expect(await making).toBe('made before');
    expect(await r.getOrCreate('k', () => 'made after')).toBe('made after');
  });

  it('invalidate() without a key is refused, pointing to invalidateAll()', async () => {
    const r = region({ name: 'no-key', ttl: 60 });
    await r.set('k', 'kept');
    await expect(r.invalidate(undefined as never)).rejects.toThrow(
      /region "no-key": invalidate\(key\) takes a key \(a string\), got undefined; invalidateAll\(\) forgets every key/,
    );
    expect(await r.get('k')).toBe('kept');
  });
});

describe('region(): cached and the environ', () => {
  it('cached(fn, keyOf) calls fn once per key', async () => {
    const r = region({ name: 'fn', ttl: 60 });
    let calls = 0;
    const square = r.cached(
      (n: number) => {
        calls++;
        return n * n;
      },
      (n) => String(n),
    );
    expect([await square(3), await square(3), await square(4)]).toEqual([9, 9, 16]);
    expect(calls).toBe(2);
  });

  it('getRegion(environ, name) finds a region that regions() placed, and says what is missing', async () => {
    const users = region({ name: 'users', ttl: 60 });
    const app = regions(users)(async (_request, environ) => {
      const value = await getRegion(environ, 'users').getOrCreate('me', () => 'alice');
      return new FastResponse(value);
    });
    expect((await new TestClient(app).get('/')).text()).toBe('alice');
    const bare = new TestClient(async (_request, environ) => {
      getRegion(environ, 'users');
      return new FastResponse('unreachable');
    });
    await expect(bare.get('/')).rejects.toThrow(/regions\(\.\.\.\) from 'mortar\/cache'/);
  });

  it('refuses a bad ttl, grace or lock timeout with the option named', () => {
    expect(() => region({ name: 'x', ttl: 0 })).toThrow(
      /region: option "ttl" must be seconds \(a number > 0\)/,
    );
    expect(() => region({ name: 'x', ttl: 1, grace: -1 })).toThrow(
      /option "grace" must be seconds/,
    );
    expect(() => region({ name: 'x', ttl: 1, lock: { timeout: Number.NaN } })).toThrow(
      /region: option "lock.timeout" must be milliseconds/,
    );
  });
});
