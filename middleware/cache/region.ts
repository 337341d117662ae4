/**
 * The data cache: Beaker's cache regions, dogpile.cache's rule. A {@link Region} keeps values
 * for `ttl` seconds and then `grace` seconds more; `getOrCreate` makes a missing or expired
 * value with the caller's function, and the dogpile rule decides who makes it:
 *
 * - fresh → returned at once;
 * - expired but within `grace` → one caller makes the new value under the key's lock, every
 *   other caller meanwhile gets the old value at once;
 * - no value → one caller makes it; the others wait on the lock up to `lock.timeout`
 *   milliseconds and read what it stored, or make it themselves when the wait times out.
 *
 * The lock is per process on {@link MemoryCacheStore} and per key across processes on Redis.
 * `invalidate(key)` expires one value, `invalidateAll()` every value of the region (a
 * generation record the region reads beside each value, in the same round trip on Redis).
 *
 * ```ts
 * import { region } from 'mortar/cache';
 * const fetchPrice = async (currency: string): Promise<number> => (currency === 'EUR' ? 1.08 : 1);
 * const prices = region({ name: 'prices', ttl: 60, grace: 300 });
 * const price = await prices.getOrCreate('EUR', () => fetchPrice('EUR'));
 * const cachedPrice = prices.cached(fetchPrice, (currency) => currency);
 * ```
 */
import { ConfigError, is, optionChecker, valueKind } from '../../src/_internal/options.js';
import { defineEnvironKey } from '../../src/environ.js';
import type { Environ, Middleware } from '../../src/types.js';
import { acquire, release } from './lock.js';
import { type CacheStore, MemoryCacheStore } from './store.js';
import { tolerant } from './tolerant.js';

/** Options of {@link region}. */
export interface RegionOptions {
  /** The region's name: its key prefix's and {@link getRegion}'s. */
  name: string;
  /** Where values are kept. @default new MemoryCacheStore() */
  store?: CacheStore;
  /** Seconds a value is fresh. */
  ttl: number;
  /** Seconds an expired value is still served while one caller makes the next. @default 0 */
  grace?: number;
  /** The creation lock: `timeout` milliseconds a caller waits for another's value (and the longest a lock is held). @default { timeout: 5000 } */
  lock?: { timeout?: number };
  /** Prepended to every key. @default `mortar:region:${name}:` */
  prefix?: string;
}

/** Per-call lifetimes of {@link Region.getOrCreate} (seconds), overriding the region's. */
export interface Lifetimes {
  ttl?: number;
  grace?: number;
}

/** Seconds: a number (fractions allowed) ≥ `least`, or > 0 when `positive`. */
const seconds = (positive: boolean) =>
  valueKind(
    `seconds (a number ${positive ? '> 0' : '≥ 0'})`,
    (v) => typeof v === 'number' && Number.isFinite(v) && (positive ? v > 0 : v >= 0),
  );
const checkOptions = optionChecker<RegionOptions>('region', {
  name: is.required(valueKind('a non-empty string', (v) => typeof v === 'string' && v !== '')),
  store: is.object,
  ttl: is.required(seconds(true)),
  grace: seconds(false),
  lock: is.object,
  prefix: is.string,
});
const checkLock = optionChecker<NonNullable<RegionOptions['lock']>>(
  'region',
  { timeout: is.milliseconds(1) },
  'lock.',
);

interface Stored {
  value: unknown;
  /** Milliseconds since the epoch: fresh until then (0 after a soft invalidation). */
  freshUntil: number;
  /** The region's generation when the value was made (absent: 0). */
  generation?: number;
}

/**
 * The region's record of {@link Region.invalidateAll}: values made in an earlier `generation`
 * are expired (served within grace of `at` while the next is made), those made before `hard`
 * are gone. No record: generation 0, nothing invalidated.
 */
interface Generation {
  generation: number;
  hard: number;
  /** Milliseconds since the epoch of the last invalidateAll. */
  at: number;
}

const FIRST: Generation = { generation: 0, hard: 0, at: 0 };
/** Seconds the generation record is kept: longer than any value it judges. */
const GENERATION_TTL = 10 * 365 * 24 * 3600;

/** A stored value and the region's generation, read together. */
interface Read {
  stored: Stored | undefined;
  generation: Generation;
}

