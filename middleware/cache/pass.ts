/**
 * This process's memory of the URLs that answered something not storable lately (Varnish's
 * hit-for-miss, beside the `pass` record in the store that tells the other processes): a
 * request for one goes straight to the application, without a store lookup — on a `no-store`
 * route that lookup was most of what `cache()` cost, and a round trip on Redis. A storable
 * answer ends it; the oldest URL is forgotten past {@link MAX_PASSES}.
 */

/** The most URLs remembered (a few hundred KiB of keys at most). */
export const MAX_PASSES = 10_000;

export class Passes {
  /** Key → milliseconds since the epoch until which it passes. */
  readonly #until = new Map<string, number>();
  readonly #ttl: number;

  /** `ttl` in seconds; 0 remembers nothing. */
  constructor(ttl: number) {
    this.#ttl = ttl * 1000;
  }

  /** Whether `key` answered something not storable within the last `ttl` seconds. */
  has(key: string): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#until.delete(key);
    return false;
  }

  /** Remembers `key` for `ttl` seconds from now. */
  add(key: string): void {
    if (this.#ttl <= 0) return;
    this.#until.delete(key); // re-inserted last: the Map's order is the age
    if (this.#until.size >= MAX_PASSES) this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(key, Date.now() + this.#ttl);
  }

  delete(key: string): void {
    this.#until.delete(key);
  }
}
