/**
 * `toNodeHandler`: a mortar Application as a Node request listener, or as Express/Connect
 * middleware — the way to put mortar inside the Node servers people already run.
 *
 * ```ts
 * import http from 'node:http';
 * import express from 'express';
 * import { toNodeHandler } from 'mortar/node';
 *
 * const server = express();
 * server.use('/m', toNodeHandler(site, { fallthrough: true }));   // scriptName '/m'
 * http.createServer(toNodeHandler(site)).listen(8000);            // a listener
 * ```
 *
 * The application gets the environ a mount gives: `scriptName` is the Express mount
 * (`req.baseUrl`, or what Connect stripped from `req.originalUrl`), `pathInfo` the rest, and
 * `request.url` leaves the prefix out. As middleware, a thrown `HTTPError` is its response,
 * any other error goes to `next(error)` (Express's error handlers), and with `fallthrough` a
 * 404 goes to `next()`; as a listener, the outcome rule of `serve()` applies.
 */
import type http from 'node:http';
import { is, optionChecker } from '../../_internal/options.js';
import type { Application } from '../../types.js';
import { requestListener } from './listener.js';

/** Options of {@link toNodeHandler}. */
export interface ToNodeHandlerOptions {
  /** As middleware: a 404 from the application calls `next()` instead. @default false */
  fallthrough?: boolean;
  /** Where log lines go (an error of the application, a failed body). @default console.error */
  log?: (line: string) => void;
}

const checkOptions = optionChecker<ToNodeHandlerOptions>('toNodeHandler', {
  fallthrough: is.boolean,
  log: is.function,
});

/**
 * Turns `app` into `(req, res, next?) => void`. See the module comment.
 * @throws TypeError when `app` is not a function; ConfigError for an unknown option or a value
 *   of the wrong kind.
 */
export function toNodeHandler(
  app: Application,
  options: ToNodeHandlerOptions = {},
): (req: http.IncomingMessage, res: http.ServerResponse, next?: (error?: unknown) => void) => void {
  if (typeof app !== 'function') {
    throw new TypeError(`toNodeHandler(): the application must be a function, got ${typeof app}`);
  }
  checkOptions(options);
  const log = options.log ?? ((line: string) => console.error(line));
  return requestListener(
    app,
    log,
    { draining: false },
    { fallthrough: options.fallthrough ?? false },
  );
}
