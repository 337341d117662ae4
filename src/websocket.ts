/**
 * WebSockets through the middleware chain (the ASGI half of the contract).
 *
 * The handshake is an ordinary request: it goes through every middleware — urlmap mounts,
 * session, csrf, proxyFix, accessLog, an auth check — as a `Request` and an environ. A gateway
 * that can upgrade (mortar/node's `serve`, `toFetchHandler` on Deno and Workers, `toBunServe`,
 * `TestClient`) puts {@link WebSocketUpgrade} on `environ.websocket` for a WebSocket handshake;
 * the innermost application calls its `accept(hooks)` and returns the response `accept` gave
 * (a marker). When the response the chain finally returns is that marker — possibly rebuilt by
 * a middleware, with headers added — the gateway answers `101 Switching Protocols` with the
 * headers the chain added (a session's `Set-Cookie`, an `X-Request-Id`) and runs the hooks.
 * When a middleware answered otherwise (401, 403, 500), that response is written and nothing
 * is upgraded.
 *
 * ```ts
 * import type { Application } from 'mortar';
 *
 * const echo: Application = (request, environ) =>
 *   environ.websocket?.accept({ message: (peer, message) => peer.send(message.text()) }) ??
 *   new Response('a WebSocket endpoint\n', { status: 426, headers: { upgrade: 'websocket' } });
 * ```
 *
 * `webSocket(hooks)` from `mortar/websocket` is that application with the checks done
 * (method, version, Origin, subprotocols). The hooks and peers are crossws's (`open`,
 * `message`, `close`, `error`, `drain`; `peer.send`, `peer.subscribe`/`publish`,
 * `peer.close(code, reason)`), so code written for h3 or Nitro runs unchanged.
 */
/**
 * The server's end of one WebSocket, as the hooks get it: crossws's `Peer`, described here in
 * mortar's own types (so mortar's published types need neither crossws's nor the DOM's).
 */
export interface WebSocketPeer {
  /** A random id (a UUID) for this connection. */
  readonly id: string;
  /** The handshake request, as the gateway received it (before any mount rebased it). */
  readonly request: Request;
  /** The client's address, where the runtime tells it. */
  readonly remoteAddress: string | undefined;
  /** Per-connection values the hooks may keep. */
  readonly context: Record<string, unknown>;
  /** The pub/sub namespace: the handshake's path, unless an `upgrade` hook chose another. */
  readonly namespace: string;
  /** The topics this peer is subscribed to. */
  readonly topics: Set<string>;
  /** Bytes queued to send and not yet flushed: pause sending while it grows. */
  readonly bufferedAmount: number;
  /** What is known of the socket: `protocol` (the subprotocol), `extensions`, `url`, `readyState`. */
  readonly websocket: {
    readonly protocol?: string;
    readonly extensions?: string;
    readonly url?: string;
    readonly readyState?: number;
  };
  /** Sends a message: a string as text, bytes (ArrayBuffer, typed array, Blob) as binary. */
  send(data: unknown, options?: { compress?: boolean }): number | void | undefined;
  /** Sends a message to the subscribers of `topic` (not to this peer), in every process on the backplane. */
  publish(topic: string, data: unknown, options?: { compress?: boolean }): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Closes with a close frame: `code` (RFC 6455 §7.4) and a reason of at most 123 bytes. */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close frame (the other end sees 1006). */
  terminate(): void;
  /** Sends a ping frame (at most 125 bytes of data). */
  ping(data?: unknown): unknown;
  /**
   * Resolves once {@link bufferedAmount} is at most `threshold` bytes (0), checking every
   * `pollInterval` milliseconds (100), or at once when the socket is closed.
   */
  waitForDrain(options?: {
    threshold?: number;
    pollInterval?: number;
    signal?: AbortSignal;
  }): Promise<void>;
}

/** A message received: crossws's `Message`, read as text, JSON or bytes. */
export interface WebSocketMessage {
  /** A random id (a UUID). */
  readonly id: string;
  /** The payload as the runtime gave it. */
  readonly rawData: unknown;
  /** The payload (a string for text; bytes as the runtime's binary type). */
  readonly data: unknown;
  /** The payload decoded as UTF-8 text. */
  text(): string;
  /** The payload parsed as JSON. @throws SyntaxError for text that is not JSON. */
  json<T = unknown>(): T;
  /** The payload as bytes (text encoded as UTF-8). */
  uint8Array(): Uint8Array;
  arrayBuffer(): ArrayBuffer | SharedArrayBuffer;
  blob(): Blob;
}

/**
 * The hooks of one WebSocket: crossws's, each optional, and free to return anything
 * (`open: (peer) => peer.send('hi')` is fine: what a hook returns is awaited and dropped).
 */
export interface WebSocketHooks {
  // Method syntax on purpose: hooks typed for crossws's richer `Peer` (h3's, Nitro's,
  // `defineHooks`) are accepted too.
  /**
   * crossws's own handshake hook, run last (after the chain accepted): may return
   * `{ headers, protocol, namespace, context }`, or a `Response` that refuses.
   */
  upgrade?(request: Request): unknown;
  /** The socket is open. */
  open?(peer: WebSocketPeer): unknown;
  /** A message came. */
  message?(peer: WebSocketPeer, message: WebSocketMessage): unknown;
  /** The socket closed: the code and reason of the close frame (1005 none, 1006 lost). */
  close?(peer: WebSocketPeer, details: { code?: number; reason?: string }): unknown;
  /** An error on the socket. */
  error?(peer: WebSocketPeer, error: Error): unknown;
  /** The send buffer drained after back-pressure: sending may resume. */
  drain?(peer: WebSocketPeer): unknown;
  /** A ping frame came from the client (its data). */
  ping?(peer: WebSocketPeer, data: Uint8Array): unknown;
  /** A pong frame came (its data). */
  pong?(peer: WebSocketPeer, data: Uint8Array): unknown;
}

