/**
 * The one WebSocket handshake slot every upgrading gateway shares (node's `serve`,
 * `toFetchHandler`, `toBunServe`, `TestClient`): it is `environ.websocket` for the chain, keeps
 * what the innermost application accepted, and tells the gateway, from the chain's final
 * response, whether to upgrade and with which headers and hooks.
 */

import { requestHeader } from '../request-header.js';
import { FastResponse } from '../response.js';
import {
  type AcceptedWebSocket,
  WEBSOCKET_MARKER_HEADER,
  type WebSocketAcceptOptions,
  type WebSocketClosed,
  type WebSocketHooks,
  type WebSocketPeer,
  type WebSocketUpgrade,
} from '../websocket.js';
import { isFastResponse, responseParts } from './response-parts.js';
import { CountedHooks, type SendTarget } from './websocket-count.js';

/** What the gateway does after the chain answered with the accept marker. */
export interface Upgrade {
  /** The hooks to run: the application's, wrapped to count bytes and enforce `maxPayload`. */
  hooks: WebSocketHooks;
  /** The headers of the 101 beside the handshake's own: what the chain put on the marker. */
  headers: Headers;
  /** The subprotocol chosen, if any. */
  protocol: string | undefined;
}

/** Headers of the marker that are not sent on the 101 (the handshake writes its own). */
const NOT_ON_101 = new Set([
  WEBSOCKET_MARKER_HEADER,
  'connection',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'keep-alive',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-version',
]);

/** `environ.websocket` for one handshake. See the module. */
export class UpgradeSlot implements WebSocketUpgrade, AcceptedWebSocket {
  readonly protocols: readonly string[];
  /** Marks this handshake's accept response (see {@link isAccept}). */
  readonly #token: string = nextToken();
  #accepted: { hooks: WebSocketHooks; options: WebSocketAcceptOptions } | undefined;
  /** The response {@link accept} returned, told apart from a copy a middleware made of it. */
  #marker: Response | undefined;
  /** {@link closed}, made when first read (most sockets have no access log waiting on it). */
  #closed: Promise<WebSocketClosed> | undefined;
  #settle: ((closed: WebSocketClosed) => void) | undefined;
  /** The socket's hooks once {@link take} upgraded: they settle {@link closed}. */
  #counted: CountedHooks | undefined;

  constructor(request: Request) {
    this.protocols = offeredProtocols(requestHeader(request, 'sec-websocket-protocol'));
  }

  get closed(): Promise<WebSocketClosed> {
    this.#closed ??=
      this.#counted?.closed() ??
      new Promise((resolve) => {
        this.#settle = resolve;
      });
    return this.#closed;
  }

