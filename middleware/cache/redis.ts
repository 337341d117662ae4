/**
 * `mortar/cache/redis` — `RedisCacheStore`, the cache store shared by every process and host
 * on one Redis, through ioredis — an optional peer dependency: `npm install ioredis` beside
 * mortar. A subpath of its own, so that `mortar/cache` never loads ioredis.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { cache, region } from 'mortar/cache';
 * import { RedisCacheStore } from 'mortar/cache/redis';
 * const store = new RedisCacheStore({ url: 'redis://127.0.0.1:6379' });
 * const app = compose(cache({ store }))(site);
 * const users = region({ name: 'users', store, ttl: 60, grace: 300 });
 * ```
 *
 * The lock of a key is `SET lock NX PX timeout` with a random token, released by a script that
 * deletes it only while it holds that token (a holder that outlived its lock frees nobody
 * else's) and publishes the release; waiters wake on that message, or on a short poll of the
 * lock (a message lost to a reconnect), or at their timeout — a holder killed with SIGKILL
 * holds the lock until it lapses, never longer.
 * @module mortar/cache/redis
 */
import type { Redis } from 'ioredis';
import { is, optionChecker } from '../../src/_internal/options.js';
import { loadIORedis } from '../_shared/ioredis.js';
import type { CacheRecord, CacheStore } from './store.js';

/** Options of {@link RedisCacheStore}. */
export interface RedisCacheStoreOptions {
  /** A client of your own; the store subscribes on a duplicate of it. */
  client?: Redis;
  /** Where to connect when no client is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prepended to every key and to the release channel. @default 'mortar:' */
  prefix?: string;
  /** Milliseconds between a waiter's checks of the lock, besides the release message. @default 100 */
  pollInterval?: number;
  /** Milliseconds a command may take (when the store makes the client). @default 2000 */
  commandTimeout?: number;
}

/** Deletes the lock only while it holds our token, then tells the waiters. */
const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;

type LockClient = Redis & {
  mortarUnlock(lock: string, token: string, channel: string, key: string): Promise<number>;
};

const checkOptions = optionChecker<RedisCacheStoreOptions>('RedisCacheStore', {
  client: is.object,
  url: is.string,
  prefix: is.string,
  pollInterval: is.milliseconds(1),
  commandTimeout: is.milliseconds(1),
});

/** Bytes of stored records {@link Decoded} keeps (twice that with their decoded copies). */
const DECODED_BYTES = 4 * 1024 * 1024;
/** The largest record it keeps, in bytes. */
const DECODED_RECORD = 256 * 1024;

/**
 * The records this process last read, decoded, beside their bytes: a `get` whose
 * bytes are the same as the ones kept returns the same record (as the memory store does) —
 * no JSON parsed, no body copied, and the cache's policy and hit fields built once per entry,
 * not on every hit. Every `get` still asks Redis, so nothing here outlives what Redis holds.
 * Bounded: past {@link DECODED_BYTES} it starts again.
 */
class Decoded {
  #records = new Map<string, { stored: Buffer; record: CacheRecord }>();
  #bytes = 0;

  /** The record of `stored` under `key`: the one kept when its bytes are the same, else decoded. */
  of(key: string, stored: Buffer): CacheRecord {
    const known = this.#records.get(key);
    if (known !== undefined && known.stored.equals(stored)) return known.record;
    const record = decode(stored);
    // A copy: the client's buffer may be a slice of a larger one it read, kept alive by it.
    this.#keep(key, Buffer.from(stored), record);
    return record;
  }

  /** Keeps `record` as the decoding of `stored` (bytes of its own) under `key`. */
  #keep(key: string, stored: Buffer, record: CacheRecord): void {
    this.forget(key);
    if (stored.length > DECODED_RECORD) return;
    this.#bytes += stored.length;
    if (this.#bytes > DECODED_BYTES) {
      this.#records.clear();
      this.#bytes = stored.length;
    }
    this.#records.set(key, { stored, record });
  }

  forget(key: string): void {
    const known = this.#records.get(key);
    if (known === undefined) return;
    this.#bytes -= known.stored.length;
    this.#records.delete(key);
  }
}

/**
 * Records in Redis: one string a key, `[4-byte metadata length][metadata JSON][body]`. Like the
 * memory store's, a record `get` returns may be the same object another caller got (see
 * {@link Decoded}): read it, never change it.
 */
