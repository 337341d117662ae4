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
import type { PerMessageDeflateOptions, SyncAdapter } from 'crossws';
import nodeAdapter, { type NodeAdapter } from 'crossws/adapters/node';
import { is, type OptionChecks, valueKind } from '../../_internal/options.js';
import { PendingUpgrades, UpgradeSlot } from '../../_internal/upgrade.js';
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

/**
 * The HTTP gateway's WebSocket side: one crossws adapter per server. On Deno and Bun, whose
 * `node:http` crossws's Node adapter refuses to run on, there is none: `serve()` still serves
 * there, and a handshake is an ordinary request with no `environ.websocket` (their own servers
 * upgrade: `toFetchHandler`, `toBunServe`).
 */
export class WebSocketGateway {
  readonly #adapter: NodeAdapter | undefined;
  readonly #pending = new WeakMap<http.IncomingMessage, Pending>();
  readonly #upgrades = new PendingUpgrades();

  constructor(options: WebSocketServeOptions = {}) {
    try {
      this.#adapter = nodeAdapter({
        hooks: this.#upgrades.hooks,
        serverOptions: { maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD },
        perMessageDeflate: options.perMessageDeflate ?? false,
        idleTimeout: options.idleTimeout ?? 30,
        ...(options.sync ? { sync: options.sync } : {}),
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
    if (this.#adapter === undefined || pending === undefined || !isWebSocketRequest(request)) {
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
    void this.#adapter.handleUpgrade(req, pending.socket, pending.head, request);
    return true;
  }

  /**
   * Closes every open WebSocket with `code` (1001 going away by default), and terminates
   * those still open `timeout` milliseconds later.
   */
  async close(code = 1001, reason = 'server shutting down', timeout = 10_000): Promise<void> {
    const adapter = this.#adapter;
    if (adapter === undefined) return;
    adapter.closeAll(code, reason);
    const open = () => [...adapter.peers.values()].reduce((n, set) => n + set.size, 0);
    const deadline = performance.now() + timeout;
    while (open() > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (open() > 0) adapter.closeAll(1006, undefined, true);
    await adapter.close(code, reason).catch(() => {});
  }
}
