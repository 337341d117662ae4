/**
 * What every gateway does with an application's outcome (DESIGN.md §1): a thrown `HTTPError`
 * is its own response; anything else thrown, or a result that is not a `Response`, is a plain
 * 500 and one log line naming the problem.
 */
import { errorResponse, HTTPError } from '../../http-error.js';

/** The response for a thrown value; logs it unless it is an `HTTPError`. */
export function failureResponse(
  error: unknown,
  request: Request,
  log: (line: string) => void,
): Response {
  if (error instanceof HTTPError) return error.toResponse(request);
  log(`mortar: unhandled error in ${request.method} ${request.url}: ${describeError(error)}`);
  return errorResponse(500, request);
}

/** `value` when it is a `Response`; else a 500, with a log line saying what came back. */
export function asResponse(
  value: unknown,
  request: Request,
  log: (line: string) => void,
): Response {
  if (value instanceof Response) return value;
  log(
    `mortar: the application returned ${describeValue(value)} for ${request.method} ${request.url}, not a Response; answering 500`,
  );
  return errorResponse(500, request);
}

/** A thrown value for a log: the stack of an Error, else what it was. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return `a thrown ${describeValue(error)} (throw an Error to get a stack trace)`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an object of class ${name}` : 'an object';
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}
