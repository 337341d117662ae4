/**
 * `mortar/proxy` — mount a remote HTTP service under a prefix: paste.proxy's `Proxy`,
 * Werkzeug's `ProxyMiddleware`, h3's `proxyRequest`, Hono's `proxy`, http-proxy-middleware.
 * `proxy(target)` is an Application, so `urlmap` mounts it like any other:
 *
 * ```ts
 * import { urlmap } from 'mortar/urlmap';
 * import { proxy } from 'mortar/proxy/node'; // on Deno, Bun, Workers: from 'mortar/proxy'
 * const site = urlmap({ '/api': proxy('http://127.0.0.1:9000/v1'), '/': application });
 * // GET /api/users?x=1 → GET /v1/users?x=1 on 127.0.0.1:9000, X-Forwarded-Prefix: /api
 * ```
 *
 * - Path: the target's base path + `environ.pathInfo` as the client sent it (percent-encoded)
 *   + the raw query, joined as strings. A dot segment in any spelling, `\`, `%5c` or NUL is a
 *   400: no request reaches a path outside the base.
 * - Header fields: RFC 9110 §7.6.1's hop-by-hop fields and every field `Connection` names are
 *   dropped both ways; then `Host` (the target's, or the client's with `preserveHost`) and
 *   `X-Forwarded-For/-Proto/-Host/-Prefix` (or RFC 7239 `Forwarded`) are added, replacing the
 *   client's — appended to when a trusted `proxyFix()` ran outside (`mortar/proxy-fix`).
 * - Framing: the client's `Content-Length`/`Transfer-Encoding` are never sent on; the client
 *   sends the body it really has. GET and HEAD send none.
 * - Bodies stream both ways with back-pressure; an event stream leaves event by event.
 * - `Location`/`Content-Location` into the target and `Set-Cookie`'s `Path` under the base
 *   are rewritten to the mount.
 * - Failures: no connection (refused, DNS, TLS) → 502; no response head within
 *   `timeout.headers` (or no connection within the transport's connect timeout) → 504; the
 *   upstream resets mid-body → the client's connection is broken, never a short response that
 *   looks whole; the client goes away → the upstream request is aborted. One log line each.
 *
 * - WebSocket: a handshake at a gateway that can upgrade (`environ.websocket`) is passed to the
 *   `webSocketTransport` (`mortar/proxy/node`'s is on `ws`) with the same URL (`ws:`/`wss:`)
 *   and the same header rules, the client's subprotocols offered. The upstream's handshake is
 *   decided before the client's: an upstream that answers other than 101 (a 403) gives the
 *   client that response, one that cannot be reached a 502 (504 past `timeout.headers`), and
 *   a 101 is accepted with the upstream's subprotocol and its 101's fields (`Set-Cookie`
 *   rewritten); then messages and close codes pass both ways.
 * @module mortar/proxy
 */
import { describeError, terminalSafe } from '../../src/_internal/log.js';
import { assertEnviron, originOf, searchOf } from '../../src/environ.js';
import { HTTPError } from '../../src/http-error.js';
import { nodeRuntime } from '../../src/request-header.js';
import { FastResponse } from '../../src/response.js';
import type { Application } from '../../src/types.js';
import type { WebSocketUpgrade } from '../../src/websocket.js';
import { findProxyOriginal } from '../proxy-fix/index.js';
import { requestFields } from './headers.js';
import { type ProxyOptions, resolveSettings, type Settings } from './options.js';
import { unsafePath, upstreamPath } from './path.js';
import { buildResponse, responseHeaders } from './response.js';
import type { UpstreamResponse, WebSocketTransport } from './transport.js';

export type { ProxyOptions, ProxyTimeouts } from './options.js';
export type { Rewrites } from './response.js';
export {
  fetchTransport,
  type PipeableBody,
  type Transport,
  type UpstreamHandshake,
  type UpstreamRequest,
  type UpstreamResponse,
  type UpstreamWebSocket,
  type WebSocketTransport,
} from './transport.js';

