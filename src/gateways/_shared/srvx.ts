/**
 * The one place that reads srvx's private interface: a `FastResponse` on Node (srvx's
 * `NodeResponse`) can hand over its status, headers and body without building a native
 * undici `Response` — the gateways write it from those parts, which is most of their speed.
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
export function fastResponseParts(response: Response): ResponseParts | undefined {
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
