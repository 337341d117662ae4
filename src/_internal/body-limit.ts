/**
 * The one request-body limit: what `bodyLimit()` from `mortar/body-limit` does, and what
 * `serve({ maxBodySize })` and `mortar serve --max-body-size` apply at the gateway. Web
 * streams only (it runs on every runtime).
 *
 * - A declared `Content-Length` over the limit: 413 at once; the application is not called.
 * - Every other body is counted as it streams, whoever made the request and whatever length
 *   it claims (a length is a claim: a `Request` built in-process, a FastCGI request without
 *   `CONTENT_LENGTH` whose client sent a `Content-Length` header). Past the limit the body
 *   errors with an {@link HTTPError} 413, so `await request.text()` rejects with it and,
 *   unless the application catches it, the client gets the 413.
 * Either 413 carries `Connection: close`: the rest of an upload is not worth reading.
 *
 * The application gets the request wrapped, as srvx's own `limitRequestBody` wraps it, not
 * rebuilt: its url, method, headers, signal and srvx's extras (`runtime`, `ip`, `waitUntil`)
 * are the gateway request's own, read through; only the body is counted.
 */
import { forwardRequestMembers, kWrappedRequest } from '../environ.js';
import { HTTPError } from '../http-error.js';
import type { Application } from '../types.js';

/**
 * Wraps `app` so a request body over `maxBytes` is refused with 413.
 *
 * @param maxBytes - The largest body accepted, in bytes (an integer ≥ 0).
 * @param option - The option's name, for the error message.
 * @throws TypeError naming `option` when `maxBytes` is not an integer ≥ 0.
 */
export function limitRequestBody(app: Application, maxBytes: number, option: string): Application {
  checkByteLimit(maxBytes, option);
  const tooLarge = () => bodyTooLarge(maxBytes);
  return function limitedApp(request, environ) {
    // GET and HEAD carry no body on any gateway (nor can a native Request): the hot path.
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') return app(request, environ);
    if (declaresTooLarge(request, maxBytes)) return tooLarge().toResponse(request);
    return app(new LimitedRequest(request, maxBytes, tooLarge) as unknown as Request, environ);
  };
}

/**
 * A request whose body is counted: everything but the body is the wrapped request's own, read
 * through (`instanceof Request` holds); the body and its read methods come from a counted
 * stream over the wrapped body, made on first use.
 */
class LimitedRequest {
  readonly [kWrappedRequest]: Request;
  readonly #maxBytes: number;
  readonly #tooLarge: () => HTTPError;
  /** The counted body, as a Response so its read methods and `bodyUsed` are the platform's. */
  #counted: Response | undefined;
  constructor(inner: Request, maxBytes: number, tooLarge: () => HTTPError) {
    this[kWrappedRequest] = inner;
    this.#maxBytes = maxBytes;
    this.#tooLarge = tooLarge;
  }
  /** The counted body, made on first use (the wrapped body is not touched before). */
  #body(): Response {
    if (this.#counted === undefined) {
      const inner = this[kWrappedRequest];
      const body = inner.body;
      const type = inner.headers.get('content-type');
      // The content type goes along: formData() needs it.
      this.#counted = new Response(
        body === null ? null : countBody(body, this.#maxBytes, this.#tooLarge),
        { headers: type === null ? {} : { 'content-type': type } },
      );
    }
    return this.#counted;
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#body().body;
  }
  get bodyUsed(): boolean {
    return this.#counted ? this.#counted.bodyUsed : this[kWrappedRequest].bodyUsed;
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body().arrayBuffer();
  }
  blob(): Promise<Blob> {
    return this.#body().blob();
  }
  bytes(): Promise<Uint8Array> {
    return this.#body().bytes();
  }
  formData(): Promise<FormData> {
    return this.#body().formData();
  }
  json(): Promise<unknown> {
    return this.#body().json();
  }
  text(): Promise<string> {
    return this.#body().text();
  }
  clone(): Request {
    return new LimitedRequest(
      this[kWrappedRequest].clone(),
      this.#maxBytes,
      this.#tooLarge,
    ) as unknown as Request;
  }
  /** srvx's extras, read through: the gateway's `runtime.node`, the client `ip`, `waitUntil`. */
  get runtime(): unknown {
    return (this[kWrappedRequest] as { runtime?: unknown }).runtime;
  }
  get ip(): unknown {
    return (this[kWrappedRequest] as { ip?: unknown }).ip;
  }
  get waitUntil(): unknown {
    return (this[kWrappedRequest] as { waitUntil?: unknown }).waitUntil;
  }
}
forwardRequestMembers(
  LimitedRequest.prototype,
  (self) => (self as LimitedRequest)[kWrappedRequest],
  [],
);
Object.setPrototypeOf(LimitedRequest.prototype, Request.prototype);

/**
 * `body` counted as it is read: past `maxBytes` the stream errors with `tooLarge()` and the
 * source is cancelled (pulled, not piped — one read per read, as srvx's `limitBodyStream`).
 */
function countBody(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => HTTPError,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      seen += value.byteLength;
      if (seen > maxBytes) {
        const error = tooLarge();
        reader.cancel(error).catch(() => {});
        controller.error(error);
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * The 413 Content Too Large (RFC 9110 §15.5.14) for a body over `maxBytes`, with
 * `Connection: close`: the rest of an upload is not worth reading.
 */
export function bodyTooLarge(maxBytes: number): HTTPError {
  return new HTTPError(413, {
    body: `the request body is over the limit of ${maxBytes} bytes`,
    headers: { connection: 'close' },
  });
}

/** Whether `request` declares a `Content-Length` over `maxBytes`. */
export function declaresTooLarge(request: Request, maxBytes: number): boolean {
  const declared = request.headers.get('content-length');
  return declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes;
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
