/**
 * WebSocket upgrades on the HTTP gateway: a handshake goes through the application like any
 * request (the environ carries `websocket`, see `src/websocket.ts`), and only when the chain's
 * final response is the accept marker is the socket handed to crossws (on `ws`) with the
 * headers the chain added. Any other response — a middleware's 401, 403 or 500 — is written on
 * the socket as an ordinary response, and the connection closes after it.
 *
 * Frames, masking, UTF-8 checks, ping/pong and permessage-deflate are crossws's and ws's.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import nodeAdapter, { type NodeAdapter } from 'crossws/adapters/node';
import { is, type OptionChecks, valueKind } from '../../_internal/options.js';
import { PendingUpgrades, UpgradeSlot } from '../../_internal/upgrade.js';
import { hasToken, isWebSocketHandshakeOf, type WebSocketPeer } from '../../websocket.js';

/** RFC 7692 permessage-deflate settings, as `ws` takes them (its docs have the details). */
export interface WebSocketDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  /** LZ77 window the server compresses with, 8–15. */
  serverMaxWindowBits?: number;
  /** LZ77 window the client is asked to compress with, 8–15. */
  clientMaxWindowBits?: number;
  zlibDeflateOptions?: {
    level?: number;
    memLevel?: number;
    strategy?: number;
    chunkSize?: number;
    windowBits?: number;
  };
  zlibInflateOptions?: { chunkSize?: number; windowBits?: number };
  /** Messages below this many bytes are sent uncompressed (with serverNoContextTakeover). */
  threshold?: number;
}

/** One publish relayed between processes by a {@link WebSocketBackplane}. */
export interface WebSocketBackplaneMessage {
  namespace: string;
  topic: string;
  data: string | Uint8Array;
}

/**
 * A pub/sub backplane, as crossws's `sync` drivers are (`redis({ client, channel })` from
 * `crossws/sync`): made once per server with a random instance id; relays each local publish
 * and delivers the other instances' ones.
 */
export type WebSocketBackplane = (context: { id: string }) => {
  subscribe(deliver: (message: WebSocketBackplaneMessage) => void): unknown;
  publish(message: WebSocketBackplaneMessage): unknown;
  close?(): unknown;
};

/** WebSocket settings of the HTTP gateway (`serve(app, { websocket })`). */
export interface WebSocketServeOptions {
  /**
   * The largest message read, in bytes: a larger one closes the socket with 1009 (Message Too
   * Big) before it is buffered whole. An application's `accept(hooks, { maxPayload })` can
   * only lower it.
   * @default 16777216 (16 MiB, uvicorn's `ws_max_size`)
   */
  maxPayload?: number;
  /**
   * Seconds without a message or a pong before a peer is taken for dead and closed; the
   * gateway pings every idle peer on this period. `0` turns it off.
   * @default 30
   */
  idleTimeout?: number;
  /**
   * RFC 7692 permessage-deflate: off by default, as in `ws` (it costs memory per socket and
   * invites compression side channels); `true` or `ws`'s settings turn it on.
   * @default false
   */
  perMessageDeflate?: boolean | WebSocketDeflateOptions;
  /**
   * A crossws sync backplane (`redis({ client, channel })` from `crossws/sync`), so that
   * `peer.publish()` reaches the subscribers of every process and host on it.
   */
  sync?: WebSocketBackplane;
}

/** {@link WebSocketServeOptions.maxPayload}'s default, in bytes. */
export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

/** The value checks of {@link WebSocketServeOptions}. */
export const WEBSOCKET_CHECKS: OptionChecks<WebSocketServeOptions> = {
  maxPayload: is.bytes(false),
  idleTimeout: is.seconds(0),
  perMessageDeflate: valueKind(
    'a boolean or an object',
    (v) => typeof v === 'boolean' || (typeof v === 'object' && v !== null),
  ),
  sync: is.function,
};

/**
 * Whether Node's `req` asks for a WebSocket (a GET with `Upgrade: websocket`): the requests
 * the `upgrade` listener takes.
 */
export function isWebSocketHandshake(req: http.IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && upgrade !== undefined && hasToken(upgrade, 'websocket');
}

/** `isWebSocketRequest` on Node's own fields: no `Headers` object is made for the request. */
const isFullHandshake = (req: http.IncomingMessage) =>
  isWebSocketHandshakeOf(req.method, (name) => req.headers[name]);

/** Whether `req` declares a body (a Content-Length above 0, or a Transfer-Encoding). */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Milliseconds between two lines about the backplane's failures. */
const BACKPLANE_QUIET = 60_000;

