/**
 * `mortar/session/redis` — `RedisStore`, the session store for many processes and many hosts,
 * through ioredis — an optional peer dependency: `npm install ioredis` beside mortar. A
 * subpath of its own, so that `mortar/session` never loads ioredis.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { session } from 'mortar/session';
 * import { RedisStore } from 'mortar/session/redis';
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
 * const app = compose(session({ secret, store }))(site);
 * ```
 * @module mortar/session/redis
 */
import type { Redis } from 'ioredis';
import { is, optionChecker } from '../../src/_internal/options.js';
import { loadIORedis } from '../_shared/ioredis.js';
import { type ServerStore, type SessionRecord, StoreUnavailableError } from './store.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A client of your own (its options are yours: keep its offline queue off for fast 503s). */
  client?: Redis;
  /** Where to connect when no client is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prepended to every key. @default 'mortar:sess:' */
  prefix?: string;
  /** Milliseconds a command may take before the store counts as unavailable. @default 2000 */
  commandTimeout?: number;
  /**
   * Milliseconds the first commands wait for the first connection after start-up, counted
   * from the first command. Later, while Redis is down, commands fail at once.
   * @default 2000
   */
  connectTimeout?: number;
}

const checkOptions = optionChecker<RedisStoreOptions>('RedisStore', {
  client: is.object,
  url: is.string,
  prefix: is.string,
  commandTimeout: is.milliseconds(1),
  connectTimeout: is.milliseconds(0),
});

/** Compare-and-set: writes ARGV[2] with TTL ARGV[3] only if the key still holds ARGV[1]. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`;

type CasClient = Redis & {
  mortarCompareAndSet(key: string, expected: string, value: string, ttl: number): Promise<number>;
};

/**
 * Sessions in Redis: `SET key json EX ttl`, `touch` by `EXPIRE`, `destroy` by `DEL`, and an
 * atomic merge for concurrent writers (a compare-and-set script, retried) — safe on the one
 * multiplexed connection ioredis keeps, where WATCH would not be.
 *
 * When Redis cannot be reached, every call rejects at once with
 * {@link StoreUnavailableError} (the offline queue is off, so nothing waits for a reconnect):
 * the session middleware answers 503 and logs one line. ioredis reconnects by itself, and
 * service resumes when Redis returns. `accessedAt` moves on saves only (a touch is an
 * `EXPIRE`, which extends the session's life without rewriting it).
 */
export class RedisStore implements ServerStore {
  readonly client: Redis;
  readonly prefix: string;
  /** Milliseconds the first commands wait for the first connection. */
  readonly #connectTimeout: number;
  /** Resolves when the first connection is up, or `connectTimeout` after a command waited. */
  #firstConnection: Promise<void> | undefined;
  /** Whether the wait for the first connection is over: later, commands fail at once. */
  #started = false;

  /**
   * @throws ConfigError for an unknown option or a value of the wrong kind (before connecting);
   *   Error saying to `npm install ioredis` when that is not installed.
   */
  constructor(options: RedisStoreOptions = {}) {
    checkOptions(options);
    this.prefix = options.prefix ?? 'mortar:sess:';
    const { Redis } = loadIORedis('RedisStore');
    this.client =
      options.client ??
      new Redis(options.url ?? 'redis://127.0.0.1:6379', {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeout ?? 2000,
        retryStrategy: (times) => Math.min(times * 100, 1000),
      });
    // Connection errors arrive as events too; the middleware reports them, once.
    this.client.on('error', () => {});
    this.#connectTimeout = options.connectTimeout ?? 2000;
    this.client.defineCommand('mortarCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const json = await this.#call(() => this.client.get(this.prefix + id));
    return json === null ? undefined : (JSON.parse(json) as SessionRecord);
  }

  async set(id: string, record: SessionRecord, ttl: number): Promise<void> {
    await this.#call(() => this.client.set(this.prefix + id, JSON.stringify(record), 'EX', ttl));
  }

  async destroy(id: string): Promise<void> {
    await this.#call(() => this.client.del(this.prefix + id));
  }

  async touch(id: string, _record: SessionRecord, ttl: number): Promise<void> {
    await this.#call(() => this.client.expire(this.prefix + id, ttl));
  }

  /** Read, change, compare-and-set; again while another writer got there first (≤ 20 times). */
  async update(
    id: string,
    ttl: number,
    change: (current: SessionRecord | undefined) => SessionRecord,
  ): Promise<void> {
    const key = this.prefix + id;
    for (let attempt = 0; attempt < 20; attempt++) {
      const json = await this.#call(() => this.client.get(key));
      const next = change(json === null ? undefined : (JSON.parse(json) as SessionRecord));
      const written = await this.#call(() =>
        (this.client as CasClient).mortarCompareAndSet(key, json ?? '', JSON.stringify(next), ttl),
      );
      if (written === 1) return;
    }
    throw new Error(
      `RedisStore: session ${id.slice(0, 6)}… kept changing under 20 attempts to save it`,
    );
  }

  /** Closes the connection (when the store made it). */
  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /**
   * Right after start-up, the wait (briefly) for the first connection rather than a failure.
   * Its clock starts with the first command, not with the store: a process still busy loading
   * when a timer set at construction fell due would run that timer before the connection's
   * own events, and fail a connection that is up.
   */
  #firstConnectionUp(): Promise<void> | undefined {
    if (this.#started || this.client.status === 'ready') {
      this.#started = true;
      return undefined;
    }
    this.#firstConnection ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#connectTimeout);
      timer.unref();
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => {
      this.#started = true;
      this.#firstConnection = undefined;
    });
    return this.#firstConnection;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    const starting = this.#firstConnectionUp();
    if (starting) await starting;
    try {
      return await command();
    } catch (error) {
      if (error instanceof loadIORedis('RedisStore').ReplyError) throw error;
      throw new StoreUnavailableError(`Redis: ${(error as Error).message}`, { cause: error });
    }
  }
}
