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
  readonly status: number;
  /** Body bytes actually handed to the gateway (0 for HEAD and for no body). */
  readonly bytes: number;
  /** From arrival to the last body byte (or the abort), in milliseconds. */
  readonly durationMs: number;
  readonly referer: string | null;
  readonly userAgent: string | null;
  readonly requestId: string;
  /** The body did not finish: the client went away, or the body stream failed. */
  readonly aborted: boolean;
}

/** Apache's escaping of a logged value. */
export function escapeLogValue(value: string): string {
  // Most values need nothing: one scan, no new string.
  let clean = true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0x7f && code <= 0x9f)) {
      clean = false;
      break;
    }
  }
  if (clean) return value;
  return value.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it escapes
    /["\\\x00-\x1f\x7f-\x9f]/g,
    (char) =>
      char === '"' || char === '\\'
        ? `\\${char}`
        : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

let cachedSecond = Number.NaN;
let cachedTime = '';

/** `[01/Dec/2026:21:34:37 +0000]`, in UTC (made once a second: a busy log asks often). */
export function clfTime(time: Date): string {
  const second = Math.floor(time.getTime() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedTime = formatTime(time);
  }
  return cachedTime;
}

function formatTime(time: Date): string {
  return `[${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000]`;
}

/** Apache Common Log Format: `host - - [time] "request" status bytes`, exactly. */
export function commonLine(entry: AccessLogEntry): string {
  const bytes = entry.bytes === 0 ? '-' : String(entry.bytes);
  const host = entry.remoteAddress === undefined ? '-' : escapeLogValue(entry.remoteAddress);
  const request = escapeLogValue(`${entry.method} ${entry.target} HTTP/1.1`);
  return `${host} - - ${clfTime(entry.time)} "${request}" ${entry.status} ${bytes}`;
}

/**
 * Apache Combined Log Format, then the duration, the request id, and `aborted` when the body
 * did not finish: `… "referer" "agent" 12.3ms id` (log parsers read the Combined fields and
 * skip what follows, as with nginx's `$request_time`).
 */
export function combinedLine(entry: AccessLogEntry): string {
  const quoted = (value: string | null) => (value === null ? '"-"' : `"${escapeLogValue(value)}"`);
  const tail = `${entry.durationMs.toFixed(1)}ms ${escapeLogValue(entry.requestId)}`;
  return `${commonLine(entry)} ${quoted(entry.referer)} ${quoted(entry.userAgent)} ${tail}${entry.aborted ? ' aborted' : ''}`;
}

/** One JSON object per line, every field; `\u2028`-safe and control characters escaped. */
export function jsonLine(entry: AccessLogEntry): string {
  return JSON.stringify({ ...entry, time: entry.time.toISOString() }).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
