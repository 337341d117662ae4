/**
 * `mortar/session` — sessions (Beaker's SessionMiddleware, express-session, iron-session).
 *
 * ```ts
 * import { compose, FastResponse } from 'mortar';
 * import { getSession, session } from 'mortar/session';
 *
 * const app = compose(session({ secret: process.env.SESSION_SECRET! }))(async (request, environ) => {
 *   const s = await getSession<{ visits: number }>(environ);
 *   s.set('visits', (s.get('visits') ?? 0) + 1);
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
 * Where sessions live: {@link MemoryStore} (the default, one process), {@link CookieStore}
 * (sealed into the cookie with iron), `FileStore` from `mortar/session/file` (one host, many
 * processes) and `RedisStore` from `mortar/session/redis` (many hosts). This entry loads no
 * Node module: it runs on Deno, Bun and Workers as it is.
 *
 * Concurrency, per store:
 * - within one process, requests of one session run their session work one after the other
 *   (from `getSession` to the save), so read-modify-write of a value is never lost;
 * - FileStore and RedisStore, shared between processes, save by merging the keys a request
 *   changed (set, deleted, or changed in place) into what is stored now, atomically (a file
 *   lock; a Redis compare-and-set script, retried): a concurrent request in another process
 *   never loses a key it wrote, though two processes writing the *same* key at once keep the
 *   later save;
 * - CookieStore keeps the session in the client: the response that arrives last wins.
 * @module mortar/session
 */
import { isThenable } from '../../src/_internal/thenable.js';
import { defineEnvironKey } from '../../src/environ.js';
import type { Environ, Middleware } from '../../src/types.js';
import { resolveSessionOptions, type SessionOptions } from './config.js';
import type { Session } from './session.js';
import { SessionState } from './state.js';

export type { SessionCookieOptions, SessionOptions } from './config.js';
export { CookieStore, type CookieStoreOptions } from './cookie-store.js';
export { Session } from './session.js';
export {
  MemoryStore,
  type MemoryStoreOptions,
  type ServerStore,
  type SessionRecord,
  StoreUnavailableError,
} from './store.js';

const sessionKey = defineEnvironKey<SessionState>('session', "session() from 'mortar/session'");

/**
 * The session of the current request, loaded on first use (the store is read then, once).
 *
 * @returns A promise of the {@link Session}.
 * @throws Error at once when `session()` does not wrap the application; the promise rejects
 *   with {@link StoreUnavailableError} when the store is down (left unhandled, the middleware
 *   answers 503).
 */
export function getSession<Data extends Record<string, unknown> = Record<string, unknown>>(
  environ: Environ,
): Promise<Session<Data>> {
  return sessionKey.get(environ).load() as Promise<Session<Data>>;
}

/**
 * The session middleware: lazy loading (`await getSession(environ)`), saved only when changed
 * and before the response leaves, ids HMAC-signed, never an unknown id adopted.
 *
 * ```ts
 * session({
 *   secret,                      // required: ≥ 32 characters, or a list for rotation
 *   store: new MemoryStore(),    // or CookieStore, FileStore, RedisStore
 *   name: 'mortar_session',      // the cookie's name
 *   cookie: { path: '/', httpOnly: true, secure: 'auto', sameSite: 'lax', maxAge: undefined },
 *   idleTimeout: 86_400,         // seconds without a request before the session ends
 *   absoluteTimeout: 604_800,    // seconds from creation, whatever the activity
 *   rolling: false,              // re-send the cookie on every response
 *   log: console.error,          // one line when the store is down (503)
 * })
 * ```
 *
 * Durations are seconds (`maxAge` too, not express-session's milliseconds). See the module
 * comment for the stores and the rules.
 *
 * @throws TypeError at construction for a missing or short secret, or a bad option — the
 *   message names the option.
 */
export function session(options: SessionOptions): Middleware {
  const config = resolveSessionOptions(options);
  return function session(app) {
    return function sessionApp(request, environ) {
      const state = new SessionState(config, request);
      let result: Response | Promise<Response>;
      try {
        result = app(request, sessionKey.with(environ, state));
      } catch (error) {
        return state.finish(undefined, error);
      }
      if (!isThenable<Response>(result)) return state.used ? state.finish(result) : result;
      return Promise.resolve(result).then(
        (response) => (state.used ? state.finish(response) : response),
        (error: unknown) => state.finish(undefined, error),
      );
    };
  };
}
