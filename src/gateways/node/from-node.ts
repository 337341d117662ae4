/**
 * `fromNodeHandler`: a Node `(req, res, next?)` handler — an Express, Connect or Koa
 * application (`app.callback()`) — as a mortar Application.
 *
 * ```ts
 * import express from 'express';
 * import { fromNodeHandler } from 'mortar/node';
 * import { urlmap } from 'mortar/urlmap';
 *
 * const legacy = express().get('/', (req, res) => res.send(`mounted at ${req.baseUrl}`));
 * const site = urlmap({ '/': home, '/legacy': fromNodeHandler(legacy) });
 * ```
 *
 * The handler gets a real `http.IncomingMessage` and `http.ServerResponse` on an in-memory
 * socket (no TCP, no HTTP parsing): the request body streams in as the handler reads it, the
 * response streams out as it writes, with back-pressure both ways; every `Set-Cookie` is kept;
 * a client that goes away closes the Node request. It sees the mount as Express mounting
 * does: `req.url` below the mount, `req.originalUrl` the whole path, `req.baseUrl` the
 * prefix. Called with a final callback (Express, Connect): `next(error)` rejects with that
 * error — so `debug()` shows it — and `next()` without one means "not mine": a 404 that
 * `cascade` moves past.
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import { isThenable } from '../../_internal/thenable.js';
import { originOf, searchOf } from '../../environ.js';
import { errorResponse } from '../../http-error.js';
import { nodeRuntime } from '../../request-header.js';
import { FastResponse } from '../../response.js';
import type { Application, Environ } from '../../types.js';

/** A Node request listener or Connect/Express middleware. */
export type NodeHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  next?: (error?: unknown) => void,
) => unknown;

/** Response headers that belong to the hop to the in-memory socket, not to the response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * The in-memory socket under one request: what the handler writes (the body only — the head
 * is read from the ServerResponse) is collected while the response is being decided, then —
 * when it has not finished by itself — goes on into a web stream, with back-pressure.
 */