/**
 * crossws's `onError` for the backplane: a backplane that is down fails every publish, and a
 * line each would flood the log; this says the first failure, then at most one line a minute
 * with how many failed meanwhile. Local delivery is crossws's and never waits on the backplane.
 */
export function backplaneFailures(
  log: (line: string) => void,
): (error: unknown, context: { stage: string }) => void {
  let quietUntil = Number.NEGATIVE_INFINITY;
  let missed = 0;
  return (error, { stage }) => {
    const now = performance.now();
    if (now < quietUntil) {
      missed++;
      return;
    }
    const more = missed > 0 ? ` (and ${missed} more failures since the last line)` : '';
    log(
      `mortar: the WebSocket pub/sub backplane failed (${stage}: ${(error as Error)?.message ?? error})${more}; publishes reach this process's sockets only; the next failure is logged a minute from now at the earliest`,
    );
    missed = 0;
    quietUntil = now + BACKPLANE_QUIET;
  };
}

/** The pending handshake of an `upgrade` event, until the application has answered it. */
interface Pending {
  socket: Duplex;
  head: Buffer;
  slot: UpgradeSlot | undefined;
}

/** The HTTP gateway's WebSocket side: one crossws adapter per server. */
export class WebSocketGateway {
  readonly #adapter: NodeAdapter | undefined;
  readonly #pending = new WeakMap<http.IncomingMessage, Pending>();
  readonly #upgrades = new PendingUpgrades({
    beforeOpen: (peer) => {
      this.#open++;
      const internal = nodeInternals(peer);
      if (internal?.ws) sendTextAsBytes(internal.ws);
      // crossws keeps the handshake's request and 101 headers on Node's request for as long
      // as the socket is open, though nothing reads them after the 101: a socket that idles
      // for hours should not hold the chain's Request and its headers.
      if (internal?.nodeReq) {
        internal.nodeReq._request = undefined;
        internal.nodeReq._upgradeHeaders = undefined;
      }
    },
    // A handshake in flight in the application when the shutdown began: closed as it opens.
    afterOpen: (peer) => {
      const closing = this.#closing;
      if (closing) peer.close(closing.code, closing.reason);
    },
    // crossws's publish writes to each subscriber's `ws` past its peer's `send`.
    sendsThrough: (peer) => nodeInternals(peer)?.ws,
    afterClose: () => {
      if (--this.#open === 0) this.#allClosed?.();
    },
  });
  /** Sockets open (their `open` ran, their `close` not yet). */
  #open = 0;
  /** Resolves {@link close}'s wait once the last open socket closed. */
  #allClosed: (() => void) | undefined;
  /** The close code and reason once {@link close} was called. */
  #closing: { code: number; reason: string } | undefined;

  /** @param log - Where the backplane's failures are said (see {@link backplaneFailures}). */
  constructor(options: WebSocketServeOptions = {}, log: (line: string) => void = console.error) {
    try {
      this.#adapter = nodeAdapter({
        hooks: this.#upgrades.hooks,
        serverOptions: {
          maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
          perMessageDeflate: options.perMessageDeflate ?? false,
        },
        idleTimeout: options.idleTimeout ?? 30,
        ...(options.sync ? { sync: options.sync, onError: backplaneFailures(log) } : {}),
      } as Parameters<typeof nodeAdapter>[0]);
    } catch {
      // "[crossws] Using Node.js adapter in an incompatible environment" (Deno, Bun).
      this.#adapter = undefined;
    }
  }

  /**
   * The server's `upgrade` listener: runs `listener` (the gateway's request listener) on an
   * ordinary response bound to the raw socket, which then either writes that response or
   * upgrades (see {@link slotFor} and {@link take}).
   */
  upgradeListener(
    listener: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  ): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
    return (req, socket, head) => {
      socket.on('error', destroySocket);
      if (!isWebSocketHandshake(req) && hasBody(req)) {
        // Node < 22.21 sends every Upgrade here, and its parser has left the socket: a body
        // would never be read. (Newer Nodes serve such a request as an ordinary one.)
        const body = 'this server upgrades only to websocket: send the body without Upgrade\n';
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
        return;
      }
      const res = new http.ServerResponse(req);
      res.assignSocket(socket as never);
      res.shouldKeepAlive = false;
      // Node's parser left this socket: the response must end it.
      res.on('finish', () => socket.end());
      this.#pending.set(req, { socket, head, slot: undefined });
      listener(req, res);
    };
  }

  /** The `environ.websocket` for `req`'s handshake, or `undefined` when it is not one. */
  slotFor(req: http.IncomingMessage, request: Request): UpgradeSlot | undefined {
    const pending = this.#pending.get(req);
    if (this.#adapter === undefined || pending === undefined || !isFullHandshake(req)) {
      return undefined;
    }
    pending.slot = new UpgradeSlot(request);
    return pending.slot;
  }

  /**
   * Upgrades when `response` is the accept of `req`'s handshake and returns true; false when
   * `response` is to be written as any other.
   */
  take(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: Request,
    response: Response,
  ): boolean {
    const pending = this.#pending.get(req);
    const upgrade = pending?.slot?.take(response);
    if (this.#adapter === undefined || pending === undefined || upgrade === undefined) {
      return false;
    }
    this.#pending.delete(req);
    this.#upgrades.set(request, upgrade);
    res.detachSocket(pending.socket as never);
    // crossws keeps the Node request it upgrades for as long as the socket is open (for the
    // peer's context, remote address and `request`): it gets what it and `ws` read of one, so
    // that the IncomingMessage (its stream state, raw header list) is not kept for hours.
    // The fields crossws sets on it are declared here, so that they live in the object itself.
    const handshake = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      socket: req.socket,
      _request: undefined,
      _upgradeHeaders: undefined,
      _context: undefined,
      _namespace: undefined,
    };
    void this.#adapter.handleUpgrade(handshake as never, pending.socket, pending.head, request);
    return true;
  }

  /**
   * Closes every open WebSocket with `code` (1001 going away by default), and terminates
   * those still open `timeout` milliseconds later. A handshake the application accepts from
   * now on (one in flight when the shutdown began) is closed with `code` as it opens.
   */
  async close(code = 1001, reason = 'server shutting down', timeout = 10_000): Promise<void> {
    this.#closing = { code, reason };
    const adapter = this.#adapter;
    if (adapter === undefined) return;
    adapter.closeAll(code, reason);
    if (this.#open > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#allClosed = resolve;
        timer = setTimeout(resolve, timeout);
      });
      clearTimeout(timer);
      this.#allClosed = undefined;
    }
    if (this.#open > 0) adapter.closeAll(1006, undefined, true);
    await adapter.close(code, reason).catch(() => {});
  }
}

