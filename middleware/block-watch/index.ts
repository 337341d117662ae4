/**
 * `mortar/block-watch` — a watchdog that names the request and the line that blocked the
 * event loop (asyncio's debug mode, `Executing <Task …> took 0.412 seconds`, for Node), and
 * event-loop delay percentiles for production.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { accessLog } from 'mortar/access-log';
 * import { blockWatch } from 'mortar/block-watch';
 * const app = compose(accessLog(), blockWatch({ threshold: 100 }))(site);
 * // mortar block-watch: blocked 412 ms by GET /report (id 9f86…-12) at renderReport (src/report.ts:42:7)
 * ```
 *
 * A `readFileSync` of a large file, a catastrophic regular expression or a `JSON.parse` of
 * 50 MB stalls every other request, silently. `blockWatch()` writes one line per block longer
 * than `threshold` milliseconds: how long, the request whose code was running (method, path,
 * and the request id when `accessLog()` is outside it; followed through `await`s with
 * AsyncLocalStorage), and the stack of the code that blocked, mapped to TypeScript. The stack
 * is sampled from outside the loop, while it is blocked: a worker thread watches a heartbeat
 * the main thread writes, and when a beat is late asks the main thread's inspector to pause,
 * reads its call frames, and resumes it (Sentry's event-loop-block integration works this
 * way) — the blocking code's own stack, not where an async resource was made. Code that
 * blocks inside Node (`readFileSync`) is named at the call that went in.
 *
 * Cost when nothing blocks (`npm run bench:block-watch`, paired runs on a loaded machine):
 * hello loses 1.7 % of its req/s on Node 24 (its server CPU a request +5 %); on Node 20 the
 * server CPU a request grows 16 %, 13 % of it the AsyncLocalStorage (async hooks there; Node
 * 24's async context frames make it cheap).
 *
 * Development only: it keeps a V8 debugger enabled (from the worker; no pause until a block)
 * and refuses `NODE_ENV=production` unless `force`. There, use {@link loopDelay}: percentiles
 * of `perf_hooks.monitorEventLoopDelay`, on a status line.
 *
 * `debug()` shows the recent blocks on its pages beside the error. `mortar serve
 * --block-watch [MS]` turns it on without code (on by default under `--reload`).
 * @module mortar/block-watch
 */

import { ConfigError, is, optionChecker } from '../../src/_internal/options.js';
import { assertEnviron } from '../../src/environ.js';
import type { Middleware } from '../../src/types.js';
import { running, startWatch, type Watch } from './watch.js';

export type { BlockFrame, BlockRecord } from '../_shared/blocks.js';
export { recentBlocks } from '../_shared/blocks.js';
export { type LoopDelayOptions, loopDelay } from './loop-delay.js';

/** Options of {@link blockWatch}. */
export interface BlockWatchOptions {
  /** Milliseconds the loop must be blocked for a line (10 or more). @default 100 */
  threshold?: number;
  /** Where each line goes. @default stderr */
  log?: (line: string) => void;
  /** Run even under `NODE_ENV=production` (construction throws otherwise). @default false */
  force?: boolean;
}

const checkOptions = optionChecker<BlockWatchOptions>('blockWatch', {
  threshold: is.milliseconds(10),
  log: is.function,
  force: is.boolean,
});

/** The process's watcher: one heartbeat and one worker, whatever the number of blockWatch(). */
let watch: Watch | undefined;

/**
 * Places the request in an AsyncLocalStorage for the process's watchdog, started at the first
 * call: a line for each block of the event loop longer than `threshold` milliseconds. There is
 * one watchdog per process: a later call shares it (the first call's `log` is its log), and
 * must ask for the same threshold. The watchdog announces itself with a line once it watches
 * (its worker takes a moment to start). The cost when nothing blocks: the AsyncLocalStorage,
 * a timer every `threshold / 4` ms (5–50 ms), and a V8 debugger enabled from the worker.
 *
 * ```ts
 * blockWatch({
 *   threshold: 100,      // ms of blocking worth a line
 *   log: console.error,  // where the lines go
 *   force: false,        // refuse under NODE_ENV=production
 * })
 * ```
 *
 * @throws ConfigError, its message starting `blockWatch:`, for an unknown option (with the
 *   name it is likely a typo of), a value of the wrong kind (a threshold that is not whole
 *   milliseconds, 10 or more), or a threshold that differs from the running watchdog's (there
 *   is one per process).
 * @throws Error under `NODE_ENV=production` without `force: true`.
 */
export function blockWatch(options: BlockWatchOptions = {}): Middleware {
  checkOptions(options);
  const threshold = options.threshold ?? 100;
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'blockWatch(): refusing to run with NODE_ENV=production — it keeps a V8 debugger enabled; use loopDelay() there (or pass force: true if you really mean it)',
    );
  }
  if (watch && watch.threshold !== threshold) {
    throw new ConfigError(
      `blockWatch: option "threshold" must be the running watchdog's, ${watch.threshold} ms (one process has one), got ${threshold}`,
    );
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  watch ??= startWatch(threshold, log);
  return function blockWatch(app) {
    return function blockWatchApp(request, environ) {
      assertEnviron(environ, 'blockWatch()');
      return running.run({ request, environ }, app, request, environ);
    };
  };
}

/** Stops the process's watchdog (its worker and heartbeat); a later blockWatch() starts anew. */
export async function stopBlockWatch(): Promise<void> {
  const stopping = watch;
  watch = undefined;
  await stopping?.stop();
}