  accept(hooks: WebSocketHooks, options: WebSocketAcceptOptions = {}): Response {
    if (this.#accepted !== undefined) {
      throw new Error('environ.websocket.accept(): this handshake was already accepted');
    }
    if (typeof hooks !== 'object' || hooks === null) {
      throw new TypeError(`environ.websocket.accept(): hooks must be an object, got ${hooks}`);
    }
    const { protocol } = options;
    if (protocol !== undefined && !this.protocols.includes(protocol)) {
      throw new Error(
        `environ.websocket.accept(): protocol ${JSON.stringify(protocol)} was not offered by the client (it offered ${this.protocols.length ? this.protocols.join(', ') : 'none'})`,
      );
    }
    this.#accepted = { hooks, options };
    const own: [string, string][] = [
      [WEBSOCKET_MARKER_HEADER, this.#token],
      ['upgrade', 'websocket'],
      ['content-type', 'text/plain; charset=utf-8'],
    ];
    let headers: HeadersInit = own;
    if (options.headers !== undefined) {
      // Checked here, where a bad name is the caller's: the response copies them lazily.
      headers = new Headers(options.headers);
      for (const [name, value] of own) headers.set(name, value);
    }
    // Should it ever reach a client (a gateway that cannot upgrade), it says what it is. A
    // FastResponse makes no body stream unless one is read: on an upgrade, none is.
    this.#marker = new FastResponse('426 Upgrade Required\n\nthis is a WebSocket endpoint\n', {
      status: 426,
      headers,
    });
    return this.#marker;
  }

  /**
   * Whether `response` is this handshake's accept, or a copy a middleware made of it (status
   * and header fields kept): the one test of `take` and of `acceptedWebSocket`.
   */
  isAccept(response: Response): boolean {
    return (
      this.#accepted !== undefined &&
      response.status === 426 &&
      response.headers.get(WEBSOCKET_MARKER_HEADER) === this.#token
    );
  }

  /**
   * What to upgrade with when `response` is this handshake's accept (or a copy of it), else
   * `undefined` (the response is written as any other). Cancels the marker's body.
   */
  take(response: Response): Upgrade | undefined {
    const accepted = this.#accepted;
    if (accepted === undefined || !this.isAccept(response)) return undefined;
    const headers = new Headers();
    const add = (name: string, value: string) => {
      if (!NOT_ON_101.has(name.toLowerCase())) headers.append(name, value);
    };
    if (response !== this.#marker && isFastResponse(response)) {
      // A middleware's FastResponse copy, read as parts: no body stream is made (its body is
      // the marker's text), and no native Response behind it either.
      const { headers: pairs, body } = responseParts(response);
      for (let i = 0; i < pairs.length; i += 2) add(pairs[i]!, pairs[i + 1]!);
      if (body instanceof ReadableStream) body.cancel().catch(() => {});
    } else {
      // The marker itself stays whole (acceptedWebSocket() still knows it), its body never
      // made; another copy's body is a stream of the marker's.
      for (const [name, value] of response.headers) add(name, value);
      if (response !== this.#marker) response.body?.cancel().catch(() => {});
    }
    this.#marker = undefined;
    // The socket keeps only its counted hooks, not this slot: they settle `closed`.
    this.#counted = new CountedHooks(accepted.hooks, accepted.options.maxPayload, this.#settle);
    this.#settle = undefined;
    return {
      hooks: this.#counted,
      headers,
      protocol: accepted.options.protocol,
    };
  }
}

/** What crossws's `upgrade` hook may answer: a refusal, or the handshake's settings. */
type UpgradeAnswer =
  | Response
  | {
      headers?: ConstructorParameters<typeof Headers>[0];
      protocol?: string;
      namespace?: string;
      context?: Record<string, unknown>;
    }
  | undefined;

/** Where the accepted hooks sit on a peer's crossws context. */
const ACCEPTED = Symbol('mortar.websocket.hooks');

/** The accepted hooks of `peer` (put on its context by {@link PendingUpgrades.hooks}). */
const acceptedOf = (peer: WebSocketPeer): WebSocketHooks | undefined =>
  (peer.context as { [ACCEPTED]?: WebSocketHooks })[ACCEPTED];

/** The close details a hook gets. */
type CloseDetails = { code?: number; reason?: string };

/**
 * What a runtime's crossws peers need mended, once per gateway rather than per socket: run
 * around every socket's `open`, and on the details of its `close`.
 */
export interface SocketMends {
  /** Before the application's `open` (a peer that needs mending before it is seen). */
  beforeOpen?(peer: WebSocketPeer): void;
  /** After the application's `open` returned (not awaited). */
  afterOpen?(peer: WebSocketPeer): void;
  /** The code and reason the socket really closed with, when the adapter's details lack them. */
  closeDetails?(peer: WebSocketPeer, details: CloseDetails): CloseDetails | Promise<CloseDetails>;
  /** After the application's `close` hook was called (not awaited). */
  afterClose?(peer: WebSocketPeer): void;
  /**
   * The object whose `send` carries every message to `peer`'s socket, its own and the
   * publishes of other peers, when there is one: sends are counted there rather than at
   * `peer.send`, which publishes pass by.
   */
  sendsThrough?(peer: WebSocketPeer): SendTarget | undefined;
}

