/**
 * The upstream's own URLs, made public: `Location` and `Content-Location` that point into the
 * target (absolute, or an absolute path under its base) become the mount's URL, and a
 * `Set-Cookie` whose `Path` sits under the base gets the mount's prefix instead — Apache's
 * `ProxyPassReverse` and `ProxyPassReverseCookiePath`, nginx's `proxy_redirect` and
 * `proxy_cookie_path`.
 */
import type { Target } from './path.js';

/** Where the upstream's paths appear publicly. */
export interface Mount {
  /** The public origin (`request.url`'s). */
  readonly origin: string;
  /** `environ.scriptName`. */
  readonly prefix: string;
}

/**
 * `path` (percent-encoded, starting with `/`) moved from under the target's base to under the
 * mount's prefix, or `undefined` when it is not under the base (on a segment boundary).
 */
function rebase(path: string, target: Target, prefix: string, cookie = false): string | undefined {
  const base = target.base;
  const rest = path.slice(base.length);
  if (base !== '' && rest !== '' && !/^[/?#]/.test(rest)) return undefined;
  if (!path.startsWith(base)) return undefined;
  // A cookie for the whole upstream (`Path=/`) is one for the whole mount.
  if (rest === '/' && cookie && base === '') return prefix || '/';
  if (rest === '' || rest.startsWith('?') || rest.startsWith('#')) return (prefix || '/') + rest;
  return prefix + rest;
}

/**
 * A `Location`/`Content-Location` value rewritten to the mount: an absolute URL on the
 * target's origin, or an absolute path (`/v1/x`), under the base. Anything else — another
 * host, a path outside the base, a relative reference — is returned as it is.
 */
export function rewriteLocation(value: string, target: Target, mount: Mount): string {
  if (value.startsWith('/') && !value.startsWith('//')) {
    return rebase(value, target, mount.prefix) ?? value;
  }
  const origin = target.origin;
  if (value.length > origin.length && value.slice(0, origin.length).toLowerCase() === origin) {
    const next = value.charAt(origin.length);
    if (next !== '/' && next !== '?' && next !== '#') return value;
    const path = next === '/' ? value.slice(origin.length) : `/${value.slice(origin.length)}`;
    const moved = rebase(path, target, mount.prefix);
    return moved === undefined ? value : mount.origin + moved;
  }
  if (value.toLowerCase() === origin) return mount.origin + (mount.prefix || '/');
  return value;
}

/**
 * A `Set-Cookie` value with its `Path` attribute moved from under the base to under the
 * prefix (`Path=/v1/a` → `Path=/api/a`); a cookie without one, or outside the base, unchanged.
 */
export function rewriteCookiePath(value: string, target: Target, prefix: string): string {
  return value.replace(/(;\s*path\s*=\s*)([^;]*)/gi, (match, lead: string, path: string) => {
    const trimmed = path.trim();
    if (!trimmed.startsWith('/')) return match;
    const moved = rebase(trimmed, target, prefix, true);
    return moved === undefined ? match : lead + moved;
  });
}
