/**
 * WebSocket clients for the tests: undici's `WebSocket` (Node 20 has no global one) with its
 * messages queued, and a raw socket that does the handshake and then only reads — a client
 * that never answers a close frame.
 */
import net from 'node:net';
import { WebSocket } from 'undici';

/** An open WebSocket whose messages wait in a queue for {@link Client.next}. */
export interface Client {
  socket: WebSocket;
  /** The next message (text, or binary as a Uint8Array); rejects when the socket closes first. */
  next(): Promise<string | Uint8Array>;
  /** Sends `text` and resolves with the answer. */
  ask(text: string): Promise<string | Uint8Array>;
  /** Resolves with the close code and reason once the socket is closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Opens a WebSocket on `url` (`ws://…`), with undici's `headers` (an `Origin`) if given;
 * rejects when the handshake fails.
 */
export async function connect(
  url: string,
  init: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<Client> {
  const socket = new WebSocket(url, init);
  socket.binaryType = 'arraybuffer';
  const queue: (string | Uint8Array)[] = [];
  const waiting: ((value: string | Uint8Array | Error) => void)[] = [];
  socket.addEventListener('message', (event) => {
    const data = typeof event.data === 'string' ? event.data : new Uint8Array(event.data);
    const waiter = waiting.shift();
    if (waiter) waiter(data);
    else queue.push(data);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener('close', (event) => {
      for (const waiter of waiting.splice(0)) waiter(new Error(`closed with ${event.code}`));
      resolve({ code: event.code, reason: event.reason });
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`no WebSocket on ${url}`)), {
      once: true,
    });
  });
  const next = async (): Promise<string | Uint8Array> => {
    const queued = queue.shift();
    if (queued !== undefined) return queued;
    const value = await new Promise<string | Uint8Array | Error>((resolve) => {
      waiting.push(resolve);
    });
    if (value instanceof Error) throw value;
    return value;
  };
  const ask = (text: string) => {
    socket.send(text);
    return next();
  };
  return { socket, next, ask, closed };
}

/** A raw TCP connection after a 101: what the server sent after it, and whether it closed. */
export interface RawSocket {
  /** The bytes received after the 101's head. */
  received(): Buffer;
  /** Resolves once the server has closed the connection. */
  ended: Promise<void>;
  destroy(): void;
}

/**
 * Does the handshake on `url` (`http://…`) by hand, then only reads: it never answers a ping
 * or a close frame. Rejects when the answer is not 101.
 */
export function rawWebSocket(url: string): Promise<RawSocket> {
  const { hostname, port, pathname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let data = Buffer.alloc(0);
  let head = -1;
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (head >= 0) return;
      head = data.indexOf('\r\n\r\n');
      if (head < 0) return;
      const status = data.subarray(0, data.indexOf('\r\n')).toString();
      if (!status.startsWith('HTTP/1.1 101 ')) reject(new Error(`not upgraded: ${status}`));
      resolve({ received: () => data.subarray(head + 4), ended, destroy: () => socket.destroy() });
    });
    socket.write(
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** The code and reason of a server's close frame (unmasked, RFC 6455 §5.5.1) at `bytes`' start. */
export function closeFrame(bytes: Buffer): { code: number; reason: string } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0x88) return undefined;
  const length = bytes[1]! & 0x7f;
  return {
    code: bytes.readUInt16BE(2),
    reason: bytes.subarray(4, 2 + length).toString(),
  };
}