/**
 * The accepted handshakes a gateway is handing to crossws, keyed by their request, and the
 * adapter's `hooks` that run them: crossws calls `upgrade` with the request once the gateway
 * called its `handleUpgrade`, and every later event of that socket goes straight to the
 * accepted hooks, found on the peer's context (crossws's per-request `resolve` would cost a
 * `Promise.all` and a microtask per message).
 */
export class PendingUpgrades {
  readonly #upgrades = new WeakMap<Request, Upgrade>();
  readonly #mends: SocketMends;

  /** @param mends - What the runtime's peers need mended (see {@link SocketMends}). */
  constructor(mends: SocketMends = {}) {
    this.#mends = mends;
  }

  /** Keeps `upgrade` for `request` until crossws's `upgrade` hook takes it. */
  set(request: Request, upgrade: Upgrade): void {
    this.#upgrades.set(request, upgrade);
  }

  /**
   * crossws's `hooks` option. `upgrade` answers with the 101's headers and subprotocol (after
   * the application's own crossws `upgrade` hook, when it has one: a `Response` from it still
   * refuses) and throws for a request that was not accepted (a socket mortar did not hand over).
   */
  readonly hooks: WebSocketHooks = {
    upgrade: async (request) => {
      const upgrade = this.#upgrades.get(request);
      if (upgrade === undefined) throw new Error('mortar: an upgrade with no accepted handshake');
      this.#upgrades.delete(request);
      const { hooks, headers, protocol } = upgrade;
      const result = (await hooks.upgrade?.(request)) as UpgradeAnswer;
      if (result instanceof Response) return result;
      if (result?.headers !== undefined) {
        for (const [name, value] of new Headers(result.headers)) headers.append(name, value);
      }
      const context = { ...result?.context, [ACCEPTED]: hooks };
      return { ...result, headers, protocol: result?.protocol ?? protocol, context };
    },
    open: (peer) => {
      const mends = this.#mends;
      mends.beforeOpen?.(peer);
      const accepted = acceptedOf(peer);
      if (accepted instanceof CountedHooks) accepted.sendsThrough = mends.sendsThrough?.(peer);
      const opened = accepted?.open?.(peer);
      mends.afterOpen?.(peer);
      return opened;
    },
    message: (peer, message) => acceptedOf(peer)?.message?.(peer, message),
    close: (peer, details) => {
      const mends = this.#mends;
      const close = (real: CloseDetails) => {
        const closed = acceptedOf(peer)?.close?.(peer, real);
        mends.afterClose?.(peer);
        return closed;
      };
      const real = mends.closeDetails?.(peer, details) ?? details;
      return real instanceof Promise ? real.then(close) : close(real);
    },
    error: (peer, error) => acceptedOf(peer)?.error?.(peer, error),
    drain: (peer) => acceptedOf(peer)?.drain?.(peer),
    ping: (peer, data) => acceptedOf(peer)?.ping?.(peer, data),
    pong: (peer, data) => acceptedOf(peer)?.pong?.(peer, data),
  };
}

let tokenPrefix: string | undefined;
let tokenCount = 0;

/**
 * A token no other handshake of this process gets: a random prefix drawn once and a counter
 * (a `crypto.randomUUID()` per handshake drew random bytes every time for nothing: the token
 * only has to tell this handshake's marker from another's).
 */
function nextToken(): string {
  tokenPrefix ??= crypto.randomUUID();
  return `${tokenPrefix}-${++tokenCount}`;
}

/** The subprotocols of a `Sec-WebSocket-Protocol` header, in order, without empty ones. */
function offeredProtocols(header: string | null): string[] {
  if (header === null) return [];
  const protocols: string[] = [];
  for (const part of header.split(',')) {
    const token = part.trim();
    if (token !== '' && !protocols.includes(token)) protocols.push(token);
  }
  return protocols;
}
