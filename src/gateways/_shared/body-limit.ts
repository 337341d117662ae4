/**
 * The one request-body limit: what `bodyLimit()` from `mortar/body-limit` does, and what
 * `serve({ maxBodySize })` and `mortar serve --max-body-size` apply at the gateway. Web
 * streams only (it runs on every runtime).
 *
 * - A declared `Content-Length` over the limit: 413 at once; the application is not called.
 * - A body of unknown length (`Transfer-Encoding: chunked`, or a `Request` built in-process
 *   without a length): the application gets the request with a counted body; past the limit the body errors with
 *   an {@link HTTPError} 413, so `await request.text()` rejects with it and, unless the
 *   application catches it, the client gets the 413.
 * Either 413 carries `Connection: close`: the rest of an upload is not worth reading.
 */
import { HTTPError } from '../../http-error.js';
import type { Application } from '../../types.js';

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
      // The gateways' framing never delivers more than a Content-Length they accepted.
      if (Number(declared) <= maxBytes) return app(request, environ);
      return tooLarge().toResponse(request);
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
