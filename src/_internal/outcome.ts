/**
 * What every gateway does with an application's outcome (DESIGN.md §1): a thrown `HTTPError`
 * is its own response; anything else thrown, or a result that is not a `Response`, is a plain
 * 500 and one log line naming the problem. {@link runApplication} is the rule, the one way
 * from an application's result to a gateway's writer.
 */

import { errorResponse, HTTPError } from '../http-error.js';
import type { Application, Environ } from '../types.js';
import { describeError, describeValue } from './log.js';
import { invalidPart, type ResponseParts, responseParts } from './response-parts.js';
import { isThenable } from './thenable.js';

/**
 * Calls `app(request, environ)` and applies the outcome rule to what comes of it: a
 * `Response` is the answer; a thrown (or rejected) `HTTPError` is its own response; anything
 * else thrown, or a result that is not a `Response`, is a plain 500 and one line to `log`.
 * An application that answers synchronously is answered synchronously (no promise is made on
 * that path); one that returns any thenable is awaited.
 *
 * @param log - Where the one line goes (a gateway's error log).
 * @param rethrow - What a test wants instead (TestClient's `throwErrors`): a thrown value other
 *   than an `HTTPError` is rethrown, and a result that is not a `Response` throws a TypeError
 *   saying what came back; nothing is logged.
 * @returns The response to write; never rejects unless `rethrow`.
 */
export function runApplication(
  app: Application,
  request: Request,
  environ: Environ,
  log: (line: string) => void,
  rethrow = false,
): Response | Promise<Response> {
  let result: unknown;
  try {
    result = app(request, environ);
  } catch (error) {
    return failureResponse(error, request, log, rethrow);
  }
  if (!isThenable(result)) return asResponse(result, request, log, rethrow);
  return Promise.resolve(result).then(
    (value) => asResponse(value, request, log, rethrow),
    (error: unknown) => failureResponse(error, request, log, rethrow),
  );
}

/** The response a thrown `HTTPError` stands for; `undefined` for any other thrown value. */
export function httpErrorResponse(error: unknown, request: Request): Response | undefined {
  try {
    if (error instanceof HTTPError) return error.toResponse(request);
  } catch {
    // A value whose prototype chain throws (a hostile Proxy) is no HTTPError.
  }
  return undefined;
}

/** The response for a thrown value; logs it unless it is an `HTTPError` (or rethrows it). */
function failureResponse(
  error: unknown,
  request: Request,
  log: (line: string) => void,
  rethrow: boolean,
): Response {
  const response = httpErrorResponse(error, request);
  if (response !== undefined) return response;
  if (rethrow) throw error;
  log(`mortar: unhandled error in ${request.method} ${request.url}: ${describeError(error)}`);
  return errorResponse(500, request);
}

/**
 * `value` when it is a `Response`; else a 500, with a log line saying what came back (or,
 * with `rethrow`, a TypeError saying it).
 */
export function asResponse(
  value: unknown,
  request: Request,
  log: (line: string) => void,
  rethrow = false,
): Response {
  try {
    if (value instanceof Response) return value;
  } catch {
    // A hostile Proxy: not a Response either.
  }
  const what = `the application returned ${describeValue(value)} for ${request.method} ${request.url}, not a Response`;
  if (rethrow) throw new TypeError(what);
  log(`mortar: ${what}; answering 500`);
  return errorResponse(500, request);
}

/**
 * The parts of the response to write: the application's, when every header name, value and the
 * status line are valid (see {@link invalidPart}); else the parts of a plain 500, after one log
 * line naming what was wrong — an application's response never crashes a gateway or injects a
 * header into the wire. The invalid response's body is cancelled unread.
 *
 * @param fields - `false` checks the status line only, for a writer whose own head writer
 *   refuses an invalid field by the same rules (Node's `writeHead`): it calls
 *   {@link refusedParts} when that throws, and no field is read twice per response.
 */
export function sendableParts(
  response: Response,
  request: Request | undefined,
  log: (line: string) => void,
  fields = true,
): ResponseParts {
  let parts: ResponseParts;
  try {
    parts = responseParts(response);
  } catch (error) {
    log(
      `mortar: the response to ${requestLine(request)} cannot be read (${describeError(error)}); answering 500`,
    );
    return responseParts(errorResponse(500, request));
  }
  const problem = invalidPart(parts, fields);
  return problem === undefined ? parts : refusedParts(parts, problem, request, log);
}

/**
 * The parts of the plain 500 that stands in for a response whose `problem` (what
 * {@link invalidPart} said) makes it unsendable, after one log line; its body is cancelled.
 */
export function refusedParts(
  parts: ResponseParts,
  problem: string,
  request: Request | undefined,
  log: (line: string) => void,
): ResponseParts {
  discardBody(parts.body);
  log(`mortar: the response to ${requestLine(request)} is invalid: ${problem}; answering 500`);
  return responseParts(errorResponse(500, request));
}

/** Only a failure reads request.url (srvx builds it on first read): not on the hot path. */
function requestLine(request: Request | undefined): string {
  return request ? `${request.method} ${request.url}` : 'a malformed request';
}

/** Never pumps: an endless stream must not keep a HEAD request (or a gone client) alive. */
export function discardBody(body: unknown): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else if (body && typeof (body as { destroy?: unknown }).destroy === 'function') {
    (body as { destroy(): void }).destroy();
  }
}
