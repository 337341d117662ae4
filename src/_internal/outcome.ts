/**
 * What every gateway does with an application's outcome (DESIGN.md §1): a thrown `HTTPError`
 * is its own response; anything else thrown, or a result that is not a `Response`, is a plain
 * 500 and one log line naming the problem.
 */

import { errorResponse, HTTPError } from '../http-error.js';
import { describeError, describeValue } from './log.js';
import { invalidPart, type ResponseParts, responseParts } from './response-parts.js';

/** The response for a thrown value; logs it unless it is an `HTTPError`. */
export function failureResponse(
  error: unknown,
  request: Request,
  log: (line: string) => void,
): Response {
  try {
    if (error instanceof HTTPError) return error.toResponse(request);
  } catch {
    // A value whose prototype chain throws (a hostile Proxy) is no HTTPError: a plain 500.
  }
  log(`mortar: unhandled error in ${request.method} ${request.url}: ${describeError(error)}`);
  return errorResponse(500, request);
}

/** `value` when it is a `Response`; else a 500, with a log line saying what came back. */
export function asResponse(
  value: unknown,
  request: Request,
  log: (line: string) => void,
): Response {
  try {
    if (value instanceof Response) return value;
  } catch {
    // A hostile Proxy: not a Response either.
  }
  log(
    `mortar: the application returned ${describeValue(value)} for ${request.method} ${request.url}, not a Response; answering 500`,
  );
  return errorResponse(500, request);
}

/**
 * The parts of the response to write: the application's, when every header name, value and the
 * status line are valid (see {@link invalidPart}); else the parts of a plain 500, after one log
 * line naming what was wrong — an application's response never crashes a gateway or injects a
 * header into the wire. The invalid response's body is cancelled unread.
 */
export function sendableParts(
  response: Response,
  request: Request | undefined,
  log: (line: string) => void,
): ResponseParts {
  // Only a failure reads request.url (srvx builds it on first read): not on the hot path.
  const what = (): string => (request ? `${request.method} ${request.url}` : 'a malformed request');
  let parts: ResponseParts;
  try {
    parts = responseParts(response);
  } catch (error) {
    log(
      `mortar: the response to ${what()} cannot be read (${describeError(error)}); answering 500`,
    );
    return responseParts(errorResponse(500, request));
  }
  const problem = invalidPart(parts);
  if (problem === undefined) return parts;
  discardBody(parts.body);
  log(`mortar: the response to ${what()} is invalid: ${problem}; answering 500`);
  return responseParts(errorResponse(500, request));
}

/** Never pumps: an endless stream must not keep a HEAD request (or a gone client) alive. */
export function discardBody(body: unknown): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else if (body && typeof (body as { destroy?: unknown }).destroy === 'function') {
    (body as { destroy(): void }).destroy();
  }
}
