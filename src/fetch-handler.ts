/**
 * `toFetchHandler`: a mortar Application as a fetch handler for the runtimes that call one —
 * `Deno.serve`, `deno serve`, `Bun.serve`, Cloudflare Workers — which pass their own extras
 * (Deno's `info`, Bun's `server`, Workers' `env`) where an Application expects its environ.
 *
 * ```ts
 * import { toFetchHandler } from 'mortar';
 * Deno.serve(toFetchHandler(app));                  // Deno
 * export default { fetch: toFetchHandler(app) };    // deno serve, Bun, Workers
 * ```
 *
 * The environ is a root mount's: `scriptName` `''`, `pathInfo` the request's path as sent,
 * `gateway` `'fetch'`, and `remoteAddress` where the runtime tells it (Deno's
 * `info.remoteAddr`, Bun's `server.requestIP(request)`), `unixSocket` when Deno's
 * `info.remoteAddr.transport` is `unix`; what the runtime passed after the request is kept
 * for `getWorkersEnv`, `getWorkersContext`, `getDenoInfo`, `getBunServer` and `waitUntil`
 * (see `runtime.ts`). A malformed path is a 400; a thrown
 * `HTTPError` is its response; anything else a plain 500 and one line on the console.
 *
 * Lifespans (`withLifespan`): the runtimes give a fetch handler no start or stop event, so
 * the application's lifespans start on the first request (concurrent first requests wait
 * for that one startup; a startup that fails answers those requests 500, logged, and the
 * next request tries again) and are never stopped — on Workers an isolate is dropped without
 * notice, so keep nothing there that needs a shutdown. On Deno and Bun, to start before
 * serving and stop at exit, run `startLifespans(app)` yourself and serve its `app`.
 */

import { runApplication } from './_internal/outcome.js';
import { requestTargetPath } from './_internal/request-target.js';
import { originOf } from './environ.js';
import { errorResponse } from './http-error.js';
import { lazyLifespans } from './lifespan-run.js';
import { withRuntime } from './runtime.js';
import type { Application, Environ } from './types.js';

/** A fetch handler as the runtimes call it. */
export type FetchHandler = (request: Request, ...runtime: unknown[]) => Promise<Response>;

const log = (line: string): void => console.error(line);

/**
 * Wraps `app` for a runtime's `fetch`. See the module comment.
 * @throws TypeError when `app` is not a function.
 */
export function toFetchHandler(app: Application): FetchHandler {
  if (typeof app !== 'function') {
    throw new TypeError(`toFetchHandler(): the application must be a function, got ${typeof app}`);
  }
  const served = lazyLifespans(app);
  return async (request, ...runtime) => {
    const url = request.url;
    const pathInfo = requestTargetPath(url.slice(originOf(url).length) || '/');
    if (typeof pathInfo !== 'string') return errorResponse(400, request, pathInfo.error);
    const environ: Environ = withRuntime(runtime, {
      scriptName: '',
      pathInfo,
      remoteAddress: remoteAddressOf(request, runtime[0]),
      unixSocket: onUnixSocket(runtime[0]),
      gateway: 'fetch',
    });
    return runApplication(served, request, environ, log);
  };
}

/** The client address a runtime gives: Deno's `info.remoteAddr`, Bun's `server.requestIP()`. */
function remoteAddressOf(request: Request, extra: unknown): string | undefined {
  try {
    const deno = (extra as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr;
    if (typeof deno?.hostname === 'string') return deno.hostname;
    const bun = (extra as { requestIP?: (r: Request) => { address?: unknown } | null } | undefined)
      ?.requestIP;
    if (typeof bun === 'function') {
      const address = bun.call(extra, request)?.address;
      if (typeof address === 'string') return address;
    }
  } catch {
    // A runtime's extras that throw: no address.
  }
  return undefined;
}

/** Whether the runtime says the request came over a Unix socket (Deno's `remoteAddr.transport`). */
function onUnixSocket(extra: unknown): boolean {
  try {
    return (
      (extra as { remoteAddr?: { transport?: unknown } } | undefined)?.remoteAddr?.transport ===
      'unix'
    );
  } catch {
    return false;
  }
}
