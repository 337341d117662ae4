/**
 * The session middleware's options, checked and resolved once, when `session()` is called.
 */
import { ConfigError, is, optionChecker, shown, valueKind } from '../../src/_internal/options.js';
import { CookieStore, Sealer } from './cookie-store.js';
import { KeyedLock } from './lock.js';
import { parseSecrets, type Secrets } from './signing.js';
import { MemoryStore, type ServerStore } from './store.js';

/** The session cookie's attributes (RFC 6265bis §5.6). */
export interface SessionCookieOptions {
  /** @default '/' */
  path?: string;
  /** `Domain`; unset: a host-only cookie. @default undefined */
  domain?: string;
  /** @default true */
  httpOnly?: boolean;
  /** `'auto'`: `Secure` when the request came over https (see proxyFix behind a proxy). @default 'auto' */
  secure?: boolean | 'auto';
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** A CHIPS partitioned cookie. @default false */
  partitioned?: boolean;
  /** `Max-Age` in seconds; unset: a browser-session cookie. @default undefined */
  maxAge?: number;
}

/** Options of `session()`. */
export interface SessionOptions {
  /**
   * 32 or more characters, or `{ 1: old, 2: new }` for rotation: the highest id signs and
   * seals, every id verifies. Required.
   */
  secret: string | Readonly<Record<number | string, string>>;
  /** Where sessions live. @default new MemoryStore() */
  store?: ServerStore | CookieStore;
  /** The cookie name. @default 'mortar_session' */
  name?: string;
  /** The cookie's attributes. */
  cookie?: SessionCookieOptions;
  /** Seconds without a request after which a session ends. @default 86_400 (a day) */
  idleTimeout?: number;
  /** Seconds after creation at which a session ends, used or not. @default 604_800 (a week) */
  absoluteTimeout?: number;
  /** Re-send the cookie (and refresh its `Max-Age`) on every response. @default false */
  rolling?: boolean;
  /** Where the one line about an unavailable store goes. @default console.error */
  log?: (line: string) => void;
}

/** One `session()` instance's resolved options and shared state. */
export interface SessionConfig {
  secrets: Secrets;
  /** The server-side store, or `undefined` when sessions live in the cookie. */
  store: ServerStore | undefined;
  /** The cookie store and its sealer, when sessions live in the cookie. */
  cookieStore: CookieStore | undefined;
  sealer: Sealer | undefined;
  /** Serialises the requests of one session within this process (one per store). */
  lock: KeyedLock;
  name: string;
  cookie: Required<Pick<SessionCookieOptions, 'path' | 'httpOnly' | 'secure' | 'sameSite'>> &
    SessionCookieOptions;
  /** Seconds. */
  idleTimeout: number;
  /** Seconds. */
  absoluteTimeout: number;
  /** Milliseconds since the last touch after which an unchanged session is touched again. */
  touchAfter: number;
  rolling: boolean;
  log: (line: string) => void;
  /** Whether the store was last seen down (the 503 path logs once per outage). */
  health: { down: boolean };
}

const locks = new WeakMap<object, KeyedLock>();
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 6265bis §5.6.1: user agents cap a cookie's lifetime at 400 days. */
const MAX_COOKIE_SECONDS = 400 * 86_400;

function seconds(value: number | undefined, fallback: number, option: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result <= 0) {
    throw new ConfigError(
      `session: option "${option}" must be seconds (an integer ≥ 1), got ${shown(value)}`,
    );
  }
  // express-session's cookie.maxAge is in milliseconds; here 3_600_000 would be 41 days.
  if (result > MAX_COOKIE_SECONDS || (result >= 1_000_000 && result % 60_000 === 0)) {
    throw new ConfigError(
      `session: option "${option}" is in seconds; ${result} looks like milliseconds (${result / 1000} s?). Cookies last at most 400 days (${MAX_COOKIE_SECONDS} s)`,
    );
  }
  return result;
}

const checkOptions = optionChecker<SessionOptions>('session', {
  secret: is.required(
    valueKind(
      'a string of 32 or more characters, or { 1: old, 2: new }',
      (v) => typeof v === 'string' || (typeof v === 'object' && v !== null),
    ),
  ),
  store: is.object,
  name: is.string,
  cookie: is.object,
  idleTimeout: is.seconds(1),
  absoluteTimeout: is.seconds(1),
  rolling: is.boolean,
  log: is.function,
});
const checkCookieOptions = optionChecker<SessionCookieOptions>(
  'session',
  {
    path: is.string,
    domain: is.string,
    httpOnly: is.boolean,
    secure: is.either(is.boolean, is.oneOf('auto')),
    sameSite: is.oneOf('lax', 'strict', 'none'),
    partitioned: is.boolean,
    maxAge: is.seconds(1),
  },
  'cookie.',
);

/**
 * Checks and resolves the options of `session()`.
 * @throws ConfigError (a TypeError) naming the option that is missing or wrong.
 */
export function resolveSessionOptions(options: SessionOptions): SessionConfig {
  checkOptions(options);
  checkCookieOptions(options.cookie);
  const secrets = parseSecrets(options.secret);
  const store = options.store ?? new MemoryStore();
  const cookieStore = store instanceof CookieStore ? store : undefined;
  const name = options.name ?? 'mortar_session';
  if (!COOKIE_NAME.test(name))
    throw new ConfigError(`session: option "name" must be a cookie name, got ${shown(name)}`);
  const cookie = {
    path: '/',
    httpOnly: true,
    secure: 'auto' as const,
    sameSite: 'lax' as const,
    ...options.cookie,
  };
  if (cookie.sameSite === 'none' && cookie.secure === false) {
    throw new ConfigError(
      'session: option "cookie.sameSite" is "none", which needs cookie.secure (browsers drop it otherwise)',
    );
  }
  if (cookie.maxAge !== undefined) seconds(cookie.maxAge, 1, 'cookie.maxAge');
  const idleTimeout = seconds(options.idleTimeout, 86_400, 'idleTimeout');
  const absoluteTimeout = seconds(options.absoluteTimeout, 604_800, 'absoluteTimeout');
  let lock = locks.get(store);
  if (!lock) {
    lock = new KeyedLock();
    locks.set(store, lock);
  }
  return {
    secrets,
    store: cookieStore ? undefined : (store as ServerStore),
    cookieStore,
    sealer: cookieStore ? new Sealer(secrets, cookieStore.iterations, idleTimeout) : undefined,
    lock,
    name,
    cookie,
    idleTimeout,
    absoluteTimeout,
    // An unchanged session is touched (its expiry pushed back) on a request that comes
    // min(60 s, idleTimeout / 10) or more after its last touch: at most one touch a minute
    // with the default day-long idle timeout, and never a write on every request.
    touchAfter: Math.min(60, idleTimeout / 10) * 1000,
    rolling: options.rolling ?? false,
    log: options.log ?? ((line) => console.error(line)),
    health: { down: false },
  };
}
