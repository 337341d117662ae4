/**
 * What a cache keeps, and where: the {@link CacheStore} interface both caches use (the HTTP
 * response cache and the data cache's regions), and {@link MemoryCacheStore}, an LRU bounded
 * in bytes (lru-cache's `maxSize`) with per-key locks for one process.
 */
import type * as LRU from 'lru-cache';
import type { LRUCache } from 'lru-cache';
import { requireOptional } from '../../src/_internal/optional.js';
import { optionChecker, valueKind } from '../../src/_internal/options.js';

/** One stored thing: metadata (JSON-able for a store that serialises) and, for responses, body bytes. */
export interface CacheRecord {
  /** What the cache needs to use the entry (a response's policy and headers, a value's dates). */
  meta: unknown;
  /** A response's body, whole. */
  body?: Uint8Array | undefined;
}

/**
 * Where a cache keeps its records, and the per-key lock that lets one caller make what the
 * others wait for (nginx's `proxy_cache_lock`, dogpile's mutex). Every duration in seconds but
 * the lock's, in milliseconds.
 */
export interface CacheStore {
  /** The record stored under `key`, or `undefined` (never stored, expired, evicted). */
  get(key: string): Promise<CacheRecord | undefined>;
  /** Stores `record` under `key` for `ttl` **seconds** (> 0), replacing what was there. */
  set(key: string, record: CacheRecord, ttl: number): Promise<void>;
  /** Removes `key`; removing an absent key is fine. */
  delete(key: string): Promise<void>;
  /**
   * Takes the lock of `key` for at most `ttl` **milliseconds** (then it lapses, so a holder
   * that died stalls no one longer): a token to {@link unlock} with, or `undefined` while
   * someone else holds it.
   */
  lock(key: string, ttl: number): Promise<string | undefined>;
  /** Releases the lock of `key` if `token` still holds it (compare-and-delete), waking its waiters. */
  unlock(key: string, token: string): Promise<void>;
  /**
   * Resolves `true` once the lock of `key` is free (released, lapsed, or never held), `false`
   * when `timeout` **milliseconds** pass first.
   */
  waitForUnlock(key: string, timeout: number): Promise<boolean>;
}

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** The most bytes kept (bodies plus metadata as JSON); the least recently used go first. @default 67108864 (64 MiB) */
  maxSize?: number;
}

const checkOptions = optionChecker<MemoryCacheStoreOptions>('MemoryCacheStore', {
  maxSize: valueKind(
    'a number of bytes (an integer ≥ 1)',
    (v) => Number.isInteger(v) && (v as number) >= 1,
  ),
});

interface Held {
  token: string;
  expires: number;
  waiters: Set<() => void>;
  timer: ReturnType<typeof setTimeout>;
}

let tokens = 0;

/**
 * Records in this process's memory, least recently used evicted past `maxSize` bytes
 * (lru-cache). A record is kept as given — a data-cache value is the same object each `get`
 * returns, as in Beaker's memory backend: do not change it. Locks are per process.
 */
export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, CacheRecord>;
  readonly #locks = new Map<string, Held>();

  /**
   * @throws ConfigError (a TypeError) for an unknown option or a `maxSize` that is not a
   *   whole number of bytes > 0; Error saying to
   *   `npm install lru-cache` (an optional peer dependency) when it is not installed.
   */
  constructor(options: MemoryCacheStoreOptions = {}) {
    const { LRUCache } = requireOptional<typeof LRU>(
      'lru-cache',
      'MemoryCacheStore needs the lru-cache package: npm install lru-cache',
    );
    checkOptions(options);
    const maxSize = options.maxSize ?? 64 * 1024 * 1024;
    this.#lru = new LRUCache<string, CacheRecord>({
      maxSize,
      sizeCalculation: (record, key) => Math.max(1, key.length + recordSize(record)),
      ttlAutopurge: false,
    });
  }

  /** The bytes held now (as `maxSize` counts them). */
  get size(): number {
    return this.#lru.calculatedSize;
  }

  get(key: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.#lru.get(key));
  }

  /** What {@link get} resolves to, now (no promise: a region reads two records with it). */
  peek(key: string): CacheRecord | undefined {
    return this.#lru.get(key);
  }

  set(key: string, record: CacheRecord, ttl: number): Promise<void> {
    this.#lru.set(key, record, { ttl: Math.max(1, Math.ceil(ttl * 1000)) });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#lru.delete(key);
    return Promise.resolve();
  }

  lock(key: string, ttl: number): Promise<string | undefined> {
    const held = this.#locks.get(key);
    if (held && held.expires > Date.now()) return Promise.resolve(undefined);
    if (held) this.#release(key, held);
    const token = String(++tokens);
    const timer = setTimeout(() => {
      const current = this.#locks.get(key);
      if (current?.token === token) this.#release(key, current);
    }, ttl);
    timer.unref?.();
    this.#locks.set(key, { token, expires: Date.now() + ttl, waiters: new Set(), timer });
    return Promise.resolve(token);
  }

  unlock(key: string, token: string): Promise<void> {
    const held = this.#locks.get(key);
    if (held?.token === token) this.#release(key, held);
    return Promise.resolve();
  }

  waitForUnlock(key: string, timeout: number): Promise<boolean> {
    const held = this.#locks.get(key);
    if (!held) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        held.waiters.delete(wake);
        resolve(false);
      }, timeout);
      held.waiters.add(wake);
    });
  }

  #release(key: string, held: Held): void {
    clearTimeout(held.timer);
    this.#locks.delete(key);
    for (const wake of held.waiters) wake();
  }
}

/** Bytes a record counts for: its body, and its metadata as JSON (1 KiB when it has none). */
function recordSize(record: CacheRecord): number {
  let meta = 1024;
  try {
    meta = JSON.stringify(record.meta)?.length ?? 0;
  } catch {
    // A value JSON cannot write (a cycle, a BigInt) counts as 1 KiB.
  }
  return meta + (record.body?.byteLength ?? 0);
}
