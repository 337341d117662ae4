/**
 * The HTTP gateway's own request-body limit (`serve({ maxBodySize })`): the rule of
 * `limitRequestBody` (src/_internal/body-limit.ts) — a declared `Content-Length` over the
 * limit is a 413 at once, every other body is counted as it streams and a read past the limit
 * fails with a 413 — with the counting left to srvx's `NodeRequest` (`maxRequestBodySize`),
 * which counts Node's own chunks as `text()`, `json()` or `body` read them: no web stream is
 * put in front of the body (that cost a 1 KiB POST 2.8× the server CPU, measured in pairs).
 */
import { BodyTooLargeError } from 'srvx/body-limit';
import { bodyTooLarge, declaresTooLarge } from '../../_internal/body-limit.js';
import { isThenable } from '../../_internal/thenable.js';
import type { Application } from '../../types.js';

/**
 * Wraps `app`, whose requests srvx counts against `maxBytes`, so a declared length over it is
 * answered 413 without calling `app`, and srvx's error for a body read past it becomes
 * mortar's `HTTPError` 413 (the response, unless the application catches it).
 *
 * @param maxBytes - The largest body accepted, in bytes (checked by the caller).
 */
export function limitGatewayBody(app: Application, maxBytes: number): Application {
  const convert = (error: unknown): unknown =>
    error instanceof BodyTooLargeError ? bodyTooLarge(maxBytes) : error;
  const rethrow = (error: unknown): never => {
    throw convert(error);
  };
  return (request, environ) => {
    // GET and HEAD carry no body through node:http's gateway: the hot path stays one call.
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') return app(request, environ);
    if (declaresTooLarge(request, maxBytes)) return bodyTooLarge(maxBytes).toResponse(request);
    let result: Response | Promise<Response>;
    try {
      result = app(request, environ);
    } catch (error) {
      throw convert(error);
    }
    return isThenable<Response>(result) ? Promise.resolve(result).catch(rethrow) : result;
  };
}