/** An upgrade socket's `error` listener, shared: the socket is `this`. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** What mortar reads of crossws's Node peer (`peer._internal`): its `ws` and Node request. */
interface NodePeerInternals {
  ws?: SendingSocket;
  nodeReq?: { _request?: unknown; _upgradeHeaders?: unknown };
}

const nodeInternals = (peer: WebSocketPeer) =>
  (peer as unknown as { _internal?: NodePeerInternals })._internal;

/** What {@link sendTextAsBytes} needs of a `ws` WebSocket. */
interface SendingSocket {
  send(data: unknown, options?: unknown, callback?: unknown): void;
}

/** `ws`'s own `send`, read from the first socket's prototype. */
let wsSend: SendingSocket['send'] | undefined;
/** The last text {@link sendText} encoded, and its bytes: a publish sends one string to all. */
let lastText = '';
let lastBytes = Buffer.alloc(0);
/** Longer text is encoded per send, as before: the last one is not kept in memory. */
const SHARED_TEXT_LIMIT = 64 * 1024;

/**
 * Makes `socket` send text as its UTF-8 bytes in a text frame. crossws's publish hands the
 * same string to every subscriber's `send`, and a string written to a socket goes through
 * Node's slow path (encoded in the write, apart from the frame header): encoded once here, the
 * other subscribers get the same bytes, written as `ws` writes any buffer.
 */
function sendTextAsBytes(socket: SendingSocket): void {
  wsSend ??= Object.getPrototypeOf(socket).send as SendingSocket['send'];
  if (socket.send === wsSend) socket.send = sendText;
}

function sendText(this: SendingSocket, data: unknown, options?: unknown, callback?: unknown): void {
  const binary = (options as { binary?: boolean } | null | undefined)?.binary;
  if (
    typeof data !== 'string' ||
    data.length > SHARED_TEXT_LIMIT ||
    (options !== undefined && typeof options !== 'object') ||
    binary === true
  ) {
    wsSend!.call(this, data, options, callback);
    return;
  }
  if (data !== lastText) {
    lastText = data;
    lastBytes = Buffer.from(data, 'utf8');
  }
  // A text frame of those bytes: what `ws` sends for the string itself.
  const text = binary === false ? options : { ...(options as object), binary: false };
  wsSend!.call(this, lastBytes, text, callback);
}
