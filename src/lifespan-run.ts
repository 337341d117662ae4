/**
 * Running the lifespans an application carries (see `lifespan.ts`): what every gateway,
 * `toFetchHandler` and `TestClient` call, so that the rule lives in one place — in the order
 * the application carries them at startup, each within the startup timeout; a failure stops
 * the ones already started, in reverse, and names the lifespan; shutdown in reverse.
 */
import {
  type LifespanEntry,
  type LifespanState,
  lifespansOf,
  type RunningState,
  stateKey,
} from './lifespan.js';
import type { Application } from './types.js';

/** {@link StartLifespansOptions.startupTimeout}'s default, in milliseconds. */
export const DEFAULT_STARTUP_TIMEOUT = 30_000;
/** {@link StartLifespansOptions.shutdownTimeout}'s default, in milliseconds. */
export const DEFAULT_LIFESPAN_SHUTDOWN_TIMEOUT = 10_000;

/** Options of {@link startLifespans}. */
export interface StartLifespansOptions {
  /**
   * Milliseconds each lifespan's startup may take; past it the startup fails (a
   * {@link LifespanError}). A startup that finishes later is shut down at once.
   * @default 30_000
   */
  startupTimeout?: number;
  /**
   * Milliseconds each lifespan's shutdown may take before `stop()` reports it and goes on
   * to the next.
   * @default 10_000
   */
  shutdownTimeout?: number;
}

/** The lifespans of an application, started. */
export interface RunningLifespans {
  /** The merged state (frozen, shallow), as `getState(environ)` returns it. */
  readonly state: Readonly<LifespanState>;
  /** The application with the state in every request's environ: serve this one. */
  readonly app: Application;
  /** The names of the lifespans started, in start order. */
  readonly names: readonly string[];
  /**
   * Runs every shutdown, in reverse start order, each within the shutdown timeout, once
   * (later calls return the same promise).
   * @throws LifespanError (a rejection), after all have run, naming each one that failed.
   */
  stop(): Promise<void>;
}

/**
 * A lifespan that failed at startup (it threw, or exceeded the startup timeout) or shutdown.
 * `code` is `'ERR_MORTAR_LIFESPAN'` (recognise it by the code: a bundle can hold two copies
 * of this class); `mortar serve` exits with status 3 on one at startup.
 */
export class LifespanError extends Error {
  readonly code = 'ERR_MORTAR_LIFESPAN';
  /** The name of the lifespan that failed. */
  readonly lifespan: string;
  constructor(lifespan: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.lifespan = lifespan;
  }
  override get name(): string {
    return 'LifespanError';
  }
}

interface Started {
  state: LifespanState;
  stop(): Promise<void>;
}

/**
 * Starts the lifespans `app` carries (`lifespansOf(app)`), one after the other.
 *
 * @returns The running lifespans; with none, `state` is empty and `app` is `app` itself.
 * @throws LifespanError (a rejection) naming the lifespan that failed and why — it threw, it
 *   took longer than `startupTimeout`, it yielded no object, it yielded a state key an
 *   earlier lifespan yielded — after the ones started before it were stopped in reverse
 *   (the next ones are never started).
 */
export async function startLifespans(
  app: Application,
  options: StartLifespansOptions = {},
): Promise<RunningLifespans> {
  const startupTimeout = options.startupTimeout ?? DEFAULT_STARTUP_TIMEOUT;
  const shutdownTimeout = options.shutdownTimeout ?? DEFAULT_LIFESPAN_SHUTDOWN_TIMEOUT;
  const entries = lifespansOf(app);
  const started: { entry: LifespanEntry; run: Started }[] = [];
  const owners = new Map<string, string>();
  const merged: LifespanState = {};
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopAll(started.slice().reverse(), shutdownTimeout);
    return stopping;
  };
  for (const entry of entries) {
    try {
      const run = await startOne(entry, startupTimeout);
      started.push({ entry, run });
      for (const key of Object.keys(run.state)) {
        const owner = owners.get(key);
        if (owner !== undefined) {
          throw new LifespanError(
            entry.name,
            `lifespan "${entry.name}" yields the state key "${key}", which lifespan "${owner}" yields too: give one of them another name`,
          );
        }
        owners.set(key, entry.name);
      }
      Object.assign(merged, run.state);
    } catch (error) {
      await stop().catch(() => {}); // each failure is in the error stop() rejects with
      throw error;
    }
  }
  const state = Object.freeze(merged);
  const record: RunningState = { state, started: new Set(entries) };
  return {
    state,
    app: entries.length ? (request, environ) => app(request, stateKey.with(environ, record)) : app,
    names: entries.map((entry) => entry.name),
    stop,
  };
}

