import { originalRequest, searchOf } from './environ.js';

/**
 * srvx's documented `request.runtime.node.req`: Node's parsed headers (lower-case names) and
 * the request target as received.
 */
interface NodeBacked {
  runtime?: {
    node?: { req?: { headers?: Record<string, string | string[] | undefined>; url?: unknown } };
  };
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
  // Under a mount the request is rebased: its headers are the gateway request's own.
  const raw = (originalRequest(request) as NodeBacked).runtime?.node?.req?.headers;
  if (raw === undefined) return request.headers.get(name);
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
  const target = (originalRequest(request) as NodeBacked).runtime?.node?.req?.url;
  return searchOf(typeof target === 'string' ? target : request.url);
}
