import { originalRequest, searchOf } from './environ.js';

/**
 * srvx's documented `request.runtime.node` (`{ req, res }`), as far as mortar reads it without
 * importing Node: the request's parsed headers (lower-case names) and its target as received.
 */
export interface NodeRuntime {
  req?: { headers?: Record<string, string | string[] | undefined>; url?: unknown };
  res?: unknown;
}

/**
 * The `request.runtime.node` of the gateway request under `request` (through a rebase, whose
 * headers and query are the gateway request's own), or `undefined` when Node's HTTP gateway
 * did not make it. The one place mortar reads srvx's runtime slot.
 */
export function nodeRuntime(request: Request): NodeRuntime | undefined {
  return (originalRequest(request) as { runtime?: { node?: NodeRuntime } }).runtime?.node;
}

/**
 * A request header's value, like `request.headers.get(name)`, but read straight from Node's
 * parsed header object when the request came through mortar's HTTP gateway (srvx keeps it
 * there): a property read instead of a Headers lookup and its name validation. Middleware
 * that reads several headers on every request (static files' conditionals) uses it.
 *
 * @param name - The header name in lower case.
 * @returns The value (repeated fields joined with `, ` as Headers does), or `null`.
 */
export function requestHeader(request: Request, name: string): string | null {
  const raw = nodeRuntime(request)?.req?.headers;
  return raw === undefined ? request.headers.get(name) : nodeHeader(raw, name);
}

/**
 * Field `name` (lower case) of Node's parsed headers as `Headers.get` gives it: repeated
 * fields joined with `, `, `null` when absent.
 */
export function nodeHeader(
  raw: Record<string, string | string[] | undefined>,
  name: string,
): string | null {
  const value = raw[name];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(', ');
}

/**
 * The `?query` of `request.url` (`''` when there is none), read from the request target the
 * gateway received when it kept it — srvx's Node request (`request.runtime.node.req.url`),
 * whose URL is built only when `url` is first read (~0.3 µs a request, which a middleware
 * that only logs or checks the query need not pay). Any other request: its `url`. A rebased
 * request has the query of the request it wraps.
 */
export function searchOfRequest(request: Request): string {
  const target = nodeRuntime(request)?.req?.url;
  return searchOf(typeof target === 'string' ? target : request.url);
}
