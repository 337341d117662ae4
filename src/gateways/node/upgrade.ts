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
import type { Hooks, PerMessageDeflateOptions, SyncAdapter } from 'crossws';
import nodeAdapter, { type NodeAdapter } from 'crossws/adapters/node';
import { is, type OptionChecks, valueKind } from '../../_internal/options.js';
import { type Upgrade, UpgradeSlot } from '../../_internal/upgrade.js';
import { isWebSocketRequest } from '../../websocket.js';

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
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * A crossws sync backplane (`redis({ client, channel })` from `crossws/sync`), so that
   * `peer.publish()` reaches the subscribers of every process and host on it.
   */
  sync?: SyncAdapter;
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

/** The pending handshake of an `upgrade` event, until the application has answered it. */
interface Pending {
  socket: Duplex;
  head: Buffer;
  slot: UpgradeSlot | undefined;
}

/** The HTTP gateway's WebSocket side: one crossws adapter per server. */
export class WebSocketGateway {
  readonly #adapter: NodeAdapter;
  readonly #pending = new WeakMap<http.IncomingMessage, Pending>();
  readonly #upgrades = new WeakMap<Request, Upgrade>();

  constructor(options: WebSocketServeOptions = {}) {
    this.#adapter = nodeAdapter({
      resolve: (request) => this.#hooksFor(request),
      serverOptions: { maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD },
      perMessageDeflate: options.perMessageDeflate ?? false,
      idleTimeout: options.idleTimeout ?? 30,
      ...(options.sync ? { sync: options.sync } : {}),
    } as Parameters<typeof nodeAdapter>[0]);
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
      socket.on('error', () => socket.destroy());
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
    if (pending === undefined || !isWebSocketRequest(request)) return undefined;
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
    if (pending === undefined || upgrade === undefined) return false;
    this.#pending.delete(req);
    this.#upgrades.set(request, upgrade);
    res.detachSocket(pending.socket as never);
    // crossws keeps `request` as long as the socket is open (on the IncomingMessage): the
    // response it was made with answers nothing now, and would stay in memory with it.
    const node = (request as { runtime?: { node?: { res?: unknown } } }).runtime?.node;
    if (node?.res === res) node.res = undefined;
    void this.#adapter.handleUpgrade(req, pending.socket, pending.head, request);
    return true;
  }

  /**
   * Closes every open WebSocket with `code` (1001 going away by default), and terminates
   * those still open `timeout` milliseconds later.
   */
  async close(code = 1001, reason = 'server shutting down', timeout = 10_000): Promise<void> {
    this.#adapter.closeAll(code, reason);
    const open = () => [...this.#adapter.peers.values()].reduce((n, set) => n + set.size, 0);
    const deadline = performance.now() + timeout;
    while (open() > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (open() > 0) this.#adapter.closeAll(1006, undefined, true);
    await this.#adapter.close(code, reason).catch(() => {});
  }

  /** crossws's resolver: the hooks `take` found for this request, with the 101's headers. */
  #hooksFor(request: Request): Partial<Hooks> {
    const upgrade = this.#upgrades.get(request);
    if (upgrade === undefined) throw new Error('mortar: an upgrade with no accepted handshake');
    this.#upgrades.delete(request);
    const { hooks, headers, protocol } = upgrade;
    const own = hooks.upgrade;
    return {
      ...hooks,
      open(peer) {
        sendTextAsBytes(peer.websocket as unknown as SendingSocket);
        return hooks.open?.(peer);
      },
      async upgrade(req) {
        const result = await own?.(req);
        if (result instanceof Response) return result;
        if (result?.headers !== undefined) {
          for (const [name, value] of new Headers(result.headers)) headers.append(name, value);
        }
        return { ...result, headers, protocol: result?.protocol ?? protocol };
      },
    };
  }
}

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
