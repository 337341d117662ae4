/**
 * The server side of a {@link TestClient}'s WebSocket, in memory: a peer and a message with
 * crossws's shapes (`Peer`, `Message`), so the hooks an application gives `accept()` run in a
 * test as they run on a gateway — `peer.send`, `close(code, reason)`, `terminate()`, pub/sub
 * among the client's open sockets, `message.text()`/`json()`/`uint8Array()`.
 */

/** A message payload as it crosses the test socket: text, or a copy of binary bytes. */
export type Payload = string | Uint8Array;

/** What a {@link TestPeer} needs of the socket it belongs to. */
export interface PeerLink {
  /** Hands a message from the server to the client. */
  receive(payload: Payload): void;
  /** Closes both ends with `code` (the close hook runs once). */
  close(code: number, reason: string): void;
  /** Whether the socket is still open. */
  readonly open: boolean;
}

/** The open peers of one TestClient, by pub/sub namespace (the handshake's path, as crossws). */
export type PeerHub = Map<string, Set<TestPeer>>;

const encoder = new TextEncoder();

/**
 * `data` as crossws's adapters send it: a string as text; bytes (`ArrayBuffer`, a typed array,
 * a `DataView`) as binary, copied; a plain object as its JSON; `null`/`undefined` as `''`;
 * numbers and booleans as their text.
 * @throws TypeError for a value that has no such form (a `Blob`, a class instance).
 */
export function toPayload(data: unknown, where: string): Payload {
  if (data === undefined || data === null) return '';
  if (typeof data === 'string') return data;
  if (typeof data === 'number' || typeof data === 'boolean' || typeof data === 'bigint') {
    return String(data);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  const proto = typeof data === 'object' ? Object.getPrototypeOf(data) : undefined;
  if (proto === Object.prototype || proto === null) return JSON.stringify(data);
  throw new TypeError(
    `${where}: cannot send ${Object.prototype.toString.call(data)}: send a string, bytes (ArrayBuffer, a typed array) or a plain object (as JSON)`,
  );
}

/** A received message, as crossws's `Message`: the payload read as text, JSON or bytes. */
export class TestMessage {
  /** The payload as received: a string for a text message, bytes for a binary one. */
  readonly rawData: Payload;
  /** The peer it came from. */
  readonly peer: TestPeer;
  #id: string | undefined;

  /** @internal Made by `TestClient.websocket`. */
  constructor(rawData: Payload, peer: TestPeer) {
    this.rawData = rawData;
    this.peer = peer;
  }
  /** A random id, made on first use. */
  get id(): string {
    this.#id ??= crypto.randomUUID();
    return this.#id;
  }
  /** The payload as it came (crossws's default `binaryType`): a string or a Uint8Array. */
  get data(): Payload {
    return this.rawData;
  }
  /** The payload as UTF-8 text. */
  text(): string {
    return typeof this.rawData === 'string' ? this.rawData : new TextDecoder().decode(this.rawData);
  }
  /**
   * The payload parsed as JSON.
   * @throws SyntaxError when it is not JSON.
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
  /** The payload's bytes (text as UTF-8). */
  uint8Array(): Uint8Array {
    return typeof this.rawData === 'string' ? encoder.encode(this.rawData) : this.rawData;
  }
  /** The payload's bytes in an ArrayBuffer of their exact length. */
  arrayBuffer(): ArrayBuffer {
    const bytes = this.uint8Array();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  /** The payload's bytes as a Blob. */
  blob(): Blob {
    return new Blob([this.arrayBuffer()]);
  }
  toString(): string {
    return this.text();
  }
}

/** What {@link TestPeer} is made from. */
export interface TestPeerInit {
  link: PeerLink;
  hub: PeerHub;
  namespace: string;
  request: Request;
  context: Record<string, unknown>;
  remoteAddress: string | undefined;
  protocol: string;
  url: string;
}

/**
 * The server's end of a test WebSocket, as crossws's `Peer`: what an application's hooks get.
 * `bufferedAmount` is always 0 (nothing waits in memory) and `ping()` does nothing.
 */
export class TestPeer {
  readonly namespace: string;
  readonly request: Request;
  readonly context: Record<string, unknown>;
  readonly remoteAddress: string | undefined;
  /** The topics this peer is subscribed to. */
  readonly topics: Set<string> = new Set();
  readonly #link: PeerLink;
  readonly #hub: PeerHub;
  readonly #websocket: { readonly protocol: string; readonly extensions: string; url: string };
  #id: string | undefined;

  /** @internal Made by `TestClient.websocket`. */
  constructor(init: TestPeerInit) {
    this.#link = init.link;
    this.#hub = init.hub;
    this.namespace = init.namespace;
    this.request = init.request;
    this.context = init.context;
    this.remoteAddress = init.remoteAddress;
    const link = init.link;
    this.#websocket = {
      protocol: init.protocol,
      extensions: '',
      url: init.url,
      get readyState() {
        return link.open ? 1 : 3;
      },
    } as TestPeer['websocket'];
  }
  /** A random id, made on first use. */
  get id(): string {
    this.#id ??= crypto.randomUUID();
    return this.#id;
  }
  /** The socket's view crossws gives: `protocol` (the subprotocol chosen), `readyState`, `url`. */
  get websocket(): {
    readonly protocol: string;
    readonly extensions: string;
    readonly url: string;
    readonly readyState?: number;
  } {
    return this.#websocket;
  }
  /** The open peers of this namespace, this one included. */
  get peers(): Set<TestPeer> {
    return this.#hub.get(this.namespace) ?? new Set();
  }
  /** Bytes waiting to be sent: none, in memory. */
  get bufferedAmount(): number {
    return 0;
  }
  /** Resolves at once: nothing waits in memory. */
  waitForDrain(): Promise<void> {
    return Promise.resolve();
  }
  /**
   * Sends `data` to the client (see {@link toPayload}); nothing once the socket is closed.
   * @returns 0, the bytes still buffered.
   * @throws TypeError for data that cannot be sent.
   */
  send(data: unknown, _options?: { compress?: boolean }): number {
    const payload = toPayload(data, 'peer.send()');
    if (this.#link.open) this.#link.receive(payload);
    return 0;
  }
  /** Closes the socket with `code` (none: 1005) and `reason`; the close hook runs once. */
  close(code?: number, reason?: string): void {
    this.#link.close(code ?? 1005, reason ?? '');
  }
  /** Drops the socket without a closing handshake: the close hook sees 1006. */
  terminate(): void {
    this.#link.close(1006, '');
  }
  /** Does nothing: no ping frames in memory. */
  ping(_data?: unknown): void {}
  subscribe(topic: string): void {
    this.topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }
  /**
   * Sends `data` to every other open peer of this namespace subscribed to `topic` (crossws's
   * rule: not to this one), each through its own `send`.
   */
  publish(topic: string, data: unknown, options?: { compress?: boolean }): void {
    const payload = toPayload(data, 'peer.publish()');
    for (const peer of this.peers) {
      if (peer !== this && peer.topics.has(topic)) peer.send(payload, options);
    }
  }
  toString(): string {
    return this.id;
  }
}
