/**
 * What the CGI-family gateways (FastCGI, SCGI, CGI) share on the way in: turning the front
 * end's CGI/1.1 meta-variables (RFC 3875 §4.1) into a `Request` and an `Environ`, and running
 * the application on it. Web platform only (no Node module), so it is tested on its own.
 */

import { runApplication } from '../../_internal/outcome.js';
import { isValidHost, requestTargetPath } from '../../_internal/request-target.js';
import { forwardRequestMembers } from '../../environ.js';
import { errorResponse } from '../../http-error.js';
import type { Application, Environ, Gateway } from '../../types.js';

/** Meta-variables by name, as the front end sent them. */
export type MetaVariables = Readonly<Record<string, string>>;

/** A request rebuilt from meta-variables, or why it could not be. */
export type Rebuilt = { request: Request; environ: Environ } | { error: string };

/**
 * Rebuilds the request a front end received.
 *
 * - URL: `https` when `HTTPS` is `on`/`1` (or `REQUEST_SCHEME` says so); host from `HTTP_HOST`,
 *   else `SERVER_NAME` and `SERVER_PORT`; path and query from `REQUEST_URI` (as the client
 *   sent them), else `SCRIPT_NAME` + `PATH_INFO` and `QUERY_STRING`.
 * - `environ.scriptName` is `SCRIPT_NAME` spelled as the client spelled it — taken from
 *   `REQUEST_URI` segment for segment, since front ends decode `SCRIPT_NAME` (`''` for an app at
 *   the root; a trailing `/` dropped) — and `environ.pathInfo` the rest of the `REQUEST_URI`
 *   path, so its percent-encoding matches the URL (lighttpd and nginx both decode `PATH_INFO`).
 *   As for a mount, `request.url` leaves the `scriptName` out.
 * - Headers from `HTTP_*` (`HTTP_X_FOO` → `x-foo`), `CONTENT_TYPE` and `CONTENT_LENGTH`.
 * - `environ.remoteAddress` is `REMOTE_ADDR`, `environ.unixSocket` whether it names a client on
 *   the front end's Unix socket (nginx's `unix:`, lighttpd's socket path), `environ.serverProtocol` the
 *   `SERVER_PROTOCOL` (`HTTP/1.0`, `HTTP/2.0` …).
 *
 * @returns `{ error }` for a missing method, a malformed request URI, host or
 *   `CONTENT_LENGTH`.
 */
export function rebuildRequest(
  meta: MetaVariables,
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal | (() => AbortSignal),
  gateway: Gateway,
): Rebuilt {
  const method = meta.REQUEST_METHOD;
  if (!method || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) {
    return { error: 'REQUEST_METHOD is missing or not a method' };
  }
  const https =
    /^(?:on|1)$/i.test(meta.HTTPS ?? '') || (meta.REQUEST_SCHEME ?? '').toLowerCase() === 'https';
  const host = hostOf(meta, https);
  if (!isValidHost(host)) {
    return { error: 'the Host is not a valid host[:port]' };
  }
  let target = meta.REQUEST_URI;
  if (!target) {
    const query = meta.QUERY_STRING ? `?${meta.QUERY_STRING}` : '';
    target =
      `${encodeURI(meta.SCRIPT_NAME ?? '')}${encodeURI(meta.PATH_INFO ?? '')}${query}` || '/';
  }
  const path = requestTargetPath(target.startsWith('/') ? target : `/${target}`);
  if (typeof path !== 'string') return { error: path.error };
  const query = target.indexOf('?');
  const search = query === -1 ? '' : target.slice(query);
  const scriptName = rawPrefix(path, meta.SCRIPT_NAME ?? '');
  const pathInfo = path.slice(scriptName.length);

  if (meta.CONTENT_LENGTH && !/^\d+$/.test(meta.CONTENT_LENGTH)) {
    return { error: 'CONTENT_LENGTH is not a whole number of bytes' };
  }
  const headers = headersOf(meta);
  if (typeof headers === 'string') return { error: headers };
  const hasBody = method !== 'GET' && method !== 'HEAD' && body !== null;
  if (!hasBody) body?.cancel().catch(() => {});
  const url = `${https ? 'https' : 'http'}://${host}${pathInfo || '/'}${search}`;
  const request = new GatewayRequest(
    url,
    method,
    headers,
    hasBody ? body : null,
    signal,
  ) as unknown as Request;
  const environ: Environ = {
    scriptName,
    pathInfo,
    remoteAddress: meta.REMOTE_ADDR,
    unixSocket: isUnixPeer(meta.REMOTE_ADDR),
    serverProtocol: meta.SERVER_PROTOCOL || undefined,
    gateway,
  };
  return { request, environ };
}

/**
 * Whether the front end says its client came over a Unix socket: nginx's `$remote_addr` is
 * `unix:` for a client of a `listen unix:…` server, lighttpd's `REMOTE_ADDR` the socket's
 * path (an IP address never starts with `/`). RFC 3875 §4.1.8 requires `REMOTE_ADDR`, so a
 * missing one is an unknown peer, not a local one.
 */
