/**
 * `TestClient.websocket(path)`: a WebSocket to the application in memory. The handshake goes
 * through the whole chain as any request (the client's cookies sent, a `Set-Cookie` on the
 * accept stored); when the chain's final response is the accept, the hooks the application
 * gave run against a {@link TestPeer}, wrapped as on a gateway (bytes counted for
 * `acceptedWebSocket().closed`, `maxPayload` closing with 1009).
 *
 * ```ts
 * import { expect } from 'vitest';
 *
 * const client = new TestClient(app);
 * const socket = await client.websocket('/ws', { protocols: ['chat'] });
 * socket.send('hello');
 * expect(await socket.next()).toBe('echo: hello');
 * socket.close(1000);
 * expect(await socket.closed).toEqual({ code: 1000, reason: '' });
 * ```
 */
import { is, optionChecker } from '../_internal/options.js';
import { isThenable } from '../_internal/thenable.js';
import { UpgradeSlot } from '../_internal/upgrade.js';
import type { HeadersInit } from '../types.js';
import type { WebSocketHooks, WebSocketMessage, WebSocketPeer } from '../websocket.js';
import {
  type Payload,
  type PeerHub,
  type PeerLink,
  TestMessage,
  TestPeer,
  toPayload,
} from './peer.js';
import { TestResponse } from './response.js';

/** Options of `TestClient.websocket`. */
export interface TestWebSocketOptions {
  /** Subprotocols offered (`Sec-WebSocket-Protocol`), most wanted first. @default [] */
  protocols?: readonly string[];
  /**
   * Headers of the handshake (an `Origin`, an `Authorization`), beside the client's. No
   * `Origin` is sent unless given: the client is not a browser page.
   */
  headers?: HeadersInit;
}

/** How a test WebSocket ended. */
export interface TestWebSocketClosed {
  /** The close code (1000 normal, 1005 none given, 1006 terminated, 1009 too big …). */
  code: number;
  /** The close reason, `''` when none. */
  reason: string;
}

/**
 * Rejects `TestClient.websocket()` when the chain answered the handshake with anything but
 * its accept (a 401, a 403, a 426): the response, its body read, is {@link response}.
 */
export class WebSocketRefusedError extends Error {
  override readonly name = 'WebSocketRefusedError';
  /** The response the chain answered with. */
  readonly response: TestResponse;
  /** Its status. */
  readonly status: number;
  constructor(response: TestResponse) {
    super(
      `TestClient.websocket(): the handshake for ${response.url} was answered ${response.status}, not accepted: ${JSON.stringify(response.text().slice(0, 120))}`,
    );
    this.response = response;
    this.status = response.status;
  }
}

/** What the TestClient gives a handshake. */
export interface TestClientSide {
  /** Runs the chain on a GET with `headers` and an environ whose `websocket` is `slotFor`'s. */
  send(url: URL, headers: Headers, slotFor: (request: Request) => UpgradeSlot): Promise<Response>;
  /** The client's open sockets, for pub/sub among them. */
  hub: PeerHub;
  remoteAddress: string | undefined;
  /** Whether a hook's error rejects `next()` (the client's `throwErrors`). */
  throwErrors: boolean;
}

const checkOptions = optionChecker<TestWebSocketOptions>('TestClient.websocket', {
  protocols: is.strings,
  headers: is.object,
});
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `TestClient.websocket`: runs the handshake through the chain and opens the socket.
 * @throws (a rejection) ConfigError for an unknown option or a value of the wrong kind;
 *   TypeError for a subprotocol that is no token (RFC 6455 §4.1); a
 *   {@link WebSocketRefusedError} when the chain did not accept the handshake.
 */
export async function openWebSocket(
  client: TestClientSide,
  url: URL,
  options: TestWebSocketOptions,
): Promise<TestWebSocket> {
  checkOptions(options);
  for (const protocol of options.protocols ?? []) {
    if (!TOKEN.test(protocol)) {
      throw new TypeError(
        `TestClient.websocket(): subprotocol ${JSON.stringify(protocol)} is not a token`,
      );
    }
  }
  let slot: UpgradeSlot | undefined;
  let request: Request | undefined;
  const response = await client.send(url, handshakeHeaders(options), (made) => {
    request = made;
    slot = new UpgradeSlot(made);
    return slot;
  });
  const socket =
    slot && request
      ? await acceptHandshake({ ...client, request, response, slot, url })
      : undefined;
  if (socket instanceof TestWebSocket) return socket;
  const refusal = socket ?? response;
  const bytes = new Uint8Array(await refusal.arrayBuffer());
  throw new WebSocketRefusedError(new TestResponse(refusal, url.href, bytes, []));
}

