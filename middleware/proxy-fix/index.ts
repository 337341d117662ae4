/**
 * `mortar/proxy-fix` — behind a reverse proxy, see the request the client made: its address,
 * scheme, host, port and path prefix, from the headers the proxy adds. Werkzeug's ProxyFix
 * and uvicorn's `--proxy-headers`, plus RFC 7239 `Forwarded`.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { proxyFix, getProxyOriginal } from 'mortar/proxy-fix';
 * import { session } from 'mortar/session';
 * // nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
 * //        proxy_set_header X-Forwarded-Proto $scheme;
 * const app = compose(proxyFix({ for: 1, proto: 1 }), session({ secret }))(site);
 * // inside: environ.remoteAddress is the client; request.url starts with https://
 * // getProxyOriginal(environ).remoteAddress is nginx's address
 * ```
 *
 * Each option counts the proxies that set that header: with `for: 1` the last value of
 * `X-Forwarded-For` is believed (the one our proxy appended), with `for: 2` the one before it,
 * and fewer values than that changes nothing. Only a peer in `trustedProxies` is listened to:
 * the same headers from anyone else are ignored, so a client cannot spoof its address.
 * A malformed value is ignored too — the gateway's value stays.
 *
 * What changes, for the application inside:
 * - `environ.remoteAddress`: the client (`X-Forwarded-For` / `for=`); `undefined` when the
 *   proxy says `unknown`; an obfuscated identifier (`_hidden`) as it is (its port dropped,
 *   as an address's is); `environ.unixSocket` false (the client is not the proxy's socket).
 * - `request.url`: the public scheme (`X-Forwarded-Proto`), host (`X-Forwarded-Host`) and port
 *   (`X-Forwarded-Port`) — so `session({ secure: 'auto' })` sets `Secure` behind TLS, and
 *   redirects built from the URL point at the public site. Headers are not changed.
 * - `environ.scriptName`: `X-Forwarded-Prefix` in front of it (the path the proxy stripped),
 *   so links built from `scriptName` keep the public prefix; the mount invariant holds for the
 *   client's path.
 * @module mortar/proxy-fix
 */

import { is, optionChecker } from '../../src/_internal/options.js';
import {
  assertEnviron,
  defineEnvironKey,
  type EnvironKey,
  originOf,
  pathOf,
  rebaseRequest,
} from '../../src/environ.js';
import type { Environ, Middleware } from '../../src/types.js';
import { compileTrust, DEFAULT_TRUSTED_PROXIES } from '../_shared/trust.js';
import {
  type ForwardedElement,
  forwardedHost,
  forwardedNode,
  forwardedPort,
  forwardedPrefix,
  forwardedProto,
  fromRight,
  parseForwarded,
} from './forwarded.js';

export {
  compileTrust,
  DEFAULT_TRUSTED_PROXIES,
  type Peer,
  type PeerTrust,
} from '../_shared/trust.js';

/** Options of {@link proxyFix}: how many proxies set each header (0: do not read it). */
export interface ProxyFixOptions {
  /** Proxies that append to `X-Forwarded-For` (or `for=` of `Forwarded`). @default 1 */
  for?: number;
  /** Proxies that set `X-Forwarded-Proto` (or `proto=`). @default 1 */
  proto?: number;
  /** Proxies that set `X-Forwarded-Host` (or `host=`). @default 0 */
  host?: number;
  /** Proxies that set `X-Forwarded-Port`. @default 0 */
  port?: number;
  /** Proxies that set `X-Forwarded-Prefix`. @default 0 */
  prefix?: number;
  /**
   * Read RFC 7239 `Forwarded` instead of `X-Forwarded-For/-Proto/-Host` (one element per
   * proxy; `for`, `proto` and `host` count elements from the right). `X-Forwarded-Port` and
   * `-Prefix`, which `Forwarded` has no parameter for, are still read when counted.
   * @default false
   */
  forwarded?: boolean;
  /**
   * The peers whose headers are believed: addresses, CIDR ranges (`10.0.0.0/8`), `loopback`,
   * `linklocal`, `uniquelocal`, `unix` (a peer the gateway says came over a Unix socket:
   * `environ.unixSocket`), `*`; an array or a comma list. A peer without an address (a TCP
   * client that reset its connection) is trusted only under `*`.
   * @default ['loopback', 'unix']
   */
  trustedProxies?: string | readonly string[];
}

/** What the gateway saw, before {@link proxyFix} changed it (Werkzeug's `proxy_fix.orig`). */
export interface ProxyOriginal {
  /** The direct peer: the proxy when the headers were believed. */
  readonly remoteAddress: string | undefined;
  /** Whether the direct peer came over a Unix socket (`environ.unixSocket`). */
  readonly unixSocket: boolean;
  /** The request URL as the gateway built it. */
  readonly url: string;
  /** `environ.scriptName` before the prefix was added. */
  readonly scriptName: string;
  /** Whether the peer was a trusted proxy (and so its headers were read). */
  readonly trusted: boolean;
}

const originalKey: EnvironKey<ProxyOriginal> = defineEnvironKey<ProxyOriginal>(
  'proxyFix original',
  "proxyFix() from 'mortar/proxy-fix'",
);

/**
 * What the gateway saw before {@link proxyFix} ran.
 * @throws Error naming proxyFix when it is not installed outside the caller.
 */
export const getProxyOriginal = (environ: Environ): ProxyOriginal => originalKey.get(environ);

