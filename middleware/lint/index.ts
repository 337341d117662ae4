/**
 * `mortar/lint` — checks, during development, that an application keeps the contract
 * (DESIGN.md §1, the `Application` and `Environ` rules) and HTTP's (RFC 9110): paste.lint
 * and Werkzeug's LintMiddleware, for the fetch world.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { lint } from 'mortar/lint';
 * import { session } from 'mortar/session';
 * const app = compose(lint(), session({ secret }), lint())(site);   // around and between
 * // in tests: lint({ strict: true }) throws a LintError at the first finding
 * ```
 *
 * Each finding is one line, `mortar lint [rule] GET /path: what is wrong`. The rules:
 * - `environ`: `scriptName` is `''` or starts with `/` and does not end with one; `pathInfo`
 *   is `''` or starts with `/`; the request URL's path is `pathInfo` (the mount invariant);
 * - `result`: the application returned a `Response` (or a promise of one);
 * - `status`: an integer from 200 to 599;
 * - `headers`: names and values that would be refused on the wire (CR/LF, control
 *   characters, a name that is not a token), and a `Set-Cookie` that does not parse
 *   (RFC 6265, read by tough-cookie: a devDependency of the project, not a dependency of
 *   mortar — `lint()` throws an Error saying to `npm install -D tough-cookie` without it);
 * - `no-body`: a body on a 204 or 304, or for a HEAD request (the gateway drops it: the
 *   application did the work for nothing);
 * - `content-length`: `Content-Length` that differs from the body's bytes, as they are read;
 * - `body-reuse`: the request body read twice;
 * - `aborted`: a response returned after `request.signal` aborted (the client is gone: stop
 *   work when the signal fires).
 * @module mortar/lint
 */

import type * as ToughCookie from 'tough-cookie';
import { requireOptional } from '../../src/_internal/optional.js';
import { is, optionChecker } from '../../src/_internal/options.js';
import {
  invalidPart,
  type ResponseParts,
  responseParts,
} from '../../src/_internal/response-parts.js';
import { pathOf, searchOf } from '../../src/environ.js';
import type { Environ, Middleware } from '../../src/types.js';
import { bodyLength, headerPairs, responseFromParts } from '../_shared/parts.js';

/** Options of {@link lint}. */
export interface LintOptions {
  /** Throw a {@link LintError} at the first finding instead of writing a line. @default false */
  strict?: boolean;
  /** Where each finding goes. @default console.warn */
  write?: (line: string) => void;
}

