/**
 * `mortar/access-log` — one line per request, written when the response body has finished
 * (paste.translogger, morgan), with the bytes actually sent, the duration, and a request id.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { accessLog, getRequestId } from 'mortar/access-log';
 * import { proxyFix } from 'mortar/proxy-fix';
 * const app = compose(proxyFix(), accessLog({ format: 'combined' }))(site);
 * // 203.0.113.7 - - [01/Dec/2026:21:34:37 +0000] "GET /cart HTTP/1.1" 200 512 "-" "curl/8" 3.1ms 4f1c…
 * // inside the app: getRequestId(environ) is that id; the response carries X-Request-Id
 * ```
 *
 * The line waits for the body: a streamed response is counted as the gateway reads it and
 * logged at its end, or when the client goes away (`aborted` in the line, `"aborted": true`
 * in JSON) — a 200 that never finished is not logged as one. A body held in memory (a string
 * or bytes in a FastResponse) is logged as the response leaves the middleware, with its
 * length. Put it inside `proxyFix()` so the address logged is the client's.
 *
 * A WebSocket handshake the chain accepted (see `acceptedWebSocket` in `mortar`) is logged
 * when the socket closes, as `101` with the message bytes it sent, from the handshake's arrival
 * to the close, and how long it was open, its close code and the bytes it received (the
 * `websocket` field); one refused (401, 403) is logged at once with its status, as any
 * response.
 *
 * By default the lines go to stderr buffered, as nginx's `access_log … buffer= flush=`: in one
 * write per 16 KiB or 100 ms, and whatever waits at exit (see `batchedWriter`). A buffered
 * log reads each line's values as its response finishes and formats the lines in batches,
 * when they are written: cheaper on a busy server than formatting between its requests.
 *
 * The request id is the `X-Request-Id` a trusted proxy sent (nginx: `proxy_set_header
 * X-Request-Id $request_id;`) when it is 1–200 visible ASCII characters, else a new one
 * (a random per-process prefix and a counter).
 * @module mortar/access-log
 */

import { ConfigError, is, optionChecker, shown } from '../../src/_internal/options.js';
import { responseParts } from '../../src/_internal/response-parts.js';
import { isThenable } from '../../src/_internal/thenable.js';
import { assertEnviron, defineEnvironKey, type EnvironKey } from '../../src/environ.js';
import { requestHeader, searchOfRequest } from '../../src/request-header.js';
import { withHeaders } from '../../src/response.js';
import { fetchRuntime } from '../../src/runtime.js';
import type { Environ, Middleware } from '../../src/types.js';
import { waitUntil } from '../../src/wait-until.js';
import { type AcceptedWebSocket, acceptedWebSocket } from '../../src/websocket.js';
import { bodyLength, countedStream, headerPairs, responseFromParts } from '../_shared/parts.js';
import { compileTrust, DEFAULT_TRUSTED_PROXIES, type PeerTrust } from '../_shared/trust.js';
import { findProxyOriginal } from '../proxy-fix/index.js';
import {
  type AccessLogEntry,
  type AccessLogWebSocket,
  combinedLine,
  commonLine,
  jsonLine,
} from './format.js';
import { type DeferredLine, defaultWriter, lineBatch } from './write.js';

export { type AccessLogEntry, type AccessLogWebSocket, escapeLogValue } from './format.js';
export { type BatchedWriterOptions, batchedWriter, type LineSink } from './write.js';

/** Options of {@link accessLog}. */
export interface AccessLogOptions {
  /**
   * `'combined'` (Apache Combined, then duration, request id, `aborted`), `'common'` (Apache
   * Common, exactly), `'json'` (every field of {@link AccessLogEntry}), or your own function.
   * @default 'combined'
   */
  format?: 'combined' | 'common' | 'json' | ((entry: AccessLogEntry) => string);
  /**
   * Where each line goes (without a newline), as it is finished. The default buffers: lines
   * reach stderr in one write per 16 KiB or 100 ms, and at exit (see {@link batchedWriter},
   * which writes to any stream the same way, and to which the lines are handed unformatted:
   * `format` runs when the batch is written).
   * @default batchedWriter(process.stderr), or console.error where there is no process.stderr
   */
  write?: (line: string) => void;
  /**
   * The request header that carries an id from a trusted proxy, echoed in the response;
   * `false` for no header (ids are still made and placed in the environ).
   * @default 'x-request-id'
   */
  requestIdHeader?: string | false;
  /**
   * The peers whose request id is believed (as proxyFix's `trustedProxies`; the direct peer,
   * before proxyFix changed the address).
   * @default ['loopback', 'unix']
   */
  trustedProxies?: string | readonly string[];
}

const requestIdKey: EnvironKey<string> = defineEnvironKey<string>(
  'request id',
  "accessLog() from 'mortar/access-log'",
);

