/**
 * The cookie jar of {@link TestClient}: what a browser keeps between requests, by RFC 6265 —
 * tough-cookie's jar (the date grammar of §5.1.1, the public suffix list, creation order),
 * with the small synchronous interface tests want.
 */
import type * as ToughCookie from 'tough-cookie';
import { requireOptional } from '../_internal/optional.js';

/**
 * Cookies received, sent back where a browser would send them.
 *
 * tough-cookie is not a dependency of mortar but a devDependency of the project that tests
 * (`mortar new` lists it), loaded by the first jar: `new CookieJar()` (and so
 * `new TestClient()`) throws an Error saying to `npm install -D tough-cookie` when it is not
 * installed.
 */
export class CookieJar {
  readonly #tough = requireOptional<typeof ToughCookie>(
    'tough-cookie',
    "TestClient's cookie jar needs tough-cookie: npm install -D tough-cookie",
  );
  readonly #jar = new this.#tough.CookieJar(undefined, {
    rejectPublicSuffixes: true,
    looseMode: false,
  });

  /**
   * Stores the `Set-Cookie` headers of a response to a request for `url`; ones a browser would
   * refuse (a foreign or public-suffix Domain, Secure over http, malformed) are dropped.
   * @param now - Milliseconds since the epoch.
   */
  store(url: URL, setCookies: readonly string[], now = Date.now()): void {
    for (const header of setCookies) {
      try {
        this.#jar.setCookieSync(header, url.href, { now: new Date(now), ignoreError: true });
      } catch {
        // A header tough-cookie cannot read at all: a browser ignores it too.
      }
    }
  }

  /** The `Cookie` header a browser would send to `url` now, or `undefined` for none. */
  header(url: URL): string | undefined {
    return this.#jar.getCookieStringSync(url.href) || undefined;
  }

  /** The value of the cookie `name` that a request to `url` (default: any) would carry. */
  get(name: string, url?: URL): string | undefined {
    const cookies = url ? this.#jar.getCookiesSync(url.href) : this.#live();
    return cookies.find((cookie) => cookie.key === name)?.value;
  }

  /** Names of the live cookies, for assertions. */
  names(): string[] {
    return this.#live().map((cookie) => cookie.key);
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#jar.removeAllCookiesSync();
  }

  /** Every cookie not yet expired, oldest first (creation order, as RFC 6265 §5.4 sorts ties). */
  #live(now = Date.now()): ToughCookie.Cookie[] {
    const cookies = (this.#jar.serializeSync()?.cookies ?? [])
      .map((json) => this.#tough.Cookie.fromJSON(json))
      .filter(
        (cookie): cookie is ToughCookie.Cookie => cookie !== undefined && cookie.TTL(now) > 0,
      );
    return cookies.sort((a, b) => a.creationIndex - b.creationIndex);
  }
}