/** A named data cache (see the module's description). */
export class Region {
  readonly name: string;
  readonly store: CacheStore;
  /** The store, its failures answered without it (tolerant.ts). */
  readonly #store: CacheStore;
  readonly #prefix: string;
  /** The key of the region's generation record (no key of a value starts with NUL). */
  readonly #generationKey: string;
  readonly #ttl: number;
  readonly #grace: number;
  readonly #timeout: number;
  /** The store when it is this process's memory: read without a promise a record. */
  readonly #memory: MemoryCacheStore | undefined;

  /**
   * @throws ConfigError (a TypeError) for an unknown option, a missing name or ttl, or a
   *   ttl, grace (seconds) or lock timeout (milliseconds) out of range.
   */
  constructor(options: RegionOptions) {
    checkOptions(options);
    checkLock(options.lock);
    this.name = options.name;
    this.store = options.store ?? new MemoryCacheStore();
    this.#store = options.store ? tolerant(this.store, `region "${this.name}"`) : this.store;
    this.#prefix = options.prefix ?? `mortar:region:${options.name}:`;
    this.#generationKey = `${this.#prefix}\0generation`;
    this.#ttl = options.ttl;
    this.#grace = options.grace ?? 0;
    this.#timeout = options.lock?.timeout ?? 5000;
    this.#memory = this.store instanceof MemoryCacheStore ? this.store : undefined;
  }

  /** The value of `key` while fresh, else `undefined`. */
  async get<T>(key: string): Promise<T | undefined> {
    const read = await this.#read(this.#prefix + key);
    return this.#state(read) === 'fresh' ? (read.stored!.value as T) : undefined;
  }

  /** Stores `value` under `key`, fresh for `ttl` seconds and kept `grace` seconds more. */
  async set(key: string, value: unknown, lifetimes: Lifetimes = {}): Promise<void> {
    const { generation } = await this.#read(undefined);
    await this.#write(this.#prefix + key, value, generation.generation, lifetimes);
  }

