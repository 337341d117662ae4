import type { WebSocketUpgrade } from './websocket.js';

/**
 * The contract every part of mortar keeps (DESIGN.md §1).
 *
 * An {@link Application} answers one request; a {@link Middleware} wraps an application and
 * returns a new one. Any fetch handler — Hono's `app.fetch`, a Remix handler, a Workers
 * `fetch` — is already an `Application`.
 */

/** Which gateway turned the wire protocol into a `Request`. */
export type Gateway = 'http' | 'fastcgi' | 'scgi' | 'cgi' | 'fetch' | 'test';

/**
 * What a gateway knows that a `Request` cannot carry: the WSGI environ / ASGI scope analogue.
 *
 * Values placed by middleware live under symbol keys and are read through typed accessors
 * (see {@link defineEnvironKey}), never through strings in user code; so is what a runtime
 * passed `toFetchHandler`'s handler besides the request (`getWorkersEnv`, `getWorkersContext`,
 * `getDenoInfo`, `getBunServer`, `fetchRuntime`), and `waitUntil(environ, promise)` finds there
 * how this runtime lets work outlive the response.
 */
export interface Environ {
  /**
   * PEP 3333 `SCRIPT_NAME`: the mount prefix consumed so far, percent-encoded as received,
   * `''` at the root, never ending in `/`.
   */
  readonly scriptName: string;
  /**
   * PEP 3333 `PATH_INFO`: the rest of the path, percent-encoded as received, `''` or
   * starting with `/`. `scriptName + pathInfo` is always the path the client sent.
   */
  readonly pathInfo: string;
  /**
   * The peer's IP address as the gateway saw it (`REMOTE_ADDR`), when known. `undefined` alone
   * says nothing about the peer (a TCP client that reset its connection before it was read has
   * none): only {@link Environ.unixSocket} says the peer is local.
   */
  readonly remoteAddress?: string | undefined;
  /**
   * `true` when the peer reached us over a Unix-domain socket (reachable only through the file
   * system; it has no IP address), as the gateway knows from how the request arrived: the HTTP
   * gateway from its listener (a socket path), the CGI family from the front end's
   * `REMOTE_ADDR` (nginx's `unix:`, lighttpd's socket path, for a client on its Unix-socket
   * listener), toFetchHandler
   * from Deno's `remoteAddr.transport`. Never inferred from a missing address.
   */
  readonly unixSocket?: boolean | undefined;
  /**
   * PEP 3333 `SERVER_PROTOCOL`: the protocol the client spoke (`HTTP/1.0`, `HTTP/1.1`, a front
   * end's `HTTP/2.0`), when the gateway knows it.
   */
  readonly serverProtocol?: string | undefined;
  /** The gateway that made the request. */
  readonly gateway: Gateway;
  /**
   * Present only on a WebSocket handshake at a gateway that can upgrade it: accept it with
   * hooks (see `WebSocketUpgrade` and `webSocket()` from `mortar/websocket`).
   */
  readonly websocket?: WebSocketUpgrade | undefined;
  /** Values placed by middleware, each under its own symbol. */
  readonly [key: symbol]: unknown;
}

/** One request in, one response out. May throw or reject; see `HTTPError`. */
export type Application = (request: Request, environ: Environ) => Response | Promise<Response>;

/** Takes an application and returns a new one (the decorator pattern). */
export type Middleware = (app: Application) => Application;

/**
 * What `new Headers(init)` takes, from the `Headers` global itself — so mortar's published
 * types need no DOM lib (Node's own fetch types, from @types/node, are enough).
 */
export type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;

/** What `new Response(body)` takes, from the `Response` global itself (see {@link HeadersInit}). */
export type BodyInit = NonNullable<ConstructorParameters<typeof Response>[0]>;
