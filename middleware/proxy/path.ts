/**
 * The upstream request target: the target's base path, then `environ.pathInfo` exactly as the
 * client sent it (still percent-encoded), then the raw query — joined as strings, never
 * decoded and re-encoded and never resolved with `new URL(relative, base)`, whose dot-segment
 * removal is how a prefix escapes its base (the @fastify/http-proxy advisories).
 *
 * A path that could leave the base on any upstream is refused instead of cleaned: a segment
 * that is `.` or `..` in any spelling (`%2e`, `%2E%2e`, double-encoded `%252e`), and a path
 * that holds `\`, `%5c` or NUL (`%00`), which some servers take for a separator or an end,
 * and `..;x`, which servers that drop path parameters (Tomcat) take for `..`.
 */
import { ConfigError, shown } from '../../src/_internal/options.js';

/** What a path is refused for, or `undefined` when it may be sent. */
export function unsafePath(pathInfo: string): string | undefined {
  // Fast path: nothing encoded, no backslash or NUL, no dot segment.
  if (!SUSPECT.test(pathInfo)) return undefined;
  if (pathInfo.includes('\\') || pathInfo.includes('\0')) {
    return 'a backslash or NUL in the path';
  }
  for (const segment of pathInfo.split('/')) {
    const decoded = decodeFully(segment);
    if (decoded === undefined) return 'a malformed percent-encoding in the path';
    if (decoded.includes('\\') || decoded.includes('\0')) {
      return 'an encoded backslash or NUL in the path';
    }
    // `..%2f..` is two dot segments to an upstream that decodes `%2f` first, and `..;x` one
    // to a server that drops path parameters (Tomcat, Spring).
    for (const piece of decoded.split('/')) {
      const name = piece.split(';', 1)[0];
      if (name === '.' || name === '..') return 'a dot segment in the path';
    }
  }
  return undefined;
}

/** A `%`, a backslash, a NUL, or a `.`/`..` segment (with or without `;parameters`). */
const SUSPECT = /[%\\\0]|(?:^|\/)\.\.?(?:[/;]|$)/;

/**
 * `segment` percent-decoded until nothing changes (at most four rounds: an upstream, or a
 * chain of them, may decode more than once), or `undefined` when a round fails.
 */
function decodeFully(segment: string): string | undefined {
  let text = segment;
  for (let round = 0; round < 4 && text.includes('%'); round++) {
    const next = percentDecode(text);
    if (next === undefined) return undefined;
    if (next === text) break;
    text = next;
  }
  return text;
}

/** Decodes each `%XX` to its byte's character (Latin-1: only ASCII matters here). */
function percentDecode(text: string): string | undefined {
  let malformed = false;
  const out = text.replace(/%(.{0,2})/g, (match, hex: string) => {
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
      malformed = true;
      return match;
    }
    return String.fromCharCode(Number.parseInt(hex, 16));
  });
  return malformed ? undefined : out;
}

/** The target's parts the proxy joins to: its origin and base path (no trailing `/`). */
export interface Target {
  /** `http://host:port` or `https://…`, as `URL` spells it. */
  readonly origin: string;
  /** The base path, percent-encoded, `''` for the root, never ending in `/`. */
  readonly base: string;
  /** The authority, for `Host`. */
  readonly host: string;
  readonly protocol: 'http:' | 'https:';
}

/**
 * Parses the target once, at construction.
 * @throws ConfigError (`proxy: target must be …, got …`) for a target that is not an absolute
 *   `http:`/`https:` URL, or that has credentials, a query or a fragment (none of them has a
 *   meaning as a mount's base). The message never shows the credentials.
 */
export function parseTarget(target: string | URL): Target {
  const text = typeof target === 'string' || target instanceof URL ? String(target) : undefined;
  let url: URL | undefined;
  try {
    url = text === undefined ? undefined : new URL(text);
  } catch {}
  if (url === undefined) throw badTarget('an absolute http: or https: URL', target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badTarget('an http: or https: URL', text);
  }
  if (url.username || url.password) {
    const hidden = `${url.protocol}//***@${url.host}${url.pathname}`;
    throw badTarget('a URL without credentials (send them as a header)', hidden);
  }
  if (url.search || url.hash || text!.includes('?') || text!.includes('#')) {
    throw badTarget('a URL without a query or fragment', text);
  }
  return {
    origin: url.origin,
    base: url.pathname.replace(/\/+$/, ''),
    host: url.host,
    protocol: url.protocol,
  };
}

function badTarget(expected: string, got: unknown): ConfigError {
  return new ConfigError(`proxy: target must be ${expected}, got ${shown(got)}`);
}

/**
 * The upstream path: base + pathInfo + query, as strings (`'/'` when both paths are empty).
 * @param search - The raw `?query` (or `''`).
 */
export function upstreamPath(target: Target, pathInfo: string, search: string): string {
  return (target.base + pathInfo || '/') + search;
}