/** Options of {@link WebSocketUpgrade.accept}. */
export interface WebSocketAcceptOptions {
  /**
   * The subprotocol chosen, sent as `Sec-WebSocket-Protocol` on the 101: one of
   * {@link WebSocketUpgrade.protocols} (RFC 6455 §4.2.2), else the accept throws.
   */
  protocol?: string | undefined;
  /** Headers for the 101 response, beside those the rest of the chain adds. */
  headers?: ConstructorParameters<typeof Headers>[0] | undefined;
  /**
   * The largest message accepted, in bytes: a larger one closes the socket with 1009 (Message
   * Too Big, RFC 6455 §7.4.1). The gateway's own limit (`serve`'s `websocket.maxPayload`)
   * still bounds what is read before it is checked.
   */
  maxPayload?: number | undefined;
}

/** How a WebSocket ended, for access logs (see {@link acceptedWebSocket}). */
export interface WebSocketClosed {
  /** The close code (1000 normal, 1001 going away, 1006 lost without a close frame …). */
  code: number;
  /** The close reason, `''` when none. */
  reason: string;
  /** Milliseconds from the 101 to the close. */
  durationMs: number;
  /** Message payload bytes received from the client. */
  bytesReceived: number;
  /**
   * Message payload bytes sent to the client: its `peer.send`s and, on Node's `serve()` and in
   * TestClient, the publishes of other peers it received (on Deno, Bun and Workers crossws
   * delivers those past `peer.send`, uncounted).
   */
  bytesSent: number;
}

/** The WebSocket a handshake became: {@link acceptedWebSocket}'s answer. */
export interface AcceptedWebSocket {
  /** Resolves once the socket closes; never rejects. Never settles if the upgrade fails. */
  readonly closed: Promise<WebSocketClosed>;
}

/**
 * `environ.websocket`: present only on a WebSocket handshake (a `GET` with `Upgrade:
 * websocket`) at a gateway that can upgrade it.
 */
export interface WebSocketUpgrade {
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order. */
  readonly protocols: readonly string[];
  /**
   * Accepts the handshake with `hooks`: returns the response for the application to return.
   * The gateway upgrades only when the chain's final response is this one (or a copy a
   * middleware made of it, e.g. `new Response(body, response)`), keeping the headers the chain
   * added.
   *
   * @throws Error when called twice for one handshake, or with a `protocol` the client did not
   *   offer.
   */
  accept(hooks: WebSocketHooks, options?: WebSocketAcceptOptions): Response;
}

/** The name of the header that marks the accept response: never sent to a client. */
export const WEBSOCKET_MARKER_HEADER = 'x-mortar-websocket-accept';

/**
 * The WebSocket this response will become, when `response` is the chain's accept of the
 * handshake in `environ` — for middleware that treat an upgrade apart (accessLog logs it as
 * `101` when it closes; compress, lint, bodyLimit and cache leave it alone). `undefined` for
 * any other response.
 */
export function acceptedWebSocket(
  response: Response,
  environ: { readonly websocket?: WebSocketUpgrade | undefined },
): AcceptedWebSocket | undefined {
  // The gateways' environ.websocket (`UpgradeSlot`) knows its own accept; see upgrade.ts.
  const upgrade = environ.websocket as
    | (WebSocketUpgrade & { isAccept?(response: Response): boolean })
    | undefined;
  return upgrade?.isAccept?.(response) ? (upgrade as unknown as AcceptedWebSocket) : undefined;
}

/**
 * Whether `request` is a WebSocket opening handshake (RFC 6455 §4.1): a `GET` whose `Upgrade`
 * lists `websocket` and whose `Connection` lists `upgrade`, case-insensitively.
 */
export function isWebSocketRequest(request: Request): boolean {
  return isWebSocketHandshakeOf(request.method, (name) => request.headers.get(name));
}

/**
 * {@link isWebSocketRequest}'s test on a method and a field reader (a gateway reads its own
 * fields with it, making no `Headers` object); fields are read only as far as needed.
 */
export function isWebSocketHandshakeOf(
  method: string | undefined,
  field: (name: 'upgrade' | 'connection') => string | null | undefined,
): boolean {
  if (method !== 'GET') return false;
  const upgrade = field('upgrade');
  if (upgrade == null || !hasToken(upgrade, 'websocket')) return false;
  const connection = field('connection');
  return connection != null && hasToken(connection, 'upgrade');
}

/**
 * Whether the comma-separated list `value` (an `Upgrade` or `Connection` field) holds `token`,
 * given in lower case (the list is compared case-insensitively).
 */
export function hasToken(value: string, token: string): boolean {
  // The usual field is the one token (`websocket`, `Upgrade`): no list to split.
  if (value.length === token.length) return value.toLowerCase() === token;
  for (const part of value.split(',')) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}
