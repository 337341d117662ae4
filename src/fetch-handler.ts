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
 *
 * WebSockets: on Deno and Workers a handshake gets `environ.websocket`, and when the chain's
 * final response is its accept the handler returns the runtime's 101, made by crossws's adapter
 * for the runtime (loaded at the first accepted handshake, see `fetch-websocket.ts`), with the
 * headers the chain added (a session's `Set-Cookie`). On Bun, upgrades need the `websocket`
 * handlers beside `fetch`: serve with `Bun.serve(toBunServe(app))`; `toFetchHandler` alone
 * gives no `environ.websocket` there (a `webSocket()` endpoint answers 426).
 */

import { describeError } from './_internal/log.js';
import { runApplication } from './_internal/outcome.js';
import { requestTargetPath } from './_internal/request-target.js';
import { originOf } from './environ.js';
import { FetchUpgrades } from './fetch-websocket.js';
import { errorResponse } from './http-error.js';
import { lazyLifespans } from './lifespan-run.js';
import { fetchRuntime, withRuntime } from './runtime.js';
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
  return fetchHandler(app, new FetchUpgrades()) as FetchHandler;
}

/**
 * `toFetchHandler`'s handler, upgrading through `upgrades` (`toBunServe` passes one whose Bun
 * handlers it gives `Bun.serve`): it resolves to `undefined` once Bun upgraded the request.
 * The application's lifespans start on the first request (see the module comment).
 */
export function fetchHandler(
  app: Application,
  upgrades: FetchUpgrades,
): (request: Request, ...runtime: unknown[]) => Promise<Response | undefined> {
  const served = lazyLifespans(app);
  return async (request, ...runtime) => {
    const url = request.url;
    const pathInfo = requestTargetPath(url.slice(originOf(url).length) || '/');
    if (typeof pathInfo !== 'string') return errorResponse(400, request, pathInfo.error);
    let environ: Environ = withRuntime(runtime, {
      scriptName: '',
      pathInfo,
      remoteAddress: remoteAddressOf(request, runtime[0]),
      unixSocket: onUnixSocket(runtime[0]),
      gateway: 'fetch',
    });
    const caller = fetchRuntime(environ);
    const slot = upgrades.slotFor(request, caller);
    if (slot !== undefined) environ = { ...environ, websocket: slot };
    const response = await runApplication(served, request, environ, log);
    const upgrade = slot?.take(response);
    if (caller === undefined || upgrade === undefined) return response;
    try {
      return await upgrades.upgrade(request, caller, upgrade);
    } catch (error) {
      log(`mortar: WebSocket upgrade of ${request.url} failed: ${describeError(error)}`);
      return errorResponse(500, request);
    }
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
