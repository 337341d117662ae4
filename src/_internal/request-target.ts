/**
 * The one request-target and `Host` grammar every gateway (and TestClient) applies, so a path
 * means the same thing whichever front end delivered it. Pure: no I/O, no Node modules.
 */

const VALID_PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+$/;
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * RFC 9110 §7.2 `Host` (RFC 3986 §3.2.2–3.2.3): an IP literal in brackets, or a name of RFC
 * 3986's unreserved characters (so `_`, which nginx's upstream names carry, is allowed; `/`,
 * `@`, spaces are not), and an optional port of 1–5 digits.
 */
const HOST = /^(\[[A-Fa-f0-9:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{1,5}))?$/;

/** A host as {@link parseHost} reads it. */
export interface HostParts {
  /** Lower case; an IPv6 literal keeps its brackets (`[::1]`). */
  hostname: string;
  /** The port written, 0–65535; `undefined` when none was. */
  port: number | undefined;
}

/**
 * Reads `host[:port]` by the one grammar every part of mortar uses — the gateways for `Host`,
 * urlmap for its host keys, the CLI for `--fastcgi HOST:PORT`.
 *
 * @returns The parts, or `undefined` for a malformed host or a port above 65535 (which would
 *   make every `new URL(request.url)` throw downstream).
 */
export function parseHost(text: string): HostParts | undefined {
  const match = HOST.exec(text);
  if (match === null) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && port > 65_535) return undefined;
  return { hostname: match[1]!.toLowerCase(), port };
}

/** Whether `text` is a valid `host[:port]` (see {@link parseHost}), without building its parts. */
export function isValidHost(text: string): boolean {
  if (!HOST.test(text)) return false;
  // Only a five-digit port can be over 65535; no match array is made on the hot path.
  const colon = text.lastIndexOf(':');
  return (
    colon === -1 ||
    text.length - colon <= 5 ||
    text.endsWith(']') ||
    Number(text.slice(colon + 1)) <= 65_535
  );
}

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
