/**
 * The cookie jar of {@link TestClient}: what a browser keeps between requests, by RFC 6265.
 */
import { parseSetCookie } from 'cookie';

/** A stored cookie (RFC 6265 §5.3). `expires` is milliseconds since the epoch. */
interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  expires: number | undefined;
  secure: boolean;
  httpOnly: boolean;
}

/**
 * A cookie jar that follows RFC 6265 §5.3–5.4 for what tests meet: `Path` (default-path
 * rule), `Domain`, `Expires`, `Max-Age` (wins over `Expires`; `≤ 0` deletes), `Secure`.
 */
export class CookieJar {
  #cookies: StoredCookie[] = [];

  /** Stores the `Set-Cookie` headers of a response to a request for `url`. */
  store(url: URL, setCookies: readonly string[], now = Date.now()): void {
    for (const header of setCookies) {
      const parsed = parseSetCookie(header, { decode: (value) => value });
      if (!parsed.name) continue;
      let domain = url.hostname.toLowerCase();
      let hostOnly = true;
      if (parsed.domain) {
        const attribute = parsed.domain.toLowerCase().replace(/^\./, '');
        if (!domainMatches(domain, attribute)) continue;
        domain = attribute;
        hostOnly = false;
      }
      if (parsed.secure && url.protocol !== 'https:') continue;
      const expires =
        parsed.maxAge !== undefined
          ? now + parsed.maxAge * 1000
          : parsed.expires && !Number.isNaN(parsed.expires.getTime())
            ? parsed.expires.getTime()
            : undefined;
      const path = parsed.path?.startsWith('/') ? parsed.path : defaultPath(url.pathname);
      this.#cookies = this.#cookies.filter(
        (c) => !(c.name === parsed.name && c.domain === domain && c.path === path),
      );
      if (expires !== undefined && expires <= now) continue;
      this.#cookies.push({
        name: parsed.name,
        value: parsed.value ?? '',
        domain,
        hostOnly,
        path,
        expires,
        secure: parsed.secure ?? false,
        httpOnly: parsed.httpOnly ?? false,
      });
    }
  }

  /** The `Cookie` header a browser would send to `url`, or `undefined` for none. */
  header(url: URL, now = Date.now()): string | undefined {
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    const host = url.hostname.toLowerCase();
    const matching = this.#cookies
      .filter(
        (c) =>
          (c.hostOnly ? c.domain === host : domainMatches(host, c.domain)) &&
          pathMatches(url.pathname, c.path) &&
          (!c.secure || url.protocol === 'https:'),
      )
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of the cookie `name` that a request to `url` (default: any) would carry. */
  get(name: string, url?: URL): string | undefined {
    const now = Date.now();
    return this.#cookies.find(
      (c) =>
        c.name === name &&
        (c.expires === undefined || c.expires > now) &&
        (!url || pathMatches(url.pathname, c.path)),
    )?.value;
  }

  /** Names of the live cookies, for assertions. */
  names(): string[] {
    const now = Date.now();
    return this.#cookies
      .filter((c) => c.expires === undefined || c.expires > now)
      .map((c) => c.name);
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies = [];
  }
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

function defaultPath(requestPath: string): string {
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}
