/**
 * The one place that reads srvx's private interface: a `FastResponse` on Node (srvx's
 * `NodeResponse`) can hand over its status, headers and body without building a native
 * undici `Response` — the gateways write it from those parts, which is most of their speed.
 *
 * Reading the parts uses a FastResponse up (srvx clears it): whoever reads them answers with
 * them, or rebuilds a response from them.
 *
 * This module imports nothing, so middleware that must tell a FastResponse apart (the error
 * middleware's body guard) may use it without pulling in a gateway.
 */

/** A response's parts, as srvx's `_toNodeResponse()` gives them (body bytes normalised). */
export interface ResponseParts {
  status: number;
  statusText: string;
  /** Flat `[name, value, name, value, …]`; every `Set-Cookie` its own pair. */
  headers: string[];
  body: string | Uint8Array | DataView | ReadableStream<Uint8Array> | NodeJS.ReadableStream | null;
}

type FastResponseLike = Response & {
  _toNodeResponse?: () => Omit<ResponseParts, 'body'> & {
    body: ResponseParts['body'] | ArrayBuffer | undefined;
  };
};

/** Whether `response` is srvx's Node `FastResponse`, whose parts can be read without a body. */
export function isFastResponse(response: Response): boolean {
  return typeof (response as FastResponseLike)._toNodeResponse === 'function';
}

/**
 * The parts of a srvx `FastResponse` (an `ArrayBuffer` body as a `Uint8Array`), or
 * `undefined` for any other `Response`.
 */
function fastResponseParts(response: Response): ResponseParts | undefined {
  const toNode = (response as FastResponseLike)._toNodeResponse;
  if (typeof toNode !== 'function') return undefined;
  const parts = toNode.call(response);
  const body = parts.body;
  if (body instanceof ArrayBuffer) return { ...parts, body: new Uint8Array(body) };
  return body === undefined ? { ...parts, body: null } : (parts as ResponseParts);
}

/** The parts of any `Response`: straight from a FastResponse, else read the standard way. */
export function responseParts(response: Response): ResponseParts {
  const fast = fastResponseParts(response);
  if (fast) return fast;
  const headers: string[] = [];
  for (const [name, value] of response.headers) headers.push(name, value);
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    body: response.body,
  };
}

/** RFC 9110 §5.6.2 tchar, by character code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/**
 * Whether `name` is an RFC 9110 §5.6.2 token (a field name, a `Connection` option, a cookie or
 * parameter name). A loop: cheaper than a RegExp on the hot path.
 */
export function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code > 127 || TCHAR[code] === 0) return false;
  }
  return true;
}

/**
 * RFC 9110 §5.5 field-value / RFC 9112 §4 reason-phrase: HTAB, SP, VCHAR, obs-text — no CR,
 * LF, NUL or other control character.
 */
function isFieldText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 32 ? code !== 9 : code === 127 || code > 255) return false;
  }
  return true;
}

/**
 * What is wrong with a response's parts, or `undefined`: a status outside 200–599, a reason
 * phrase or header value with a control character (CR/LF would split the head — header
 * injection), a header name that is not a token. srvx's FastResponse takes a plain-object
 * `headers` init without the checks `Headers` makes, so the gateways check here, once.
 * `fields: false` checks the status line only.
 */
export function invalidPart(parts: ResponseParts, fields = true): string | undefined {
  const { status, statusText, headers } = parts;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return `status ${String(status)} is not an integer from 200 to 599`;
  }
  if (!isFieldText(String(statusText))) return 'the status text has a control character';
  if (!fields) return undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = String(headers[i]);
    if (!isToken(name)) return `the header name ${JSON.stringify(name)} is not a token`;
    if (!isFieldText(String(headers[i + 1]))) {
      return `the ${name} header has a control character (CR, LF or another) in its value`;
    }
  }
  return undefined;
}
