/**
 * One FastCGI front-end connection: reads records (see `records.ts`), runs the requests they
 * carry — several at once when the front end multiplexes — and writes their responses.
 */
import type net from 'node:net';
import { describeError, settle } from '../../_internal/log.js';
import { errorResponse } from '../../http-error.js';
import type { Application } from '../../types.js';
import { writeCGIResponse } from '../_cgi/cgi-response.js';
import { answer, type MetaVariables, rebuildRequest } from '../_cgi/meta-variables.js';
import { drained } from '../_shared/body.js';
import { type Exchange, type FastCGISettings, signalOf } from './exchange.js';
import {
  ABORT_REQUEST,
  BEGIN_REQUEST,
  decodePairs,
  END_REQUEST,
  encodePairs,
  encodeRecord,
  endRequestBody,
  GET_VALUES,
  GET_VALUES_RESULT,
  KEEP_CONN,
  MAX_CONTENT,
  OVERLOADED,
  PARAMS,
  REQUEST_COMPLETE,
  RESPONDER,
  readRecord,
  STDIN,
  STDOUT,
  UNKNOWN_ROLE,
  UNKNOWN_TYPE,
  unknownTypeBody,
} from './records.js';
import { type BodyFlow, bodyStream, closeBody, feedStdin } from './stdin.js';

