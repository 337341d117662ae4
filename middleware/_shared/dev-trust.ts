/**
 * Who may see a development page (debug()'s traceback, profile()'s index). All of it must hold:
 * - the request's `Host` is a loopback name or one the developer listed — a page served under
 *   any other name could be a DNS-rebinding attacker's (Werkzeug's CVE-2024-34069);
 * - the peer is a loopback address or one the developer listed — behind a proxy that sends
 *   the upstream address as Host (nginx's default `proxy_pass http://127.0.0.1:PORT`), the
 *   Host alone would trust every visitor;
 * - the request carries no sign of a proxy (`Forwarded`, `X-Forwarded-*`, `Via`), unless the
 *   developer said a proxy of theirs is in front.
 * Anyone else gets the plain `errors()` page.
 */
import type { Environ } from '../../src/types.js';

/** What `debug()` trusts beyond loopback. */
export interface TrustSettings {
  /** Extra trusted host names, lower case, without a port. */
  hosts: ReadonlySet<string>;
  /** Extra trusted peer addresses (as `environ.remoteAddress` gives them). */
  addresses: ReadonlySet<string>;
  /** A proxy of the developer's is in front: proxy headers do not make a request untrusted. */
  trustProxy: boolean;
}

const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'via',
];

/**
 * Whether the request's host (from its URL, which the gateway built from `Host`) is
 * `localhost`, a `*.localhost` name, `127.0.0.1`, `[::1]`, or one of `hosts`.
 *
 * @param hosts - Extra trusted host names, lower case, without a port.
 */
export function isTrustedHost(request: Request, hosts: ReadonlySet<string>): boolean {
  const host = new URL(request.url).hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '127.0.0.1' ||
    host === '[::1]' ||
    hosts.has(host)
  );
}

/** Whether `address` is a loopback address: 127.0.0.0/8, `::1`, or IPv4-mapped 127.x. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Whether the request came through a proxy that says so. */
export function viaProxy(request: Request): boolean {
  return PROXY_HEADERS.some((name) => request.headers.has(name));
}

/** The whole decision: trusted Host, trusted peer, and no proxy unless one is trusted. */
export function isTrusted(request: Request, environ: Environ, trust: TrustSettings): boolean {
  const peer = environ.remoteAddress;
  return (
    isTrustedHost(request, trust.hosts) &&
    (isLoopback(peer) || (peer !== undefined && trust.addresses.has(peer))) &&
    (trust.trustProxy || !viaProxy(request))
  );
}
