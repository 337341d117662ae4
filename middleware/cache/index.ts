/**
 * `mortar/cache` — Beaker's other half: {@link cache}, an HTTP response cache (RFC 9111, shared
 * cache) in front of slow pages, as nginx's `proxy_cache` or Varnish would be; and
 * {@link region}, a data cache that does not stampede when a hot key expires (Beaker's cache
 * regions, dogpile.cache). Both keep their records in a {@link CacheStore}: this process's memory
 * ({@link MemoryCacheStore}, an LRU bounded in bytes) or Redis (`mortar/cache/redis`), where
 * one origin call per key is made across every process and host that share it.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { cache } from 'mortar/cache';
 * import { session } from 'mortar/session';
 * const app = compose(cache({ maxEntrySize: 1024 * 1024 }), session({ secret }))(site);
 * ```
 *
 * What it does, by RFC 9111 and the anchors:
 * - stores `GET` responses that say so (`Cache-Control: max-age`/`s-maxage`, `Expires`) — no
 *   heuristic freshness unless `heuristic` asks — and never one that is `private`,
 *   `no-store`, `Vary: *`, answers a request with `Authorization` (without `public`,
 *   `s-maxage` or `must-revalidate`), or sets a cookie;
 * - keeps one entry per variant of `Vary` (`Accept-Encoding`, `Accept-Language` …);
 * - revalidates a stale entry that has a validator with a conditional request (a `304`
 *   updates its header fields and keeps its body), and sends `Age`;
 * - serves stale within `stale-while-revalidate` while one background request per key
 *   refreshes it, and within `stale-if-error` when the application throws or answers 5xx
 *   (RFC 5861);
 * - makes one application call for N concurrent misses on a key (nginx `proxy_cache_lock`):
 *   the others wait up to `lockTimeout` milliseconds, then go themselves;
 * - streams bodies to the client as they come while a copy is stored — only when the body
 *   completes within `maxEntrySize` bytes; `206`, `Upgrade` requests and
 *   `text/event-stream` pass through; `HEAD` is answered from a stored `GET`;
 * - answers a `GET` with `Range` from a fresh stored `200` (RFC 9110 §14): a `206` of one
 *   range, `multipart/byteranges` for several, `416` with `Content-Range: bytes *​/length`
 *   when none overlaps, the full `200` when `If-Range` does not match; a `Range` request it
 *   cannot answer so goes to the application as it came (not collapsed, its `206` not stored);
 * - honours the request's `no-cache`, `max-age`, `min-fresh`, `max-stale` (never for a
 *   response that forbids stale reuse) and `only-if-cached`: a stored response those accept,
 *   else a `504` (`Cache-Status: mortar; detail=only-if-cached`) and no application call;
 * - a successful unsafe method (`POST`, `PUT`, `DELETE` …) invalidates its URL and the URLs of
 *   its `Location` and `Content-Location` on the same origin (§4.4); {@link purge} does it from
 *   the application;
 * - `Cache-Status` (RFC 9211) on every response it passes, unless `cacheStatus: false`:
 *   `mortar; hit; ttl=57`, `mortar; fwd=uri-miss; fwd-status=200; ttl=60; stored`,
 *   `mortar; fwd=stale; fwd-status=304`, `mortar; fwd=uri-miss; fwd-status=200;
 *   detail=set-cookie`; `mortar; fwd=method;
 *   fwd-status=201` for a method it does not cache (`POST` …); `mortar; fwd=bypass` on an
 *   `Upgrade` request's response, set on the application's own Response object (never
 *   rebuilt: a gateway may know the upgrade by it) when its header fields can change.
 *
 * Order with `session()`: either order is safe (a response that sets a cookie is never
 * stored, and a request's cookies are not part of the key), but put `cache()` **outside**
 * (listed first): a hit then answers before the session is loaded from its store.
 * @module mortar/cache
 */

import { is, optionChecker, valueKind } from '../../src/_internal/options.js';
import { responseParts } from '../../src/_internal/response-parts.js';
import { defineEnvironKey, inPlace } from '../../src/environ.js';
import type { Application, Environ, Middleware } from '../../src/types.js';
import { acceptedWebSocket } from '../../src/websocket.js';
import { cachedRequest } from './handler.js';
import { invalidate } from './invalidate.js';
import { Passes } from './pass.js';
import { policies } from './policy.js';
import { hasUpgrade, headersOf, UrlKeys } from './request.js';
import { shownStatus, withStatus } from './respond.js';
import type { Settings } from './settings.js';
import { type CacheStore, MemoryCacheStore } from './store.js';
import { tolerant } from './tolerant.js';

