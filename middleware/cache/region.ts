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
}

/** A named data cache (see the module's description). */
export class Region {
  readonly name: string;
  readonly store: CacheStore;
  /** The store, its failures answered without it (tolerant.ts). */
  readonly #store: CacheStore;
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #grace: number;
  readonly #timeout: number;

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
    this.#ttl = options.ttl;
    this.#grace = options.grace ?? 0;
    this.#timeout = options.lock?.timeout ?? 5000;
  }

  /** The value of `key` while fresh, else `undefined`. */
  async get<T>(key: string): Promise<T | undefined> {
    const record = await this.#store.get(this.#prefix + key);
    const stored = record?.meta as Stored | undefined;
    return stored && Date.now() < stored.freshUntil ? (stored.value as T) : undefined;
  }

  /** Stores `value` under `key`, fresh for `ttl` seconds and kept `grace` seconds more. */
  async set(key: string, value: unknown, lifetimes: Lifetimes = {}): Promise<void> {
    const ttl = lifetimes.ttl ?? this.#ttl;
    const grace = lifetimes.grace ?? this.#grace;
    const stored: Stored = { value, freshUntil: Date.now() + ttl * 1000 };
    await this.#store.set(this.#prefix + key, { meta: stored }, ttl + grace);
  }

  /**
   * The value of `key`, made by `create` when missing or expired, by the dogpile rule.
   * @throws what `create` throws (nothing is stored then).
   */
  async getOrCreate<T>(
    key: string,
    create: () => T | Promise<T>,
    lifetimes: Lifetimes = {},
  ): Promise<T> {
    const full = this.#prefix + key;
    const stored = (await this.#store.get(full))?.meta as Stored | undefined;
    if (stored && Date.now() < stored.freshUntil) return stored.value as T;
    if (stored) {
      // Within grace: one caller makes the next value, the others get this one at once.
      const token = await this.#store.lock(full, this.#timeout);
      if (token === undefined) return stored.value as T;
      return this.#create(key, full, token, create, lifetimes);
    }
    const got = await acquire(this.#store, full, this.#timeout);
    if (got.token === undefined && got.released) {
      const made = (await this.#store.get(full))?.meta as Stored | undefined;
      if (made && Date.now() < made.freshUntil) return made.value as T;
    }
    return this.#create(key, full, got.token, create, lifetimes);
  }

  async #create<T>(
    key: string,
    full: string,
    token: string | undefined,
    create: () => T | Promise<T>,
    lifetimes: Lifetimes,
  ): Promise<T> {
    try {
      if (token !== undefined) {
        // Another caller may have stored it between our read and our lock.
        const stored = (await this.#store.get(full))?.meta as Stored | undefined;
        if (stored && Date.now() < stored.freshUntil) return stored.value as T;
      }
      const value = await create();
      await this.set(key, value, lifetimes);
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
    const full = this.#prefix + key;
    const stored = (await this.store.get(full))?.meta as Stored | undefined;
    if (options.hard || !stored || this.#grace === 0) return this.store.delete(full);
    await this.store.set(full, { meta: { value: stored.value, freshUntil: 0 } }, this.#grace);
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
