/**
 * The client's response, made of the upstream's: hop-by-hop fields dropped, the upstream's
 * URLs and cookie paths rewritten to the mount, the body passed on untouched.
 */
import { FastResponse } from '../../src/response.js';
import { responseFields } from './headers.js';
import type { Target } from './path.js';
import { type Mount, rewriteCookiePath, rewriteLocation } from './rewrite.js';
import type { UpstreamResponse } from './transport.js';

/** Which of the upstream's URLs are rewritten to the mount (each on by default). */
export interface Rewrites {
  /** `Location` and `Content-Location` into the target. @default true */
  location?: boolean;
  /** `Set-Cookie`'s `Path` under the target's base. @default true */
  cookiePath?: boolean;
}

/** Statuses whose response has no body (RFC 9110 §6.4.1): a Response refuses one. */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/** The client's response for the upstream's `response`. */
export function buildResponse(
  response: UpstreamResponse,
  method: string,
  target: Target,
  mount: Mount,
  rewrites: Required<Rewrites>,
): Response {
  const headers = responseHeaders(response.headers, target, mount, rewrites);
  let body = response.body;
  if (body !== null && (NO_BODY.has(response.status) || method === 'HEAD')) {
    discard(body);
    body = null;
  }
  const init: ResponseInit = { status: response.status, headers };
  if (response.statusText) init.statusText = response.statusText;
  return new FastResponse(body as BodyInit | null, init);
}

/**
 * The upstream's fields for the client (of a response, or of a WebSocket's 101): hop-by-hop
 * fields and those its `Connection` names dropped, URLs and cookie paths rewritten.
 */
export function responseHeaders(
  fields: Iterable<readonly [string, string]>,
  target: Target,
  mount: Mount,
  rewrites: Required<Rewrites>,
): [string, string][] {
  let connection: string | null = null;
  for (const [name, value] of fields) {
    if (name.toLowerCase() === 'connection') {
      connection = connection === null ? value : `${connection}, ${value}`;
    }
  }
  const flat = responseFields(fields as Iterable<[string, string]>, connection);
  const headers: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    let value = flat[i + 1]!;
    if (rewrites.location && (name === 'location' || name === 'content-location')) {
      value = rewriteLocation(value, target, mount);
    } else if (rewrites.cookiePath && name === 'set-cookie') {
      value = rewriteCookiePath(value, target, mount.prefix);
    }
    headers.push([name, value]);
  }
  return headers;
}

/** Lets go of a body nobody will read. */
function discard(body: NonNullable<UpstreamResponse['body']>): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else (body as { destroy?: () => void }).destroy?.();
}
