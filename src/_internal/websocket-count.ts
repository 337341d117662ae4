/**
 * What an accepted WebSocket counts for `environ.websocket.closed` (access logs): its payload
 * bytes both ways and its lifetime, and the 1009 close past the accept's `maxPayload`.
 */
import type {
  WebSocketClosed,
  WebSocketHooks,
  WebSocketMessage,
  WebSocketPeer,
} from '../websocket.js';

/** Where a counted send target keeps its {@link CountedHooks} (see {@link countedSend}). */
const COUNTED = Symbol('mortar.websocket.counted');

/** What sends a socket's messages: its peer, or the runtime's socket under it. */
export type SendTarget = { send(...args: never[]): unknown };

type CountedTarget = SendTarget & { [COUNTED]?: CountedHooks };

/**
 * One socket's accepted hooks, counting payload bytes for {@link UpgradeSlot.closed} and
 * closing the socket with 1009 past `maxPayload`. One object per socket whose methods are
 * shared: an idle socket holds no closures (10,000 open sockets are 10,000 of these).
 */
export class CountedHooks implements WebSocketHooks {
  openedAt = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** The send target's own `send`, which {@link countedSend} calls. */
  send: ((...args: unknown[]) => unknown) | undefined;
  /** Where to count sends instead of `peer.send`, set just before {@link open}. */
  sendsThrough: SendTarget | undefined;
  /** How the socket ended, once it did. */
  result: WebSocketClosed | undefined;

  constructor(
    readonly hooks: WebSocketHooks,
    readonly maxPayload: number | undefined,
    /** Resolves the slot's `closed` when it was read before the upgrade. */
    public settle: ((closed: WebSocketClosed) => void) | undefined,
  ) {}

  /** A promise of {@link result}: the slot's `closed` when first read after the upgrade. */
  closed(): Promise<WebSocketClosed> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    return new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  upgrade(request: Request): unknown {
    return this.hooks.upgrade?.(request);
  }

  open(peer: WebSocketPeer): unknown {
    this.openedAt = performance.now();
    const target = (this.sendsThrough ?? peer) as CountedTarget;
    this.sendsThrough = undefined;
    this.send = target.send as (...args: unknown[]) => unknown;
    target[COUNTED] = this;
    target.send = countedSend;
    return this.hooks.open?.(peer);
  }

  message(peer: WebSocketPeer, message: WebSocketMessage): unknown {
    const size = payloadSize(message.rawData);
    this.bytesReceived += size;
    const { maxPayload } = this;
    if (maxPayload !== undefined && size > maxPayload) {
      peer.close(1009, `message of ${size} bytes is over the limit of ${maxPayload}`);
      return undefined;
    }
    return this.hooks.message?.(peer, message);
  }

  close(peer: WebSocketPeer, details: { code?: number; reason?: string }): unknown {
    if (this.result === undefined) {
      const { openedAt } = this;
      this.result = {
        code: details.code ?? 1005,
        reason: details.reason ?? '',
        durationMs: openedAt === 0 ? 0 : performance.now() - openedAt,
        bytesReceived: this.bytesReceived,
        bytesSent: this.bytesSent,
      };
      this.settle?.(this.result);
      this.settle = undefined;
    }
    return this.hooks.close?.(peer, details);
  }

  error(peer: WebSocketPeer, error: Error): unknown {
    return this.hooks.error?.(peer, error);
  }

  drain(peer: WebSocketPeer): unknown {
    return this.hooks.drain?.(peer);
  }

  ping(peer: WebSocketPeer, data: Uint8Array): unknown {
    return this.hooks.ping?.(peer, data);
  }

  pong(peer: WebSocketPeer, data: Uint8Array): unknown {
    return this.hooks.pong?.(peer, data);
  }
}

/** A counted target's `send`: one function for every socket, counting then sending. */
function countedSend(this: CountedTarget, data: unknown, ...rest: unknown[]): never {
  const counted = this[COUNTED]!;
  counted.bytesSent += payloadSize(data);
  return counted.send!.call(this, data, ...rest) as never;
}

/** The bytes a message payload takes on the wire (UTF-8 for text). */
function payloadSize(data: unknown): number {
  if (typeof data === 'string') {
    // A publish sends one string to every subscriber: measured once, not once per socket
    // (longer text is measured each time, so that it is not kept in memory).
    if (data.length > 65_536) return utf8Length(data);
    if (data !== lastText) {
      lastText = data;
      lastLength = utf8Length(data);
    }
    return lastLength;
  }
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof Blob) return data.size;
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + payloadSize(part), 0);
  return typeof data === 'object' && data !== null ? utf8Length(JSON.stringify(data)) : 0;
}

/** The last text {@link payloadSize} measured, and its UTF-8 length. */
let lastText = '';
let lastLength = 0;

/** Scratch space {@link utf8Length} encodes into; never read. */
let scratch: Uint8Array | undefined;
const encoder = new TextEncoder();

/**
 * UTF-8 length of `text` (a lone surrogate counts 3, as the U+FFFD it is sent as): encoded
 * natively into a scratch buffer, 48 KiB at a time — a JavaScript loop over the code units
 * took 15 µs for 1 KiB of text, for every message received and sent.
 */
function utf8Length(text: string): number {
  scratch ??= new Uint8Array(48 * 1024);
  if (text.length <= scratch.length / 3) return encoder.encodeInto(text, scratch).written;
  let length = 0;
  // encodeInto stops at a whole code point, so `read` never splits a surrogate pair.
  for (let offset = 0; offset < text.length; ) {
    const { read, written } = encoder.encodeInto(offset === 0 ? text : text.slice(offset), scratch);
    length += written;
    offset += read;
  }
  return length;
}
