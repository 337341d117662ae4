/**
 * The production way with an unhandled error, shared by `errors()` and by `debug()` (for the
 * requests it does not trust): one structured record logged, `onError` told, a plain 500 that
 * carries only the error id.
 */

import { randomBytes } from 'node:crypto';
import { describeError } from '../../src/_internal/log.js';
import { is, type OptionChecks } from '../../src/_internal/options.js';
import { errorResponse } from '../../src/http-error.js';
import type { Environ } from '../../src/types.js';
import { formatText, reportOf } from './stack.js';

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

/** Where a production error goes: `errors()`'s options. */
export interface ErrorSinks {
  onError?: (error: unknown, request: Request, environ: Environ) => void | Promise<void>;
  log?: (record: ErrorRecord) => void;
}

/** The value checks of {@link ErrorSinks}, for `errors()` and for `debug({ errors })`. */
export const ERROR_SINK_CHECKS: OptionChecks<ErrorSinks> = {
  onError: is.function,
  log: is.function,
};

const defaultLog = (record: ErrorRecord): void => {
  process.stderr.write(`${JSON.stringify(record)}\n`);
};

/** Handles an unhandled error the production way: log, report, answer a plain 500 with an id. */
export function productionError(
  error: unknown,
  request: Request,
  environ: Environ,
  options: ErrorSinks,
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
