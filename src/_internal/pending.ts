/**
 * Work an application started for after its response (`waitUntil(environ, promise)` where the
 * runtime has no `waitUntil` of its own: Node's gateways, Deno, Bun): each promise is held
 * until it settles — so nothing that only it references is collected, and a rejection is one
 * log line, never an unhandled rejection — and a gateway's graceful shutdown awaits what is
 * still running, bounded by its shutdown timeout.
 *
 * One set per process: a Node process exits after its gateways shut down, so each shutdown
 * awaits every task the process still runs, whichever server's request started it.
 */
import { settle } from './log.js';

const running = new Set<Promise<unknown>>();

/** What a failed task is called in its log line. */
export const WHAT = 'a task given to waitUntil()';

/**
 * Holds `promise` until it settles; a rejection is logged as one line.
 * @param log - Where that line goes.
 */
export function trackPending(promise: Promise<unknown>, log: (line: string) => void): void {
  const held = Promise.resolve(promise);
  running.add(held);
  settle(held, log, WHAT);
  const done = (): void => void running.delete(held);
  held.then(done, done);
}

/** How many tasks are still running. */
export function pendingCount(): number {
  return running.size;
}

/**
 * Resolves once no task is running (tasks started meanwhile included), or at `deadline` (a
 * `performance.now()` time, in milliseconds), whichever is first; at the deadline, one line
 * says how many tasks are left behind. Never rejects.
 *
 * @param timeout - What the line calls the bound, in milliseconds.
 */
export async function settlePending(
  deadline: number,
  timeout: number,
  log: (line: string) => void,
): Promise<void> {
  while (running.size > 0) {
    const left = deadline - performance.now();
    if (left <= 0) {
      log(
        `mortar: ${running.size} task(s) given to waitUntil() still running ${timeout} ms after the shutdown began; exiting without them`,
      );
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      }),
    ]);
    clearTimeout(timer);
  }
}
