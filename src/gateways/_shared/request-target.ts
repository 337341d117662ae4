/**
 * The one request-target and `Host` grammar every gateway (and TestClient) applies, so a path
 * means the same thing whichever front end delivered it. Pure: no I/O, no Node modules.
 */

const VALID_PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+$/;
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * RFC 9110 §7.2 `Host`: an IP literal, or a reg-name of RFC 3986's unreserved characters
 * (so `_`, which nginx's upstream names carry, is allowed; `/`, `@`, spaces are not), and an
 * optional port.
 */
export const VALID_HOST = /^(?:\[[A-Fa-f0-9:.]+\]|[A-Za-z0-9._~-]+)(?::\d{1,5})?$/;

/**
 * The path of an HTTP request target, percent-encoded as received, or an error message when
 * the target is malformed (RFC 9112 §3.2: origin-form or absolute-form; RFC 3986 path
 * characters only; no dot segments, which the URL parser would silently resolve).
 *
 * @param target - The request target as sent: `/a/b?q`, or `http://host/a/b?q`.
 * @returns The path (`/a/b`), or `{ error }` saying what is wrong with it.
 */
export function requestTargetPath(target: string): string | { error: string } {
  let path = target;
  if (target.charCodeAt(0) !== 47 /* "/" */) {
    const match = /^https?:\/\/[^/?#]+(\/[^?#]*)?/i.exec(target);
    if (!match) return { error: 'the request target is not a path or an absolute http(s) URL' };
    path = match[1] ?? '/';
  }
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  if (!VALID_PATH.test(path)) {
    return { error: 'the request path has a character outside RFC 3986 or a malformed %-escape' };
  }
  if (DOT_SEGMENT.test(path)) return { error: 'the request path has a "." or ".." segment' };
  return path;
}
