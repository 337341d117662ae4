/**
 * A cache is a shortcut, never a dependency: when its store fails (Redis down, a command timing
 * out), requests and `getOrCreate` go on without it — a failed read is a miss, a failed write
 * or delete is skipped, a failed lock is taken as held by nobody — and one line a minute says
 * so on stderr.
 */
import { describeError } from '../../src/_internal/log.js';
import type { CacheRecord, CacheStore } from './store.js';

/** What {@link tolerant}'s lock returns when the store could not lock: the caller goes on alone. */
const UNLOCKED = '\0unlocked';

/** `store`, its failures reported (at most once a minute) and answered as described above. */
export function tolerant(store: CacheStore, who: string): CacheStore {
  let reported = 0;
  const report = (error: unknown) => {
    const now = Date.now();
    if (now - reported < 60_000) return;
    reported = now;
    console.error(
      `mortar: ${who}: the cache store failed, going on without it: ${describeError(error).split('\n')[0]}`,
    );
  };
  const quiet = async <T>(call: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      report(error);
      return fallback;
    }
  };
  return {
    get: (key) => quiet<CacheRecord | undefined>(() => store.get(key), undefined),
    set: (key, record, ttl) => quiet(() => store.set(key, record, ttl), undefined),
    delete: (key) => quiet(() => store.delete(key), undefined),
    lock: (key, ttl) => quiet<string | undefined>(() => store.lock(key, ttl), UNLOCKED),
    unlock: (key, token) =>
      token === UNLOCKED ? Promise.resolve() : quiet(() => store.unlock(key, token), undefined),
    waitForUnlock: (key, timeout) => quiet(() => store.waitForUnlock(key, timeout), false),
  };
}
