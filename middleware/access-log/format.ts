/**
 * The lines of an access log: Apache's Common and Combined Log Formats, and JSON. Pure
 * functions over a finished {@link AccessLogEntry}; every value a client chose is escaped
 * (Apache's rule: `"` and `\` backslashed, control characters as `\xHH`), so a request can
 * neither break a line nor rewrite a terminal.
 */

/** One request, as {@link accessLog} writes it. */
export interface AccessLogEntry {
  /** When the request arrived. */
  readonly time: Date;
  /** The client (after proxyFix), `undefined` when the gateway did not know it. */
  readonly remoteAddress: string | undefined;
  readonly method: string;
  /** The path and query the client sent (`scriptName + pathInfo + ?query`). */
  readonly target: string;
  /**
   * The protocol the client spoke, as the gateway says (`environ.serverProtocol`: `HTTP/1.0`,
   * `HTTP/1.1`, a front end's `HTTP/2.0`); `undefined` when it did not say (a runtime's fetch
   * handler), and the request line then ends at the target.
   */
  readonly protocol: string | undefined;
  readonly status: number;
  /** Body bytes actually handed to the gateway (0 for HEAD and for no body). */
  readonly bytes: number;
  /** From arrival to the last body byte (or the abort), in milliseconds. */
  readonly durationMs: number;
  readonly referer: string | null;
  readonly userAgent: string | null;
  readonly requestId: string;
  /**
   * The body did not finish: the client went away, or the body stream failed; for a
   * WebSocket, it was lost without a closing handshake (close code 1006).
   */
  readonly aborted: boolean;
  /**
   * For a WebSocket (status 101, logged when it closes; `bytes` are the message bytes sent,
   * `durationMs` runs from the handshake's arrival to the close): how it ended. `undefined`
   * for any other request.
   */
  readonly websocket?: AccessLogWebSocket | undefined;
}

/** How a WebSocket that {@link AccessLogEntry} logs ended. */
export interface AccessLogWebSocket {
  /** The close code (1000 normal, 1001 going away, 1006 lost without a close frame …). */
  readonly code: number;
  /** The close reason, `''` when none. */
  readonly reason: string;
  /** Milliseconds the socket was open: from the 101 to the close. */
  readonly durationMs: number;
  /** Message payload bytes received from the client. */
  readonly bytesReceived: number;
}

/** A character {@link escapeLogValue} escapes. */
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\x9f]/;

/** Apache's escaping of a logged value. */
export function escapeLogValue(value: string): string {
  // Most values need nothing: one scan (a RegExp: a third of a loop's time), no new string.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/["\\\x00-\x1f\x7f-\x9f]/g, (char) =>
    char === '"' || char === '\\'
      ? `\\${char}`
      : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** A time text made once a second (a busy log asks many times a second), by its format. */
function perSecond(format: (time: Date) => string): (time: Date) => string {
  let second = Number.NaN;
  let text = '';
  return (time) => {
    const now = Math.floor(time.getTime() / 1000);
    if (now !== second) {
      second = now;
      text = format(time);
    }
    return text;
  };
}

/** `[01/Dec/2026:21:34:37 +0000]`, in UTC. */
export const clfTime: (time: Date) => string = perSecond(
  (time) =>
    `[${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000]`,
);

/** `2026-12-01T21:34:37`: ISO 8601 to the second, in UTC (the milliseconds are added to it). */
const isoSecond = perSecond((time) => time.toISOString().slice(0, 19));

/** `2026-12-01T21:34:37.042Z`, as `Date.prototype.toISOString` writes it (four-digit years). */
export function isoTime(time: Date): string {
  const ms = time.getUTCMilliseconds();
  return `${isoSecond(time)}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** Milliseconds to one decimal (`3.1`), as `toFixed(1)` writes them for a duration, faster. */
export function tenths(ms: number): string {
  const count = Math.round(ms * 10);
  return `${(count - (count % 10)) / 10}.${count % 10}`;
}

/**
 * Apache Common Log Format: `host - - [time] "request" status bytes`, exactly; the request line
 * is `method target protocol`, the protocol the one the client spoke (Apache's `%r`).
 */
export function commonLine(entry: AccessLogEntry): string {
  const bytes = entry.bytes === 0 ? '-' : String(entry.bytes);
  const host = entry.remoteAddress === undefined ? '-' : escapeLogValue(entry.remoteAddress);
  // Each value escaped on its own: a RegExp scan of a joined string would first copy it flat.
  const protocol = entry.protocol === undefined ? '' : ` ${escapeLogValue(entry.protocol)}`;
  const request = `${escapeLogValue(entry.method)} ${escapeLogValue(entry.target)}${protocol}`;
  return `${host} - - ${clfTime(entry.time)} "${request}" ${entry.status} ${bytes}`;
}

const quoted = (value: string | null): string =>
  value === null ? '"-"' : `"${escapeLogValue(value)}"`;

/**
 * Apache Combined Log Format, then the duration, the request id, and `aborted` when the body
 * did not finish: `… "referer" "agent" 12.3ms id` (log parsers read the Combined fields and
 * skip what follows, as with nginx's `$request_time`). A WebSocket's line (status 101, the
 * bytes it sent) ends with how long it was open, its close code and the bytes it received:
 * `… 5012.3ms id websocket=5010.2ms close=1000 received=123`.
 */
export function combinedLine(entry: AccessLogEntry): string {
  const tail = `${tenths(entry.durationMs)}ms ${escapeLogValue(entry.requestId)}`;
  const line = `${commonLine(entry)} ${quoted(entry.referer)} ${quoted(entry.userAgent)} ${tail}${entry.aborted ? ' aborted' : ''}`;
  const socket = entry.websocket;
  return socket === undefined
    ? line
    : `${line} websocket=${tenths(socket.durationMs)}ms close=${socket.code} received=${socket.bytesReceived}`;
}

/** A JSON string literal, with U+2028/2029 and C1 controls escaped too (safe in any parser). */
function jsonString(value: string): string {
  const literal = JSON.stringify(value);
  return JSON_UNSAFE.test(literal)
    ? literal.replace(
        JSON_UNSAFE_ALL,
        (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
      )
    : literal;
}
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029]/;
const JSON_UNSAFE_ALL = /[\u007f-\u009f\u2028\u2029]/g;
const orNull = (value: string | null | undefined) => (value == null ? 'null' : jsonString(value));

/**
 * One JSON object per line, every field of {@link AccessLogEntry} in its order; the time in ISO
 * 8601, `\u2028`-safe and control characters escaped. Written field by field: a fifth of
 * `JSON.stringify(entry)`'s time. `websocket` is there only for a WebSocket (as
 * `JSON.stringify` leaves out an `undefined` field): `{"code":1000,"reason":"",
 * "durationMs":5010.2,"bytesReceived":123}`.
 */
export function jsonLine(entry: AccessLogEntry): string {
  const socket = entry.websocket;
  const websocket =
    socket === undefined
      ? ''
      : `,"websocket":{"code":${socket.code},"reason":${jsonString(socket.reason)},"durationMs":${socket.durationMs},"bytesReceived":${socket.bytesReceived}}`;
  return `{"time":"${isoTime(entry.time)}","remoteAddress":${orNull(entry.remoteAddress)},"method":${jsonString(entry.method)},"target":${jsonString(entry.target)},"protocol":${orNull(entry.protocol)},"status":${entry.status},"bytes":${entry.bytes},"durationMs":${entry.durationMs},"referer":${orNull(entry.referer)},"userAgent":${orNull(entry.userAgent)},"requestId":${jsonString(entry.requestId)},"aborted":${entry.aborted}${websocket}}`;
}