/**
 * An Application that sends each request to `target` (its base path + `environ.pathInfo`)
 * and answers with the upstream's response.
 *
 * @param target - `http://host:port/base` or `https://…`: no credentials, query or fragment.
 * @throws ConfigError at construction, its message starting `proxy:` — for a target that is
 *   not such a URL, an unknown option (with the name it is likely a typo of), or a value of
 *   the wrong kind: a timeout that is not whole milliseconds from 1 to 2^31 − 1, a `forwarded`
 *   style other than `'x-forwarded'` or `'forwarded'`.
 */
export function proxy(target: string | URL, options: ProxyOptions = {}): Application {
  const settings = resolveSettings(target, options);
  return function proxyApp(request, environ) {
    assertEnviron(environ, 'proxy()');
    const problem = unsafePath(environ.pathInfo);
    if (problem !== undefined) return badRequest(request, `proxy: ${problem}`);
    const url = request.url;
    const origin = originOf(url);
    const proto = origin.slice(0, origin.indexOf(':'));
    const host = origin.slice(proto.length + 3);
    const original = findProxyOriginal(environ);
    const headers = requestFields(
      request.headers,
      settings.preserveHost ? host : settings.target.host,
      {
        style: settings.style,
        peer: original === undefined ? environ.remoteAddress : original.remoteAddress,
        client: environ.remoteAddress,
        proto,
        host,
        prefix: environ.scriptName,
        trusted: original?.trusted === true,
      },
    );
    if (headers === undefined) return badRequest(request, 'proxy: a malformed Connection field');
    const path = upstreamPath(settings.target, environ.pathInfo, searchOf(url));
    const mount = { origin, prefix: environ.scriptName };
    const upgrade = environ.websocket;
    if (upgrade !== undefined) {
      const transport = settings.webSocketTransport;
      if (transport === undefined) return noWebSocket(request);
      return tunnel(settings, transport, { request, upgrade, headers, path, mount });
    }
    return exchange(settings, request, headers, path, mount);
  };
}

function badRequest(request: Request, body: string): Response {
  return new HTTPError(400, { body }).toResponse(request);
}

function noWebSocket(request: Request): Response {
  const body =
    "proxy: this proxy has no webSocketTransport to pass a WebSocket on (mortar/proxy/node's proxy has one)";
  return new HTTPError(501, { body }).toResponse(request);
}

/** A WebSocket handshake, as {@link tunnel} passes it on. */
interface Handshake {
  request: Request;
  upgrade: WebSocketUpgrade;
  headers: string[];
  path: string;
  mount: { origin: string; prefix: string };
}

/**
 * Opens the upstream WebSocket, then accepts the client's with the upstream's subprotocol and
 * 101 fields — or answers with the upstream's refusal, or a 502/504 when there is none.
 */
async function tunnel(
  settings: Settings,
  transport: WebSocketTransport,
  { request, upgrade, headers, path, mount }: Handshake,
): Promise<Response> {
  const { target } = settings;
  const url = `ws${target.origin.slice(4)}${path}`;
  const what = () => `WebSocket ${terminalSafe(url)}`;
  const fields: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    // Each leg has its own key, version and extensions; the subprotocols go as `protocols`.
    if (!headers[i]!.startsWith('sec-websocket-')) fields.push(headers[i]!, headers[i + 1]!);
  }
  const controller = new AbortController();
  const state = { timedOut: false, clientGone: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    controller.abort(new Error(`no handshake within ${settings.headersTimeout} ms`));
  }, settings.headersTimeout);
  const unwatch = watchClient(request, () => {
    state.clientGone = true;
    controller.abort(new Error('the client went away'));
  });
  const handshake = {
    url,
    headers: fields,
    protocols: upgrade.protocols,
    signal: controller.signal,
  };
  let result: Awaited<ReturnType<WebSocketTransport>>;
  try {
    result = await transport(handshake);
  } catch (error) {
    return failure(settings, request, error, state, what);
  } finally {
    clearTimeout(timer);
    unwatch();
  }
  if (!('hooks' in result)) return buildResponse(result, 'GET', target, mount, settings.rewrites);
  return upgrade.accept(result.hooks, {
    protocol: result.protocol,
    headers: responseHeaders(result.headers, target, mount, settings.rewrites),
  });
}

