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
 * and the request id when `accessLog()` is outside it), and the stack of the code that
 * blocked, mapped to TypeScript. The stack is sampled from outside the loop, while it is
 * blocked: a worker thread watches a heartbeat the main thread writes, and when a beat is late
 * connects to the main thread's inspector, pauses it, reads its call frames, and resumes it
 * (Sentry's event-loop-block integration works this way) — the blocking code's own stack, not
 * where an async resource was made. Code that blocks inside Node (`readFileSync`) is named at
 * the call that went in.
 *
 * The request is found on the async stack of the blocking code (V8's `at async` frames, built
 * from the awaits and promise chains that lead back to blockWatch()), which costs nothing until
 * a block; code a request left running on its own (a timer, an event handler, a promise nobody
 * awaits) is named as no request's. `storage: true` follows requests with AsyncLocalStorage
 * instead, timers and event handlers too, at a cost on every request: a frame per request on
 * Node 24 and later (async context frames), promise hooks on Node 20 and 22. The watchdog's
 * first line says which.
 *
 * Cost when nothing blocks (`npm run bench:block-watch`, hello, paired runs on a shared
 * machine): hello keeps 0.985 of its req/s on Node 20, 0.986 on Node 24 (README gives each
 * Node); in a CPU profile of hello under load, this middleware's code is under 1 % of it.
 * The debugger is enabled only while a block is read (an enabled one sends every promise
 * through V8's slow path, as a promise hook does).
 *
 * Development only: it pauses the main thread through a debugger session, and refuses
 * `NODE_ENV=production` unless `force`. There, use {@link loopDelay}: percentiles
 * of `perf_hooks.monitorEventLoopDelay`, on a status line.
 *
 * `debug()` shows the recent blocks on its pages beside the error. `mortar serve
 * --block-watch [MS]` turns it on without code (on by default under `--reload`).
 * @module mortar/block-watch
 */

import { ConfigError, is, optionChecker } from '../../src/_internal/options.js';
import { assertEnviron } from '../../src/environ.js';
import type { Middleware } from '../../src/types.js';
import { newTracker } from './track.js';
import { startWatch, type Watch } from './watch.js';

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
  /**
   * Follow each request with AsyncLocalStorage, through the timers and event handlers it
   * starts too, at a cost every request pays (2 % of hello's CPU on Node 24; 10–30 % of its
   * req/s on Node 20 and 22, where it runs on promise hooks). By default the request is found
   * on the async stack of the code that blocks, for nothing until a block: the awaits and
   * promise chains that lead back to blockWatch(), not code a request left running.
   * @default false
   */
  storage?: boolean;
}

const checkOptions = optionChecker<BlockWatchOptions>('blockWatch', {
  threshold: is.milliseconds(10),
  log: is.function,
  force: is.boolean,
  storage: is.boolean,
});

/** The process's watcher: one heartbeat and one worker, whatever the number of blockWatch(). */
let watch: (Watch & { storage: boolean }) | undefined;

/**
 * Runs each request where the process's watchdog, started at the first call, finds it in a
 * block (AsyncLocalStorage on async context frames, else a named frame on the async stack): a
 * line for each block of the event loop longer than `threshold` milliseconds. There is
 * one watchdog per process: a later call shares it (the first call's `log` is its log), and
 * must ask for the same threshold. The watchdog announces itself with a line once it watches
 * (its worker takes a moment to start), and how it follows requests. The cost when nothing
 * blocks: finding the request (next to nothing), and a timer every `threshold / 4` ms
 * (5–50 ms); a block costs the blocked thread a few ms more for the debugger to start.
 *
 * ```ts
 * blockWatch({
 *   threshold: 100,      // ms of blocking worth a line
 *   log: console.error,  // where the lines go
 *   force: false,        // refuse under NODE_ENV=production
 *   storage: false,      // AsyncLocalStorage: follows timers too, a cost on every request
 * })
 * ```
 *
 * @throws ConfigError, its message starting `blockWatch:`, for an unknown option (with the
 *   name it is likely a typo of), a value of the wrong kind (a threshold that is not whole
 *   milliseconds, 10 or more), or a threshold or `storage` that differs from the running
 *   watchdog's (there is one per process).
 * @throws Error under `NODE_ENV=production` without `force: true`.
 */
export function blockWatch(options: BlockWatchOptions = {}): Middleware {
  checkOptions(options);
  const threshold = options.threshold ?? 100;
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'blockWatch(): refusing to run with NODE_ENV=production — it pauses the process through the inspector at each block and logs paths of your code; use loopDelay() there (or pass force: true if you really mean it)',
    );
  }
  const storage = options.storage ?? false;
  if (watch && watch.threshold !== threshold) {
    throw new ConfigError(
      `blockWatch: option "threshold" must be the running watchdog's, ${watch.threshold} ms (one process has one), got ${threshold}`,
    );
  }
  if (watch && watch.storage !== storage) {
    throw new ConfigError(
      `blockWatch: option "storage" must be the running watchdog's, ${watch.storage} (one process has one), got ${storage}`,
    );
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  watch ??= { ...startWatch(threshold, log, newTracker(storage)), storage };
  const { running } = watch;
  return function blockWatch(app) {
    return function blockWatchApp(request, environ) {
      assertEnviron(environ, 'blockWatch()');
      return running.run(app, request, environ);
    };
  };
}

/** Stops the process's watchdog (its worker and heartbeat); a later blockWatch() starts anew. */
export async function stopBlockWatch(): Promise<void> {
  const stopping = watch;
  watch = undefined;
  await stopping?.stop();
}