class MemorySocket extends Duplex {
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
function handOverHead(res: http.ServerResponse, onHead: () => void): void {
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

/**
 * Turns a Node handler into an Application. See the module comment.
 *
 * @param handler - `(req, res)` or `(req, res, next)`; an Express or Connect app, a Koa
 *   `app.callback()`, `http.createServer`'s listener.
 * @throws TypeError when `handler` is not a function.
 */
export function fromNodeHandler(handler: NodeHandler): Application {
  if (typeof handler !== 'function') {
    throw new TypeError(`fromNodeHandler(): the handler must be a function, got ${typeof handler}`);
  }
  return (request, environ) => callNodeHandler(handler, request, environ);
}

function callNodeHandler(
  handler: NodeHandler,
  request: Request,
  environ: Environ,
): Promise<Response> {
  const href = request.url;
  const socket = new MemorySocket(environ.remoteAddress, href.startsWith('https:'));
  const gateway = gatewayNode(request);
  const req = incomingMessage(socket, request, environ, urlParts(href), gateway?.req);
  const res = new http.ServerResponse(req);
  res.assignSocket(socket as unknown as import('node:net').Socket);
  res.shouldKeepAlive = false;
  return new Promise<Response>((resolve, reject) => {
    let answered = false;
    let handedOver = false;
    // The head is known at the first write; the response goes out when it has finished (its
    // body whole, as bytes: the common case, cheap) or at the next turn of the event loop
    // (its body a stream, for a response still being written).
    const handOver = (): void => {
      if (handedOver) return;
      handedOver = true;
      resolve(responseOf(res, socket, request.method === 'HEAD'));
    };
    handOverHead(res, () => {
      answered = true;
      setImmediate(handOver);
    });
    res.once('finish', () => {
      socket.finish();
      if (answered) handOver();
    });
    res.once('close', () => {
      if (!res.writableFinished)
        socket.fail(new Error('the Node handler closed the response before ending it'));
    });
    onClientGone(request, gateway, () => abort(req, socket));
    const next = (error?: unknown): void => {
      if (answered) {
        if (error !== undefined)
          socket.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      answered = true;
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(errorResponse(404, request));
    };
    try {
      const result = handler(req, res, next);
      if (isThenable(result)) {
        Promise.resolve(result).then(undefined, (error: unknown) =>
          next(error ?? new Error('rejected')),
        );
      }
    } catch (error) {
      next(error);
    }
  });
}

/**
 * Calls `gone` once if the client goes away before the response ends. Under the HTTP gateway
 * it watches the gateway's own response (what srvx's `request.signal` watches, without making
 * an AbortController per request); elsewhere it listens to `request.signal`.
 */
function onClientGone(request: Request, gateway: GatewayNode | undefined, gone: () => void): void {
  if (!gateway) {
    request.signal.addEventListener('abort', gone, { once: true });
    return;
  }
  const { req, res } = gateway;
  if (res.destroyed) {
    gone();
    return;
  }
  res.once('close', () => {
    if (req.errored || !res.writableEnded) gone();
  });
}

/** The URL's host and query by string (no URL parse per request), the query as sent. */
function urlParts(href: string): { host: string; search: string } {
  const origin = originOf(href);
  return { host: origin.slice(origin.indexOf('//') + 2), search: searchOf(href) };
}

/** The HTTP gateway's own Node request and response. */
interface GatewayNode {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/**
 * The HTTP gateway's Node request and response behind `request` (srvx's `runtime.node`, read
 * through a mount's rebased request), when `request` is still the gateway's (its headers and
 * body); else `undefined` (TestClient, the other gateways, a request a middleware rebuilt).
 */
function gatewayNode(request: Request): GatewayNode | undefined {
  const node = nodeRuntime(request);
  return node?.req instanceof http.IncomingMessage && node.res instanceof http.ServerResponse
    ? (node as GatewayNode)
    : undefined;
}

/** Node's `req.headers` for raw pairs: duplicates joined by `, `, `set-cookie` an array. */
function headersOf(raw: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const known = headers[name];
    if (name === 'set-cookie') headers[name] = [...((known as string[] | undefined) ?? []), value];
    else headers[name] = known === undefined ? value : `${known}, ${value}`;
  }
  return headers;
}

/** The Node request: method, target below the mount, headers, and the body pulled on read. */
function incomingMessage(
  socket: MemorySocket,
  request: Request,
  environ: Environ,
  url: { host: string; search: string },
  gateway: http.IncomingMessage | undefined,
): http.IncomingMessage {
  const req = new http.IncomingMessage(socket as unknown as import('node:net').Socket);
  const below = `${environ.pathInfo || '/'}${url.search}`;
  req.method = request.method;
  req.url = below;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  if (gateway) {
    // The HTTP gateway's own message: its headers as Node parsed them, copied.
    req.rawHeaders = gateway.rawHeaders;
    req.headers = { ...gateway.headers };
  } else {
    const raw: string[] = [];
    for (const [name, value] of request.headers) raw.push(name, value);
    if (!request.headers.has('host')) raw.push('host', url.host);
    req.rawHeaders = raw;
    req.headers = headersOf(raw);
  }
  // Express's mounting: the prefix is the base, the full path the original.
  Object.assign(req, { originalUrl: `${environ.scriptName}${below}`, baseUrl: environ.scriptName });
  // IncomingMessage expects its parser to push (readingMore); here the body is pulled on read.
  (req as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore =
    false;
  const reader = request.body?.getReader();
  req._read = () => {
    if (!reader) {
      req.push(null);
      return;
    }
    reader.read().then(
      ({ done, value }) => {
        if (done) {
          req.complete = true;
          req.push(null);
        } else req.push(value);
      },
      (error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  };
  if (!reader) req.complete = true;
  return req;
}

/** The web Response for a ServerResponse whose head is known. */
function responseOf(res: http.ServerResponse, socket: MemorySocket, head: boolean): Response {
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
function abort(req: http.IncomingMessage, socket: MemorySocket): void {
  req.emit('aborted');
  req.destroy();
  socket.fail(new DOMException('The request was aborted.', 'AbortError'));
  socket.destroy();
}