/** A handshake the chain answered: what {@link acceptHandshake} opens a socket from. */
interface Handshake extends TestClientSide {
  /** The request the chain got. */
  request: Request;
  /** The chain's final response. */
  response: Response;
  /** The handshake's slot (`environ.websocket`). */
  slot: UpgradeSlot;
  url: URL;
}

/** Builds the handshake's headers: the test's, and the WebSocket ones (RFC 6455 §4.1). */
function handshakeHeaders(options: TestWebSocketOptions): Headers {
  const headers = new Headers(options.headers);
  headers.set('upgrade', 'websocket');
  headers.set('connection', 'Upgrade');
  headers.set('sec-websocket-version', '13');
  const key = crypto.getRandomValues(new Uint8Array(16));
  headers.set('sec-websocket-key', btoa(String.fromCharCode(...key)));
  const protocols = options.protocols ?? [];
  if (protocols.length > 0) headers.set('sec-websocket-protocol', protocols.join(', '));
  return headers;
}

/**
 * The socket a handshake became; the response of an `upgrade` hook that refused it; or
 * `undefined` when the chain did not accept it (its response is the refusal).
 */
async function acceptHandshake(
  handshake: Handshake,
): Promise<TestWebSocket | Response | undefined> {
  const upgrade = handshake.slot.take(handshake.response);
  if (upgrade === undefined) return undefined;
  const { headers } = upgrade;
  const hooks = upgrade.hooks;
  // crossws's upgrade hook runs last, as on a gateway: it may refuse, or add headers.
  let result: UpgradeResult;
  try {
    result = (await hooks.upgrade?.(handshake.request)) as UpgradeResult;
  } catch (error) {
    if (error instanceof Response) return error;
    throw error;
  }
  if (result instanceof Response) return result;
  for (const [name, value] of new Headers(result?.headers)) headers.append(name, value);
  const protocol = result?.protocol ?? upgrade.protocol ?? '';
  if (protocol !== '') headers.set('sec-websocket-protocol', protocol);
  const namespace = result?.namespace ?? new URL(handshake.request.url).pathname;
  return new TestWebSocket(handshake, hooks, headers, protocol, namespace, result?.context ?? {});
}

/** What crossws's `upgrade` hook may answer: a refusal, or the handshake's settings. */
type UpgradeResult =
  | Response
  | {
      headers?: HeadersInit;
      protocol?: string;
      namespace?: string;
      context?: Record<string, unknown>;
    }
  | undefined
  | void;

/**
 * The client's end of a WebSocket opened by `TestClient.websocket`: `send`, `next()` for the
 * next message, `close`, and `closed`. A hook that throws (or rejects) has the `error` hook
 * called, closes the socket with 1011 (internal error), and — unless the client's
 * `throwErrors` is `false` — rejects `next()` with what it threw.
 */
export class TestWebSocket {
  /** The subprotocol the server chose, `''` for none. */
  readonly protocol: string;
  /** The headers of the 101: those the chain added (a `Set-Cookie`, an `X-Request-Id`). */
  readonly headers: Headers;
  /** Resolves once the socket has closed, from either end. */
  readonly closed: Promise<TestWebSocketClosed>;
  readonly #hooks: WebSocketHooks;
  readonly #peer: TestPeer;
  readonly #hub: PeerHub;
  readonly #throwErrors: boolean;
  readonly #queue: Payload[] = [];
  readonly #waiting: { resolve(payload: Payload): void; reject(error: unknown): void }[] = [];
  #end: TestWebSocketClosed | undefined;
  #error: { error: unknown } | undefined;
  #settle!: (closed: TestWebSocketClosed) => void;

