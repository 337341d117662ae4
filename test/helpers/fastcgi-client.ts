/**
 * A FastCGI and an SCGI client for tests, speaking to the gateways directly over TCP — the way
 * cgi-fcgi, FCGI::Client or nginx do, and also the way a hostile peer would (raw records).
 */
import net from 'node:net';
import {
  BEGIN_REQUEST,
  END_REQUEST,
  encodePairs,
  encodeRecord,
  PARAMS,
  readRecord,
  STDIN,
  STDOUT,
} from '../../src/gateways/fastcgi/records.js';

/** What came back for one request id. */
export interface FastCGIReply {
  stdout: Buffer;
  /** The END_REQUEST content, once it arrived. */
  end: Buffer | undefined;
}

/** One connection to a FastCGI server, collecting the records it sends back. */
export class FastCGIClient {
  readonly socket: net.Socket;
  readonly replies = new Map<number, FastCGIReply>();
  /** Records with id 0 (GET_VALUES_RESULT, UNKNOWN_TYPE), as [type, content]. */
  readonly management: [number, Buffer][] = [];
  closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.closed.then(() => this.#wake());
  }

  static connect(port: number): Promise<FastCGIClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new FastCGIClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes. */
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends BEGIN_REQUEST (responder), the PARAMS and, unless `body` is null, STDIN. */
  request(
    id: number,
    params: Record<string, string>,
    body: Buffer | null = Buffer.alloc(0),
    keepConnection = true,
  ): void {
    const begin = Buffer.alloc(8);
    begin.writeUInt16BE(1, 0);
    begin[2] = keepConnection ? 1 : 0;
    this.send(encodeRecord(BEGIN_REQUEST, id, begin));
    const pairs = encodePairs(params);
    for (let offset = 0; offset < pairs.length; offset += 65_535) {
      this.send(encodeRecord(PARAMS, id, pairs.subarray(offset, offset + 65_535)));
    }
    this.send(encodeRecord(PARAMS, id));
    if (body === null) return;
    for (let offset = 0; offset < body.length; offset += 65_535) {
      this.send(encodeRecord(STDIN, id, body.subarray(offset, offset + 65_535)));
    }
    this.send(encodeRecord(STDIN, id));
  }

  /** Resolves with the reply once its END_REQUEST arrived; rejects when the connection closes first. */
  async reply(id: number, timeout = 5000): Promise<FastCGIReply> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const reply = this.replies.get(id);
      if (reply?.end) return reply;
      if (this.socket.destroyed)
        throw new Error(`the connection closed before request ${id} ended`);
      if (Date.now() > deadline) throw new Error(`no END_REQUEST for ${id} in ${timeout} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    for (;;) {
      const record = readRecord(this.#buffer, offset);
      if (record === undefined || 'error' in record) break;
      offset = record.next;
      if (record.requestId === 0) {
        this.management.push([record.type, Buffer.from(record.content)]);
        continue;
      }
      let reply = this.replies.get(record.requestId);
      if (!reply) {
        reply = { stdout: Buffer.alloc(0), end: undefined };
        this.replies.set(record.requestId, reply);
      }
      if (record.type === STDOUT) reply.stdout = Buffer.concat([reply.stdout, record.content]);
      if (record.type === END_REQUEST) reply.end = Buffer.from(record.content);
    }
    this.#buffer = this.#buffer.subarray(offset);
    this.#wake();
  }
}

/** The meta-variables of a simple request, as nginx sends them. */
export function cgiParams(
  method: string,
  uri: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const query = uri.indexOf('?');
  return {
    REQUEST_METHOD: method,
    REQUEST_URI: uri,
    SCRIPT_NAME: '',
    PATH_INFO: query === -1 ? uri : uri.slice(0, query),
    QUERY_STRING: query === -1 ? '' : uri.slice(query + 1),
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    HTTP_HOST: 'localhost',
    REMOTE_ADDR: '127.0.0.1',
    ...extra,
  };
}

/** One SCGI request: the netstring, the body, and everything until the server closes. */
export function scgiRequest(
  port: number,
  params: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
  timeout = 5000,
): Promise<Buffer> {
  const fields = { CONTENT_LENGTH: String(body.length), SCGI: '1', ...params };
  const header = Object.entries(fields)
    .map(([name, value]) => `${name}\0${value}\0`)
    .join('');
  const netstring = Buffer.from(`${Buffer.byteLength(header, 'latin1')}:${header},`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the SCGI server did not close within ${timeout} ms`));
    }, timeout);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(Buffer.concat([netstring, body]));
  });
}
