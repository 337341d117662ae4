/**
 * `mortar/websocket` — a WebSocket endpoint as an ordinary Application, so the handshake goes
 * through every middleware around it (urlmap, session, csrf, proxyFix, accessLog, auth).
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { urlmap } from 'mortar/urlmap';
 * import { getSession, session } from 'mortar/session';
 * import { webSocket } from 'mortar/websocket';
 *
 * const chat = webSocket(async (request, environ) => {
 *   const user = String((await getSession(environ)).get('user') ?? 'anonymous');
 *   return {
 *     open: (peer) => peer.subscribe('room'),
 *     message: (peer, message) => {
 *       peer.publish('room', `${user}: ${message.text()}`);
 *       peer.send(`you: ${message.text()}`);
 *     },
 *   };
 * });
 * export const app = compose(session({ secret: 'a secret of at least 32 characters!' }))(
 *   urlmap({ '/ws': chat }),
 * );
 * ```
 *
 * The checks it makes before accepting, in order (RFC 6455 §4.2):
 * - a request that is no WebSocket handshake gets `426 Upgrade Required` with
 *   `Upgrade: websocket` (RFC 9110 §15.5.22), and so does a handshake at a gateway that cannot
 *   upgrade (FastCGI, SCGI, CGI, a Node handler mounted in Express), with a body that says so;
 * - `Sec-WebSocket-Version` other than 13 gets 426 with `Sec-WebSocket-Version: 13`;
 * - a browser handshake from another origin gets 403 (cross-site WebSocket hijacking: the
 *   handshake carries the site's cookies) unless `origins` lists it;
 * - a subprotocol is chosen from `protocols`, the server's order of preference, among those the
 *   client offered; none is chosen when they share none (RFC 6455 §4.2.2: the client decides).
 * @module mortar/websocket
 */
import { is, optionChecker } from '../../src/_internal/options.js';
import { requestHeader } from '../../src/request-header.js';
import { FastResponse } from '../../src/response.js';
import type { Application, Environ } from '../../src/types.js';
import {
  isWebSocketRequest,
  type WebSocketAcceptOptions,
  type WebSocketHooks,
} from '../../src/websocket.js';
import { crossOrigin, originSet } from '../_shared/origin.js';

export type {
  AcceptedWebSocket,
  WebSocketAcceptOptions,
  WebSocketClosed,
  WebSocketHooks,
  WebSocketMessage,
  WebSocketPeer,
  WebSocketUpgrade,
} from '../../src/websocket.js';
export { acceptedWebSocket, isWebSocketRequest } from '../../src/websocket.js';

/** Options of {@link webSocket}. */
export interface WebSocketOptions {
  /**
   * Other origins (`https://app.example`) whose pages may open this socket; a browser's
   * handshake from any other origin than the request's own gets 403. `'*'` allows every
   * origin (a public API with no cookies).
   * @default []
   */
  origins?: readonly string[] | '*';
  /** Subprotocols the endpoint speaks, most preferred first. @default [] */
  protocols?: readonly string[];
  /**
   * The largest message accepted, in bytes: a larger one closes the socket with 1009. The
   * gateway's own limit (16 MiB on `serve`) bounds it.
   */
  maxPayload?: number;
}

/** The hooks for one connection, or a response that refuses it (a 401, a 404). */
export type WebSocketHooksFactory = (
  request: Request,
  environ: Environ,
) => WebSocketHooks | Response | Promise<WebSocketHooks | Response>;

const checkOptions = optionChecker<WebSocketOptions>('webSocket', {
  origins: is.either(is.oneOf('*'), is.strings),
  protocols: is.strings,
  maxPayload: is.bytes(false),
});

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

/**
 * The Application that accepts WebSocket handshakes with `hooks` (crossws's: `open`,
 * `message`, `close`, `error`, `drain`), or with the hooks a function of the request and its
 * environ makes — where a session, a user or the mount's `scriptName` are read.
 *
 * @throws ConfigError at construction for an unknown option or a value of the wrong kind, or
 *   an `origins` entry that is not an origin; TypeError when `hooks` is neither an object nor
 *   a function.
 */
export function webSocket(
  hooks: WebSocketHooks | WebSocketHooksFactory,
  options: WebSocketOptions = {},
): Application {
  if (typeof hooks !== 'function' && (typeof hooks !== 'object' || hooks === null)) {
    throw new TypeError(`webSocket(): hooks must be an object or a function, got ${hooks}`);
  }
  checkOptions(options);
  const anyOrigin = options.origins === '*';
  const trusted =
    options.origins === '*' ? new Set<string>() : originSet(options.origins, 'webSocket: origins');
  const supported = options.protocols ?? [];
  return async function webSocketApp(request, environ) {
    const refused = refusal(request, environ);
    if (refused) return refused;
    const crossSite = anyOrigin ? undefined : crossOrigin(request, trusted);
    if (crossSite) {
      return new FastResponse(`403 Forbidden\n\nWebSocket handshake refused: ${crossSite}\n`, {
        status: 403,
        headers: TEXT,
      });
    }
    const upgrade = environ.websocket!;
    const made = typeof hooks === 'function' ? await hooks(request, environ) : hooks;
    if (made instanceof Response) return made;
    const accept: WebSocketAcceptOptions = {
      protocol: supported.find((protocol) => upgrade.protocols.includes(protocol)),
      maxPayload: options.maxPayload,
    };
    return upgrade.accept(made, accept);
  };
}

/** The 426 for what cannot be accepted here, or `undefined` when the handshake can be. */
function refusal(request: Request, environ: Environ): Response | undefined {
  // A gateway gives environ.websocket only to a handshake it checked as isWebSocketRequest does.
  if (environ.websocket === undefined && !isWebSocketRequest(request)) {
    return new FastResponse('426 Upgrade Required\n\nthis is a WebSocket endpoint\n', {
      status: 426,
      headers: { ...TEXT, upgrade: 'websocket', connection: 'Upgrade' },
    });
  }
  if (requestHeader(request, 'sec-websocket-version') !== '13') {
    return new FastResponse('426 Upgrade Required\n\nthis server speaks WebSocket version 13\n', {
      status: 426,
      headers: { ...TEXT, upgrade: 'websocket', 'sec-websocket-version': '13' },
    });
  }
  if (environ.websocket === undefined) {
    const how =
      environ.gateway === 'fetch'
        ? 'this fetch handler cannot upgrade: on Bun serve with Bun.serve(toBunServe(app)); Deno and Workers upgrade through toFetchHandler(app)'
        : `the ${environ.gateway} gateway cannot carry a WebSocket: serve this application over HTTP — mortar serve, or serve() from mortar/node on Node; toFetchHandler / toBunServe on Deno, Bun and Workers — and let any front end pass the upgrade through (a Node handler mounted in another server, or node:http under Deno or Bun, cannot upgrade either)`;
    return new FastResponse(`426 Upgrade Required\n\n${how}\n`, {
      status: 426,
      headers: { ...TEXT, upgrade: 'websocket' },
    });
  }
  return undefined;
}