  async #write(full: string, value: unknown, generation: number, lifetimes: Lifetimes) {
    const ttl = lifetimes.ttl ?? this.#ttl;
    const grace = lifetimes.grace ?? this.#grace;
    const stored: Stored = { value, freshUntil: Date.now() + ttl * 1000, generation };
    await this.#store.set(full, { meta: stored }, ttl + grace);
  }

  /**
   * The value under `full` (none when `undefined`) and the region's generation, read at once:
   * from this process's memory without a promise, else asked together (one round trip on Redis).
   */
  #read(full: string | undefined): Read | Promise<Read> {
    const memory = this.#memory;
    if (memory) {
      const record = full === undefined ? undefined : memory.peek(full);
      const generation = memory.peek(this.#generationKey);
      return {
        stored: record?.meta as Stored | undefined,
        generation: (generation?.meta as Generation | undefined) ?? FIRST,
      };
    }
    return this.#ask(full);
  }

  async #ask(full: string | undefined): Promise<Read> {
    // Both asked at once (one round trip on Redis), awaited one after the other (no Promise.all).
    const value = full === undefined ? undefined : this.#store.get(full);
    const current = this.#store.get(this.#generationKey);
    const record = await value;
    const generation = await current;
    return {
      stored: record?.meta as Stored | undefined,
      generation: (generation?.meta as Generation | undefined) ?? FIRST,
    };
  }

  /** Whether a read value is fresh, expired but usable within grace, or not there. */
  #state({ stored, generation }: Read): 'fresh' | 'stale' | undefined {
    if (!stored) return undefined;
    const made = stored.generation ?? 0;
    if (made < generation.hard) return undefined;
    if (made < generation.generation) {
      return Date.now() < generation.at + this.#grace * 1000 ? 'stale' : undefined;
    }
    return Date.now() < stored.freshUntil ? 'fresh' : 'stale';
  }

  /**
   * The value of `key`, made by `create` when missing or expired, by the dogpile rule. Callers
   * in one process may get the same object (from memory, or decoded once from Redis): read it,
   * never change it.
   * @throws what `create` throws (nothing is stored then).
   */
  async getOrCreate<T>(
    key: string,
    create: () => T | Promise<T>,
    lifetimes: Lifetimes = {},
  ): Promise<T> {
    const full = this.#prefix + key;
    const read = await this.#read(full);
    const state = this.#state(read);
    if (state === 'fresh') return read.stored!.value as T;
    if (state === 'stale') {
      // Within grace: one caller makes the next value, the others get this one at once.
      const token = await this.#store.lock(full, this.#timeout);
      if (token === undefined) return read.stored!.value as T;
      return this.#create(full, token, create, lifetimes);
    }
    const got = await acquire(this.#store, full, this.#timeout);
    if (got.token === undefined && got.released) {
      const made = await this.#read(full);
      if (this.#state(made) === 'fresh') return made.stored!.value as T;
    }
    return this.#create(full, got.token, create, lifetimes);
  }

  async #create<T>(
    full: string,
    token: string | undefined,
    create: () => T | Promise<T>,
    lifetimes: Lifetimes,
  ): Promise<T> {
    try {
      // Another caller may have stored it between our read and our lock; and the value is
      // made in the generation read before `create` runs (an invalidateAll meanwhile wins).
      const read = await this.#read(full);
      if (token !== undefined && this.#state(read) === 'fresh') return read.stored!.value as T;
      const value = await create();
      await this.#write(full, value, read.generation.generation, lifetimes);
      return value;
    } finally {
      release(this.#store, full, token);
    }
  }

  /**
   * Forgets `key`. Soft (the default): the value counts as expired — served within `grace`
   * while the next is made, as dogpile's soft invalidation. `{ hard: true }`: deleted, so the
   * next caller makes it and the others wait.
   * @throws the store's error when it fails (an invalidation is never skipped silently).
   */
  async invalidate(key: string, options: { hard?: boolean } = {}): Promise<void> {
    if (typeof key !== 'string') {
      throw new TypeError(
        `region "${this.name}": invalidate(key) takes a key (a string), got ${typeof key}; invalidateAll() forgets every key`,
      );
    }
    const full = this.#prefix + key;
    const stored = (await this.store.get(full))?.meta as Stored | undefined;
    if (options.hard || !stored || this.#grace === 0) return this.store.delete(full);
    const expired: Stored = { ...stored, freshUntil: 0 };
    await this.store.set(full, { meta: expired }, this.#grace);
  }

  /**
   * Forgets every key of the region, on every process that shares its store, by one write: the
   * region's generation goes up, and values made in an earlier one count as expired — soft
   * (the default): each is served within `grace` seconds of now while the next is made;
   * `{ hard: true }` (or a region without grace): gone, the next caller makes it and the
   * others wait. No key is listed or deleted (their records lapse by their own ttl).
   * @throws the store's error when it fails (an invalidation is never skipped silently).
   */
  async invalidateAll(options: { hard?: boolean } = {}): Promise<void> {
    const record = await this.store.get(this.#generationKey);
    const now = (record?.meta as Generation | undefined) ?? FIRST;
    const generation = now.generation + 1;
    const hard = options.hard || this.#grace === 0 ? generation : now.hard;
    const next: Generation = { generation, hard, at: Date.now() };
    await this.store.set(this.#generationKey, { meta: next }, GENERATION_TTL);
  }

  /**
   * `fn` with its results cached under `keyOf(...args)` (Beaker's `@cache_region`): the
   * decorator form of {@link getOrCreate}.
   */
  cached<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    keyOf: (...args: A) => string,
    lifetimes: Lifetimes = {},
  ): (...args: A) => Promise<T> {
    return (...args) => this.getOrCreate(keyOf(...args), () => fn(...args), lifetimes);
  }
}

/** A new {@link Region}. @throws TypeError as the constructor does. */
export function region(options: RegionOptions): Region {
  return new Region(options);
}

const regionsSlot = defineEnvironKey<ReadonlyMap<string, Region>>(
  'cache regions',
  "regions(...) from 'mortar/cache'",
);

/**
 * Puts `list` in every request's environ, for {@link getRegion} (Beaker's
 * `environ['beaker.cache']`). Importing the region works as well.
 * @throws TypeError when two regions share a name.
 */
export function regions(...list: Region[]): Middleware {
  const byName = new Map<string, Region>();
  for (const one of list) {
    if (byName.has(one.name)) throw new ConfigError(`regions: two regions are named "${one.name}"`);
    byName.set(one.name, one);
  }
  return function regions(app) {
    return function regionsApp(request, environ) {
      return app(request, regionsSlot.with(environ, byName));
    };
  };
}

/**
 * The region named `name` that {@link regions} placed in the environ.
 * @throws Error naming `regions()` when it is not installed, or the names it has when none is `name`.
 */
export function getRegion(environ: Environ, name: string): Region {
  const found = regionsSlot.get(environ).get(name);
  if (found) return found;
  const names = [...regionsSlot.get(environ).keys()].join(', ');
  throw new Error(`getRegion: no region named "${name}" (the regions are ${names})`);
}