/**
 * The id of this request, as the access log writes it.
 * @throws Error naming accessLog when it is not installed outside the caller.
 */
export const getRequestId = (environ: Environ): string => requestIdKey.get(environ);

/**
 * A new request id: 16 random hex digits made once per process, `-`, and a decimal counter
 * (`9f86d081884c7d65-1042`) — unique across processes and restarts as a UUID is, at a tenth of
 * the cost of `crypto.randomUUID()` on a path every request takes (and decimal: V8 writes a
 * number in base 36 at several times the cost).
 */
function newRequestId(): string {
  processId ??= Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
  return `${processId}-${++counter}`;
}
/** Made on the first request: Workers refuse random values at a module's top level. */
let processId: string | undefined;
let counter = 0;

let wallOffset = Date.now() - performance.now();
let offsetTaken = performance.now();

/**
 * The wall-clock time (`Date.now()`'s milliseconds) of a `performance.now()` reading: one clock
 * read a request instead of two. The offset between the clocks is taken again when it is over
 * a second old, so a step of the system clock shows in the log within a second.
 */
function wallClock(monotonic: number): number {
  if (monotonic - offsetTaken > 1000) {
    offsetTaken = performance.now();
    wallOffset = Date.now() - offsetTaken;
  }
  return wallOffset + monotonic;
}

const FORMATS = { combined: combinedLine, common: commonLine, json: jsonLine } as const;
const VALID_ID = /^[\x21-\x7e]{1,200}$/;

const checkOptions = optionChecker<AccessLogOptions>('accessLog', {
  format: is.either(is.oneOf('combined', 'common', 'json'), is.function),
  write: is.function,
  requestIdHeader: is.either(is.string, is.oneOf(false)),
  trustedProxies: is.either(is.string, is.strings),
});

/**
 * Logs each request once its response body has finished or was aborted.
 * @throws ConfigError at construction for an unknown option or format, a request-id header
 *   that is no header name, or a bad `trustedProxies` entry.
 */
export function accessLog(options: AccessLogOptions = {}): Middleware {
  checkOptions(options);
  const settings = logSettings(options);
  return function accessLog(app) {
    return function accessLogApp(request, environ) {
      assertEnviron(environ, 'accessLog()');
      const line = new RequestLine(request, environ, settings);
      let result: Response | Promise<Response>;
      try {
        result = app(request, requestIdKey.with(environ, line.requestId));
      } catch (error) {
        return line.thrown(error);
      }
      // A synchronous application stays synchronous: the HTTP gateway writes a Response it gets
      // at once faster than one that comes in a later microtask.
      return isThenable<Response>(result)
        ? Promise.resolve(result).then(
            (response) => line.answered(response),
            (error: unknown) => line.thrown(error),
          )
        : line.answered(result as Response);
    };
  };
}

/** {@link accessLog}'s settings, checked once. */
interface LogSettings {
  /** The entry's line, or `undefined` when the format threw (which is reported). */
  render: (entry: AccessLogEntry) => string | undefined;
  /** Writes a line made now: for a `write` that is not a {@link batchedWriter}. */
  write: (line: string) => void;
  /** The batchedWriter's batch, which makes the lines as it writes them. */
  batch: { defer(line: DeferredLine): Promise<void> | undefined } | undefined;
  /** The request id header, lower case; `undefined` for none. */
  idHeader: string | undefined;
  trusted: PeerTrust;
}

/**
 * One request on its way to its log line. What the line needs is read when the response has
 * finished, except the arrival time and the id; one object a request (no closures: this is on
 * every request's path — `npm run bench:access-log` measures what it costs a hello world).
 * Given to a {@link batchedWriter}, the object waits in its batch with the values read (the
 * request and environ let go) and makes its line when the batch is written.
 */
class RequestLine implements DeferredLine {
  readonly requestId: string;
  #request: Request | undefined;
  #environ: Environ | undefined;
  readonly #settings: LogSettings;
  /** `performance.now()` at arrival, for the duration. */
  readonly #started: number;
  /** What the line says, read as the response finished. */
  #entry: AccessLogEntry | undefined;

  constructor(request: Request, environ: Environ, settings: LogSettings) {
    this.#started = performance.now();
    this.#request = request;
    this.#environ = environ;
    this.#settings = settings;
    const { idHeader } = settings;
    const given = idHeader === undefined ? null : requestHeader(request, idHeader);
    this.requestId =
      given !== null &&
      VALID_ID.test(given) &&
      // The direct peer: proxyFix's original when it ran outside (the environ's address is
      // then the client it names), never a fall-back to that client when the peer had none.
      settings.trusted(findProxyOriginal(environ) ?? environ)
        ? given
        : newRequestId();
  }