export class RedisCacheStore implements CacheStore {
  readonly client: Redis;
  readonly prefix: string;
  readonly #channel: string;
  readonly #poll: number;
  readonly #waiters = new Map<string, Set<() => void>>();
  #subscriber: Promise<Redis> | undefined;
  readonly #owned: boolean;
  readonly #decoded = new Decoded();

  /**
   * @throws ConfigError (a TypeError) for an unknown option or a value of the wrong kind;
   *   Error saying to install ioredis when it is not installed.
   */
  constructor(options: RedisCacheStoreOptions = {}) {
    checkOptions(options);
    const { Redis } = loadIORedis('RedisCacheStore');
    this.prefix = options.prefix ?? 'mortar:';
    this.#channel = `${this.prefix}cache-unlock`;
    this.#poll = options.pollInterval ?? 100;
    this.#owned = options.client === undefined;
    this.client =
      options.client ??
      new Redis(options.url ?? 'redis://127.0.0.1:6379', {
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeout ?? 2000,
        retryStrategy: (times) => Math.min(times * 100, 1000),
      });
    this.client.on('error', () => {});
    this.client.defineCommand('mortarUnlock', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const stored = await this.client.getBuffer(this.prefix + key);
    if (stored !== null) return this.#decoded.of(key, stored);
    this.#decoded.forget(key);
    return undefined;
  }

  async set(key: string, record: CacheRecord, ttl: number): Promise<void> {
    const ms = Math.max(1, Math.ceil(ttl * 1000));
    // Kept again when read back: a record as JSON gives it, as every other process reads it.
    this.#decoded.forget(key);
    await this.client.set(this.prefix + key, encode(record), 'PX', ms);
  }

  async delete(key: string): Promise<void> {
    this.#decoded.forget(key);
    await this.client.del(this.prefix + key);
  }

  async lock(key: string, ttl: number): Promise<string | undefined> {
    const token = crypto.randomUUID();
    const ms = Math.max(1, Math.ceil(ttl));
    const set = await this.client.set(this.#lockKey(key), token, 'PX', ms, 'NX');
    return set === 'OK' ? token : undefined;
  }

  async unlock(key: string, token: string): Promise<void> {
    const client = this.client as LockClient;
    await client.mortarUnlock(this.#lockKey(key), token, this.#channel, key);
  }

  async waitForUnlock(key: string, timeout: number): Promise<boolean> {
    await this.#subscribe();
    const lock = this.#lockKey(key);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const settle = (released: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        const set = this.#waiters.get(key);
        set?.delete(wake);
        if (set?.size === 0) this.#waiters.delete(key);
        resolve(released);
      };
      const wake = () => settle(true);
      const timer = setTimeout(() => settle(false), timeout);
      const poll = setInterval(() => {
        this.client.exists(lock).then(
          (n) => n === 0 && settle(true),
          () => {},
        );
      }, this.#poll);
      const set = this.#waiters.get(key) ?? new Set();
      this.#waiters.set(key, set);
      set.add(wake);
      // Released between the failed lock and the subscription: the first check sees it.
      this.client.exists(lock).then(
        (n) => n === 0 && settle(true),
        () => {},
      );
    });
  }

  /** Closes the connections (the subscriber always; the client when the store made it). */
  async close(): Promise<void> {
    const subscriber = await this.#subscriber?.catch(() => undefined);
    subscriber?.disconnect();
    if (this.#owned) await this.client.quit().catch(() => this.client.disconnect());
  }

  #lockKey(key: string): string {
    return `${this.prefix}lock:${key}`;
  }

  #subscribe(): Promise<Redis> {
    this.#subscriber ??= (async () => {
      const subscriber = this.client.duplicate();
      subscriber.on('error', () => {});
      subscriber.on('message', (_channel: string, key: string) => {
        for (const wake of this.#waiters.get(key) ?? []) wake();
      });
      await subscriber.subscribe(this.#channel);
      return subscriber;
    })();
    return this.#subscriber;
  }
}

function encode(record: CacheRecord): Buffer {
  const meta = Buffer.from(JSON.stringify({ meta: record.meta, body: record.body !== undefined }));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(meta.length);
  return record.body === undefined
    ? Buffer.concat([head, meta])
    : Buffer.concat([head, meta, record.body]);
}

function decode(stored: Buffer): CacheRecord {
  const length = stored.readUInt32BE(0);
  const { meta, body } = JSON.parse(stored.subarray(4, 4 + length).toString()) as {
    meta: unknown;
    body: boolean;
  };
  return body ? { meta, body: new Uint8Array(stored.subarray(4 + length)) } : { meta };
}
