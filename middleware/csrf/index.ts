/**
 * `mortar/csrf` — cross-site request forgery protection, two checks on every unsafe request
 * (any method but GET, HEAD, OPTIONS, TRACE):
 *
 * 1. Where it came from (the stateless check of Go 1.25's `CrossOriginProtection` and Hono's
 *    `csrf`): a browser says `Sec-Fetch-Site`; `same-origin` and `none` (typed, bookmarked)
 *    pass, `same-site` and `cross-site` do not. Without it, an `Origin` must name the
 *    request's own origin. A request with neither is not from a browser and passes this check.
 *    `trustedOrigins` lists other origins allowed (a separate front-end site).
 * 2. The synchronizer token (OWASP), bound to the session: `await csrfToken(environ)` gives
 *    the token to put in a form (`<input type="hidden" name="_csrf">`) or a header
 *    (`X-CSRF-Token`, for scripts); an unsafe request must carry the session's token, compared
 *    in constant time. `token: false` keeps only the first check.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { csrf, csrfToken } from 'mortar/csrf';
 * import { session } from 'mortar/session';
 * const app = compose(session({ secret }), csrf())(site);      // inside session()
 * // in a form: `<input type="hidden" name="_csrf" value="${await csrfToken(environ)}">`
 * ```
 *
 * A refused request gets 403, negotiated by `Accept` like every mortar error, saying which
 * check failed. The form field is read from a copy of the request (`clone()`), so the
 * application still reads the whole body.
 * @module mortar/csrf
 */

import { is, optionChecker } from '../../src/_internal/options.js';
import { defineEnvironKey, type EnvironKey } from '../../src/environ.js';
import { HTTPError } from '../../src/http-error.js';
import type { Environ, Middleware } from '../../src/types.js';
import { base64url, constantTimeEqual } from '../_shared/crypto.js';
import { crossOrigin, originSet } from '../_shared/origin.js';
import { getSession } from '../session/index.js';

/** Options of {@link csrf}. */
export interface CSRFOptions {
  /** Check the synchronizer token (needs `session()` outside). @default true */
  token?: boolean;
  /** The form field that carries the token. @default '_csrf' */
  fieldName?: string;
  /** The request header that carries the token. @default 'x-csrf-token' */
  headerName?: string;
  /** Other origins (`https://app.example`) whose unsafe requests are allowed. @default [] */
  trustedOrigins?: readonly string[];
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const TOKEN_KEY = 'mortar.csrf';
const installed: EnvironKey<true> = defineEnvironKey<true>('csrf', "csrf() from 'mortar/csrf'");

/**
 * The session's CSRF token (made on first use, 256 random bits, base64url), for forms and
 * scripts.
 * @throws Error naming csrf() or session() when either is not installed outside the caller.
 */
export async function csrfToken(environ: Environ): Promise<string> {
  installed.get(environ);
  const s = await getSession<{ [TOKEN_KEY]: string }>(environ);
  let token = s.get(TOKEN_KEY);
  if (token === undefined) {
    token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    s.set(TOKEN_KEY, token);
  }
  return token;
}

const checkOptions = optionChecker<CSRFOptions>('csrf', {
  token: is.boolean,
  fieldName: is.string,
  headerName: is.string,
  trustedOrigins: is.strings,
});

/**
 * Refuses cross-site unsafe requests and, unless `token: false`, unsafe requests without the
 * session's token.
 * @throws ConfigError at construction for an unknown option, or a `trustedOrigins` entry that
 *   is not an origin.
 */
export function csrf(options: CSRFOptions = {}): Middleware {
  checkOptions(options);
  const checkToken = options.token ?? true;
  const fieldName = options.fieldName ?? '_csrf';
  const headerName = options.headerName ?? 'x-csrf-token';
  const trusted = originSet(options.trustedOrigins, 'csrf: option "trustedOrigins"');
  return function csrf(app) {
    return async function csrfApp(request, environ) {
      const marked = installed.with(environ, true);
      // A WebSocket handshake is a GET that carries the cookies: a foreign page opening one
      // is cross-site WebSocket hijacking. Its origin is checked; it has no token to send. The
      // gateway told it apart already: environ.websocket is there only on a handshake it can
      // upgrade (elsewhere webSocket() answers 426, and no socket opens).
      if (SAFE.has(request.method)) {
        if (environ.websocket === undefined) return app(request, marked);
        const crossSite = crossOrigin(request, trusted);
        if (crossSite)
          throw new HTTPError(403, { body: `CSRF: WebSocket handshake: ${crossSite}` });
        return app(request, marked);
      }
      const crossSite = crossOrigin(request, trusted);
      if (crossSite) throw new HTTPError(403, { body: `CSRF: ${crossSite}` });
      if (checkToken) {
        const problem = await tokenProblem(request, environ, fieldName, headerName);
        if (problem) throw new HTTPError(403, { body: `CSRF: ${problem}` });
      }
      return app(request, marked);
    };
  };
}

/** What is wrong with the request's token, or `undefined` when it is the session's. */
async function tokenProblem(
  request: Request,
  environ: Environ,
  fieldName: string,
  headerName: string,
): Promise<string | undefined> {
  const s = await getSession<{ [TOKEN_KEY]: string }>(environ);
  const expected = s.get(TOKEN_KEY);
  if (expected === undefined) return 'the session has no token (render the form with csrfToken())';
  let given = request.headers.get(headerName);
  const type = request.headers.get('content-type') ?? '';
  if (
    given === null &&
    /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)
  ) {
    const field = (
      await request
        .clone()
        .formData()
        .catch(() => undefined)
    )?.get(fieldName);
    given = typeof field === 'string' ? field : null;
  }
  if (given === null) return `no token in the ${fieldName} field or the ${headerName} header`;
  return constantTimeEqual(given, expected) ? undefined : 'the token is not this session’s';
}
