/**
 * Fields that describe one connection or one hop, which neither a proxy forwards nor a cache
 * stores — the proxy and the cache share this one list, and the reading of `Connection`.
 */
import { isToken } from '../../src/_internal/response-parts.js';

/**
 * RFC 9110 §7.6.1's hop-by-hop fields (with RFC 9112's `Transfer-Encoding` and `TE`), and the
 * proxy authentication fields, which apply to the next hop only (RFC 9110 §11.7; RFC 9111 §3.1
 * forbids a cache to store them).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The lower-case names `Connection` lists, or `undefined` when one is not a field name (the
 * message is malformed: RFC 9110 §7.6.1's `connection-option` is a token).
 */
export function connectionNames(value: string | null | undefined): Set<string> | undefined {
  const names = new Set<string>();
  if (value == null) return names;
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (!isToken(name)) return undefined;
    names.add(name);
  }
  return names;
}
