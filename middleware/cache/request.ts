/**
 * The request as the cache reads it before deciding anything: its header fields one by one,
 * straight from Node's parsed headers when mortar's HTTP gateway made it (no `Headers` built,
 * no closure a request), the key of this process's pass memory (pass.ts), made from the
 * request target as received — not from `request.url`, which srvx builds (a URL parse) on
 * first read — and the store key of its URL, remembered per target ({@link UrlKeys}).
 */
import { originalRequest } from '../../src/environ.js';
import { nodeHeader, nodeRuntime } from '../../src/request-header.js';
import { type HeaderOf, hasDirective } from './policy.js';

type RawHeaders = Record<string, string | string[] | undefined>;

/** Node's parsed header object (lower-case names), read as `Headers.get` reads. */
class NodeHeaders implements HeaderOf {
  readonly raw: RawHeaders;
  /** The request target as the client sent it (`/page?q=1`). */
  readonly target: string;
  /** The connection it came on (`encrypted` on TLS). */
  readonly socket: { encrypted?: unknown } | null | undefined;
  constructor(raw: RawHeaders, target: string, socket: NodeHeaders['socket']) {
    this.raw = raw;
    this.target = target;
    this.socket = socket;
  }
  get(name: string): string | null {
    return nodeHeader(this.raw, name);
  }
  /**
   * Whether none of the fields that change what a hit is were sent (each read by its own
   * name: a load of its own, where {@link get} is one lookup site for every name).
   */
  plain(): boolean {
    const raw = this.raw;
    return (
      raw['cache-control'] === undefined &&
      raw.pragma === undefined &&
      raw.range === undefined &&
      raw['if-none-match'] === undefined &&
      raw['if-modified-since'] === undefined
    );
  }
  /**
   * Whether `request.url` is made from the target, `host` (as {@link passHost} gives it) and
   * the connection's TLS alone: `request` is the gateway's own (no mount or proxy rebased it),
   * with a `Host` and without forwarding fields (`host` is then the `Host` field itself) or
   * HTTP/2's `:scheme`.
   */
  urlFromTarget(request: Request, host: string): boolean {
    return (
      host !== '' &&
      host === this.raw.host &&
      this.raw[':scheme'] === undefined &&
      originalRequest(request) === request
    );
  }
  /** `Upgrade`, read by name (a property load of its own, not a lookup by a variable key). */
  upgrade(): boolean {
    return this.raw.upgrade !== undefined;
  }
}

/** Whether the request has an `Upgrade` field (a WebSocket handshake). */
export function hasUpgrade(header: HeaderOf): boolean {
  return header instanceof NodeHeaders ? header.upgrade() : header.get('upgrade') !== null;
}

/**
 * Whether the request has none of `Cache-Control`, `Pragma`, `Range`, `If-None-Match` and
 * `If-Modified-Since`: a fresh stored response then answers it as it is stored.
 */
export function plainRequest(header: HeaderOf): boolean {
  if (header instanceof NodeHeaders) return header.plain();
  for (const name of PLAIN) if (header.get(name) !== null) return false;
  return true;
}

const PLAIN = ['cache-control', 'pragma', 'range', 'if-none-match', 'if-modified-since'];

/**
 * Whether the request says `only-if-cached` (RFC 9111 §5.2.1.7): the client wants a stored
 * response or a 504, never the origin's.
 */
export function onlyIfCached(cacheControl: string | null): boolean {
  return cacheControl !== null && hasDirective(cacheControl, 'only-if-cached');
}

/**
 * The request's header fields: Node's parsed headers when mortar's HTTP gateway made the
 * request (as `requestHeader` reads them), else its `Headers`.
 */
export function headersOf(request: Request): HeaderOf {
  const req = nodeRuntime(request)?.req as
    | { headers?: RawHeaders; url?: unknown; socket?: NodeHeaders['socket'] }
    | undefined;
  const raw = req?.headers;
  if (raw === undefined || typeof req!.url !== 'string') return request.headers;
  return new NodeHeaders(raw, req!.url as string, req!.socket);
}

/**
 * Where this process's pass memory (pass.ts) remembers a request: its request target as
 * received (`/page?q=1`), or `request.url` when the gateway kept no target. With
 * {@link passHost}, two spellings of one URL are two keys, and a key only says "go straight to
 * the application": what is stored is always stored under the URL's own key, made from
 * `request.url`.
 */
export function passTarget(request: Request, header: HeaderOf): string {
  return header instanceof NodeHeaders ? header.target : request.url;
}

/**
 * The other half of the pass memory's key: the `Host`, with `X-Forwarded-Host`,
 * `X-Forwarded-Proto` and `Forwarded` when sent (a trusted proxy's URL is made from them);
 * `''` for a request whose `request.url` is the target.
 */
export function passHost(header: HeaderOf): string {
  if (!(header instanceof NodeHeaders)) return '';
  const raw = header.raw;
  const host = typeof raw.host === 'string' ? raw.host : '';
  const forwardedHost = raw['x-forwarded-host'];
  const proto = raw['x-forwarded-proto'];
  const forwarded = raw.forwarded;
  if (forwardedHost === undefined && proto === undefined && forwarded === undefined) return host;
  return `${host}\n${String(forwardedHost)}\n${String(proto)}\n${String(forwarded)}`;
}

/** Characters of targets and keys {@link UrlKeys} holds before it starts again (~2 MiB). */
const MAX_KNOWN = 1 << 20;

interface KnownKey {
  host: string;
  secure: boolean;
  key: string;
}

/**
 * The store key of a request's URL (`prefix + request.url`), remembered per request target
 * and `Host` in this process: srvx builds `request.url` on first read (host checks and a
 * template, ~0.3 µs), and a key joined afresh is flattened and hashed again by the store's map
 * on every request, where a remembered one was hashed once. A key is learned from
 * `request.url` itself, and only where that is made from the target, the `Host` and whether
 * the connection is TLS alone: the gateway's own request (not one a mount or a proxy rebased),
 * without forwarding fields (which a trusting server could make the URL from) and without
 * HTTP/2's `:scheme`. Any other request joins its key from its `url`, as before.
 */
export class UrlKeys {
  readonly #prefix: string;
  #known = new Map<string, KnownKey>();
  #chars = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The key of `request`'s URL; `target` and `host` as {@link passTarget} and {@link passHost} give them. */
  of(request: Request, header: HeaderOf, target: string, host: string): string {
    if (!(header instanceof NodeHeaders) || !header.urlFromTarget(request, host)) {
      return this.#prefix + request.url;
    }
    const secure = header.socket?.encrypted === true;
    const known = this.#known.get(target);
    if (known !== undefined && known.host === host && known.secure === secure) return known.key;
    const key = this.#prefix + request.url;
    this.#chars += target.length + key.length;
    if (this.#chars > MAX_KNOWN) {
      this.#known.clear(); // a flood of targets starts the memory again
      this.#chars = target.length + key.length;
    }
    this.#known.set(target, { host, secure, key });
    return key;
  }
}
