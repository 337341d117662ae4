/**
 * The dogpile rule's lock, shared by both caches: take the key's lock, or wait for whoever
 * holds it — no longer than the timeout, then go on without it (nginx's
 * `proxy_cache_lock_timeout`). A holder that dies holds the lock only until it lapses.
 */
import type { CacheStore } from './store.js';

/** What {@link acquire} got. */
export type Acquired =
  /** The lock is ours: make the value, then `store.unlock(key, token)`. */
  | { token: string; released?: undefined }
  /** Someone else held it; `released` is false when the timeout passed first. */
  | { token?: undefined; released: boolean };

/**
 * Takes the lock of `key` (held for at most `timeout` milliseconds), or waits up to `timeout`
 * milliseconds for its holder to release it.
 */
export async function acquire(store: CacheStore, key: string, timeout: number): Promise<Acquired> {
  const token = await store.lock(key, timeout);
  if (token !== undefined) return { token };
  return { released: await store.waitForUnlock(key, timeout) };
}

/** Releases a lock taken by {@link acquire}; a store that fails to is reported, not thrown. */
export function release(store: CacheStore, key: string, token: string | undefined): void {
  if (token === undefined) return;
  store.unlock(key, token).catch(() => {
    // The lock lapses by itself after its timeout.
  });
}

/** A lock that may be held, released once whatever path the request takes (no closure a request). */
export class Held {
  #store: CacheStore;
  #key: string;
  #token: string | undefined;
  constructor(store: CacheStore, key: string, token: string | undefined) {
    this.#store = store;
    this.#key = key;
    this.#token = token;
  }
  /** Releases the lock if it is held and not yet released. */
  release(): void {
    const token = this.#token;
    this.#token = undefined;
    release(this.#store, this.#key, token);
  }
}
