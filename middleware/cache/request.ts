/**
 * The request as the cache reads it before deciding anything: its header fields one by one,
 * straight from Node's parsed headers when mortar's HTTP gateway made it (no `Headers` built,
 * no closure a request), and the key of this process's pass memory (pass.ts), made from the
 * request target as received — not from `request.url`, which srvx builds (a URL parse) on
 * first read.
 */
import { nodeHeader, nodeRuntime } from '../../src/request-header.js';
import type { HeaderOf } from './policy.js';

type RawHeaders = Record<string, string | string[] | undefined>;

/** Node's parsed header object (lower-case names), read as `Headers.get` reads. */
class NodeHeaders implements HeaderOf {
  readonly raw: RawHeaders;
  /** The request target as the client sent it (`/page?q=1`). */
  readonly target: string;
  constructor(raw: RawHeaders, target: string) {
    this.raw = raw;
    this.target = target;
  }
  get(name: string): string | null {
    return nodeHeader(this.raw, name);
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
 * The request's header fields: Node's parsed headers when mortar's HTTP gateway made the
 * request (as `requestHeader` reads them), else its `Headers`.
 */
export function headersOf(request: Request): HeaderOf {
  const req = nodeRuntime(request)?.req;
  const raw = req?.headers;
  if (raw === undefined || typeof req!.url !== 'string') return request.headers;
  return new NodeHeaders(raw, req!.url as string);
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
