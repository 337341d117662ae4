/**
 * This process's memory of the URLs that answered something not storable lately (Varnish's
 * hit-for-miss, beside the `pass` record in the store that tells the other processes): a
 * request for one goes straight to the application, without a store lookup — on a `no-store`
 * route that lookup was most of what `cache()` cost, and a round trip on Redis. A storable
 * answer ends it.
 *
 * A request is remembered by its request target as received and its `Host` (request.ts): two
 * flat strings the gateway already made, compared rather than joined and hashed — a key
 * built by concatenation costs a string flattened and hashed on every lookup. Asking costs no
 * clock read either: the memory is two generations, the older dropped every `ttl / 2`
 * seconds (by an unref'd timer while anything is remembered; where timers do not outlive a
 * request, when a URL is added and on every 256th question), so a URL is remembered between
 * `ttl / 2` and `ttl` seconds after it was added — a pass answered from this memory does not
 * add it again; the next request after that looks it up in the store, and is added once more.
 */

/**
 * The refusals that come from the response itself, not from the request: a URL that answered
 * one is remembered here and by a `pass` record in the store (which skips the lock next time).
 */
export const PASS_REASONS: ReadonlySet<string> = new Set([
  'set-cookie',
  'no-store',
  'private',
  'vary-star',
  'not-storable',
  'no-lifetime',
  'partial',
  'event-stream',
]);

/** The most URLs remembered (a few hundred KiB of keys at most). */
export const MAX_PASSES = 10_000;

export class Passes {
  /** Request target → the `Host` (and forwarding fields) it was remembered with. */
  #current = new Map<string, string>();
  #previous = new Map<string, string>();
  /** Milliseconds since the epoch when the older generation is dropped next. */
  #rotateAt = 0;
  #asked = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #half: number;

  /** `ttl` in seconds; 0 remembers nothing. */
  constructor(ttl: number) {
    this.#half = ttl * 500;
  }

  /** Whether the request for `target` on `host` answered something not storable lately. */
  has(target: string, host: string): boolean {
    if ((++this.#asked & 255) === 0) this.#age();
    return this.#current.get(target) === host || this.#previous.get(target) === host;
  }

  /** Remembers the request for `target` on `host` (for `ttl / 2` to `ttl` seconds). */
  add(target: string, host: string): void {
    if (this.#half <= 0) return;
    this.#age();
    if (this.#current.size >= MAX_PASSES / 2) this.#rotate();
    this.#current.set(target, host);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#age(), this.#half);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  delete(target: string, host: string): void {
    if (this.#current.get(target) === host) this.#current.delete(target);
    if (this.#previous.get(target) === host) this.#previous.delete(target);
  }

  /** Drops what is older than `ttl` (one generation every `ttl / 2`, both after `ttl`). */
  #age(): void {
    const now = Date.now();
    if (now < this.#rotateAt) return;
    if (now >= this.#rotateAt + this.#half) this.#current.clear();
    this.#rotate();
    this.#rotateAt = now + this.#half;
    if (this.#current.size === 0 && this.#previous.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer); // nothing left to forget: no timer until the next add
      this.#timer = undefined;
    }
  }

  #rotate(): void {
    const dropped = this.#previous;
    this.#previous = this.#current;
    dropped.clear();
    this.#current = dropped;
  }
}
