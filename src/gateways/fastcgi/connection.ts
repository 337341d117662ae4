/**
 * One FastCGI front-end connection: reads records (see `records.ts`), runs the requests they
 * carry — several at once when the front end multiplexes — and writes their responses.
 */
import type net from 'node:net';
import type { Application } from '../../types.js';
import { drained, NO_BODY_STATUS, pumpBody } from '../_shared/body.js';
import { cgiResponse } from '../_shared/cgi-response.js';
import { describeError, settle } from '../_shared/log.js';
import { answer, type MetaVariables, rebuildRequest } from '../_shared/meta-variables.js';
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

/** One front-end connection: parses records, runs requests, writes their responses. */
export class FastCGIConnection {
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
    for (;;) {
      const record = readRecord(this.#buffer, offset);
      if (record === undefined) break;
      if ('error' in record) {
        this.#log(`mortar fastcgi: ${record.error}; closing the connection`);
        this.#socket.destroy();
        return;
      }
      offset = record.next;
      this.#onRecord(record.type, record.requestId, record.content);
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
          this.#write(encodeRecord(END_REQUEST, id, endRequestBody(0, UNKNOWN_ROLE)));
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
      this.#write(encodeRecord(GET_VALUES_RESULT, 0, encodePairs(answer)));
      return;
    }
    this.#write(encodeRecord(UNKNOWN_TYPE, 0, unknownTypeBody(type)));
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
    settle(this.#run(exchange, meta), this.#log, `FastCGI request ${exchange.id}`);
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
    const { status, head: text, body } = cgiResponse(response, request, this.#log);
    const head = request?.method === 'HEAD';
    this.#stdout(exchange.id, Buffer.from(text, 'latin1'));
    if (typeof body === 'string' || body instanceof Uint8Array) {
      if (!head && !NO_BODY_STATUS.has(status)) {
        this.#stdout(exchange.id, typeof body === 'string' ? Buffer.from(body) : body);
      }
    } else if (body && !head && !NO_BODY_STATUS.has(status)) {
      await pumpBody(
        body,
        {
          write: (chunk) => this.#stdout(exchange.id, chunk),
          drained: () => this.#drained(),
          gone: () => exchange.done,
        },
        signalOf(exchange),
      );
    } else {
      await body?.cancel().catch(() => {});
    }
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

  #drained(): Promise<void> {
    this.#socket.uncork();
    return drained(this.#socket);
  }

  #end(exchange: Exchange, appStatus: number): void {
    if (exchange.done) return;
    exchange.done = true;
    this.#exchanges.delete(exchange.id);
    this.#write(
      encodeRecord(END_REQUEST, exchange.id, endRequestBody(appStatus, REQUEST_COMPLETE)),
    );
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