/** One front-end connection: parses records, runs requests, writes their responses. */
export class FastCGIConnection {
  readonly #socket: net.Socket;
  readonly #settings: FastCGISettings;
  readonly #app: Application;
  readonly #log: (line: string) => void;
  readonly #exchanges = new Map<number, Exchange>();
  /** Why reading is paused: a request id whose body queue is full, or `'write'`. */
  readonly #holds = new Set<number | 'write'>();
  /** The wait for the socket to drain, while one is pending (see #drained). */
  #drain: Promise<void> | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  /** How a request body pauses and resumes reading, and logs. */
  readonly #flow: BodyFlow = {
    hold: (id) => this.#hold(id),
    release: (id) => this.#release(id),
    log: (line) => this.#log(line),
  };
  #closing = false;

  constructor(socket: net.Socket, settings: FastCGISettings) {
    this.#socket = socket;
    this.#settings = settings;
    this.#app = settings.app;
    this.#log = settings.log;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const exchange of this.#exchanges.values()) {
        this.#abort(exchange);
        if (!exchange.done) {
          exchange.done = true;
          settings.running.count--;
        }
      }
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
    for (;;) {
      const record = readRecord(this.#buffer, offset);
      if (record === undefined) break;
      if ('error' in record) {
        this.#log(`mortar fastcgi: ${record.error}; closing the connection`);
        this.#socket.destroy();
        return;
      }
      offset = record.next;
      try {
        this.#onRecord(record.type, record.requestId, record.content);
      } catch (error) {
        // A malformed record closes its own connection, never the process.
        this.#log(
          `mortar fastcgi: a malformed record (type ${record.type}): ${describeError(error)}; closing the connection`,
        );
        this.#socket.destroy();
        return;
      }
      if (this.#socket.destroyed) return;
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
      case BEGIN_REQUEST:
        this.#onBegin(id, content, exchange);
        return;
      case PARAMS:
        if (!exchange || exchange.started) return;
        if (content.length === 0) {
          this.#start(exchange);
          return;
        }
        exchange.paramsSize += content.length;
        if (exchange.paramsSize > this.#settings.maxParamsSize) this.#tooLarge(exchange);
        else exchange.params.push(Buffer.from(content));
        return;
      case STDIN:
        if (exchange?.stdin) feedStdin(exchange, exchange.stdin, content, this.#flow);
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
    let reply: Buffer;
    if (type === GET_VALUES) {
      const asked = decodePairs(content);
      const answer: Record<string, string> = {};
      for (const name of Object.keys(asked)) {
        if (Object.hasOwn(this.#settings.values, name)) answer[name] = this.#settings.values[name]!;
      }
      reply = encodeRecord(GET_VALUES_RESULT, 0, encodePairs(answer));
    } else {
      reply = encodeRecord(UNKNOWN_TYPE, 0, unknownTypeBody(type));
    }
    // Replies wait for the peer to read them: a flood of management records cannot grow the
    // write buffer without bound.
    if (!this.#write(reply)) {
      this.#hold('write');
      this.#drained().then(() => this.#release('write'));
    }
  }

  #onBegin(id: number, content: Buffer, running: Exchange | undefined): void {
    if (content.length < 8) throw new Error(`FCGI_BEGIN_REQUEST of ${content.length} bytes, not 8`);
    if (running) throw new Error(`FCGI_BEGIN_REQUEST for request ${id}, which is still running`);
    const role = content.readUInt16BE(0);
    const keepConnection = (content[2]! & KEEP_CONN) !== 0;
    const refused =
      role !== RESPONDER
        ? UNKNOWN_ROLE
        : this.#settings.running.count >= this.#settings.maxRequests
          ? OVERLOADED
          : undefined;
    if (refused !== undefined) {
      this.#write(encodeRecord(END_REQUEST, id, endRequestBody(0, refused)));
      if (!keepConnection) this.#socket.end();
      return;
    }
    this.#settings.running.count++;
    this.#exchanges.set(id, {
      id,
      keepConnection,
      params: [],
      paramsSize: 0,
      stdin: undefined,
      remaining: undefined,
      abort: undefined,
      aborted: false,
      started: false,
      done: false,
    });
  }

  /** PARAMS over the limit: a 431, and the rest of its PARAMS and STDIN dropped. */
  #tooLarge(exchange: Exchange): void {
    exchange.started = true;
    exchange.params = [];
    this.#log(
      `mortar fastcgi: request ${exchange.id}'s FCGI_PARAMS exceed ${this.#settings.maxParamsSize} bytes; answering 431`,
    );
    settle(
      this.#respond(exchange, errorResponse(431), undefined),
      this.#log,
      `FastCGI request ${exchange.id}`,
    );
  }

  /** Pauses reading for `reason` (a request's full body queue, or the write buffer). */
  #hold(reason: number | 'write'): void {
    this.#holds.add(reason);
    this.#socket.pause();
  }

  /** Lifts one reason to pause; reading resumes when none is left. */
  #release(reason: number | 'write'): void {
    this.#holds.delete(reason);
    if (this.#holds.size === 0 && this.#socket.isPaused()) this.#socket.resume();
  }

  #abort(exchange: Exchange): void {
    exchange.aborted = true;
    if (exchange.abort && !exchange.abort.signal.aborted) exchange.abort.abort();
    closeBody(
      exchange,
      () => new DOMException('The request was aborted.', 'AbortError'),
      this.#flow,
    );
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
    settle(this.#run(exchange, meta), this.#log, `FastCGI request ${exchange.id}`);
  }

  async #run(exchange: Exchange, meta: MetaVariables): Promise<void> {
    const hasBody =
      Number(meta.CONTENT_LENGTH || 0) > 0 ||
      meta.HTTP_TRANSFER_ENCODING !== undefined ||
      (meta.REQUEST_METHOD !== 'GET' && meta.REQUEST_METHOD !== 'HEAD');
    const length = meta.CONTENT_LENGTH;
    exchange.remaining = length && /^\d+$/.test(length) ? Number(length) : undefined;
    const body = hasBody ? bodyStream(exchange, this.#flow) : null;
    const rebuilt = rebuildRequest(meta, body, () => signalOf(exchange), 'fastcgi');
    const { response, request } = await answer(this.#app, rebuilt, this.#log);
    if (exchange.done) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    try {
      await this.#respond(exchange, response, request);
    } catch (error) {
      this.#log(`mortar fastcgi: the response body failed: ${describeError(error)}`);
      this.#socket.destroy();
    }
  }

  async #respond(
    exchange: Exchange,
    response: Response,
    request: Request | undefined,
  ): Promise<void> {
    this.#socket.cork();
    await writeCGIResponse(
      {
        write: (chunk) => this.#stdout(exchange.id, chunk),
        drained: () => this.#drained(),
        gone: () => exchange.done,
      },
      response,
      request,
      this.#log,
      () => signalOf(exchange),
    );
    if (exchange.done) {
      this.#socket.uncork();
      return;
    }
    this.#write(encodeRecord(STDOUT, exchange.id));
    this.#end(exchange, 0);
    this.#socket.uncork();
  }

  /** Writes `data` as STDOUT records; false when the socket asks to wait for `drain`. */
  #stdout(id: number, data: Uint8Array): boolean {
    let ok = true;
    for (let offset = 0; offset < data.byteLength; offset += MAX_CONTENT) {
      ok = this.#write(encodeRecord(STDOUT, id, data.subarray(offset, offset + MAX_CONTENT)));
    }
    return ok;
  }

  /**
   * Resolves at the socket's next `drain` or `close`. One wait for everyone: the requests
   * multiplexed on the connection and the management replies share it, where one listener
   * pair each would pile up (and Node warn) past ten waiters on one socket.
   */
  #drained(): Promise<void> {
    this.#socket.uncork();
    this.#drain ??= drained(this.#socket).finally(() => {
      this.#drain = undefined;
    });
    return this.#drain;
  }

  #end(exchange: Exchange, appStatus: number): void {
    if (exchange.done) return;
    exchange.done = true;
    this.#settings.running.count--;
    closeBody(
      exchange,
      () => new Error('the response was sent before the request body was read'),
      this.#flow,
    );
    this.#exchanges.delete(exchange.id);
    this.#write(
      encodeRecord(END_REQUEST, exchange.id, endRequestBody(appStatus, REQUEST_COMPLETE)),
    );
    if (
      !exchange.keepConnection ||
      ((this.#closing || this.#settings.draining()) && this.#exchanges.size === 0)
    ) {
      this.#socket.end();
    }
  }

  #write(data: Buffer): boolean {
    return this.#socket.destroyed ? true : this.#socket.write(data);
  }
}