export {
  getRegion,
  type Lifetimes,
  Region,
  type RegionOptions,
  region,
  regions,
} from './region.js';
export {
  type CacheRecord,
  type CacheStore,
  MemoryCacheStore,
  type MemoryCacheStoreOptions,
} from './store.js';

/** Options of {@link cache}. */
export interface CacheOptions {
  /** Where responses are kept. @default new MemoryCacheStore() (64 MiB) */
  store?: CacheStore;
  /** Prepended to every key (several caches on one Redis). @default 'mortar:http:' */
  prefix?: string;
  /** The largest body stored, in bytes; a larger one is streamed to the client only. @default 1048576 (1 MiB) */
  maxEntrySize?: number;
  /**
   * Milliseconds a request waits for another that is fetching the same key, and the longest a
   * lock is held. @default 5000
   */
  lockTimeout?: number;
  /**
   * Seconds a response with a validator (`ETag`, `Last-Modified`) is kept past its lifetime,
   * to be revalidated rather than fetched again. @default 300
   */
  keepStale?: number;
  /**
   * Seconds a URL that answered something not storable goes straight to the application,
   * without waiting on the lock (Varnish's hit-for-miss); a storable answer ends it. 0: never.
   * The process that saw the answer does not even look the URL up in the store meanwhile (a
   * response another process stores for it then is served here once this ends): it remembers
   * the request target and `Host` for between `passTtl / 2` and `passTtl` seconds.
   * @default 60
   */
  passTtl?: number;
  /**
   * Heuristic freshness (RFC 9111 §4.2.2): the fraction of the time since `Last-Modified` a
   * response without an explicit lifetime counts as fresh. @default 0 (none)
   */
  heuristic?: number;
  /**
   * Whether responses carry `Cache-Status` (RFC 9211): how the cache handled each request —
   * hit or forwarded and why, stored or not, the time to live left. It tells any client what
   * is cached and for how long; RFC 9211 §5 asks a cache to weigh that exposure, and `false`
   * sends none (an application's own `Cache-Status` is then left as it is).
   * @default true
   */
  cacheStatus?: boolean;
}

