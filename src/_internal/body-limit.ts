/**
 * The one request-body limit: what `bodyLimit()` from `mortar/body-limit` does, and what
 * `serve({ maxBodySize })` and `mortar serve --max-body-size` apply at the gateway. Web
 * streams only (it runs on every runtime).
 *
 * - A declared `Content-Length` over the limit: 413 at once; the application is not called.
 * - A length within the limit is believed only from a gateway whose framing counts the body
 *   against it as it streams ({@link framedRequests}: node:http's parser, and the CGI family,
 *   which never read past `CONTENT_LENGTH` and fail a body that ends short of it).
 * - Any other body — of unknown length (`Transfer-Encoding: chunked`), or a `Request` built
 *   in-process (TestClient, a runtime's fetch handler, a middleware's new request), whose
 *   `Content-Length` is only a claim — is counted here as it streams: the application gets the
 *   request with a counted body; past the limit the body errors with an {@link HTTPError} 413,
 *   so `await request.text()` rejects with it and, unless the application catches it, the
 *   client gets the 413.
 * Either 413 carries `Connection: close`: the rest of an upload is not worth reading.
 *
 * Why not count every body here: on node:http a counted web stream doubles the CPU of a 1 KiB
 * POST (srvx reads the gateway's own body from Node's stream, without web streams), to count
 * what the parser already counted.
 */
import { originalRequest } from '../environ.js';
import { HTTPError } from '../http-error.js';
import type { Application } from '../types.js';

/**
 * The requests a gateway made whose body it delivers exactly as its `Content-Length` (or
 * `CONTENT_LENGTH`) says — never a byte more, and an error when the peer sends fewer. A
 * gateway adds each request it makes; anything else (a request built in-process) is not in it.
 */
export const framedRequests: WeakSet<Request> = new WeakSet();

/**
 * Wraps `app` so a request body over `maxBytes` is refused with 413.
 *
 * @param maxBytes - The largest body accepted, in bytes (an integer ≥ 0).
 * @param option - The option's name, for the error message.
 * @throws TypeError naming `option` when `maxBytes` is not an integer ≥ 0.
 */
export function limitRequestBody(app: Application, maxBytes: number, option: string): Application {
  checkByteLimit(maxBytes, option);
  const tooLarge = () =>
    new HTTPError(413, {
      body: `the request body is over the limit of ${maxBytes} bytes`,
      headers: { connection: 'close' },
    });
  return (request, environ) => {
    const declared = request.headers.get('content-length');
    if (declared !== null && /^\d+$/.test(declared)) {
      if (Number(declared) > maxBytes) return tooLarge().toResponse(request);
      // The gateway's framing counts this body against its length as it streams (a rebased
      // request — proxyFix, urlmap — reads the gateway's own body through).
      if (framedRequests.has(originalRequest(request))) return app(request, environ);
    }
    const body = request.body;
    if (body === null) return app(request, environ);
    let seen = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(tooLarge());
          else controller.enqueue(chunk);
        },
      }),
    );
    const limited = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: counted,
      signal: request.signal,
      duplex: 'half',
    } as RequestInit);
    return app(limited, environ);
  };
}

/**
 * Checks a byte limit option.
 * @throws TypeError naming `option` when `value` is not a whole number of bytes ≥ 0.
 */
export function checkByteLimit(value: unknown, option: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${option}: expected a whole number of bytes ≥ 0, got ${String(value)}`);
  }
}
