/**
 * The server-side session store interface, and `MemoryStore`, the default.
 */

import { is, optionChecker } from '../../src/_internal/options.js';

/** What a store keeps for one session. Times are milliseconds since the epoch. */
export interface SessionRecord {
  /** The session's values (JSON). */
  data: Record<string, unknown>;
  /** When the session was created; the absolute timeout counts from here. */
  createdAt: number;
  /** When the session was last saved or touched (RedisStore: saved; see its notes). */
  accessedAt: number;
}

/**
 * A server-side session store (MemoryStore, FileStore, RedisStore; `CookieStore` keeps sessions
 * in the client instead and is not one). Every method may reject with {@link StoreUnavailableError} when the
 * backing service is down: the session middleware answers 503 and logs once.
 *
 * TTLs are in seconds: the record must be gone (or never returned) once they pass.
 */
export interface ServerStore {
  /** The record for `id`, or `undefined` when there is none or it expired. */
  get(id: string): Promise<SessionRecord | undefined>;
  /** Writes the record for `id`, expiring `ttl` seconds from now. */
  set(id: string, record: SessionRecord, ttl: number): Promise<void>;
  /** Removes `id`. Removing an absent id is not an error. */
  destroy(id: string): Promise<void>;
  /** Extends the life of `id` to `ttl` seconds from now, keeping its data. */
  touch(id: string, record: SessionRecord, ttl: number): Promise<void>;
  /**
   * Optional read-modify-write that no other writer of `id` can interleave with (across
   * processes, for shared stores): `change` gets the record as stored now and returns the
   * record to write. The session middleware uses it to merge the keys a request changed into
   * what concurrent requests saved meanwhile. Without it, `set` is used (last writer wins).
   */
  update?(
    id: string,
    ttl: number,
    change: (current: SessionRecord | undefined) => SessionRecord,
  ): Promise<void>;
}

/** The store's backing service cannot be reached; the request gets a 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most sessions kept. Past it, sessions never read back since they were saved go first,
   * least recently used first; see {@link MemoryStore}. @default 10_000
   */
  maxSessions?: number;
  /** Milliseconds between sweeps of expired sessions (a timer: 1000 or more). @default 60_000 */
  sweepInterval?: number;
}

const checkMemoryOptions = optionChecker<MemoryStoreOptions>('MemoryStore', {
  maxSessions: is.positiveInteger,
  sweepInterval: is.milliseconds(1000),
});

interface MemoryEntry {
  json: string;
  expires: number;
}

/**
 * Sessions in this process's memory: the default store. One process only: a second process,
 * or a restart, sees none of them — use FileStore or RedisStore for that.
 *
 * Bounded by `maxSessions`, in two segments (a segmented LRU): a session that has only been
 * saved waits on probation; one read back by a later request (its client returned) is
 * protected. Past the bound, the least recently used session on probation goes first, and a
 * protected one only when none is on probation — so a flood of new anonymous sessions (one
 * request each) evicts its own kind, not the signed-in users. Expired entries are swept.
 *
 * Records are kept as JSON text, so nothing a request holds aliases what is stored.
 */
export class MemoryStore implements ServerStore {
  /** Saved, never read back since; least recently used first. */
  readonly #probation = new Map<string, MemoryEntry>();
  /** Read back by a later request at least once; least recently used first. */
  readonly #protected = new Map<string, MemoryEntry>();
  readonly #maxSessions: number;

  /** @throws ConfigError for an unknown option or a value of the wrong kind, naming it. */
  constructor(options: MemoryStoreOptions = {}) {
    checkMemoryOptions(options);
    this.#maxSessions = options.maxSessions ?? 10_000;
    const every = options.sweepInterval ?? 60_000;
    const sweep = setInterval(() => this.sweep(), every);
    // Node and Bun: the sweep never keeps the process alive. (Deno's timers are numbers.)
    (sweep as { unref?: () => void }).unref?.();
  }

  /** How many sessions are held (expired ones not yet swept included). */
  get size(): number {
    return this.#probation.size + this.#protected.size;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const entry = this.#entry(id);
    if (!entry) return undefined;
    // Read back: protected, and most recently used (last).
    this.#probation.delete(id);
    this.#protected.delete(id);
    this.#protected.set(id, entry);
    return JSON.parse(entry.json) as SessionRecord;
  }

  async set(id: string, record: SessionRecord, ttl: number): Promise<void> {
    this.#write(id, record, ttl);
  }

  async destroy(id: string): Promise<void> {
    this.#probation.delete(id);
    this.#protected.delete(id);
  }

  async touch(id: string, record: SessionRecord, ttl: number): Promise<void> {
    if (this.#entry(id)) this.#write(id, record, ttl);
  }

  async update(
    id: string,
    ttl: number,
    change: (current: SessionRecord | undefined) => SessionRecord,
  ): Promise<void> {
    const entry = this.#entry(id);
    const current = entry ? (JSON.parse(entry.json) as SessionRecord) : undefined;
    this.#write(id, change(current), ttl);
  }

  /** Drops expired sessions now (it also runs every `sweepInterval` milliseconds). */
  sweep(): void {
    const now = Date.now();
    for (const segment of [this.#probation, this.#protected]) {
      for (const [id, entry] of segment) if (entry.expires <= now) segment.delete(id);
    }
  }

  /** The live entry for `id` (an expired one is dropped). */
  #entry(id: string): MemoryEntry | undefined {
    const entry = this.#protected.get(id) ?? this.#probation.get(id);
    if (entry && entry.expires <= Date.now()) {
      void this.destroy(id);
      return undefined;
    }
    return entry;
  }

  #write(id: string, record: SessionRecord, ttl: number): void {
    const entry = { json: JSON.stringify(record), expires: Date.now() + ttl * 1000 };
    const segment = this.#protected.has(id) ? this.#protected : this.#probation;
    segment.delete(id);
    segment.set(id, entry);
    while (this.size > this.#maxSessions) {
      const from = this.#probation.size > 0 ? this.#probation : this.#protected;
      from.delete(from.keys().next().value as string);
    }
  }
}
