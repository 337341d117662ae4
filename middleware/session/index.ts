/**
 * `mortar/session` — sessions (Beaker's SessionMiddleware, express-session, iron-session).
 *
 * ```ts
 * import { session, getSession, FileStore } from 'mortar/session';
 * const app = compose(session({ secret: process.env.SESSION_SECRET! }))(async (request, environ) => {
 *   const s = await getSession(environ);
 *   s.set('visits', ((s.get('visits') as number) ?? 0) + 1);
 *   return new FastResponse(`visit ${s.get('visits')}`);
 * });
 * ```
 *
 * Lazy: nothing is read, and no cookie sent, until the application calls `getSession`. The
 * session is saved only when a value changed (else touched when the idle timeout or
 * `rolling` needs it), and saved *before* the response leaves — also for a thrown
 * `HTTPError`, whose response gets the session cookie. An unknown, expired, altered or
 * forged cookie is never adopted: the client gets a new session with a new id.
 *
 * Concurrency, per store:
 * - within one process, requests of one session run their session work one after the other
 *   (from `getSession` to the save), so read-modify-write of a value is never lost;
 * - FileStore and RedisStore, shared between processes, save by merging the keys a request
 *   changed (set, deleted, or changed in place) into what is stored now, atomically (a file
 *   lock; Redis WATCH/MULTI with retry): a concurrent request in another process never loses
 *   a key it wrote, though two processes writing the *same* key at once keep the later save;
 * - CookieStore keeps the session in the client: the response that arrives last wins.
 *
 * Options (defaults): `secret` (required: 32+ characters, or `{ 1: old, 2: new }` — the
 * highest id signs, every id verifies), `store` (`new MemoryStore()`), `name`
 * (`'mortar_session'`), `cookie` (`path: '/'`, `httpOnly: true`, `secure: 'auto'` — true over
 * https —, `sameSite: 'lax'`, `domain`, `partitioned`, `maxAge` in seconds: unset, a browser
 * session cookie), `idleTimeout` (86 400 s), `absoluteTimeout` (604 800 s), `rolling` (false:
 * re-send the cookie on every response when true).
 */
import { parseCookie, parseSetCookie, stringifySetCookie } from 'cookie';
import { defineEnvironKey } from '../../src/environ.js';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import { requestHeader } from '../../src/request-header.js';
import { FastResponse } from '../../src/response.js';
import type { Environ, Middleware } from '../../src/types.js';
import { CookieStore, chunk, chunkNames, Sealer, unchunk } from './cookie-store.js';
import { KeyedLock } from './lock.js';
import { newSessionId, parseSecrets, type Secrets, signId, verifyId } from './signing.js';
import { MemoryStore, type SessionRecord, type Store, StoreUnavailableError } from './store.js';
import { assertJSONValue } from './values.js';

export { CookieStore, type CookieStoreOptions } from './cookie-store.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export {
  MemoryStore,
  type MemoryStoreOptions,
  type SessionRecord,
  type Store,
  StoreUnavailableError,
} from './store.js';

/** Cookie attributes (RFC 6265bis). */
export interface SessionCookieOptions {
  /** Default `'/'`. */
  path?: string;
  /** Default unset (host-only). */
  domain?: string;
  /** Default `true`. */
  httpOnly?: boolean;
  /** `'auto'` (default): Secure when the request came over https. */
  secure?: boolean | 'auto';
  /** Default `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** CHIPS partitioned cookie. Default `false`. */
  partitioned?: boolean;
  /** Cookie lifetime in seconds; unset (default): a browser-session cookie. */
  maxAge?: number;
}

/** Options of {@link session}; see the module comment for the defaults. */
export interface SessionOptions {
  /** 32+ characters, or `{ 1: old, 2: new }` for rotation (the highest id signs). */
  secret: string | Readonly<Record<number | string, string>>;
  /** Where sessions live. Default a new {@link MemoryStore}. */
  store?: Store | CookieStore;
  /** Cookie name. Default `'mortar_session'`. */
  name?: string;
  cookie?: SessionCookieOptions;
  /** Seconds without a request after which a session ends. Default `86_400`. */
  idleTimeout?: number;
  /** Seconds after creation at which a session ends, used or not. Default `604_800`. */
  absoluteTimeout?: number;
  /** Re-send the cookie (and refresh its Max-Age) on every response. Default `false`. */
  rolling?: boolean;
  /** Where the one line about an unavailable store goes. Default `console.error`. */
  log?: (line: string) => void;
}

