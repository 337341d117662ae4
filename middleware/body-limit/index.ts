/**
 * `mortar/body-limit` — refuse request bodies over a size, before they fill memory.
 *
 * ```ts
 * import { bodyLimit } from 'mortar/body-limit';
 * const upload = bodyLimit({ maxBytes: 50 * 1024 * 1024 })(app);   // 50 MiB here
 * ```
 *
 * A `Content-Length` over `maxBytes` is answered 413 at once, without calling the
 * application. Every other body — chunked, or with a length within the limit (a length is a
 * claim: a `Request` made in-process need not keep to it) — is counted as the application
 * reads it: past `maxBytes` the read rejects with an `HTTPError` 413, which becomes the
 * response unless the application catches it. Both carry `Connection: close`.
 *
 * The HTTP gateway applies the same limit to every request (`serve({ maxBodySize })`, 10 MiB
 * unless set; `mortar serve --max-body-size`): use this middleware for a tighter limit on
 * part of a site, or a larger one under a gateway whose limit you raised.
 * @module mortar/body-limit
 */

import { limitRequestBody } from '../../src/_internal/body-limit.js';
import { is, optionChecker } from '../../src/_internal/options.js';
import type { Middleware } from '../../src/types.js';

/** Options of {@link bodyLimit}. */
export interface BodyLimitOptions {
  /** The largest request body accepted, in bytes. */
  maxBytes: number;
}

const checkOptions = optionChecker<BodyLimitOptions>('bodyLimit', {
  maxBytes: is.required(is.bytes()),
});

/**
 * Refuses request bodies over `maxBytes` with 413 Content Too Large (RFC 9110 §15.5.14).
 * @throws ConfigError when `maxBytes` is missing or not a whole number of bytes ≥ 0, or for an
 *   option it does not know.
 */
export function bodyLimit(options: BodyLimitOptions): Middleware {
  const { maxBytes } = checkOptions(options);
  return function bodyLimit(app) {
    return limitRequestBody(app, maxBytes, 'bodyLimit: option "maxBytes"');
  };
}