/** Starts one lifespan within `timeout` ms; a startup finishing later is stopped at once. */
async function startOne(entry: LifespanEntry, timeout: number): Promise<Started> {
  const name = entry.name;
  const startup = begin(entry).catch((error: unknown) => {
    throw new LifespanError(name, `lifespan "${name}" failed at startup: ${messageOf(error)}`, {
      cause: error,
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      startup.then((run) => run.stop()).catch(() => {});
      reject(
        new LifespanError(
          name,
          `lifespan "${name}" did not finish its startup within ${timeout} ms`,
        ),
      );
    }, timeout);
  });
  try {
    return await Promise.race([startup, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a lifespan's startup: an async generator up to its first yield, or `startup()`. */
async function begin(entry: LifespanEntry): Promise<Started> {
  const lifespan = entry.lifespan;
  if (typeof lifespan !== 'function') {
    const state = checkState(await lifespan.startup());
    return { state, stop: async () => void (await lifespan.shutdown?.(state)) };
  }
  const generator = lifespan() as unknown;
  if (typeof (generator as AsyncGenerator | null)?.next !== 'function') {
    throw new TypeError(
      `it returned ${generator instanceof Promise ? 'a promise' : typeof generator}, not an async generator: write async function* () { …; yield state; … }`,
    );
  }
  const steps = generator as AsyncGenerator<LifespanState, void, void>;
  const first = await steps.next();
  if (first.done) {
    throw new Error('it ended without yielding its state (yield once, inside try/finally)');
  }
  return {
    state: checkState(first.value),
    stop: async () => {
      const after = await steps.next();
      if (!after.done) {
        await steps.return();
        throw new Error('it yielded more than once (a lifespan yields its state once)');
      }
    },
  };
}

function checkState(value: unknown): LifespanState {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `it yielded ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an object of state ({ db })`,
    );
  }
  return value as LifespanState;
}

/** Stops each (already reversed), each within `timeout` ms; rejects after all, naming failures. */
async function stopAll(
  started: readonly { entry: LifespanEntry; run: Started }[],
  timeout: number,
): Promise<void> {
  const failures: LifespanError[] = [];
  for (const { entry, run } of started) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`it did not finish its shutdown within ${timeout} ms`)),
        timeout,
      );
    });
    try {
      await Promise.race([run.stop(), late]);
    } catch (error) {
      failures.push(
        new LifespanError(
          entry.name,
          `lifespan "${entry.name}" failed at shutdown: ${messageOf(error)}`,
          { cause: error },
        ),
      );
    } finally {
      clearTimeout(timer);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new LifespanError(
      failures[0]!.lifespan,
      failures.map((failure) => failure.message).join('; '),
      { cause: new AggregateError(failures) },
    );
  }
}

/**
 * `app` starting its lifespans on its first request (what `toFetchHandler` serves: Workers
 * and the fetch runtimes give no start event): concurrent first requests wait for the one
 * startup; a startup that fails rejects the requests waiting for it (each a 500 at the
 * gateway, the reason logged) and the next request tries again. Nothing stops them: a
 * runtime that ends the process ends them. `app` itself when it carries none.
 */
export function lazyLifespans(app: Application): Application {
  if (lifespansOf(app).length === 0) return app;
  let served: Application | undefined;
  let starting: Promise<Application> | undefined;
  return (request, environ) => {
    if (served) return served(request, environ);
    starting ??= startLifespans(app).then(
      (running) => {
        served = running.app;
        return served;
      },
      (error: unknown) => {
        starting = undefined;
        throw error;
      },
    );
    return starting.then((ready) => ready(request, environ));
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