interface Config {
  secrets: Secrets;
  store: Store | undefined;
  cookieStore: CookieStore | undefined;
  sealer: Sealer | undefined;
  lock: KeyedLock;
  name: string;
  cookie: Required<Pick<SessionCookieOptions, 'path' | 'httpOnly' | 'secure' | 'sameSite'>> &
    SessionCookieOptions;
  idleTimeout: number;
  absoluteTimeout: number;
  touchAfter: number;
  rolling: boolean;
  log: (line: string) => void;
  health: { down: boolean };
}

const locks = new WeakMap<object, KeyedLock>();
/** The data of a handle not loaded yet (never written to). */
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function seconds(value: number | undefined, fallback: number, option: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result <= 0) {
    throw new TypeError(`session: ${option} must be a whole number of seconds > 0, got ${value}`);
  }
  return result;
}

function configure(options: SessionOptions): Config {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('session: options are required ({ secret })');
  }
  const secrets = parseSecrets(options.secret);
  const store = options.store ?? new MemoryStore();
  const cookieStore = store instanceof CookieStore ? store : undefined;
  const name = options.name ?? 'mortar_session';
  if (!COOKIE_NAME.test(name))
    throw new TypeError(`session: options.name "${name}" is not a cookie name`);
  const cookie = {
    path: '/',
    httpOnly: true,
    secure: 'auto' as const,
    sameSite: 'lax' as const,
    ...options.cookie,
  };
  if (cookie.sameSite === 'none' && cookie.secure === false) {
    throw new TypeError(
      'session: cookie.sameSite "none" needs cookie.secure (browsers drop it otherwise)',
    );
  }
  if (cookie.maxAge !== undefined) seconds(cookie.maxAge, 1, 'cookie.maxAge');
  const idleTimeout = seconds(options.idleTimeout, 86_400, 'options.idleTimeout');
  const absoluteTimeout = seconds(options.absoluteTimeout, 604_800, 'options.absoluteTimeout');
  const server = cookieStore ? undefined : (store as Store);
  let lock = locks.get(store);
  if (!lock) {
    lock = new KeyedLock();
    locks.set(store, lock);
  }
  return {
    secrets,
    store: server,
    cookieStore,
    sealer: cookieStore ? new Sealer(secrets, cookieStore.iterations, idleTimeout) : undefined,
    lock,
    name,
    cookie,
    idleTimeout,
    absoluteTimeout,
    // Touch at most once per tenth of the idle timeout (and at least once a minute).
    touchAfter: Math.min(60, idleTimeout / 10) * 1000,
    rolling: options.rolling ?? false,
    log: options.log ?? ((line) => console.error(line)),
    health: { down: false },
  };
}

const sessionKey = defineEnvironKey<SessionHandle>('session', "session() from 'mortar/session'");

/**
 * The session of the current request, loaded on first use (the store is read then, once).
 *
 * @returns A promise of the {@link Session}.
 * @throws Error at once when `session()` does not wrap the application; the promise rejects
 *   with {@link StoreUnavailableError} when the store is down (left unhandled, the middleware
 *   answers 503).
 */
export function getSession(environ: Environ): Promise<Session> {
  return sessionKey.get(environ).load();
}

/**
 * The session middleware. See the module comment.
 *
 * @throws TypeError at construction for a missing or short secret, or a bad option — the
 *   message names the option.
 */
export function session(options: SessionOptions): Middleware {
  const config = configure(options);
  return (app) => (request, environ) => {
    const handle = new SessionHandle(config, request);
    let result: Response | Promise<Response>;
    try {
      result = app(request, sessionKey.with(environ, handle));
    } catch (error) {
      return handle.finish(undefined, error);
    }
    if (!(result instanceof Promise)) return handle.used ? handle.finish(result) : result;
    return result.then(
      (response) => (handle.used ? handle.finish(response) : response),
      (error: unknown) => handle.finish(undefined, error),
    );
  };
}

/**
 * One request's session. Values are JSON; `set` checks at once. Reads and writes are
 * synchronous once `getSession` resolved; `regenerate`, `destroy`, `save` and `touch` talk
 * to the store.
 */
