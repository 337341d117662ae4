/**
 * `mortar/errors` — the production error page (WebError's ErrorMiddleware, Werkzeug's plain
 * 500): one structured log record per unhandled error, and a 500 that carries its id and
 * nothing else.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { errors } from 'mortar/errors';
 *
 * const app = compose(errors())(site);
 * ```
 *
 * It loads no debugger: the interactive traceback is `debug()` from `mortar/debug`.
 * @module mortar/errors
 */

import { optionChecker } from '../../src/_internal/options.js';
import { isFastResponse } from '../../src/_internal/response-parts.js';
import { isThenable } from '../../src/_internal/thenable.js';
import { HTTPError } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Environ, Middleware } from '../../src/types.js';
import { ERROR_SINK_CHECKS, type ErrorRecord, productionError } from '../_shared/error-page.js';

export type { ErrorRecord } from '../_shared/error-page.js';

/** Options of {@link errors}. */
export interface ErrorsOptions {
  /**
   * Called with every unhandled error (for reporting), after the record is logged; what it
   * throws or rejects with is logged, never sent. @default undefined
   */
  onError?: (error: unknown, request: Request, environ: Environ) => void | Promise<void>;
  /** Receives the structured record of each error. @default one JSON line on stderr */
  log?: (record: ErrorRecord) => void;
}

const checkOptions = optionChecker<ErrorsOptions>('errors', ERROR_SINK_CHECKS);

/**
 * The production error middleware: a thrown `HTTPError` is its own response; anything else is
 * logged (see {@link ErrorRecord}), reported to `onError`, and answered with a plain 500 that
 * carries only the error id (HTML, JSON or text by `Accept`). An error while a native
 * response body streams ends the stream and is logged the same way. A request that throws
 * nothing pays one function call: no async wrapper on the way in.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { errors } from 'mortar/errors';
 *
 * const app = compose(
 *   errors({
 *     // every unhandled error, after its record is logged; what it throws is logged, not sent
 *     onError: (error, request, environ) => {
 *       console.error(`report ${request.method} ${environ.scriptName}${environ.pathInfo}`, error);
 *     },
 *     log: (record) => console.error(record.id, record.message), // default: a JSON line on stderr
 *   }),
 * )(site);
 * ```
 *
 * @throws ConfigError (at construction) for an option it does not know, or one of the wrong type.
 */
export function errors(options: ErrorsOptions = {}): Middleware {
  checkOptions(options);
  const onError = (error: unknown, request: Request, environ: Environ): Response =>
    error instanceof HTTPError
      ? error.toResponse(request)
      : productionError(error, request, environ, options);
  return function errors(app) {
    return function errorsApp(request, environ) {
      let result: Response | Promise<Response>;
      try {
        result = app(request, environ);
      } catch (error) {
        return onError(error, request, environ);
      }
      if (!isThenable<Response>(result)) return guardBody(result, request, environ, options);
      return Promise.resolve(result).then(
        (response) => guardBody(response, request, environ, options),
        (error: unknown) => onError(error, request, environ),
      );
    };
  };
}

/**
 * A response whose streamed body, should it fail, ends instead of breaking the connection,
 * after the error is logged and reported. A FastResponse passes as it is: reading its body
 * would build a native Response on every request; should its stream fail, the gateway cuts
 * the connection and logs.
 */
function guardBody(
  response: Response,
  request: Request,
  environ: Environ,
  options: ErrorsOptions,
): Response {
  if (isFastResponse(response)) return response;
  const body = response.body;
  if (!body) return response;
  const onError = (error: unknown) => productionError(error, request, environ, options);
  const reader = body.getReader();
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        onError(error);
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new FastResponse(guarded, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
