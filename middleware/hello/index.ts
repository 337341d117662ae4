/**
 * `mortar/hello` — the smallest correct application, and a wrapper that answers one path.
 *
 * ```ts
 * import { hello, helloWorld } from 'mortar/hello';
 * import { serve } from 'mortar/node';
 * await serve(hello);                                   // every path: Hello, world!
 * await serve(helloWorld({ path: '/hello' })(site));    // /hello here, the rest to site
 * ```
 *
 * `helloWorld` is the seeds' `application = HelloWorldApplication(application)`: the first
 * middleware anyone writes, done right — it matches on `environ.pathInfo` (so it works under
 * a mount), answers GET and HEAD, 405 with `Allow` otherwise, and passes every other request
 * through untouched.
 * @module mortar/hello
 */

import { ConfigError, is, optionChecker, shown } from '../../src/_internal/options.js';
import { assertEnviron } from '../../src/environ.js';
import { FastResponse } from '../../src/response.js';
import type { Application, Middleware } from '../../src/types.js';

const BODY = 'Hello, world!\n';
const HEADERS = { 'content-type': 'text/plain; charset=utf-8' };
const NOT_ALLOWED_HEADERS = { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' };

/**
 * Answers `Hello, world!` (text/plain) to GET and HEAD, and `405 Method Not Allowed` with
 * `Allow: GET, HEAD` to any other method (RFC 9110 §15.5.6).
 */
export const hello: Application = (request) => {
  const method = request.method;
  if (method === 'GET' || method === 'HEAD') {
    return new FastResponse(BODY, { headers: HEADERS });
  }
  return new FastResponse('405 Method Not Allowed\n', {
    status: 405,
    headers: NOT_ALLOWED_HEADERS,
  });
};

/** Options of {@link helloWorld}. */
export interface HelloWorldOptions {
  /**
   * The path answered, compared with `environ.pathInfo` exactly (percent-encoded, no trailing
   * slash added). Must start with `/`.
   * @default '/hello'
   */
  path?: string;
  /** The application that answers that path. @default hello */
  answer?: Application;
}

const checkOptions = optionChecker<HelloWorldOptions>('helloWorld', {
  path: is.string,
  answer: is.function,
});

/**
 * A middleware that answers one path itself and passes every other request, unchanged, to
 * the application it wraps.
 *
 * @throws ConfigError for an unknown option, or a `path` that does not start with `/`.
 */
export function helloWorld(options: HelloWorldOptions = {}): Middleware {
  checkOptions(options);
  const path = options.path ?? '/hello';
  if (!path.startsWith('/')) {
    throw new ConfigError(
      `helloWorld: option "path" must be a path starting with "/", got ${shown(path)}`,
    );
  }
  const answer = options.answer ?? hello;
  return function helloWorld(app) {
    return function helloWorldApp(request, environ) {
      assertEnviron(environ, 'helloWorld()');
      return environ.pathInfo === path ? answer(request, environ) : app(request, environ);
    };
  };
}
