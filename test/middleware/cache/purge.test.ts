/**
 * Which cache `purge(environ, url)` reaches, and what a relative URL resolves against, when
 * the environ is not one a gateway made for one request: shared by concurrent requests, given
 * to nested caches, frozen. (cache() sets its slot on a gateway's environ in place; every other
 * environ gets a copy.)
 */
import { describe, expect, it } from 'vitest';
import { cache, MemoryCacheStore, purge } from '../../../middleware/cache/index.js';
import { type Application, type Environ, FastResponse } from '../../../src/index.js';

/** A memory store that records the keys deleted from it. */
function deleting(): { store: MemoryCacheStore; deleted: string[] } {
  const store = new MemoryCacheStore();
  const deleted: string[] = [];
  const remove = store.delete.bind(store);
  store.delete = (key) => {
    deleted.push(key);
    return remove(key);
  };
  return { store, deleted };
}

const environ = (): Environ => ({ scriptName: '', pathInfo: '/', gateway: 'test' });

describe('purge(environ, url)', () => {
  it('resolves against each request’s own URL when concurrent requests share one environ', async () => {
    const { store, deleted } = deleting();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let waiting = 0;
    const app = cache({ store, prefix: '' })(async (_r, e) => {
      waiting++;
      await gate;
      await purge(e, 'x'); // relative: dir-a/x or dir-b/x
      return new FastResponse('ok', { headers: { 'cache-control': 'no-store' } });
    });
    const shared = environ();
    const both = Promise.all([
      app(new Request('http://localhost/dir-a/page'), shared),
      app(new Request('http://localhost/dir-b/page'), shared),
    ]);
    while (waiting < 2) await new Promise((resolve) => setImmediate(resolve));
    open();
    await both;
    expect(deleted.sort()).toEqual(['http://localhost/dir-a/x', 'http://localhost/dir-b/x']);
  });

  it('reaches the cache nearest the application when caches are nested', async () => {
    const outer = deleting();
    const inner = deleting();
    const app: Application = async (_r, e) => {
      await purge(e, '/x');
      return new FastResponse('ok', { headers: { 'cache-control': 'no-store' } });
    };
    const nested = cache({ store: outer.store, prefix: '' })(
      cache({ store: inner.store, prefix: '' })(app),
    );
    await nested(new Request('http://localhost/page'), environ());
    expect(inner.deleted).toEqual(['http://localhost/x']);
    expect(outer.deleted).toEqual([]);
  });

  it('works with a frozen environ', async () => {
    const { store, deleted } = deleting();
    const app = cache({ store, prefix: '' })(async (_r, e) => {
      await purge(e, '/x');
      return new FastResponse('ok', { headers: { 'cache-control': 'no-store' } });
    });
    await app(new Request('http://localhost/page'), Object.freeze(environ()));
    expect(deleted).toEqual(['http://localhost/x']);
  });
});
