/**
 * The in-memory socket a Node handler's request and response run on (no TCP, no HTTP
 * parsing), and the web Response read from its ServerResponse: the head handed over, the
 * body streamed out of the socket with back-pressure.
 */
import type http from 'node:http';
import { Duplex } from 'node:stream';
import { FastResponse } from '../../response.js';

/** Response headers that belong to the hop to the in-memory socket, not to the response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * The in-memory socket under one request: what the handler writes (the body only — the head
 * is read from the ServerResponse) is collected while the response is being decided, then —
 * when it has not finished by itself — goes on into a web stream, with back-pressure.
 */
export class MemorySocket extends Duplex {
  remoteAddress: string | undefined;
  encrypted: boolean;
  /** The body written so far, until {@link stream} is asked for. */
  #chunks: Buffer[] | undefined = [];
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #waiting: (() => void) | undefined;
  #ended = false;
  #failed: Error | undefined;

  constructor(remoteAddress: string | undefined, encrypted: boolean) {
    super({ allowHalfOpen: true });
    this.remoteAddress = remoteAddress;
    this.encrypted = encrypted;
  }

  /** The whole body, for a response that finished before it was handed over. */
  collected(): Uint8Array {
    const chunks = this.#chunks ?? [];
    this.#chunks = undefined;
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /** The body as a stream: what was collected, then what the handler writes from now on. */
  stream(): ReadableStream<Uint8Array> {
    const chunks = this.#chunks ?? [];
    this.#chunks = undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          for (const chunk of chunks) controller.enqueue(chunk);
          if (this.#failed) controller.error(this.#failed);
          else if (this.#ended) controller.close();
          else this.#controller = controller;
        },
        pull: () => {
          const resume = this.#waiting;
          this.#waiting = undefined;
          resume?.();
        },
        cancel: () => {
          this.#controller = undefined;
          this.destroy();
        },
      },
      { highWaterMark: 4 },
    );
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    if (this.#chunks) {
      this.#chunks.push(chunk);
      done();
      return;
    }
    const controller = this.#controller;
    if (!controller) {
      done();
      return;
    }
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 1) > 0) done();
    else this.#waiting = done;
  }

  /** The response is complete: the stream ends after what was written. */
  finish(): void {
    this.#ended = true;
    try {
      this.#controller?.close();
    } catch {
      // cancelled already
    }
    this.#controller = undefined;
  }

  /** The response broke off: the stream errors, so the client sees it cut, not complete. */
  fail(error: Error): void {
    this.#failed = error;
    try {
      this.#controller?.error(error);
    } catch {
      // cancelled already
    }
    this.#controller = undefined;
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

type Internals = {
  _header: string | null;
  _headerSent: boolean;
  chunkedEncoding: boolean;
  useChunkedEncodingByDefault: boolean;
  _storeHeader(firstLine: string, headers: unknown): void;
  _send(data: unknown, encoding: unknown, callback: unknown, byteLength?: unknown): boolean;
  _writeRaw(data: unknown, encoding: unknown, callback: unknown, byteLength?: unknown): boolean;
};

/**
 * Makes `res` hand over its head instead of writing it: the status line and headers become
 * the web Response's (`onHead`), and only the body goes to the socket, never chunked. The
 * hooks are own properties, so they survive Express swapping the response's prototype.
 */
export function handOverHead(res: http.ServerResponse, onHead: () => void): void {
  const internals = res as unknown as Internals;
  const storeHeader = internals._storeHeader;
  internals.useChunkedEncodingByDefault = false;
  internals._storeHeader = function (this: Internals, firstLine, headers) {
    storeHeader.call(this, firstLine, headers);
    this.chunkedEncoding = false;
  };
  let pending: (() => void) | undefined = onHead;
  internals._send = function (this: Internals, data, encoding, callback, byteLength) {
    if (!this._headerSent && this._header !== null) {
      this._headerSent = true;
      const call = pending;
      pending = undefined;
      call?.();
    }
    return this._writeRaw(data, encoding, callback, byteLength);
  };
}

/** The web Response for a ServerResponse whose head is known. */
export function responseOf(
  res: http.ServerResponse,
  socket: MemorySocket,
  head: boolean,
): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (HOP_BY_HOP.has(name) || value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, String(value));
  }
  const status = res.statusCode;
  const bodiless = head || status === 204 || status === 304;
  const body = bodiless ? null : res.writableFinished ? socket.collected() : socket.stream();
  return new FastResponse(body as BodyInit | null, {
    status,
    statusText: res.statusMessage,
    headers,
  });
}

/** The client went away: the Node request is aborted and its socket closes. */
export function abort(req: http.IncomingMessage, socket: MemorySocket): void {
  req.emit('aborted');
  req.destroy();
  socket.fail(new DOMException('The request was aborted.', 'AbortError'));
  socket.destroy();
}