const checkOptions = optionChecker<CacheOptions>('cache', {
  store: is.object,
  prefix: is.string,
  maxEntrySize: valueKind(
    'a number of bytes (an integer ≥ 1)',
    (v) => Number.isInteger(v) && (v as number) >= 1,
  ),
  lockTimeout: is.milliseconds(1),
  keepStale: is.seconds(0),
  passTtl: is.seconds(0),
  heuristic: valueKind('a fraction from 0 to 1', (v) => typeof v === 'number' && v >= 0 && v <= 1),
  cacheStatus: is.boolean,
});

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** What `purge` finds in the environ: the store, and the URL to resolve against. */
class Purger {
  readonly #target: Pick<Settings, 'store' | 'prefix'>;
  /** The request cache() saw: its URL is read only when a purge resolves against it. */
  readonly #request: Request;
  constructor(target: Pick<Settings, 'store' | 'prefix'>, request: Request) {
    this.#target = target;
    this.#request = request;
  }
  purge(url: string): Promise<void> {
    return invalidate(this.#target, new URL(url, this.#request.url).href);
  }
}
const cacheSlot = defineEnvironKey<Purger>('cache', "cache() from 'mortar/cache'");
const withPurger = inPlace(cacheSlot);
/**
 * The HTTP response cache middleware (RFC 9111, a shared cache).
 * @throws ConfigError (a TypeError) for an unknown option, or a size, duration or fraction
 *   out of range (naming its unit).
 */
export function cache(options: CacheOptions = {}): Middleware {
  checkOptions(options);
  policies(); // says at once when http-cache-semantics is not installed
  const s: Settings = {
    store:
      options.store === undefined || options.store instanceof MemoryCacheStore
        ? (options.store ?? new MemoryCacheStore()) // memory does not fail
        : tolerant(options.store, 'cache()'),
    prefix: options.prefix ?? 'mortar:http:',
    maxEntrySize: options.maxEntrySize ?? 1024 * 1024,
    lockTimeout: options.lockTimeout ?? 5000,
    keepStale: options.keepStale ?? 300,
    passTtl: options.passTtl ?? 60,
    heuristic: options.heuristic ?? 0,
    cacheStatus: options.cacheStatus ?? true,
    refreshing: new Set(),
    passes: new Passes(options.passTtl ?? 60),
    keys: new UrlKeys(options.prefix ?? 'mortar:http:'),
    // Placed on the environ itself when it has no purger yet (the gateway's, for this request):
    // a copy of the environ a request cost a no-store route about 2 µs of server CPU. Each
    // request's purge resolves against its own URL; the cache nearest the application wins.
    // Placed only when the application is called: a hit has no one to purge.
    environFor: (environ, request) => withPurger(environ, new Purger(direct, request)),
  };
  const direct = { store: options.store ?? s.store, prefix: s.prefix };
  return function cache(app) {
    return function cacheApp(request, environ) {
      const header = headersOf(request);
      if (hasUpgrade(header)) return upgrade(app, request, s.environFor(environ, request), s);
      const method = request.method;
      if (method === 'GET' || method === 'HEAD') {
        return cachedRequest(app, request, environ, header, s);
      }
      return otherMethod(app, request, s.environFor(environ, request), s);
    };
  };
}

/**
 * The application's response to a request the cache does not answer; a non-error response to
 * an unsafe method first invalidates what it changed (§4.4).
 */
async function forwarded(
  app: Application,
  request: Request,
  environ: Environ,
  s: Settings,
): Promise<Response> {
  const response = await app(request, environ);
  if (!SAFE.has(request.method) && response.status < 400) {
    await invalidateAfter(s, request, response);
  }
  return response;
}

/** A method the cache does not answer (`POST`, `OPTIONS` …): `Cache-Status: mortar; fwd=method`. */
async function otherMethod(
  app: Application,
  request: Request,
  environ: Environ,
  s: Settings,
): Promise<Response> {
  const parts = responseParts(await forwarded(app, request, environ, s));
  return withStatus(parts, parts.body, shownStatus(s, { fwd: 'method', fwdStatus: parts.status }));
}

/**
 * A request with `Upgrade` (a WebSocket handshake): never stored nor collapsed, and the
 * application's own Response object is returned — a gateway may know the upgrade by it — with
 * `Cache-Status: mortar; fwd=bypass` set on it in place when its header fields can change (an
 * immutable one, as `Response.redirect` makes, is returned as it is) and it is not the accept of
 * a WebSocket (whose 101 gets nothing of the cache).
 */
async function upgrade(
  app: Application,
  request: Request,
  environ: Environ,
  s: Settings,
): Promise<Response> {
  const response = await forwarded(app, request, environ, s);
  // A WebSocket the chain accepted: nothing of a cache belongs on its 101.
  if (!s.cacheStatus || acceptedWebSocket(response, environ)) return response;
  try {
    response.headers.set('cache-status', 'mortar; fwd=bypass');
  } catch {
    // Immutable header fields: the response goes back untouched.
  }
  return response;
}

/**
 * RFC 9111 §4.4: a non-error response to an unsafe method invalidates the request's URL and
 * the `Location` and `Content-Location` URLs on the same origin.
 */
async function invalidateAfter(s: Settings, request: Request, response: Response): Promise<void> {
  const origin = new URL(request.url).origin;
  const urls = [request.url];
  for (const name of ['location', 'content-location']) {
    const value = response.headers.get(name);
    if (value === null) continue;
    const url = URL.canParse(value, request.url) ? new URL(value, request.url) : undefined;
    if (url?.origin === origin) urls.push(url.href);
  }
  await Promise.all(urls.map((url) => invalidate(s, url)));
}

/**
 * Removes the stored responses (every variant) of `url` from the cache that serves this
 * request. `url` is absolute, or resolved against the request's URL as `cache()` saw it.
 * @throws Error naming `cache()` when it is not installed; TypeError for a URL that does not
 *   parse; the store's error when it fails (a purge is never skipped silently).
 */
export function purge(environ: Environ, url: string): Promise<void> {
  return cacheSlot.get(environ).purge(url);
}
