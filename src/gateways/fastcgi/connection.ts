/**
 * The FastCGI gateway: the responder role of the FastCGI 1.0 specification, so any
 * `Application` runs behind nginx, lighttpd or Apache (mod_proxy_fcgi).
 *
 * ```ts
 * import { serveFastCGI } from 'mortar';
 * await serveFastCGI(app, { path: '/run/app.sock', socketMode: 0o660 });   // or { host, port }
 * ```
 *
 * It keeps a connection open when the front end asks (FCGI_KEEP_CONN) and serves several
 * requests on one connection at once (multiplexing); answers FCGI_GET_VALUES; aborts
 * `request.signal` on FCGI_ABORT_REQUEST or when the front end drops the connection; streams
 * both bodies (stdin is paused while the application does not read; stdout waits for
 * `drain`); never sends a stray empty stderr record or a `Connection` header.
 */

import cluster from 'node:cluster';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import {
  answer,
  cgiResponse,
  type MetaVariables,
  NO_BODY_STATUS,
  rebuildRequest,
} from './meta-variables.js';
import { describeError } from './outcome.js';
import { listenError } from './serve.js';
import { type ShutdownOptions, shutdownControl } from './shutdown.js';
import type { Application } from './types.js';

/** Where and how to listen. */
export interface SocketListenOptions extends ShutdownOptions {
  /** A unix socket path (preferred behind a front end on the same host). */
  path?: string;
  /** File mode of the unix socket, e.g. `0o660` so nginx's worker group can connect. */
  socketMode?: number;
  /** TCP interface when no path is given. Default `'127.0.0.1'`. */
  host?: string;
  /** TCP port when no path is given. Default `9000`; `0` picks a free one. */
  port?: number;
}

/** Options of {@link serveFastCGI}. */
export interface FastCGIOptions extends SocketListenOptions {
  /** FCGI_MAX_CONNS announced to the front end. Default `1024`. */
  maxConnections?: number;
  /** FCGI_MAX_REQS announced to the front end. Default `16384`. */
  maxRequests?: number;
}

/** A running socket gateway (FastCGI or SCGI). */
export interface SocketServer {
  /** `fastcgi://127.0.0.1:9000`, `scgi://…`, or `unix:/path/to.sock`. */
  readonly url: string;
  readonly node: net.Server;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

// Record types and constants of the FastCGI 1.0 specification.
const BEGIN_REQUEST = 1;
const ABORT_REQUEST = 2;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const GET_VALUES = 9;
const GET_VALUES_RESULT = 10;
const UNKNOWN_TYPE = 11;
const RESPONDER = 1;
const KEEP_CONN = 1;
const REQUEST_COMPLETE = 0;
const UNKNOWN_ROLE = 3;
const MAX_CONTENT = 65_535;

/** Encodes one record (padding the content to a multiple of 8 bytes, as the spec suggests). */
function record(type: number, requestId: number, content: Uint8Array = EMPTY): Buffer {
  const padding = (8 - (content.byteLength % 8)) % 8;
  const out = Buffer.allocUnsafe(8 + content.byteLength + padding);
  out[0] = 1;
  out[1] = type;
  out.writeUInt16BE(requestId, 2);
  out.writeUInt16BE(content.byteLength, 4);
  out[6] = padding;
  out[7] = 0;
  out.set(content, 8);
  out.fill(0, 8 + content.byteLength);
  return out;
}
const EMPTY = new Uint8Array(0);

/** Decodes FastCGI name-value pairs (1- or 4-byte lengths). */
export function decodePairs(data: Buffer): Record<string, string> {
  const pairs: Record<string, string> = {};
  let offset = 0;
  const length = (): number => {
    const first = data[offset]!;
    if (first < 0x80) {
      offset += 1;
      return first;
    }
    const value = data.readUInt32BE(offset) & 0x7fffffff;
    offset += 4;
    return value;
  };
  while (offset < data.length) {
    const nameLength = length();
    const valueLength = length();
    if (offset + nameLength + valueLength > data.length)
      throw new Error('truncated name-value pair');
    const name = data.toString('latin1', offset, offset + nameLength);
    offset += nameLength;
    pairs[name] = data.toString('latin1', offset, offset + valueLength);
    offset += valueLength;
  }
  return pairs;
}

/** Encodes FastCGI name-value pairs. */
export function encodePairs(pairs: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const length = (n: number): Buffer => {
    if (n < 0x80) return Buffer.from([n]);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
  };
  for (const [name, value] of Object.entries(pairs)) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(length(n.length), length(v.length), n, v);
  }
  return Buffer.concat(parts);
}

