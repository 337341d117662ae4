/**
 * Lifespan: startup and shutdown work an application carries (ASGI's lifespan protocol,
 * Starlette's `lifespan=`) — a database pool opened once per process, closed when it ends.
 *
 * ```ts
 * import { type Application, compose, getState, withLifespan } from 'mortar';
 *
 * interface Pool { query(sql: string): Promise<number>; close(): Promise<void> }
 * declare function connect(): Promise<Pool>;
 * declare const site: Application;
 *
 * const app = withLifespan(site, async function* database() {
 *   const db = await connect();        // startup: before the server accepts a request
 *   try {
 *     yield { db };                    // the state every request sees
 *   } finally {
 *     await db.close();                // shutdown: after the last request has finished
 *   }
 * });
 * // in a handler: const { db } = getState<{ db: Pool }>(environ);
 * ```
 *
 * As in ASGI, the *server* runs the lifespans of the application it serves, once per process:
 * the gateways (`serve`, `serveFastCGI`, `serveSCGI`, `runCGI`), `toFetchHandler` (lazily, on
 * the first request) and `TestClient` (`await client.start()`) call {@link startLifespans}.
 * The function the gateway is given carries the lifespans of everything under it as a list
 * on a symbol-keyed property: {@link withLifespan} makes one, `compose(...)(app)`, `urlmap` and
 * `cascade` carry those of the applications they wrap, in mount order. A middleware written
 * as a plain function (`(app) => (request, environ) => …`) returns a function without that
 * property: build the chain with `compose`, or call {@link carryLifespans} on what it returns.
 * A lifespan lost that way is never silently skipped: its application throws on its first
 * request, naming it.
 */
import { defineEnvironKey } from './environ.js';
import type { Application, Environ } from './types.js';

/** What a lifespan yields: the state its requests read through {@link getState}. */
export type LifespanState = Record<string, unknown>;

/**
 * A lifespan: an async generator function — the code before its one `yield` is the startup,
 * the yielded object the state, the code after it (a `finally`) the shutdown — or an object
 * with `startup()` (resolving to the state) and an optional `shutdown(state)`.
 */
export type Lifespan<S extends LifespanState = LifespanState> =
  | (() => AsyncGenerator<S, void, void>)
  | {
      startup(): S | Promise<S>;
      shutdown?(state: S): void | Promise<void>;
    };

/** Options of {@link withLifespan}. */
export interface WithLifespanOptions {
  /**
   * The name errors and logs give the lifespan.
   * @default the generator function's name, else `'lifespan'`
   */
  name?: string;
}

/** One lifespan as an application carries it. Identity matters: one started once. */
export interface LifespanEntry {
  readonly name: string;
  readonly lifespan: Lifespan<LifespanState>;
}

/** What a gateway places in every request's environ while its lifespans run. */
export interface RunningState {
  /** The merged state, frozen (shallow): one object shared by every request. */
  readonly state: Readonly<LifespanState>;
  /** The lifespans started (what each withLifespan application checks it is among). */
  readonly started: ReadonlySet<LifespanEntry>;
}

const kLifespans = Symbol.for('mortar.lifespans');
export const stateKey = defineEnvironKey<RunningState>(
  'lifespan state',
  "withLifespan(app, lifespan) from 'mortar', served by a gateway that runs lifespans",
);

/**
 * `app` with a lifespan: the returned application carries `lifespan` (before the lifespans
 * `app` already carries) for the gateway to run, and answers as `app` does.
 *
 * @param lifespan - See {@link Lifespan}.
 * @returns An application that throws an Error naming the lifespan when a request reaches it
 *   while its lifespan was not started (the gateway never saw it: a plain-function middleware
 *   between dropped it, see the module comment; or a TestClient without `start()`).
 * @throws TypeError when `app` is not a function or `lifespan` neither an async generator
 *   function nor an object with a `startup` function.
 */
export function withLifespan<S extends LifespanState>(
  app: Application,
  lifespan: Lifespan<S>,
  options: WithLifespanOptions = {},
): Application {
  if (typeof app !== 'function') {
    throw new TypeError(`withLifespan(): the application must be a function, got ${typeof app}`);
  }
  const isHooks =
    typeof lifespan === 'object' &&
    lifespan !== null &&
    typeof (lifespan as { startup?: unknown }).startup === 'function';
  if (typeof lifespan !== 'function' && !isHooks) {
    throw new TypeError(
      'withLifespan(): the lifespan must be an async generator function (async function* () { …; yield state; … }) or { startup(), shutdown(state) }',
    );
  }
  const name = options.name ?? ((typeof lifespan === 'function' && lifespan.name) || 'lifespan');
  const entry: LifespanEntry = { name, lifespan: lifespan as Lifespan<LifespanState> };
  const lifespanApp: Application = (request, environ) => {
    if (stateKey.find(environ)?.started.has(entry) !== true) throw notStarted(name);
    return app(request, environ);
  };
  setLifespans(lifespanApp, [entry, ...lifespansOf(app)]);
  return lifespanApp;
}

function notStarted(name: string): Error {
  return new Error(
    `withLifespan(): the lifespan "${name}" was not started, so its state is missing: serve the application through a gateway that runs lifespans (serve, serveFastCGI, toFetchHandler, TestClient after await client.start()), and wrap it with compose(), urlmap() or cascade() — a middleware written as a plain function drops the lifespans of the application it wraps unless it returns carryLifespans(outer, app)`,
  );
}

/**
 * The state the lifespans of the served application yielded (ASGI's `scope.state`): their
 * objects merged in start order into one frozen object, the same for every request; its
 * members (a pool, a client) are the live objects.
 *
 * @typeParam S - The state's shape, as the lifespans yield it (not checked).
 * @throws Error naming withLifespan when no lifespan runs for this request.
 */
export function getState<S extends LifespanState = LifespanState>(environ: Environ): Readonly<S> {
  return stateKey.get(environ).state as Readonly<S>;
}

/**
 * The lifespans `app` carries, in the order they start (mount order; an outer lifespan
 * before the ones of the application it wraps), each once; `[]` for none.
 */
export function lifespansOf(app: Application): readonly LifespanEntry[] {
  return (app as { [kLifespans]?: readonly LifespanEntry[] })[kLifespans] ?? [];
}

/**
 * Makes `outer` carry the lifespans of the applications it wraps, after its own, each once:
 * what a middleware written as a plain function returns so that the lifespans under it
 * still run (compose, urlmap and cascade do this themselves).
 *
 * ```ts
 * import { type Middleware, carryLifespans } from 'mortar';
 * const poweredBy: Middleware = (app) =>
 *   carryLifespans(async (request, environ) => {
 *     const response = await app(request, environ);
 *     response.headers.set('x-powered-by', 'mortar');
 *     return response;
 *   }, app);
 * ```
 *
 * @returns `outer` (given the property), or — when `outer` cannot take a property (frozen) —
 *   a new application that calls it.
 */
export function carryLifespans(outer: Application, ...inner: Application[]): Application {
  const list = [...lifespansOf(outer)];
  for (const app of inner) {
    if (app === outer) continue;
    for (const entry of lifespansOf(app)) if (!list.includes(entry)) list.push(entry);
  }
  if (list.length === lifespansOf(outer).length) return outer;
  const target = Object.isExtensible(outer)
    ? outer
    : (request: Request, environ: Environ) => outer(request, environ);
  setLifespans(target, list);
  return target;
}

function setLifespans(app: Application, list: readonly LifespanEntry[]): void {
  Object.defineProperty(app, kLifespans, {
    value: Object.freeze(list),
    configurable: true,
    enumerable: false,
  });
}
