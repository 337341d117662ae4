/**
 * What a runtime passes a fetch handler besides the request, kept on the environ that
 * `toFetchHandler` builds and read through typed accessors:
 *
 * | runtime | it calls | read with |
 * |---|---|---|
 * | Cloudflare Workers | `fetch(request, env, ctx)` | {@link getWorkersEnv}, {@link getWorkersContext} |
 * | Deno (`Deno.serve`, `deno serve`) | `fetch(request, info)` | {@link getDenoInfo} |
 * | Bun (`Bun.serve`) | `fetch(request, server)` | {@link getBunServer} |
 *
 * ```ts
 * interface Env { GREETING: string; SESSION_SECRET: string } // your bindings
 * const app: Application = (request, environ) =>
 *   new Response(getWorkersEnv<Env>(environ).GREETING);
 * export default { fetch: toFetchHandler(app) };
 * ```
 *
 * The types are the parts mortar uses, structurally: pass the runtime's own type
 * (`getBunServer<Bun.Server>(environ)`, `getWorkersEnv<Env>(environ)`) for the rest.
 */
import { defineEnvironKey } from './environ.js';
import type { Environ } from './types.js';

/** Workers' `ExecutionContext`, the third argument of a module worker's `fetch`. */
export interface WorkersContext {
  /** Keeps the worker running until `promise` settles, after the response is sent. */
  waitUntil(promise: Promise<unknown>): void;
  /** An exception thrown from here on falls through to the origin, as if no worker ran. */
  passThroughOnException(): void;
}

/** Deno's `Deno.ServeHandlerInfo`, the second argument of a `Deno.serve` handler. */
export interface DenoServeHandlerInfo {
  /** The peer: `{ transport: 'tcp', hostname, port }`, or `{ transport: 'unix', path }`. */
  readonly remoteAddr:
    | { readonly transport: 'tcp' | 'udp'; readonly hostname: string; readonly port: number }
    | { readonly transport: 'unix' | 'unixpacket'; readonly path: string };
  /** Resolves when the response is sent (or the client went away). */
  readonly completed: Promise<void>;
}

/** The part of Bun's `Server` (the second argument of a `Bun.serve` handler) mortar reads. */
export interface BunServer {
  /** The peer of `request`: `{ address, family, port }`, `null` on a Unix socket. */
  requestIP(request: Request): { address: string; family: string; port: number } | null;
}

/** Which runtime called the fetch handler, and what it passed. */
export type FetchRuntime =
  | { readonly name: 'workers'; readonly env: unknown; readonly ctx: WorkersContext }
  | { readonly name: 'deno'; readonly info: DenoServeHandlerInfo }
  | { readonly name: 'bun'; readonly server: BunServer }
  | { readonly name: 'other'; readonly args: readonly unknown[] };

const runtimeKey = defineEnvironKey<FetchRuntime>(
  'fetch runtime',
  "toFetchHandler(app) from 'mortar', called by the runtime",
);

/**
 * `environ` with what the runtime passed after the request (`args`), recognised by shape:
 * `(env, ctx)` with `ctx.waitUntil` is Workers, `(info)` with `info.remoteAddr` Deno,
 * `(server)` with `server.requestIP` Bun. No arguments: `environ` itself.
 */
export function withRuntime(args: readonly unknown[], environ: Environ): Environ {
  if (args.length === 0) return environ;
  return runtimeKey.with(environ, recognise(args));
}

function recognise(args: readonly unknown[]): FetchRuntime {
  try {
    const [first, second] = args as [Record<string, unknown>?, Record<string, unknown>?];
    if (typeof second?.waitUntil === 'function') {
      return { name: 'workers', env: first, ctx: second as unknown as WorkersContext };
    }
    if (typeof first?.remoteAddr === 'object' && first.remoteAddr !== null) {
      return { name: 'deno', info: first as unknown as DenoServeHandlerInfo };
    }
    if (typeof first?.requestIP === 'function') {
      return { name: 'bun', server: first as unknown as BunServer };
    }
  } catch {
    // Extras whose getters throw are not a runtime's.
  }
  return { name: 'other', args };
}

/**
 * Which runtime called `toFetchHandler`'s handler and what it passed, or `undefined` when
 * the request did not come through one (a Node gateway, the test client).
 */
export function fetchRuntime(environ: Environ): FetchRuntime | undefined {
  return runtimeKey.find(environ);
}

function runtimeOf<N extends FetchRuntime['name']>(
  environ: Environ,
  name: N,
  what: string,
): Extract<FetchRuntime, { name: N }> {
  const runtime = runtimeKey.get(environ);
  if (runtime.name !== name) {
    throw new Error(
      `${what} is only there on ${label[name]}: this request came from ${label[runtime.name]} (read fetchRuntime(environ) to tell)`,
    );
  }
  return runtime as Extract<FetchRuntime, { name: N }>;
}

const label = {
  workers: 'Cloudflare Workers',
  deno: 'Deno',
  bun: 'Bun',
  other: 'a runtime mortar does not know',
} as const;

/**
 * Workers' `env`: the worker's bindings (KV namespaces, D1, R2, service bindings, variables)
 * and secrets, as `wrangler.toml`/`workerd`'s config names them.
 *
 * @typeParam Env - Your bindings' type (what `wrangler types` writes).
 * @throws Error when the request did not come from Workers through `toFetchHandler`, naming
 *   the runtime it came from.
 */
export function getWorkersEnv<Env = Record<string, unknown>>(environ: Environ): Env {
  return runtimeOf(environ, 'workers', "Workers' env").env as Env;
}

/**
 * Workers' `ExecutionContext` (`waitUntil`, `passThroughOnException`). For work after the
 * response prefer `waitUntil(environ, promise)` from `mortar`: it runs on every runtime.
 * @throws Error when the request did not come from Workers through `toFetchHandler`.
 */
export function getWorkersContext(environ: Environ): WorkersContext {
  return runtimeOf(environ, 'workers', "Workers' ctx").ctx;
}

/**
 * Deno's `ServeHandlerInfo` (`remoteAddr`, `completed`). The peer's address is also
 * `environ.remoteAddress` on every runtime.
 * @throws Error when the request did not come from Deno through `toFetchHandler`.
 */
export function getDenoInfo(environ: Environ): DenoServeHandlerInfo {
  return runtimeOf(environ, 'deno', "Deno's ServeHandlerInfo").info;
}

/**
 * Bun's `Server` (`requestIP`, `upgrade`, `publish`, `timeout` …).
 * @typeParam S - `Bun.Server` where bun-types are installed.
 * @throws Error when the request did not come from Bun through `toFetchHandler`.
 */
export function getBunServer<S extends BunServer = BunServer>(environ: Environ): S {
  return runtimeOf(environ, 'bun', "Bun's server").server as S;
}