/** Sends the request, and makes the client's response of the upstream's, or of its failure. */
async function exchange(
  settings: Settings,
  request: Request,
  headers: string[],
  path: string,
  mount: { origin: string; prefix: string },
): Promise<Response> {
  const { log, target } = settings;
  const what = () => `${request.method} ${terminalSafe(target.origin + path)}`;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no response head within ${settings.headersTimeout} ms`));
  }, settings.headersTimeout);
  let clientGone = false;
  const unwatch = watchClient(request, () => {
    clientGone = true;
    controller.abort(new Error('the client went away'));
  });
  let finished = false;
  const settled = (error?: unknown) => {
    if (finished) return;
    finished = true;
    unwatch();
    if (error === undefined) return;
    log(
      clientGone
        ? `mortar proxy: the client went away; the upstream request was aborted: ${what()}`
        : `mortar proxy: the upstream broke off its response body (the client's connection is closed): ${what()}: ${oneLine(error)}`,
    );
  };
  let response: UpstreamResponse;
  try {
    if (clientGone) throw new Error('the client went away');
    const method = request.method;
    const body = method === 'GET' || method === 'HEAD' ? null : request.body;
    response = await settings.transport({
      method,
      origin: target.origin,
      path,
      headers,
      body,
      signal: controller.signal,
      settled,
    });
  } catch (error) {
    clearTimeout(timer);
    finished = true;
    unwatch();
    return failure(settings, request, error, { timedOut, clientGone }, what);
  }
  clearTimeout(timer);
  return buildResponse(response, request.method, target, mount, settings.rewrites);
}

/** Node's response, as far as watching for the client's going away needs it. */
interface NodeResponseLike {
  once(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
}

/**
 * Calls `onGone` when the client goes away before its response is finished; returns the
 * function that stops watching. On mortar's Node gateway it listens to Node's response
 * (srvx's `request.signal` makes an AbortSignal and a DOMException for every request, ~10 %
 * of a proxied request's CPU); elsewhere to `request.signal`.
 */
function watchClient(request: Request, onGone: () => void): () => void {
  const res = nodeRuntime(request)?.res as NodeResponseLike | undefined;
  if (res !== undefined && typeof res.once === 'function') {
    const onClose = () => {
      if (!res.writableFinished) onGone();
    };
    res.once('close', onClose);
    return () => res.removeListener('close', onClose);
  }
  const signal = request.signal;
  if (signal.aborted) {
    onGone();
    return () => {};
  }
  signal.addEventListener('abort', onGone, { once: true });
  return () => signal.removeEventListener('abort', onGone);
}

/** The 502 or 504 for a request the upstream did not answer, and its log line. */
function failure(
  settings: Settings,
  request: Request,
  error: unknown,
  state: { timedOut: boolean; clientGone: boolean },
  what: () => string,
): Response {
  if (state.clientGone) {
    settings.log(`mortar proxy: the client went away; the upstream request was aborted: ${what()}`);
    return new FastResponse(null, { status: 502 });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const timeout = state.timedOut || code === 'UND_ERR_CONNECT_TIMEOUT';
  const status = timeout ? 504 : 502;
  const reason = state.timedOut
    ? `no response head within ${settings.headersTimeout} ms`
    : oneLine(error);
  settings.log(`mortar proxy: ${status} for ${what()}: ${reason}`);
  return new HTTPError(status, {
    body: timeout
      ? 'the upstream server did not answer in time'
      : 'the upstream server cannot be reached',
  }).toResponse(request);
}

/** An error and its causes on one line (undici puts the reason in `cause`). */
function oneLine(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const first = describeError(current).split('\n')[0] ?? '';
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(' ← ');
}
