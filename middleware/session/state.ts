/**
 * The session state machine: loading a session from its cookie and store (never adopting an
 * unknown, expired or forged one), tracking what the request changed, and saving it — merged
 * into what concurrent requests saved, for stores that can — before the response leaves.
 */
import { parseCookie } from 'cookie';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import { requestHeader } from '../../src/request-header.js';
import type { SessionConfig } from './config.js';
import { chunk, chunkNames, unchunk } from './cookie-store.js';
import { sessionSetCookie, withCookies } from './cookies.js';
import { Session, type SessionBackend } from './session.js';
import { newSessionId, signId, verifyId } from './signing.js';
import { type ServerStore, type SessionRecord, StoreUnavailableError } from './store.js';

/** The data of a state not loaded yet (never written to). */
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * One request's session state behind a {@link Session}: not loaded → loaded (and, for a
 * server-side store, the session's lock held) → committed, then released by {@link finish}.
 */
export class SessionState implements SessionBackend {
  readonly #config: SessionConfig;
  readonly #request: Request;
  #loading: Promise<Session> | undefined;
  #release: (() => void) | undefined;
  // Everything below is set when the session is first loaded: a request that never touches
  // the session allocates nothing but this object.
  #snapshot: Map<string, string> | undefined;
  #hadCookie = false;
  /** The names of this session's cookies the request carried (read with the Cookie header, once). */
  #carried: readonly string[] = [];
  #regenerated = false;
  #destroyed = false;
  #cookies: Map<string, string> | undefined;
  used = false;
  id = '';
  isNew = true;
  createdAt = 0;
  accessedAt = 0;
  data: Record<string, unknown> = EMPTY;

  constructor(config: SessionConfig, request: Request) {
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
      this.#carried = chunkNames(cookies, config.name, config.cookieStore!.maxChunks);
      this.#hadCookie = this.#carried.length > 0;
      const sealed = unchunk(cookies, config.name, config.cookieStore!.maxChunks);
      found = sealed === undefined ? undefined : await config.sealer.unseal(sealed);
    } else {
      const raw = cookies[config.name];
      this.#hadCookie = raw !== undefined;
      const id = raw === undefined ? undefined : await verifyId(raw, config.secrets);
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
  async #store<T>(call: (store: ServerStore) => Promise<T>): Promise<T> {
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
   * @param mode - `'auto'`: after the application, save what changed and touch when due;
   *   `'save'` (`session.save()`): the same, now, after the load; `'touch'`
   *   (`session.touch()`): also extend the session when a touch is not due yet.
   */
  async commit(mode: 'auto' | 'save' | 'touch'): Promise<void> {
    if (mode !== 'auto') await this.load();
    const config = this.#config;
    const now = Date.now();
    if (this.#destroyed) {
      if (this.#hadCookie) this.#clearCookies();
      return;
    }
    const { set, deleted } = this.#changes();
    const changed = set.length > 0 || deleted.length > 0;
    if (this.isNew && !changed && !this.#regenerated) return; // saveUninitialized: false
    const touchDue = mode === 'touch' || now - this.accessedAt >= config.touchAfter;
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
      if (fresh || config.rolling) {
        this.#setCookie(config.name, await signId(this.id, config.secrets));
      }
    }
    this.isNew = false;
    this.#regenerated = false;
    this.#snapshot = snapshot(this.data);
  }

  #setCookie(name: string, value: string): void {
    const maxAge = this.#config.cookie.maxAge;
    this.#cookies!.set(name, sessionSetCookie(this.#config, this.#request, name, value, maxAge));
  }

  #clearCookie(name: string): void {
    this.#cookies!.set(name, sessionSetCookie(this.#config, this.#request, name, '', 0));
  }

  /** Clears every cookie of this session that the request carried. */
  #clearCookies(): void {
    const names = this.#config.sealer ? this.#carried : [this.#config.name];
    for (const name of names) this.#clearCookie(name);
  }

  /** Clears the chunk cookies the request carried that the new seal no longer uses. */
  #clearStaleChunks(keep: ReadonlySet<string>): void {
    for (const name of this.#carried) if (!keep.has(name)) this.#clearCookie(name);
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
      await this.commit('auto');
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
