/**
 * Where a browser request came from, for the checks that refuse cross-site ones: csrf()'s
 * unsafe methods and every WebSocket handshake (csrf() and webSocket()'s `origins`).
 */
import { ConfigError, shown } from '../../src/_internal/options.js';
import { requestHeader } from '../../src/request-header.js';

/**
 * Why the request is cross-origin, or `undefined` when it is not (or says nothing): the
 * stateless check of Go 1.25's `CrossOriginProtection` and Hono's `csrf`. A browser says
 * `Sec-Fetch-Site` (`same-origin` and `none` pass); without it, an `Origin` must name the
 * request's own host. A request with neither is not from a browser and passes. An `Origin`
 * in `trusted` always passes.
 */
export function crossOrigin(request: Request, trusted: ReadonlySet<string>): string | undefined {
  const origin = requestHeader(request, 'origin');
  if (origin !== null && trusted.has(origin)) return undefined;
  const site = requestHeader(request, 'sec-fetch-site');
  if (site !== null) {
    return site === 'same-origin' || site === 'none'
      ? undefined
      : `the browser says this request is ${site} (Sec-Fetch-Site)`;
  }
  if (origin === null) return undefined;
  const own = new URL(request.url);
  return URL.canParse(origin) && new URL(origin).host === own.host
    ? undefined
    : `Origin ${origin} is not this site's`;
}

/**
 * The origins of an option (`scheme://host[:port]` each), normalised as browsers send them.
 * @throws ConfigError naming `where` for an entry that is not an origin.
 */
export function originSet(origins: readonly string[] | undefined, where: string): Set<string> {
  return new Set(
    (origins ?? []).map((origin) => {
      const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
      if (!parsed || parsed.origin !== origin.replace(/\/$/, '')) {
        throw new ConfigError(
          `${where} must be a list of origins (scheme://host[:port]), got ${shown(origin)}`,
        );
      }
      return parsed.origin;
    }),
  );
}