  /** @internal Made by `TestClient.websocket`. */
  constructor(
    handshake: Handshake,
    hooks: WebSocketHooks,
    headers: Headers,
    protocol: string,
    namespace: string,
    context: Record<string, unknown>,
  ) {
    this.#hooks = hooks;
    this.headers = headers;
    this.protocol = protocol;
    this.#hub = handshake.hub;
    this.#throwErrors = handshake.throwErrors;
    this.closed = new Promise((resolve) => {
      this.#settle = resolve;
    });
    const socket = this;
    const link: PeerLink = {
      receive: (payload) => this.#receive(payload),
      close: (code, reason) => this.#close(code, reason),
      get open() {
        return socket.#end === undefined;
      },
    };
    this.#peer = new TestPeer({
      link,
      hub: handshake.hub,
      namespace,
      request: handshake.request,
      context,
      remoteAddress: handshake.remoteAddress,
      protocol,
      url: handshake.url.href.replace(/^http/, 'ws'),
    });
    const peers = this.#hub.get(namespace) ?? new Set();
    this.#hub.set(namespace, peers.add(this.#peer));
    this.#call(() => hooks.open?.(this.#peer as unknown as WebSocketPeer));
  }

  /**
   * Sends a message to the server: a string as text; bytes (`ArrayBuffer`, a typed array) as
   * binary. The message hook runs in a later microtask, in order.
   * @throws TypeError for other data; Error once the socket is closed.
   */
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      throw new TypeError(
        `TestWebSocket.send(): send a string or bytes, got ${Object.prototype.toString.call(data)}`,
      );
    }
    if (this.#end !== undefined) {
      throw new Error(`TestWebSocket.send(): the socket is closed (${this.#end.code})`);
    }
    const payload = toPayload(data, 'TestWebSocket.send()');
    queueMicrotask(() => {
      if (this.#end !== undefined) return;
      const message = new TestMessage(payload, this.#peer) as unknown as WebSocketMessage;
      this.#call(() => this.#hooks.message?.(this.#peer as unknown as WebSocketPeer, message));
    });
  }

  /**
   * The next message from the server: a string for text, a Uint8Array for binary.
   * @throws (a rejection) Error once the socket has closed with no message left; what a hook
   *   threw, unless the client's `throwErrors` is `false`.
   */
  next(): Promise<string | Uint8Array> {
    const payload = this.#queue.shift();
    if (payload !== undefined) return Promise.resolve(payload);
    const ended = this.#ended();
    if (ended !== undefined) return Promise.reject(ended);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /**
   * Starts the closing handshake from the client: the server's close hook gets `code` (none:
   * 1005) and `reason`, in a later microtask after the messages sent before.
   * @throws RangeError for a code a client may not send (RFC 6455 §7.4: 1000 or 3000–4999)
   *   or a reason over 123 bytes of UTF-8.
   */
  close(code?: number, reason = ''): void {
    if (
      code !== undefined &&
      code !== 1000 &&
      !(Number.isInteger(code) && code >= 3000 && code <= 4999)
    ) {
      throw new RangeError(
        `TestWebSocket.close(): a client may close with 1000 or 3000–4999, got ${code}`,
      );
    }
    if (new TextEncoder().encode(reason).byteLength > 123) {
      throw new RangeError('TestWebSocket.close(): the reason is over 123 bytes of UTF-8');
    }
    queueMicrotask(() => this.#close(code ?? 1005, reason));
  }

  /** A message from the server: to the first waiting `next()`, else queued. */
  #receive(payload: Payload): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter.resolve(payload);
    else this.#queue.push(payload);
  }

  /** Closes both ends once: the close hook runs, `closed` resolves, waiting `next()`s reject. */
  #close(code: number, reason: string): void {
    if (this.#end !== undefined) return;
    this.#end = { code, reason };
    this.#hub.get(this.#peer.namespace)?.delete(this.#peer);
    this.#call(() => this.#hooks.close?.(this.#peer as unknown as WebSocketPeer, { code, reason }));
    this.#settle({ code, reason });
    const ended = this.#ended()!;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(ended);
  }

  /** Why `next()` gets no message: a hook's error, or the close; `undefined` while open. */
  #ended(): unknown {
    if (this.#error !== undefined && this.#throwErrors) return this.#error.error;
    if (this.#end === undefined) return undefined;
    const { code, reason } = this.#end;
    return new Error(
      `TestWebSocket: closed with ${code}${reason ? ` (${reason})` : ''} and no message left`,
    );
  }

  /** Runs a hook; what it throws or rejects with is the socket's error (see the class). */
  #call(hook: () => unknown): void {
    const failed = (error: unknown) => this.#failed(error);
    try {
      const result = hook();
      if (isThenable(result)) result.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }

  #failed(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = { error };
    // As a gateway would, when the test does not see it thrown.
    if (!this.#throwErrors) console.error('TestClient.websocket: a hook threw:', error);
    try {
      void this.#hooks.error?.(this.#peer as unknown as WebSocketPeer, error as never);
    } catch {
      // The error hook's own failure: the first error is the one reported.
    }
    this.#close(1011, 'internal error');
  }
}
