/**
 * `waitUntil(environ, promise)`: work that goes on after the response — a log flush, a cache
 * refresh, a session's touch — on every runtime, the way Workers' `ctx.waitUntil` does it.
 *
 * ```ts
 * import { waitUntil } from 'mortar';
 * const sendAnalytics = (request: Request) =>
 *   fetch('http://127.0.0.1:9000/hits', { method: 'POST', body: request.url });
 * const app: Application = (request, environ) => {
 *   waitUntil(environ, sendAnalytics(request)); // the response does not wait for it
 *   return new Response('ok');
 * };
 * ```
 *
 * | where the request came from | what happens to `promise` |
 * |---|---|
 * | Workers (`toFetchHandler`) | `ctx.waitUntil`: the worker runs until it settles |
 * | Node: `serve`, `serveFastCGI`, `serveSCGI` | held; a graceful shutdown (SIGTERM, `close()`) awaits it, bounded by `shutdownTimeout` (one set per process: any of them awaits every task) |
 * | `runCGI` | held; it resolves once the task settles, at most 10 s after the response |
 * | Deno, Bun, `toNodeHandler` in another server, the test client | held until it settles |
 *
 * Everywhere, a rejection is one line on the console (`mortar: a task given to waitUntil()
 * failed: …`), never an unhandled rejection.
 */
import { describeValue, settle } from './_internal/log.js';
import { trackPending, WHAT } from './_internal/pending.js';
import { isThenable } from './_internal/thenable.js';
import { assertEnviron } from './environ.js';
import { fetchRuntime } from './runtime.js';
import type { Environ } from './types.js';

const log = (line: string): void => console.error(line);

/**
 * Lets `promise` finish after the response is sent (see the module comment for what each
 * runtime does). Returns at once.
 *
 * @param environ - The environ the application was called with (any mount's).
 * @param promise - The work; its rejection is logged, not thrown.
 * @throws TypeError when `environ` is not an environ or `promise` is not a promise.
 */
export function waitUntil(environ: Environ, promise: PromiseLike<unknown>): void {
  assertEnviron(environ, 'waitUntil()');
  if (!isThenable(promise)) {
    throw new TypeError(
      `waitUntil(): the second argument must be a promise, got ${describeValue(promise)}`,
    );
  }
  const runtime = fetchRuntime(environ);
  if (runtime?.name === 'workers') {
    const held = Promise.resolve(promise);
    settle(held, log, WHAT);
    runtime.ctx.waitUntil(held.then(noop, noop));
    return;
  }
  trackPending(Promise.resolve(promise), log);
}

function noop(): void {}
