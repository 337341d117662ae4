/**
 * `CookieStore`: the whole session sealed into the cookie with iron-webcrypto (iron-session's
 * approach), with password rotation and chunking past the 4 KB cookie limit.
 */
import * as Iron from 'iron-webcrypto';
import { is, optionChecker } from '../../src/_internal/options.js';
import type { Secrets } from './signing.js';
import type { SessionRecord } from './store.js';

/** Options of {@link CookieStore}. */
export interface CookieStoreOptions {
  /**
   * Most cookies one session may span (`name.0` … `name.N-1`, about 4 KB each); a session
   * larger than that fails to save with an error that gives its size.
   * @default 5
   */
  maxChunks?: number;
  /**
   * PBKDF2 iterations for the sealing keys (iron's default is 1). The secret
   * must already carry 32+ characters of entropy, so this is a margin against weak secrets;
   * each further 1000 iterations costs about 0.8 ms per seal. Seals made with iron's default
   * are still read.
   * @default 100
   */
  iterations?: number;
}

const checkCookieStoreOptions = optionChecker<CookieStoreOptions>('CookieStore', {
  maxChunks: is.positiveInteger,
  iterations: is.positiveInteger,
});

/**
 * Keeps the whole session in the client's cookie, sealed (encrypted and authenticated) with
 * the session `secret`. Nothing is stored on the server, so nothing needs sharing between
 * processes — and nothing can be revoked: `destroy()` clears the client's cookie, but a copy
 * of an old cookie stays valid until its seal expires (the idle timeout). Concurrent requests
 * of one client each carry their own copy; the response that arrives last wins.
 */
export class CookieStore {
  readonly kind = 'cookie';
  readonly maxChunks: number;
  readonly iterations: number;

  /** @throws ConfigError for an unknown option or a value of the wrong kind, naming it. */
  constructor(options: CookieStoreOptions = {}) {
    checkCookieStoreOptions(options);
    this.maxChunks = options.maxChunks ?? 5;
    this.iterations = options.iterations ?? 100;
  }
}

/** What a sealed cookie holds. */
export interface SealedSession extends SessionRecord {
  id: string;
}

const CACHE_SIZE = 1000;

/**
 * Seals and unseals sessions for one middleware. Unsealing is cached by cookie value (a seal
 * this process made or already checked is not derived again), which makes a request that
 * reads and rewrites a cookie session cost one seal.
 */
export class Sealer {
  readonly #secrets: Secrets;
  readonly #options: Iron.SealOptions;
  readonly #legacy: Iron.SealOptions;
  readonly #passwords: Record<string, string>;
  readonly #cache = new Map<string, { session: SealedSession; expires: number }>();

  /** @param ttl - Seconds a seal stays valid (the idle timeout). */
  constructor(secrets: Secrets, iterations: number, ttl: number) {
    this.#secrets = secrets;
    this.#passwords = Object.fromEntries(secrets.all);
    const withIterations = (count: number): Iron.SealOptions => ({
      ...Iron.defaults,
      encryption: { ...Iron.defaults.encryption, iterations: count },
      integrity: { ...Iron.defaults.integrity, iterations: count },
      ttl: ttl * 1000,
    });
    this.#options = withIterations(iterations);
    this.#legacy = withIterations(Iron.defaults.encryption.iterations);
  }

  /** Seals `session` under the newest secret. */
  async seal(session: SealedSession): Promise<string> {
    const { id, secret } = this.#secrets.current;
    const sealed = await Iron.seal(session, { id, secret }, this.#options);
    this.#remember(sealed, session);
    return sealed;
  }

  /** The session in `sealed`, or `undefined` when it is forged, altered or expired. */
  async unseal(sealed: string): Promise<SealedSession | undefined> {
    const cached = this.#cache.get(sealed);
    if (cached) {
      if (cached.expires > Date.now()) return structuredClone(cached.session);
      this.#cache.delete(sealed);
      return undefined;
    }
    let session: unknown;
    try {
      session = await Iron.unseal(sealed, this.#passwords, this.#options);
    } catch {
      try {
        // A seal made with iron's default iterations (1), before they were raised.
        session = await Iron.unseal(sealed, this.#passwords, this.#legacy);
      } catch {
        return undefined;
      }
    }
    if (!isSealedSession(session)) return undefined;
    this.#remember(sealed, session);
    return structuredClone(session);
  }

  #remember(sealed: string, session: SealedSession): void {
    const expiration = Number(sealed.split('*')[5]);
    if (this.#cache.size >= CACHE_SIZE)
      this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(sealed, {
      session: structuredClone(session),
      expires: Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now(),
    });
  }
}

function isSealedSession(value: unknown): value is SealedSession {
  const v = value as Partial<SealedSession> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    typeof v.data === 'object' &&
    v.data !== null &&
    typeof v.createdAt === 'number' &&
    typeof v.accessedAt === 'number'
  );
}

/** Room for a cookie's value within the 4096 bytes browsers keep for name and value. */
const COOKIE_ROOM = 4000;

/**
 * Splits a sealed value into cookies: `name` when it fits in one, else `name.0` … `name.N-1`.
 *
 * @returns The cookies to set, in order.
 * @throws Error when more than `maxChunks` cookies would be needed, with the size.
 */
export function chunk(name: string, value: string, maxChunks: number): [string, string][] {
  const room = COOKIE_ROOM - name.length - 3;
  if (value.length <= room) return [[name, value]];
  const count = Math.ceil(value.length / room);
  if (count > maxChunks) {
    throw new Error(
      `session: the sealed session is ${value.length} bytes, more than ${maxChunks} cookies of ~${room} bytes hold; store less in it, raise CookieStore maxChunks, or use a server-side store`,
    );
  }
  return Array.from({ length: count }, (_, i) => [
    `${name}.${i}`,
    value.slice(i * room, (i + 1) * room),
  ]);
}

/** The sealed value from the request's cookies (`name`, else `name.0` … `name.{maxChunks-1}`). */
export function unchunk(
  cookies: Readonly<Record<string, string | undefined>>,
  name: string,
  maxChunks: number,
): string | undefined {
  const whole = cookies[name];
  if (whole) return whole;
  let value = '';
  for (let i = 0; i < maxChunks; i++) {
    const part = cookies[`${name}.${i}`];
    if (part === undefined) break;
    value += part;
  }
  return value || undefined;
}

/**
 * The names of this session's cookies that the request carries: `name` and the chunk names
 * the store can have written (`name.0` … `name.{maxChunks-1}`) — never every `name.N` a client
 * sends, which would answer 700 cookies with 700 `Set-Cookie` lines (a cookie bomb).
 */
export function chunkNames(
  cookies: Readonly<Record<string, string | undefined>>,
  name: string,
  maxChunks: number,
): string[] {
  const names: string[] = [];
  if (cookies[name] !== undefined) names.push(name);
  for (let i = 0; i < maxChunks; i++) {
    if (cookies[`${name}.${i}`] !== undefined) names.push(`${name}.${i}`);
  }
  return names;
}