export class Session {
  readonly #handle: SessionHandle;
  /** @internal */
  constructor(handle: SessionHandle) {
    this.#handle = handle;
  }
  /** The session id (192 random bits). A new session has one already; it is sent once saved. */
  get id(): string {
    return this.#handle.id;
  }
  /** True until the session is first saved. */
  get isNew(): boolean {
    return this.#handle.isNew;
  }
  /** When the session was created, in milliseconds since the epoch. */
  get createdAt(): number {
    return this.#handle.createdAt;
  }
  /** When the session was last saved or touched, in milliseconds since the epoch. */
  get accessedAt(): number {
    return this.#handle.accessedAt;
  }
  /** The value under `key`, or `undefined`. Change an object you got? `set` it again or not: changes are found at save. */
  get<T = unknown>(key: string): T | undefined {
    return this.#handle.data[key] as T | undefined;
  }
  /**
   * Stores `value` under `key`.
   * @throws TypeError when the value would not survive JSON (a Date, Map, BigInt, function,
   *   cycle …), naming where in it.
   */
  set(key: string, value: unknown): void {
    this.#handle.assertUsable('set');
    assertJSONValue(value, `session.set(${JSON.stringify(key)})`);
    this.#handle.data[key] = value;
  }
  /** Removes `key`. */
  delete(key: string): void {
    this.#handle.assertUsable('delete');
    delete this.#handle.data[key];
  }
  has(key: string): boolean {
    return Object.hasOwn(this.#handle.data, key);
  }
  /** Removes every value (the session itself stays; see `destroy`). */
  clear(): void {
    this.#handle.assertUsable('clear');
    this.#handle.data = {};
  }
  /** The keys, in insertion order. */
  keys(): string[] {
    return Object.keys(this.#handle.data);
  }
  /**
   * Gives the session a new id, keeping its data, and destroys the old id in the store. Call
   * it after a login (against session fixation).
   */
  regenerate(): Promise<void> {
    return this.#handle.regenerate();
  }
  /** Wipes the data, removes the session from the store and clears the cookie. */
  destroy(): Promise<void> {
    return this.#handle.destroy();
  }
  /**
   * Saves now rather than when the application returns — for a streaming response, whose
   * headers (and the cookie) leave before the body ends.
   */
  save(): Promise<void> {
    return this.#handle.commit(true);
  }
  /** Extends the session's life now (the middleware does this by itself when needed). */
  touch(): Promise<void> {
    return this.#handle.commit(true, true);
  }
}

/** The middleware's per-request state behind a {@link Session}. */
class SessionHandle {
  readonly #config: Config;
  readonly #request: Request;
  #loading: Promise<Session> | undefined;
  #release: (() => void) | undefined;
  // Everything below is set when the session is first loaded: a request that never touches
  // the session allocates nothing but this object.
  #snapshot: Map<string, string> | undefined;
  #hadCookie = false;
  #regenerated = false;
  #destroyed = false;
  #cookies: Map<string, string> | undefined;
  used = false;
  id = '';
  isNew = true;
  createdAt = 0;
  accessedAt = 0;
  data: Record<string, unknown> = EMPTY;

  constructor(config: Config, request: Request) {
    this.#config = config;
    this.#request = request;
  }

  load(): Promise<Session> {
    this.used = true;
    this.#loading ??= this.#load();
    return this.#loading;
  }

  assertUsable(action: string): void {
    if (this.#destroyed)
      throw new Error(`session.${action}(): the session was destroyed in this request`);
  }

  async #load(): Promise<Session> {
    const config = this.#config;
    const cookies = parseCookie(requestHeader(this.#request, 'cookie') ?? '', { decode: (v) => v });
    const now = Date.now();
    let found: (SessionRecord & { id: string }) | undefined;
    if (config.sealer) {
      this.#hadCookie = chunkNames(cookies, config.name).length > 0;
      const sealed = unchunk(cookies, config.name);
      found = sealed === undefined ? undefined : await config.sealer.unseal(sealed);
    } else {
      const raw = cookies[config.name];
      this.#hadCookie = raw !== undefined;
      const id = raw === undefined ? undefined : verifyId(raw, config.secrets);
      if (id !== undefined) {
        this.#release = await config.lock.acquire(id);
        const record = await this.#store((store) => store.get(id));
        if (record) found = { ...record, id };
        else this.#unlock();
      }
    }
    if (found && now - found.createdAt >= config.absoluteTimeout * 1000) {
      const expired = found.id;
      if (config.store) await this.#store((store) => store.destroy(expired));
      this.#unlock();
      found = undefined;
    }
    if (found) {
      this.id = found.id;
      this.isNew = false;
      this.createdAt = found.createdAt;
      this.accessedAt = found.accessedAt;
      this.data = found.data;
    } else {
      this.id = newSessionId();
      this.createdAt = now;
      this.accessedAt = now;
    }
    if (this.data === EMPTY) this.data = {};
    this.#snapshot = snapshot(this.data);
    this.#cookies = new Map();
    return new Session(this);
  }

  /** Runs a store call, turning any failure of the backing service into the 503 path. */
  async #store<T>(call: (store: Store) => Promise<T>): Promise<T> {
    const result = await call(this.#config.store!);
    if (this.#config.health.down) {
      this.#config.health.down = false;
      this.#config.log('mortar session: the store answers again; sessions are served');
    }
    return result;
  }

  #unlock(): void {
    this.#release?.();
    this.#release = undefined;
  }

  async regenerate(): Promise<void> {
    await this.#loading;
    this.assertUsable('regenerate');
    if (!this.isNew && this.#config.store) {
      const old = this.id;
      await this.#store((store) => store.destroy(old));
    }
    this.id = newSessionId();
    this.#regenerated = true;
  }

  async destroy(): Promise<void> {
    await this.#loading;
    if (!this.isNew && this.#config.store) {
      const id = this.id;
      await this.#store((store) => store.destroy(id));
    }
    this.data = {};
    this.#destroyed = true;
  }

  /** The keys changed since the last save (set, deleted or changed in place). */
  #changes(): { set: string[]; deleted: string[] } {
    const set: string[] = [];
    const before = this.#snapshot!;
    for (const [key, value] of Object.entries(this.data)) {
      if (before.get(key) !== JSON.stringify(value)) set.push(key);
    }
    const deleted = [...before.keys()].filter((key) => !Object.hasOwn(this.data, key));
    return { set, deleted };
  }

  /** Seconds the store keeps the session: the idle timeout, within the absolute one. */
  #ttl(now: number): number {
    const left = Math.floor((this.createdAt + this.#config.absoluteTimeout * 1000 - now) / 1000);
    return Math.max(1, Math.min(this.#config.idleTimeout, left));
  }

  /**
   * Saves or touches as needed and records the cookies to send.
   * @param explicit - Called by `save()`/`touch()`: wait for the load first.
   * @param forceTouch - `touch()`: extend even when not yet due.
   */
  async commit(explicit = false, forceTouch = false): Promise<void> {
    if (explicit) await this.load();
    const config = this.#config;
    const now = Date.now();
    if (this.#destroyed) {
      if (this.#hadCookie) this.#clearCookies();
      return;
    }
    const { set, deleted } = this.#changes();
    const changed = set.length > 0 || deleted.length > 0;
    if (this.isNew && !changed && !this.#regenerated) return; // saveUninitialized: false
    const touchDue = forceTouch || now - this.accessedAt >= config.touchAfter;
    const fresh = this.isNew || this.#regenerated;
    if (config.sealer) {
      if (!(changed || fresh || touchDue || config.rolling)) return;
      this.accessedAt = now;
      const sealed = await config.sealer.seal({
        id: this.id,
        data: this.data,
        createdAt: this.createdAt,
        accessedAt: now,
      });
      const cookies = chunk(config.name, sealed, config.cookieStore!.maxChunks);
      for (const [name, value] of cookies) this.#setCookie(name, value);
      this.#clearStaleChunks(new Set(cookies.map(([name]) => name)));
    } else {
      const ttl = this.#ttl(now);
      const record: SessionRecord = { data: this.data, createdAt: this.createdAt, accessedAt: now };
      if (fresh) {
        await this.#store((store) => store.set(this.id, record, ttl));
      } else if (changed) {
        const store = config.store!;
        if (store.update) {
          await this.#store((s) =>
            s.update!(this.id, ttl, (current) => merge(current, record, set, deleted)),
          );
        } else {
          await this.#store((s) => s.set(this.id, record, ttl));
        }
      } else if (touchDue || config.rolling) {
        await this.#store((store) => store.touch(this.id, record, ttl));
      } else {
        return;
      }
      this.accessedAt = now;
      if (fresh || config.rolling) this.#setCookie(config.name, signId(this.id, config.secrets));
    }
    this.isNew = false;
    this.#regenerated = false;
    this.#snapshot = snapshot(this.data);
  }

  #cookieAttributes(maxAge: number | undefined) {
    const { cookie } = this.#config;
    const secure =
      cookie.secure === 'auto' ? this.#request.url.startsWith('https:') : cookie.secure;
    return {
      path: cookie.path,
      domain: cookie.domain,
      httpOnly: cookie.httpOnly,
      secure,
      sameSite: cookie.sameSite,
      partitioned: cookie.partitioned,
      maxAge,
      encode: (value: string) => value,
    };
  }

  #setCookie(name: string, value: string): void {
    this.#cookies!.set(
      name,
      stringifySetCookie(name, value, this.#cookieAttributes(this.#config.cookie.maxAge)),
    );
  }

  #clearCookie(name: string): void {
    this.#cookies!.set(
      name,
      stringifySetCookie(name, '', { ...this.#cookieAttributes(0), expires: new Date(0) }),
    );
  }

  /** Clears every cookie of this session that the request carried. */
  #clearCookies(): void {
    const cookies = parseCookie(requestHeader(this.#request, 'cookie') ?? '');
    const names = this.#config.sealer
      ? chunkNames(cookies, this.#config.name)
      : [this.#config.name];
    for (const name of names) this.#clearCookie(name);
  }

  /** Clears the chunk cookies the request carried that the new seal no longer uses. */
  #clearStaleChunks(keep: ReadonlySet<string>): void {
    const cookies = parseCookie(requestHeader(this.#request, 'cookie') ?? '');
    for (const name of chunkNames(cookies, this.#config.name)) {
      if (!keep.has(name)) this.#clearCookie(name);
    }
  }

  /**
   * After the application: save, add the cookies, release the session lock. A thrown
   * HTTPError becomes its response (with the cookie); other errors are rethrown unsaved; an
   * unavailable store becomes a 503.
   */
  async finish(response: Response | undefined, error?: unknown): Promise<Response> {
    try {
      if (error !== undefined || response === undefined) {
        if (error instanceof StoreUnavailableError) return this.#unavailable(error);
        if (!(error instanceof HTTPError)) throw error;
        response = error.toResponse(this.#request);
      }
      if (!this.#loading) return response;
      await this.#loading;
      await this.commit();
      return withCookies(response, [...this.#cookies!.values()]);
    } catch (failure) {
      if (failure instanceof StoreUnavailableError) return this.#unavailable(failure);
      throw failure;
    } finally {
      if (this.#loading) await this.#loading.catch(() => {});
      this.#unlock();
    }
  }

  #unavailable(error: StoreUnavailableError): Response {
    const health = this.#config.health;
    if (!health.down) {
      health.down = true;
      this.#config.log(
        `mortar session: the store is unavailable (${error.message}); answering 503 until it returns`,
      );
    }
    return errorResponse(503, this.#request, 'sessions are unavailable; try again shortly', {
      'retry-after': '5',
    });
  }
}

function snapshot(data: Record<string, unknown>): Map<string, string> {
  return new Map(Object.entries(data).map(([key, value]) => [key, JSON.stringify(value)]));
}

/** Applies the keys a request changed to what is stored now (the cross-process merge). */
function merge(
  current: SessionRecord | undefined,
  mine: SessionRecord,
  set: readonly string[],
  deleted: readonly string[],
): SessionRecord {
  if (!current) return mine;
  const data = { ...current.data };
  for (const key of set) data[key] = mine.data[key];
  for (const key of deleted) delete data[key];
  return { data, createdAt: current.createdAt, accessedAt: mine.accessedAt };
}

/**
 * `response` with the session's Set-Cookie headers added; where the application set a cookie
 * with the same name, path and domain, the later one (the session's) is kept.
 */
function withCookies(response: Response, cookies: readonly string[]): Response {
  if (cookies.length === 0) return response;
  const all = [...response.headers.getSetCookie(), ...cookies];
  const byIdentity = new Map<string, string>();
  for (const header of all) {
    const parsed = parseSetCookie(header);
    byIdentity.delete(`${parsed.name}\0${parsed.path ?? ''}\0${parsed.domain ?? ''}`);
    byIdentity.set(`${parsed.name}\0${parsed.path ?? ''}\0${parsed.domain ?? ''}`, header);
  }
  const headers = new Headers();
  for (const [name, value] of response.headers)
    if (name !== 'set-cookie') headers.append(name, value);
  for (const header of byIdentity.values()) headers.append('set-cookie', header);
  return new FastResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
