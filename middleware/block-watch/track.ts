/**
 * Which request the code running at a block belongs to, found while the main thread is paused,
 * two ways:
 *
 * - By default, on the blocked code's async stack, which V8 builds for free from the promise
 *   the running continuation settles (the `at async fn` frames of an error): each request runs
 *   under functions named `blockWatch#<slot>`, and the block's stack, captured in the pause, is
 *   searched for the innermost such name. It follows the awaits and promise chains that lead
 *   back to blockWatch(), not code a request left running on its own (a timer, an event
 *   handler, a promise no one awaits): that code's block names no request. Nothing to pay until
 *   a block.
 * - With `storage: true`, AsyncLocalStorage, which follows everything a request started,
 *   timers and event handlers too, at a price every request pays: on async context frames
 *   (Node 24 and later; 22 with `--experimental-async-context-frame`) a frame made per request,
 *   2 % of hello's CPU on Node 24; on promise hooks (Node 20, 22) a call before and after every
 *   promise reaction of the process, 10–30 % of hello's req/s.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Application, Environ } from '../../src/types.js';

/** The request a piece of code runs for, as blockWatch() placed it. */
export interface Running {
  request: Request;
  environ: Environ;
}

/** How the running request is found (the watchdog's first line says which). */
export interface Tracker {
  /** How, for the watchdog's first line. */
  readonly how: string;
  /** What a block's line says when no request is found. */
  readonly none: string;
  /** Runs `app` for the request, so that {@link current} finds it. */
  run(app: Application, request: Request, environ: Environ): ReturnType<Application>;
  /** The request whose code runs now (called in the pause), `undefined` when none is found. */
  current(): Running | undefined;
}

/**
 * Whether AsyncLocalStorage runs on async context frames: the async-hooks implementation (the
 * only other one, Node 20 and 22 by default) carries `_propagate`, the hook that copies the
 * store onto each new async resource.
 */
export const asyncContextFrame = !('_propagate' in AsyncLocalStorage.prototype);

/** The AsyncLocalStorage tracker. */
function storageTracker(): Tracker {
  const storage = new AsyncLocalStorage<Running>();
  return {
    how: `requests followed by AsyncLocalStorage (${asyncContextFrame ? 'on async context frames' : 'on promise hooks: every promise pays'})`,
    none: 'no request (code outside any request)',
    run: (app, request, environ) => storage.run({ request, environ }, app, request, environ),
    current: () => storage.getStore(),
  };
}

const PREFIX = 'blockWatch#';
const named = <F extends (...args: never[]) => unknown>(fn: F, name: string): F =>
  Object.defineProperty(fn, 'name', { value: name });

type Enter = (app: Application, request: Request, environ: Environ) => ReturnType<Application>;
type Settle = (result: Promise<Response>, slot: number) => Promise<Response>;

/**
 * The async-stack tracker: a request runs in a slot, under that slot's functions, named
 * `blockWatch#<slot>`; the name on the blocked stack gives the slot, the slot its request. A
 * function per slot, made once and reused by the slot's next request, not per request: naming
 * a function costs a microsecond, as much as the rest of hello's work in this middleware ten
 * times over. A slot is free again when its request's response (or error) is in.
 */
function stackTracker(): Tracker {
  const requests: (Request | undefined)[] = [];
  const environs: (Environ | undefined)[] = [];
  const enters: Enter[] = [];
  const settles: Settle[] = [];
  const free: number[] = [];
  const release = (slot: number) => {
    requests[slot] = environs[slot] = undefined;
    free.push(slot);
  };
  const take = (): number => {
    const slot = free.pop();
    if (slot !== undefined) return slot;
    const name = PREFIX + enters.length;
    // The synchronous part of a request runs under this frame…
    enters.push(named((app, request, environ) => app(request, environ), name));
    // …and every continuation of it that settles its result shows this one on its async stack.
    settles.push(
      named(async (result, taken) => {
        try {
          return await result;
        } finally {
          release(taken);
        }
      }, name),
    );
    return enters.length - 1;
  };
  return {
    how: 'requests found on the async stack of the code that blocks',
    none: 'no request on its async stack (code outside a request, or left running by one)',
    run(app, request, environ) {
      const slot = take();
      requests[slot] = request;
      environs[slot] = environ;
      let result: ReturnType<Application>;
      try {
        result = enters[slot]!(app, request, environ);
      } catch (error) {
        release(slot);
        throw error;
      }
      if (result instanceof Promise) return settles[slot]!(result, slot);
      release(slot);
      return result;
    },
    current() {
      for (const name of stackNames()) {
        if (!name?.startsWith(PREFIX)) continue;
        const slot = Number(name.slice(PREFIX.length));
        const request = requests[slot];
        const environ = environs[slot];
        return request && environ ? { request, environ } : undefined;
      }
      return undefined;
    },
  };
}

/** The function names of the whole stack, innermost first, its async part included. */
function stackNames(): (string | null)[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  try {
    Error.stackTraceLimit = Number.POSITIVE_INFINITY;
    Error.prepareStackTrace = (_, sites) => sites.map((site) => site.getFunctionName());
    const holder: { stack?: (string | null)[] } = {};
    Error.captureStackTrace(holder);
    return holder.stack ?? []; // read here: V8 prepares the stack when it is first read
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** A tracker: AsyncLocalStorage with `storage`, else the async stack. */
export const newTracker = (storage: boolean): Tracker =>
  storage ? storageTracker() : stackTracker();
