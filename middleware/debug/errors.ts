/**
 * `errors()`, the production error middleware: one structured log record per unhandled error,
 * and a 500 that carries its id and nothing else.
 */

import { randomBytes } from 'node:crypto';
import { describeError } from '../../src/_internal/log.js';
import { optionNames, refuseUnknownOptions } from '../../src/_internal/options.js';
import { isFastResponse } from '../../src/_internal/response-parts.js';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Environ, Middleware } from '../../src/types.js';
import { formatText, reportOf } from './stack.js';

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

/** What `errors()` logs for one error. */
export interface ErrorRecord {
  level: 'error';
  /** 16 hex digits, also in the response's `X-Error-Id` and body. */
  id: string;
  /** ISO 8601. */
  time: string;
  method: string;
  url: string;
  message: string;
  /** The source-mapped traceback, with causes and AggregateError members. */
  traceback: string;
}

const defaultLog = (record: ErrorRecord): void => {
  process.stderr.write(`${JSON.stringify(record)}\n`);
};

const ERRORS_OPTIONS = optionNames<ErrorsOptions>()(['onError', 'log']);

/**
 * The production error middleware: a thrown `HTTPError` is its own response; anything else is
 * logged (see {@link ErrorRecord}), reported to `onError`, and answered with a plain 500 that
 * carries only the error id (HTML, JSON or text by `Accept`). An error while a native
 * response body streams ends the stream and is logged the same way.
 *
 * ```ts
 * errors({
 *   onError: (record) => report(record),  // each logged error: id, request, error, time
 *   log: console.error,                   // where the one-line log goes
 * })
 * ```
 */
export function errors(options: ErrorsOptions = {}): Middleware {
  refuseUnknownOptions(options, ERRORS_OPTIONS, 'errors');
  return (app) => async (request, environ) => {
    let response: Response;
    try {
      response = await app(request, environ);
    } catch (error) {
      if (error instanceof HTTPError) return error.toResponse(request);
      return productionError(error, request, environ, options);
    }
    return guardBody(response, (error) => productionError(error, request, environ, options));
  };
}

/** Handles an unhandled error the production way: log, report, answer a plain 500 with an id. */
export function productionError(
  error: unknown,
  request: Request,
  environ: Environ,
  options: ErrorsOptions,
): Response {
  const id = randomBytes(8).toString('hex');
  const report = reportOf(error);
  (options.log ?? defaultLog)({
    level: 'error',
    id,
    time: new Date().toISOString(),
    method: request.method,
    url: request.url,
    message: `${report.name}: ${report.message}`,
    traceback: formatText(report),
  });
  if (options.onError) {
    Promise.resolve()
      .then(() => options.onError!(error, request, environ))
      .catch((failure: unknown) =>
        process.stderr.write(`mortar errors: onError failed: ${describeError(failure)}\n`),
      );
  }
  return errorResponse(500, request, `Something went wrong on our side. Error id: ${id}`, {
    'x-error-id': id,
  });
}

/**
 * A response whose streamed body, should it fail, ends instead of breaking the connection,
 * after `onError` ran. A FastResponse passes as it is: reading its body would build a native
 * Response on every request; should its stream fail, the gateway cuts the connection and logs.
 */
function guardBody(response: Response, onError: (error: unknown) => void): Response {
  if (isFastResponse(response)) return response;
  const body = response.body;
  if (!body) return response;
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