/** One request on a connection. */
interface Exchange {
  id: number;
  keepConnection: boolean;
  params: Buffer[];
  /** Feeds the request body; set once PARAMS show the request has one. */
  stdin: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Made when the application first reads `request.signal`. */
  abort: AbortController | undefined;
  aborted: boolean;
  started: boolean;
  done: boolean;
}

/**
 * Serves `app` over FastCGI on a unix socket (`path`) or TCP (`host`, `port`).
 *
 * @returns The running server, once it listens.
 * @throws Error when the socket cannot be listened on (in use, no permission), naming it.
 */
export async function serveFastCGI(
  app: Application,
  options: FastCGIOptions = {},
): Promise<SocketServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const values: Record<string, string> = {
    FCGI_MAX_CONNS: String(options.maxConnections ?? 1024),
    FCGI_MAX_REQS: String(options.maxRequests ?? 16_384),
    FCGI_MPXS_CONNS: '1',
  };
  const connections = new Set<FastCGIConnection>();
  let draining = false;
  const server = net.createServer((socket) => {
    const connection = new FastCGIConnection(socket, app, log, values, () => draining);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  const url = await listen(server, options, 'fastcgi');
  const close = shutdownControl(
    (timeout) =>
      new Promise<void>((resolve) => {
        draining = true;
        server.close(() => resolve());
        for (const connection of connections) connection.closeWhenIdle();
        setTimeout(() => {
          for (const connection of connections) connection.destroy();
        }, timeout).unref();
      }),
    { ...options, log },
  );
  return { url, node: server, close };
}

/**
 * Removes a unix socket file that no process listens on any more (left by a crash).
 * @throws Error (code EADDRINUSE) when a process still listens on it.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`${path} is already in use`), { code: 'EADDRINUSE' });
  unlinkSync(path);
}

/**
 * Listens on a unix socket (removing a stale socket file first, then applying the mode) or
 * on TCP.
 */
export async function listen(
  server: net.Server,
  options: SocketListenOptions,
  scheme: string,
): Promise<string> {
  const where = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port ?? 9000}`;
  // Cluster workers share the primary's socket; the primary cleared a stale one.
  if (options.path && !cluster.isWorker) await clearStaleSocket(options.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, where)));
    if (options.path) server.listen(options.path, resolve);
    else server.listen(options.port ?? 9000, options.host ?? '127.0.0.1', resolve);
  });
  if (options.path) {
    if (options.socketMode !== undefined) chmodSync(options.path, options.socketMode);
    return `unix:${options.path}`;
  }
  const address = server.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** One front-end connection: parses records, runs requests, writes their responses. */
class FastCGIConnection {
  readonly #socket: net.Socket;
  readonly #app: Application;
  readonly #log: (line: string) => void;
  readonly #values: Record<string, string>;
  readonly #draining: () => boolean;
  readonly #exchanges = new Map<number, Exchange>();
  #buffer: Buffer = Buffer.alloc(0);
  #closing = false;

  constructor(
    socket: net.Socket,
    app: Application,
    log: (line: string) => void,
    values: Record<string, string>,
    draining: () => boolean,
  ) {
    this.#socket = socket;
    this.#app = app;
    this.#log = log;
    this.#values = values;
    this.#draining = draining;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const exchange of this.#exchanges.values()) this.#abort(exchange);
      this.#exchanges.clear();
    });
  }

  /** Ends the connection once its requests are answered (graceful shutdown). */
  closeWhenIdle(): void {
    this.#closing = true;
    if (this.#exchanges.size === 0) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let offset = 0;
    while (this.#buffer.length - offset >= 8) {
      const type = this.#buffer[offset + 1]!;
      const id = this.#buffer.readUInt16BE(offset + 2);
      const length = this.#buffer.readUInt16BE(offset + 4);
      const padding = this.#buffer[offset + 6]!;
      if (this.#buffer[offset] !== 1) {
        this.#log('mortar fastcgi: a record with a version other than 1; closing the connection');
        this.#socket.destroy();
        return;
      }
      if (this.#buffer.length - offset < 8 + length + padding) break;
      const content = this.#buffer.subarray(offset + 8, offset + 8 + length);
      offset += 8 + length + padding;
      this.#onRecord(type, id, content);
    }
    this.#buffer = offset === this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(offset);
  }

  #onRecord(type: number, id: number, content: Buffer): void {
    if (id === 0) {
      this.#onManagement(type, content);
      return;
    }
    const exchange = this.#exchanges.get(id);
    switch (type) {
      case BEGIN_REQUEST: {
        const role = content.readUInt16BE(0);
        const keepConnection = (content[2]! & KEEP_CONN) !== 0;
        if (role !== RESPONDER) {
          this.#write(record(END_REQUEST, id, endRequestBody(0, UNKNOWN_ROLE)));
          if (!keepConnection) this.#socket.end();
          return;
        }
        this.#begin(id, keepConnection);
        return;
      }
      case PARAMS:
        if (!exchange || exchange.started) return;
        if (content.length > 0) exchange.params.push(Buffer.from(content));
        else this.#start(exchange);
        return;
      case STDIN:
        if (!exchange?.stdin) return;
        if (content.length === 0) {
          exchange.stdin.close();
          exchange.stdin = undefined;
          // This request's body is complete: whatever it left queued, the connection carries
          // other records (and requests) and must flow again.
          if (this.#socket.isPaused()) this.#socket.resume();
        } else {
          exchange.stdin.enqueue(new Uint8Array(content));
          if ((exchange.stdin.desiredSize ?? 1) <= 0) this.#socket.pause();
        }
        return;
      case ABORT_REQUEST:
        if (exchange) {
          this.#abort(exchange);
          this.#end(exchange, 1);
        }
        return;
      default:
        return;
    }
  }

  #onManagement(type: number, content: Buffer): void {
    if (type === GET_VALUES) {
      const asked = decodePairs(content);
      const answer: Record<string, string> = {};
      for (const name of Object.keys(asked)) {
        if (name in this.#values) answer[name] = this.#values[name]!;
      }
      this.#write(record(GET_VALUES_RESULT, 0, encodePairs(answer)));
      return;
    }
    const body = Buffer.alloc(8);
    body[0] = type;
    this.#write(record(UNKNOWN_TYPE, 0, body));
  }

  #begin(id: number, keepConnection: boolean): void {
    this.#exchanges.set(id, {
      id,
      keepConnection,
      params: [],
      stdin: undefined,
      abort: undefined,
      aborted: false,
      started: false,
      done: false,
    });
  }

  /** The request body as a stream fed by STDIN records (made only for requests with one). */
  #bodyFor(exchange: Exchange): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          exchange.stdin = controller;
        },
        pull: () => {
          if (this.#socket.isPaused()) this.#socket.resume();
        },
        cancel: () => {
          exchange.stdin = undefined;
          if (this.#socket.isPaused()) this.#socket.resume();
        },
      },
      { highWaterMark: 4 },
    );
  }

  #abort(exchange: Exchange): void {
    exchange.aborted = true;
    if (exchange.abort && !exchange.abort.signal.aborted) exchange.abort.abort();
    try {
      exchange.stdin?.error(new DOMException('The request was aborted.', 'AbortError'));
    } catch {
      // already closed
    }
    exchange.stdin = undefined;
  }

  #start(exchange: Exchange): void {
    exchange.started = true;
    let meta: MetaVariables;
    try {
      meta = decodePairs(Buffer.concat(exchange.params));
    } catch {
      this.#log('mortar fastcgi: malformed FCGI_PARAMS; closing the connection');
      this.#socket.destroy();
      return;
    }
    exchange.params = [];
    void this.#run(exchange, meta);
  }

  async #run(exchange: Exchange, meta: MetaVariables): Promise<void> {
    const hasBody =
      Number(meta.CONTENT_LENGTH || 0) > 0 ||
      meta.HTTP_TRANSFER_ENCODING !== undefined ||
      (meta.REQUEST_METHOD !== 'GET' && meta.REQUEST_METHOD !== 'HEAD');
    const body = hasBody ? this.#bodyFor(exchange) : null;
    const rebuilt = rebuildRequest(meta, body, () => signalOf(exchange), 'fastcgi');
    const { response, request } = await answer(this.#app, rebuilt, this.#log);
    if (exchange.done) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    try {
      await this.#respond(exchange, response, request?.method === 'HEAD');
    } catch (error) {
      this.#log(`mortar fastcgi: the response body failed: ${describeError(error)}`);
      this.#socket.destroy();
    }
  }

  async #respond(exchange: Exchange, response: Response, head: boolean): Promise<void> {
    this.#socket.cork();
    const { head: text, body } = cgiResponse(response);
    this.#stdout(exchange.id, Buffer.from(text, 'latin1'));
    if (typeof body === 'string' || body instanceof Uint8Array) {
      if (!head && !NO_BODY_STATUS.has(response.status)) {
        this.#stdout(exchange.id, typeof body === 'string' ? Buffer.from(body) : body);
      }
    } else if (body && !head && !NO_BODY_STATUS.has(response.status)) {
      const reader = body.getReader();
      const stop = (): void => void reader.cancel().catch(() => {});
      const signal = signalOf(exchange);
      signal.addEventListener('abort', stop, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || exchange.done) break;
          if (!this.#stdout(exchange.id, value)) await this.#drained();
        }
      } finally {
        signal.removeEventListener('abort', stop);
      }
    } else {
      await body?.cancel().catch(() => {});
    }
    if (exchange.done) {
      this.#socket.uncork();
      return;
    }
    this.#write(record(STDOUT, exchange.id));
    this.#end(exchange, 0);
    this.#socket.uncork();
  }

  /** Writes `data` as STDOUT records; false when the socket asks to wait for `drain`. */
  #stdout(id: number, data: Uint8Array): boolean {
    let ok = true;
    for (let offset = 0; offset < data.byteLength; offset += MAX_CONTENT) {
      ok = this.#write(record(STDOUT, id, data.subarray(offset, offset + MAX_CONTENT)));
    }
    return ok;
  }

  #drained(): Promise<void> {
    this.#socket.uncork();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }

  #end(exchange: Exchange, appStatus: number): void {
    if (exchange.done) return;
    exchange.done = true;
    this.#exchanges.delete(exchange.id);
    this.#write(record(END_REQUEST, exchange.id, endRequestBody(appStatus, REQUEST_COMPLETE)));
    if (
      !exchange.keepConnection ||
      ((this.#closing || this.#draining()) && this.#exchanges.size === 0)
    ) {
      this.#socket.end();
    }
  }

  #write(data: Buffer): boolean {
    return this.#socket.destroyed ? true : this.#socket.write(data);
  }
}

/** The exchange's abort signal, made on first use (already aborted if the request was). */
function signalOf(exchange: Exchange): AbortSignal {
  if (!exchange.abort) {
    exchange.abort = new AbortController();
    if (exchange.aborted) exchange.abort.abort();
  }
  return exchange.abort.signal;
}

function endRequestBody(appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return body;
}