/** A finding, thrown by `lint({ strict: true })`. */
export class LintError extends Error {
  override readonly name = 'LintError';
  constructor(
    /** The rule broken (`environ`, `headers`, …). */
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

const checkOptions = optionChecker<LintOptions>('lint', { strict: is.boolean, write: is.function });

/**
 * Checks every call of the application it wraps; see the module comment for the rules.
 * @throws ConfigError for an unknown option or a value of the wrong kind; Error saying to `npm install -D tough-cookie` when
 *   that (the `Set-Cookie` check's parser) is not installed.
 */
export function lint(options: LintOptions = {}): Middleware {
  checkOptions(options);
  const { Cookie } = requireOptional<typeof ToughCookie>(
    'tough-cookie',
    "lint's Set-Cookie check needs tough-cookie: npm install -D tough-cookie",
  );
  const write = options.write ?? ((line: string) => console.warn(line));
  return function lint(app) {
    return async function lintApp(request, environ) {
      const where = `${request.method} ${describeTarget(request, environ)}`;
      const report = (rule: string, message: string): void => {
        const line = `mortar lint [${rule}] ${where}: ${message}`;
        if (options.strict) throw new LintError(rule, line);
        write(line);
      };
      checkEnviron(request, environ, report);
      let result: unknown;
      try {
        result = await app(request, environ);
      } catch (error) {
        if (
          error instanceof TypeError &&
          request.bodyUsed &&
          /unusable|used|locked/i.test(error.message)
        ) {
          report('body-reuse', `the request body was read twice (${error.message})`);
        }
        throw error;
      }
      if (!(result instanceof Response)) {
        report('result', `the application returned ${describe(result)}, not a Response`);
        return result as Response;
      }
      if (request.signal.aborted) {
        report(
          'aborted',
          'a response was returned after request.signal aborted (the client was gone)',
        );
      }
      const parts = responseParts(result);
      checkParts(parts, request, report, Cookie);
      return rebuild(parts, report);
    };
  };
}

function checkEnviron(
  request: Request,
  environ: Environ,
  report: (rule: string, message: string) => void,
): void {
  const { scriptName, pathInfo } = environ ?? ({} as Environ);
  if (
    typeof scriptName !== 'string' ||
    (scriptName !== '' && (!scriptName.startsWith('/') || scriptName.endsWith('/')))
  ) {
    report(
      'environ',
      `scriptName ${JSON.stringify(scriptName)} must be '' or start with "/" and not end with one`,
    );
  }
  if (typeof pathInfo !== 'string' || (pathInfo !== '' && !pathInfo.startsWith('/'))) {
    report('environ', `pathInfo ${JSON.stringify(pathInfo)} must be '' or start with "/"`);
    return;
  }
  const path = pathOf(request.url);
  if (path !== (pathInfo || '/')) {
    report(
      'environ',
      `the request URL's path ${path} is not pathInfo ${JSON.stringify(pathInfo)} (a mount must hand on a rebased request)`,
    );
  }
}

function checkParts(
  parts: ResponseParts,
  request: Request,
  report: (rule: string, message: string) => void,
  Cookie: typeof ToughCookie.Cookie,
): void {
  const invalid = invalidPart(parts);
  if (invalid) report(invalid.startsWith('status') ? 'status' : 'headers', invalid);
  for (let i = 0; i < parts.headers.length; i += 2) {
    if (parts.headers[i]!.toLowerCase() !== 'set-cookie') continue;
    const value = parts.headers[i + 1]!;
    if (!Cookie.parse(value, { loose: false })) {
      report('headers', `Set-Cookie ${JSON.stringify(value)} does not parse (RFC 6265 §4.1)`);
    }
  }
  const hasBody = parts.body !== null && !(typeof parts.body === 'string' && parts.body === '');
  if (hasBody && (parts.status === 204 || parts.status === 304)) {
    report('no-body', `a ${parts.status} response has a body`);
  } else if (hasBody && request.method === 'HEAD') {
    report('no-body', 'a response to HEAD has a body (it is dropped; send headers only)');
  }
}

/** The response rebuilt from its parts (reading them used a FastResponse up), its body counted. */
function rebuild(parts: ResponseParts, report: (rule: string, message: string) => void): Response {
  let declared: number | undefined;
  for (let i = 0; i < parts.headers.length; i += 2) {
    if (parts.headers[i]!.toLowerCase() === 'content-length')
      declared = Number(parts.headers[i + 1]);
  }
  let body = parts.body;
  if (declared !== undefined && body !== null) {
    const bytes = body instanceof ReadableStream ? undefined : bodyLength(body);
    if (bytes !== undefined && bytes !== declared) {
      report('content-length', `Content-Length ${declared} but the body has ${bytes} bytes`);
    } else if (body instanceof ReadableStream) body = counted(body, declared, report);
  }
  return responseFromParts(parts, body, headerPairs(parts));
}

/**
 * `body` with its bytes compared to `declared` at its end. A TransformStream, not
 * `countedStream`: under `strict` the LintError thrown in `flush` errors the body.
 */
function counted(
  body: ReadableStream<Uint8Array>,
  declared: number,
  report: (rule: string, message: string) => void,
): ReadableStream<Uint8Array> {
  let bytes = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      flush() {
        if (bytes !== declared) {
          report(
            'content-length',
            `Content-Length ${declared} but the body streamed ${bytes} bytes`,
          );
        }
      },
    }),
  );
}

function describeTarget(request: Request, environ: Environ): string {
  try {
    return `${environ.scriptName}${environ.pathInfo}${searchOf(request.url)}`;
  } catch {
    return '(an environ without scriptName/pathInfo)';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return `a ${(value as object).constructor?.name ?? 'object'}`;
}