  /** The response, with its body counted (and the id echoed); the line is written at its end. */
  answered(response: Response): Response {
    // A handshake only: the hot path reads one absent property.
    if (this.#environ!.websocket !== undefined) {
      const socket = acceptedWebSocket(response, this.#environ!);
      if (socket !== undefined) return this.#upgraded(response, socket);
    }
    const parts = responseParts(response);
    const body = parts.body;
    const status = parts.status;
    let sent: typeof body = body;
    if (body === null || this.#request!.method === 'HEAD') this.finished(status, 0, false);
    else if (body instanceof ReadableStream) {
      sent = countedStream(body, (bytes, aborted) => this.finished(status, bytes, aborted));
    } else this.finished(status, bodyLength(body) ?? 0, false);
    const idHeader = this.#settings.idHeader;
    const headers = headerPairs(parts, idHeader);
    if (idHeader !== undefined) headers.push([idHeader, this.requestId]);
    return responseFromParts(parts, sent, headers);
  }

  /**
   * The accept of a WebSocket handshake, with the id echoed (on the 101): its line is written
   * when the socket closes. (Should a middleware outside replace the accept, the socket never
   * opens and no line is written for it.)
   */
  #upgraded(response: Response, socket: AcceptedWebSocket): Response {
    void socket.closed.then(({ code, reason, durationMs, bytesReceived, bytesSent }) =>
      this.finished(101, bytesSent, code === 1006, { code, reason, durationMs, bytesReceived }),
    );
    const idHeader = this.#settings.idHeader;
    if (idHeader === undefined) return response;
    try {
      // The accept's headers are mutable: the id is set in place, no copy made.
      response.headers.set(idHeader, this.requestId);
      return response;
    } catch {
      return withHeaders(response, [[idHeader, this.requestId]]); // a middleware's immutable copy
    }
  }

  /** Logs what the application threw, and throws it on. */
  thrown(error: unknown): never {
    // The gateway (or errors()) makes the response: a 500, or the HTTPError's status.
    const status = (error as { status?: unknown } | null)?.status;
    this.finished(typeof status === 'number' ? status : 500, 0, false);
    throw error;
  }

  /** The response has finished (or was aborted): the line's values are read, and it is written. */
  finished(status: number, bytes: number, aborted: boolean, websocket?: AccessLogWebSocket): void {
    const request = this.#request;
    const environ = this.#environ;
    if (request === undefined || environ === undefined) return; // written already
    this.#request = undefined;
    this.#environ = undefined;
    // One object literal per line (no spread: V8 makes a spread of this shape slow).
    this.#entry = {
      time: new Date(wallClock(this.#started)),
      remoteAddress: environ.remoteAddress,
      method: request.method,
      target: environ.scriptName + environ.pathInfo + searchOfRequest(request),
      protocol: environ.serverProtocol,
      status,
      bytes,
      durationMs: performance.now() - this.#started,
      referer: requestHeader(request, 'referer'),
      userAgent: requestHeader(request, 'user-agent'),
      requestId: this.requestId,
      aborted,
      websocket,
    };
    const { batch } = this.#settings;
    if (batch !== undefined) {
      // The first line of a batch: Workers end a request's timers with it, so its request
      // keeps the worker running until the batch's timed write. (Elsewhere the timer runs on,
      // and the process's exit writes what waits: a shutdown need not wait for the timer.)
      const written = batch.defer(this);
      if (written !== undefined && fetchRuntime(environ)?.name === 'workers') {
        waitUntil(environ, written);
      }
    } else {
      const line = this.render();
      if (line !== undefined) this.#settings.write(line);
    }
  }

  /** The line, from the values read at the finish (by the batch as it writes, or at once). */
  render(): string | undefined {
    return this.#entry === undefined ? undefined : this.#settings.render(this.#entry);
  }
}

/** {@link accessLog}'s options, checked: the line writer, the id header, the trusted peers. */
function logSettings(options: AccessLogOptions): LogSettings {
  const format = options.format ?? 'combined';
  const render = typeof format === 'function' ? format : FORMATS[format];
  const write = options.write ?? defaultWriter();
  const header = options.requestIdHeader ?? 'x-request-id';
  if (header !== false && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
    throw new ConfigError(
      `accessLog: option "requestIdHeader" must be a header name or false, got ${shown(header)}`,
    );
  }
  const trusted = compileTrust(
    options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES,
    'accessLog: option "trustedProxies"',
  );
  const reportThrown = (error: unknown) =>
    console.error('accessLog: the format or write function threw:', error);
  const safeRender = (entry: AccessLogEntry): string | undefined => {
    try {
      return render(entry);
    } catch (error) {
      reportThrown(error);
      return undefined;
    }
  };
  const safeWrite = (line: string): void => {
    try {
      write(line);
    } catch (error) {
      reportThrown(error);
    }
  };
  const idHeader = header === false ? undefined : header.toLowerCase();
  return { render: safeRender, write: safeWrite, batch: lineBatch(write), idHeader, trusted };
}