function isUnixPeer(remoteAddress: string | undefined): boolean {
  return (
    remoteAddress !== undefined &&
    (remoteAddress.startsWith('unix:') || remoteAddress.startsWith('/'))
  );
}

/** `HTTP_HOST`, else `SERVER_NAME` (bracketed when IPv6) and a non-default `SERVER_PORT`. */
function hostOf(meta: MetaVariables, https: boolean): string {
  if (meta.HTTP_HOST) return meta.HTTP_HOST;
  if (!meta.SERVER_NAME) return 'localhost';
  const name = meta.SERVER_NAME.includes(':') ? `[${meta.SERVER_NAME}]` : meta.SERVER_NAME;
  const port = meta.SERVER_PORT;
  return port && port !== (https ? '443' : '80') ? `${name}:${port}` : name;
}

/**
 * The request headers: `HTTP_*` (`HTTP_X_FOO` → `x-foo`; never `HTTP_PROXY`, httpoxy),
 * `CONTENT_TYPE` and `CONTENT_LENGTH`; or what is wrong with one. The body's framing is the
 * front end's `CONTENT_LENGTH` alone (RFC 3875 §4.1.2): a client's own `Content-Length` or
 * `Transfer-Encoding` passed on as `HTTP_*` is not the body the gateway reads, so it is not
 * a header of the request.
 */
const NOT_HEADERS = new Set(['HTTP_PROXY', 'HTTP_CONTENT_LENGTH', 'HTTP_TRANSFER_ENCODING']);

function headersOf(meta: MetaVariables): Headers | string {
  const headers = new Headers();
  try {
    for (const [name, value] of Object.entries(meta)) {
      if (name.startsWith('HTTP_') && !NOT_HEADERS.has(name)) {
        headers.append(name.slice(5).toLowerCase().replaceAll('_', '-'), value);
      }
    }
    if (meta.CONTENT_TYPE) headers.set('content-type', meta.CONTENT_TYPE);
    if (meta.CONTENT_LENGTH) headers.set('content-length', meta.CONTENT_LENGTH);
  } catch (error) {
    return `a header is malformed: ${(error as Error).message}`;
  }
  return headers;
}

const kNative = Symbol('mortar.nativeRequest');

/**
 * The `Request` the CGI-family gateways hand to applications: url, method, headers, body and
 * signal are its own (the signal made only when read — an AbortController per request is a
 * measurable cost); everything else (text(), json(), formData(), clone() …) goes through a
 * native `Request` built on first use. `instanceof Request` holds.
 */
class GatewayRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  #body: ReadableStream<Uint8Array> | null;
  #signal: AbortSignal | (() => AbortSignal);
  #native: Request | undefined;
  constructor(
    url: string,
    method: string,
    headers: Headers,
    body: ReadableStream<Uint8Array> | null,
    signal: AbortSignal | (() => AbortSignal),
  ) {
    this.url = url;
    this.method = method;
    this.headers = headers;
    this.#body = body;
    this.#signal = signal;
  }
  get signal(): AbortSignal {
    if (typeof this.#signal === 'function') this.#signal = this.#signal();
    return this.#signal;
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#native ? this.#native.body : this.#body;
  }
  get bodyUsed(): boolean {
    return this.#native ? this.#native.bodyUsed : (this.#body?.locked ?? false);
  }
  get [kNative](): Request {
    this.#native ??= new Request(this.url, {
      method: this.method,
      headers: this.headers,
      body: this.#body,
      signal: this.signal,
      ...(this.#body ? { duplex: 'half' } : {}),
    } as RequestInit);
    return this.#native;
  }
}
forwardRequestMembers(GatewayRequest.prototype, (self) => (self as GatewayRequest)[kNative], []);
Object.setPrototypeOf(GatewayRequest.prototype, Request.prototype);

/**
 * Runs `app` on a rebuilt request as every CGI-family gateway must: a request that could not
 * be rebuilt gets a 400; a thrown `HTTPError` its own response; anything else thrown, or a
 * result that is not a `Response`, a 500 and one log line.
 */
export async function answer(
  app: Application,
  rebuilt: Rebuilt,
  log: (line: string) => void,
): Promise<{ response: Response; request: Request | undefined }> {
  if ('error' in rebuilt) {
    return { response: errorResponse(400, undefined, rebuilt.error), request: undefined };
  }
  const { request, environ } = rebuilt;
  return { response: await runApplication(app, request, environ, log), request };
}

/**
 * The leading segments of the raw `path` that spell the (decoded) `scriptName`, or `''` when
 * they do not: the front end's mount prefix in the client's own spelling.
 */
function rawPrefix(path: string, scriptName: string): string {
  const wanted = scriptName.replace(/\/+$/, '');
  if (wanted === '') return '';
  const count = wanted.split('/').length - 1;
  let end = 0;
  for (let i = 0; i < count; i++) {
    const next = path.indexOf('/', end + 1);
    end = next === -1 ? path.length : next;
  }
  const prefix = path.slice(0, end);
  let decoded: string;
  try {
    decoded = decodeURIComponent(prefix);
  } catch {
    return '';
  }
  return decoded === wanted ? prefix : '';
}
