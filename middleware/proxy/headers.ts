/**
 * Header fields across the proxy, both ways: RFC 9110 §7.6.1's hop-by-hop fields and every
 * field `Connection` names are dropped, then the proxy's own fields are added — so a client's
 * `Connection: X-Forwarded-For` cannot remove them (Apache's CVE-2022-31813, which
 * @fastify/reply-from repeated).
 */
import { isToken } from '../../src/_internal/response-parts.js';
import { connectionNames, HOP_BY_HOP } from '../_shared/hop-by-hop.js';

/**
 * The client's fields the proxy replaces with its own: framing, the target's Host, and
 * `Expect` — the gateway has already answered `100-continue` (RFC 9110 §10.1.1), and the body
 * follows; undici refuses to send the field at all.
 */
const REPLACED = new Set(['content-length', 'host', 'expect']);

const FORWARDING = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
  'x-forwarded-port',
]);

/** What the proxy says about the client's request (`X-Forwarded-*` or RFC 7239 `Forwarded`). */
export interface Forwarding {
  /** `'x-forwarded'` (For/Proto/Host/Prefix) or `'forwarded'` (RFC 7239, plus Prefix). */
  readonly style: 'x-forwarded' | 'forwarded';
  /** The direct peer's address (the client, or the trusted proxy in front), if known. */
  readonly peer: string | undefined;
  /** The client's address as the environ says (proxyFix's answer when it trusted the peer). */
  readonly client: string | undefined;
  /** The scheme the client used (`http`/`https`). */
  readonly proto: string;
  /** The Host the client asked for. */
  readonly host: string;
  /** `environ.scriptName`: the mount prefix the upstream's paths sit under publicly. */
  readonly prefix: string;
  /** The incoming values are a trusted proxy's (a trusted proxyFix ran): append to them. */
  readonly trusted: boolean;
}

/**
 * The request's fields for the upstream, as flat `[name, value, …]` pairs: hop-by-hop fields,
 * the fields `Connection` names, `Content-Length` and `Host` dropped (`TE: trailers` kept),
 * the client's forwarding fields dropped unless a trusted proxy set them, then `Host` and the
 * forwarding fields added.
 * @returns The pairs, or `undefined` when `Connection` is malformed.
 */
export function requestFields(
  headers: Headers,
  host: string,
  forwarding: Forwarding,
): string[] | undefined {
  const named = connectionNames(headers.get('connection'));
  if (named === undefined) return undefined;
  const out: string[] = ['host', host];
  const incoming: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || REPLACED.has(name) || named.has(name)) {
      if (name === 'te' && /(?:^|,)\s*trailers\s*(?:;|,|$)/i.test(value))
        out.push('te', 'trailers');
      continue;
    }
    if (FORWARDING.has(name)) {
      if (forwarding.trusted && !named.has(name)) incoming[name] = value;
      continue;
    }
    out.push(name, value);
  }
  addForwarding(out, forwarding, incoming);
  return out;
}

/**
 * Adds the forwarding fields after the purge. Each names the direct peer, appended to a
 * trusted proxy's chain or replacing what the client sent; Proto, Host and Prefix are the
 * public ones (what proxyFix made of `request.url` and `scriptName`).
 */
function addForwarding(out: string[], f: Forwarding, incoming: Record<string, string>): void {
  if (f.style === 'forwarded') {
    const element = `for=${forwardedNode(f.peer)};proto=${f.proto};host=${quoted(f.host)}`;
    let before = incoming.forwarded;
    // A trusted proxy that spoke X-Forwarded-For: keep its client as the first element.
    if (before === undefined && f.trusted && f.client !== f.peer) {
      before = `for=${forwardedNode(f.client)}`;
    }
    out.push('forwarded', before ? `${before}, ${element}` : element);
  } else {
    const before = incoming['x-forwarded-for'];
    const peer = f.peer ?? 'unknown';
    out.push('x-forwarded-for', before ? `${before}, ${peer}` : peer);
    out.push('x-forwarded-proto', f.proto, 'x-forwarded-host', f.host);
  }
  if (f.prefix !== '') out.push('x-forwarded-prefix', f.prefix);
}

/** RFC 7239 §6 node: an IPv6 address in quoted brackets, `unknown` when not known. */
function forwardedNode(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  if (address.includes(':')) return `"[${address}]"`;
  return isToken(address) ? address : `"${address.replace(/["\\]/g, '\\$&')}"`;
}

function quoted(value: string): string {
  return isToken(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The upstream's fields for the client, as flat pairs: hop-by-hop fields and every field its
 * `Connection` names dropped. `Content-Length` is kept: the body passes byte for byte.
 */
export function responseFields(
  pairs: Iterable<[string, string]>,
  connection: string | null,
): string[] {
  const named = connectionNames(connection) ?? new Set<string>();
  const out: string[] = [];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(lower, value);
  }
  return out;
}
