/**
 * The session's cookies: `Set-Cookie` values with the configured attributes (RFC 6265bis),
 * and adding them to the application's response.
 */
import { parseSetCookie, stringifySetCookie } from 'cookie';
import { FastResponse } from '../../src/response.js';
import type { SessionConfig } from './config.js';

/**
 * A `Set-Cookie` value for the session cookie `name`.
 * @param maxAge - Seconds; `0` with an `Expires` in 1970 clears the cookie.
 */
export function sessionSetCookie(
  config: SessionConfig,
  request: Request,
  name: string,
  value: string,
  maxAge: number | undefined,
): string {
  const { cookie } = config;
  const secure = cookie.secure === 'auto' ? request.url.startsWith('https:') : cookie.secure;
  return stringifySetCookie(name, value, {
    path: cookie.path,
    domain: cookie.domain,
    httpOnly: cookie.httpOnly,
    secure,
    sameSite: cookie.sameSite,
    partitioned: cookie.partitioned,
    maxAge,
    ...(maxAge === 0 ? { expires: new Date(0) } : {}),
    encode: (text: string) => text,
  });
}

/**
 * `response` with the session's Set-Cookie headers added; where the application set a cookie
 * with the same name, path and domain, the later one (the session's) is kept. The response's
 * own headers are changed when they can be — so a FastResponse keeps the Content-Type and
 * Content-Length its body implies — and an immutable response (`Response.redirect()`, a
 * proxied `fetch()`) is copied.
 */
export function withCookies(response: Response, cookies: readonly string[]): Response {
  if (cookies.length === 0) return response;
  const merged = mergeSetCookies(response.headers.getSetCookie(), cookies);
  try {
    response.headers.delete('set-cookie');
    for (const header of merged) response.headers.append('set-cookie', header);
    return response;
  } catch {
    // Immutable headers: copy the response.
  }
  const headers = new Headers();
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') headers.append(name, value);
  }
  for (const header of merged) headers.append('set-cookie', header);
  return new FastResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** The application's Set-Cookie lines then ours, one per name, path and domain (ours last). */
function mergeSetCookies(theirs: readonly string[], ours: readonly string[]): string[] {
  const byIdentity = new Map<string, string>();
  for (const header of [...theirs, ...ours]) {
    const parsed = parseSetCookie(header);
    const identity = `${parsed.name}\0${parsed.path ?? ''}\0${parsed.domain ?? ''}`;
    byIdentity.delete(identity);
    byIdentity.set(identity, header);
  }
  return [...byIdentity.values()];
}