/** {@link getProxyOriginal}, or `undefined` when proxyFix is not installed. */
export const findProxyOriginal = (environ: Environ): ProxyOriginal | undefined =>
  originalKey.find(environ);

/** What the proxy's headers say, each part `undefined` where they say nothing usable. */
interface Claims {
  client?: string | null | undefined;
  proto?: 'http' | 'https' | undefined;
  host?: { hostname: string; port: number | undefined } | undefined;
  port?: number | undefined;
  prefix?: string | undefined;
}

const checkOptions = optionChecker<ProxyFixOptions>('proxyFix', {
  for: is.integer(0),
  proto: is.integer(0),
  host: is.integer(0),
  port: is.integer(0),
  prefix: is.integer(0),
  forwarded: is.boolean,
  trustedProxies: is.either(is.string, is.strings),
});

/**
 * Trusts the proxy headers of the configured number of hops, from a trusted peer only.
 *
 * @throws ConfigError at construction for an unknown option, a hop count that is not an integer
 *   ≥ 0, or a `trustedProxies` entry that is not an address or range.
 */
export function proxyFix(options: ProxyFixOptions = {}): Middleware {
  checkOptions(options);
  const hops = {
    for: options.for ?? 1,
    proto: options.proto ?? 1,
    host: options.host ?? 0,
    port: options.port ?? 0,
    prefix: options.prefix ?? 0,
  };
  const forwarded = options.forwarded ?? false;
  const trusted = compileTrust(
    options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES,
    'proxyFix: option "trustedProxies"',
  );
  return function proxyFix(app) {
    return function proxyFixApp(request, environ) {
      assertEnviron(environ, 'proxyFix()');
      const original: ProxyOriginal = {
        remoteAddress: environ.remoteAddress,
        unixSocket: environ.unixSocket === true,
        scriptName: environ.scriptName,
        trusted: trusted(environ),
        // Read when asked: building srvx's URL is a cost most requests need not pay here.
        get url() {
          return request.url;
        },
      };
      if (!original.trusted) return app(request, originalKey.with(environ, original));
      const claims = claimsOf(request.headers, hops, forwarded);
      const next: Environ =
        claims.client === undefined
          ? { ...environ, scriptName: (claims.prefix ?? '') + environ.scriptName }
          : {
              ...environ,
              // The client the proxy names: an address, not the proxy's Unix socket.
              remoteAddress: claims.client ?? undefined,
              unixSocket: false,
              scriptName: (claims.prefix ?? '') + environ.scriptName,
            };
      const origin = publicOrigin(request, claims);
      const forwardedRequest =
        origin === undefined ? request : rebaseRequest(request, pathOf(request.url), origin);
      return app(forwardedRequest, originalKey.with(next, original));
    };
  };
}

/** How many proxies set each header. */
type Hops = Record<'for' | 'proto' | 'host' | 'port' | 'prefix', number>;

/**
 * What the trusted proxies' headers say: `for`, `proto` and `host` from `X-Forwarded-*` or
 * from RFC 7239 `Forwarded` elements (each counted from the right), port and prefix from
 * `X-Forwarded-Port`/`-Prefix` (Forwarded has no parameter for them).
 */
function claimsOf(headers: Headers, hops: Hops, forwarded: boolean): Claims {
  const elements = forwarded ? parseForwarded(headers.get('forwarded')) : undefined;
  const value = (name: 'for' | 'proto' | 'host'): string | undefined => {
    if (!forwarded) return fromRight(headers.get(`x-forwarded-${name}`), hops[name]);
    const count = hops[name];
    if (!elements || count < 1 || elements.length < count) return undefined;
    return (elements[elements.length - count] as ForwardedElement)[name];
  };
  const client = value('for');
  const proto = value('proto');
  const host = value('host');
  const port = fromRight(headers.get('x-forwarded-port'), hops.port);
  const prefix = fromRight(headers.get('x-forwarded-prefix'), hops.prefix);
  return {
    client: client === undefined ? undefined : forwardedNode(client),
    proto: proto === undefined ? undefined : forwardedProto(proto),
    host: host === undefined ? undefined : forwardedHost(host),
    port: port === undefined ? undefined : forwardedPort(port),
    prefix: prefix === undefined ? undefined : forwardedPrefix(prefix),
  };
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

/**
 * `scheme://authority` the claims make of the request's, or `undefined` when they change
 * nothing (the URL is read only when they say something).
 */
function publicOrigin(request: Request, claims: Claims): string | undefined {
  if (claims.proto === undefined && claims.host === undefined && claims.port === undefined) {
    return undefined;
  }
  const origin = originOf(request.url);
  const scheme = claims.proto ?? origin.slice(0, origin.indexOf(':'));
  let authority = claims.host ?? hostOf(origin.slice(origin.indexOf('//') + 2));
  if (claims.port !== undefined) authority = { hostname: authority.hostname, port: claims.port };
  const port =
    authority.port === undefined || authority.port === DEFAULT_PORT[scheme]
      ? ''
      : `:${authority.port}`;
  const built = `${scheme}://${authority.hostname}${port}`;
  return built === origin ? undefined : built;
}

/** The gateway built the authority from a `Host` it checked: it always parses. */
function hostOf(authority: string): { hostname: string; port: number | undefined } {
  return forwardedHost(authority) ?? { hostname: authority, port: undefined };
}
