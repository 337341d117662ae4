/**
 * `Session`: what the application holds — one request's session, read and written
 * synchronously once loaded.
 */
import { assertJSONValue } from './values.js';

/**
 * What a {@link Session} reads and asks of its request's session state (`SessionState` in
 * state.ts, which builds the Session): named here so the two files do not import each other.
 * @internal
 */
export interface SessionBackend {
  readonly id: string;
  readonly isNew: boolean;
  readonly createdAt: number;
  readonly accessedAt: number;
  data: Record<string, unknown>;
  /** @throws Error when the session was destroyed or the response has left. */
  assertUsable(action: string): void;
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  commit(mode: 'save' | 'touch'): Promise<void>;
}

/** Where flash messages live in the session's data (see {@link Session.flash}). */
const FLASH_KEY = 'mortar.flash';

/**
 * One request's session. Values are JSON; `set` checks at once. Reads and writes are
 * synchronous once `getSession` resolved; `regenerate`, `destroy`, `save` and `touch` talk
 * to the store.
 *
 * `Data` types the values by key: `getSession<{ userId: string; cart: string[] }>(environ)`
 * gives a session whose `get('cart')` is `string[] | undefined` and whose `set('userId', 1)`
 * does not compile.
 */
export class Session<Data extends Record<string, unknown> = Record<string, unknown>> {
  readonly #state: SessionBackend;
  /** @internal */
  constructor(state: SessionBackend) {
    this.#state = state;
  }
  /** The session id (192 random bits). A new session has one already; it is sent once saved. */
  get id(): string {
    return this.#state.id;
  }
  /** True until the session is first saved. */
  get isNew(): boolean {
    return this.#state.isNew;
  }
  /** When the session was created, in milliseconds since the epoch. */
  get createdAt(): number {
    return this.#state.createdAt;
  }
  /** When the session was last saved or touched, in milliseconds since the epoch. */
  get accessedAt(): number {
    return this.#state.accessedAt;
  }
  /** The value under `key`, or `undefined`. Change an object you got? `set` it again or not: changes are found at save. */
  get<K extends keyof Data & string>(key: K): Data[K] | undefined {
    return this.#state.data[key] as Data[K] | undefined;
  }
  /**
   * Stores `value` under `key`.
   * @throws TypeError when the value would not survive JSON (a Date, Map, BigInt, function,
   *   cycle …), naming where in it.
   */
  set<K extends keyof Data & string>(key: K, value: Data[K]): void {
    this.#state.assertUsable('set');
    assertJSONValue(value, `session.set(${JSON.stringify(key)})`);
    this.#state.data[key] = value;
  }
  /**
   * Adds a flash message under `key` (Flask's `flash`, Django's messages): kept in the session
   * until read by {@link flashes} — on the next request, after a redirect typically.
   * @throws TypeError when the value would not survive JSON.
   */
  flash(key: string, value: unknown): void {
    this.#state.assertUsable('flash');
    assertJSONValue(value, `session.flash(${JSON.stringify(key)})`);
    const all = { ...((this.#state.data[FLASH_KEY] as Record<string, unknown[]>) ?? {}) };
    all[key] = [...(all[key] ?? []), value];
    this.#state.data[FLASH_KEY] = all;
  }
  /** The flash messages under `key`, oldest first, removed as they are read (`[]` for none). */
  flashes<T = unknown>(key: string): T[] {
    const all = this.#state.data[FLASH_KEY] as Record<string, T[]> | undefined;
    if (!all || !Object.hasOwn(all, key)) return [];
    this.#state.assertUsable('flashes');
    const { [key]: read, ...rest } = all;
    if (Object.keys(rest).length === 0) delete this.#state.data[FLASH_KEY];
    else this.#state.data[FLASH_KEY] = rest;
    return read ?? [];
  }
  /** Removes `key`. */
  delete(key: string): void {
    this.#state.assertUsable('delete');
    delete this.#state.data[key];
  }
  has(key: string): boolean {
    return Object.hasOwn(this.#state.data, key);
  }
  /** Removes every value (the session itself stays; see `destroy`). */
  clear(): void {
    this.#state.assertUsable('clear');
    this.#state.data = {};
  }
  /** The keys, in insertion order. */
  keys(): string[] {
    return Object.keys(this.#state.data);
  }
  /**
   * Gives the session a new id, keeping its data, and destroys the old id in the store. Call
   * it after a login (against session fixation).
   */
  regenerate(): Promise<void> {
    return this.#state.regenerate();
  }
  /** Wipes the data, removes the session from the store and clears the cookie. */
  destroy(): Promise<void> {
    return this.#state.destroy();
  }
  /**
   * Saves now rather than when the application returns — for a streaming response, whose
   * headers (and the cookie) leave before the body ends.
   */
  save(): Promise<void> {
    return this.#state.commit('save');
  }
  /** Extends the session's life now (the middleware does this by itself when needed). */
  touch(): Promise<void> {
    return this.#state.commit('touch');
  }
}
