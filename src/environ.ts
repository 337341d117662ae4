import type { Environ } from './types.js';

/**
 * A typed slot in the environ, defined once by the middleware that fills it.
 *
 * ```ts
 * import { defineEnvironKey, type Environ, type Middleware } from 'mortar';
 *
 * interface Visit { at: number }
 * const visitKey = defineEnvironKey<Visit>('visit', "visit() from 'my-visit'");
 * export const getVisit = (environ: Environ): Visit => visitKey.get(environ); // throws without visit()
 * export const visit = (): Middleware => (app) => (request, environ) =>
 *   app(request, visitKey.with(environ, { at: Date.now() }));
 * ```
 */
export interface EnvironKey<T> {
  /** Short name, used in error messages and as the symbol's description. */
  readonly name: string;
  /**
   * The value the middleware placed.
   * @throws Error naming the missing middleware when no value was placed.
   */
  get(environ: Environ): T;
  /** The value, or `undefined` when the middleware is not installed. */
  find(environ: Environ): T | undefined;
  /** A new environ carrying `value`; the given environ is not changed. */
  with(environ: Environ, value: T): Environ;
}

/**
 * Defines a typed environ slot backed by a private symbol.
 *
 * @param name - What the value is (`'session'`); used in messages.
 * @param provider - How a user installs the middleware that fills it
 *   (`"session() from 'mortar/session'"`); the error of `get` names it.
 */
export function defineEnvironKey<T>(name: string, provider: string): EnvironKey<T> {
  const symbol = Symbol(`mortar.${name}`);
  const key: EnvironKey<T> = {
    name,
    get(environ) {
      if (!(symbol in environ)) {
        throw new Error(
          `no ${name} in this environ: wrap the application with ${provider} (it must be outside the code that reads it)`,
        );
      }
      return environ[symbol] as T;
    },
    find: (environ) => environ[symbol] as T | undefined,
    with: (environ, value) => {
      // Object.assign then a set: ~60 ns. `{ ...environ, [symbol]: value }` costs ~500 ns in
      // V8 (a symbol added to a spread-made object leaves the fast path).
      const next = Object.assign({}, environ) as unknown as Record<PropertyKey, unknown>;
      next[symbol] = value;
      return next as unknown as Environ;
    },
  };
  slotSymbols.set(key, symbol);
  return key;
}

/** Each slot's symbol, for {@link inPlace}. */
const slotSymbols = new WeakMap<object, symbol>();

/**
 * A function placing a value in `key`'s slot of an environ, on that environ itself when the
 * slot is empty — no copy of the environ a request — else (a middleware outside set it already,
 * or the environ is frozen) on a copy, as {@link EnvironKey.with} makes. For a middleware that
 * places a value on every request on the environ a gateway made for that request (cache()'s
 * purger): the environ its caller passed may afterwards carry the slot, so its only readers
 * must be the application inside. The slot is looked up once, here, not per request.
 */
export function inPlace<T>(key: EnvironKey<T>): (environ: Environ, value: T) => Environ {
  const symbol = slotSymbols.get(key);
  if (symbol === undefined) return (environ, value) => key.with(environ, value);
  return (environ, value) => {
    const slots = environ as unknown as Record<symbol, unknown>;
    if (slots[symbol] === undefined) {
      try {
        slots[symbol] = value;
        return environ;
      } catch {
        // A frozen environ: copied below.
      }
    }
    return key.with(environ, value);
  };
}

/**
 * Moves `prefix` from the front of `environ.pathInfo` to the end of `environ.scriptName`
 * (paste's `shift_path_info`), returning a new environ.
 *
 * @param prefix - Percent-encoded, starting with `/`, not ending with `/`: the first
 *   `prefix.length` characters of `pathInfo`, ending on a segment boundary (the caller has
 *   checked; `urlmap` matches `/caf%c3%a9` to a `/café` key, so compare by what the prefix
 *   covers, not by its spelling).
 */
export function shiftEnviron(environ: Environ, prefix: string): Environ {
  return {
    ...environ,
    scriptName: environ.scriptName + prefix,
    pathInfo: environ.pathInfo.slice(prefix.length),
  };
}

/**
 * Marks a light request that wraps another and keeps its headers and the query of its URL
 * (a mount's rebased request, a counted body): the value is the wrapped request.
 * {@link originalRequest} follows it down to the gateway's own request.
 */
export const kWrappedRequest: unique symbol = Symbol('mortar.wrappedRequest');
const kOrigin = Symbol('mortar.origin');

/**
 * A `Request` whose URL path (and, behind a proxy, origin) differs from the one it wraps;
 * everything else (method, headers, body, signal, the query of the URL) is the wrapped
 * request's own, read through. Making one costs an object, not a native `Request` with copied
 * headers, and its `url` is only built when read — an application that never reads it never
 * pays for it.
 */
class RebasedRequest {
  readonly [kWrappedRequest]: Request;
  readonly #path: string;
  /** `scheme://authority` replacing the wrapped request's (proxyFix), or undefined. */
  readonly [kOrigin]: string | undefined;
  #url: string | undefined;
  constructor(inner: Request, path: string, origin: string | undefined) {
    this[kWrappedRequest] = inner;
    this.#path = path;
    this[kOrigin] = origin;
  }
  get url(): string {
    if (this.#url === undefined) {
      const url = this[kWrappedRequest].url;
      this.#url = (this[kOrigin] ?? originOf(url)) + this.#path + searchOf(url);
    }
    return this.#url;
  }
  clone(): Request {
    return rebaseRequest(this[kWrappedRequest].clone(), this.#path, this[kOrigin]);
  }
  // The members a handler reads on nearly every request, written out: the generic forwarders
  // below share one property-load site among all their keys, which V8 leaves megamorphic.
  get method(): string {
    return this[kWrappedRequest].method;
  }
  get headers(): Headers {
    return this[kWrappedRequest].headers;
  }
  get signal(): AbortSignal {
    return this[kWrappedRequest].signal;
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this[kWrappedRequest].body;
  }
  /**
   * srvx's `ip` and `waitUntil`, read through for handlers that use them. Its `runtime` (the
   * gateway's Node `req`/`res`) is not: a mounted handler that wrote to them (srvx's
   * `toFetchHandler(expressApp)`) would answer behind the gateway's back.
   */
  get ip(): unknown {
    return (this[kWrappedRequest] as { ip?: unknown }).ip;
  }
  get runtime(): undefined {
    return undefined;
  }
  get waitUntil(): unknown {
    return (this[kWrappedRequest] as { waitUntil?: unknown }).waitUntil;
  }
}

/**
 * The gateway's own request under the light requests that wrap it (a rebase, a counted body:
 * their headers and query are its own), or `request` itself.
 */
export function originalRequest(request: Request): Request {
  let inner = (request as { [kWrappedRequest]?: Request })[kWrappedRequest];
  while (inner !== undefined) {
    request = inner;
    inner = (request as { [kWrappedRequest]?: Request })[kWrappedRequest];
  }
  return request;
}

forwardRequestMembers(
  RebasedRequest.prototype,
  (self) => (self as RebasedRequest)[kWrappedRequest],
  ['url', 'clone'],
);
Object.setPrototypeOf(RebasedRequest.prototype, Request.prototype);

/**
 * Makes `prototype` a stand-in for `Request.prototype`: every getter and method of the native
 * class, inherited ones included, that `prototype` does not define itself (and that is not in
 * `except`) reads through to the request `inner(this)` returns. Used by the light requests
 * mortar hands to applications.
 */
export function forwardRequestMembers(
  prototype: object,
  inner: (self: object) => Request,
  except: readonly string[],
): void {
  for (const [key, descriptor] of requestMembers()) {
    if (key === 'constructor' || except.includes(key as string) || Object.hasOwn(prototype, key))
      continue;
    if (descriptor.get) {
      descriptor.get = function (this: object) {
        return Reflect.get(inner(this), key);
      };
      descriptor.set = undefined;
    } else if (typeof descriptor.value === 'function') {
      const name = key;
      descriptor.value = function (this: object, ...args: unknown[]) {
        const target = inner(this) as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
        return target[name]!(...args);
      };
    } else continue;
    Object.defineProperty(prototype, key, descriptor);
  }
}

/**
 * Every member of `Request.prototype` and of the prototypes it inherits from, below
 * `Object.prototype`, the nearest first: workerd keeps the body's members (`text()`,
 * `formData()`, `body` …) on a `Body` prototype under Request's.
 */
function requestMembers(): [PropertyKey, PropertyDescriptor][] {
  const members: [PropertyKey, PropertyDescriptor][] = [];
  const seen = new Set<PropertyKey>();
  for (
    let proto: object | null = Request.prototype;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Reflect.ownKeys(proto)) {
      if (seen.has(key)) continue;
      seen.add(key);
      members.push([key, Object.getOwnPropertyDescriptor(proto, key)!]);
    }
  }
  return members;
}

/**
 * Returns a request identical to `request` but for the path of its URL (origin and query
 * kept) — what a mount hands to the application below it (DESIGN.md §1, the mount
 * invariant). `instanceof Request` holds.
 *
 * Like srvx's own request, the result cannot be passed to `new Request(it)` on Node 20's
 * undici; `new Request(it.url, it)` works.
 *
 * @param path - The new path, percent-encoded, starting with `/`.
 * @param origin - A new `scheme://authority` for the URL (what proxyFix sets from the
 *   proxy's headers); default the one `request` has, a replaced one included.
 */
export function rebaseRequest(request: Request, path: string, origin?: string): Request {
  if (request instanceof RebasedRequest) {
    return new RebasedRequest(
      request[kWrappedRequest],
      path,
      origin ?? request[kOrigin],
    ) as unknown as Request;
  }
  return new RebasedRequest(request, path, origin) as unknown as Request;
}

/**
 * The `origin` part of an absolute URL string (`scheme://authority`), without parsing it.
 */
export function originOf(url: string): string {
  const start = url.indexOf('//') + 2;
  const slash = url.indexOf('/', start);
  const query = url.indexOf('?', start);
  const end = slash === -1 ? (query === -1 ? url.length : query) : slash;
  return url.slice(0, end);
}

/** The path part of an absolute URL string (`'/'` when it has none), without parsing it. */
export function pathOf(url: string): string {
  const start = originOf(url).length;
  const query = url.indexOf('?', start);
  return url.slice(start, query === -1 ? url.length : query) || '/';
}

/** The `?query` part of a URL string, `''` when there is none (the fragment is dropped). */
export function searchOf(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return '';
  const hash = url.indexOf('#', query);
  return hash === -1 ? url.slice(query) : url.slice(query, hash);
}

/**
 * Throws a clear error when an application was called with something that is not an
 * environ — what happens when a runtime calls it directly (`Deno.serve(app)`,
 * `Bun.serve({ fetch: app })`): the runtime's own extras arrive as the second argument.
 *
 * @param who - The middleware or application that checks (`urlmap()`), for the message.
 * @throws TypeError naming `toFetchHandler`.
 */
export function assertEnviron(environ: unknown, who: string): asserts environ is Environ {
  if (typeof (environ as Partial<Environ> | null | undefined)?.pathInfo === 'string') return;
  throw new TypeError(
    `${who} was called without a mortar environ (its second argument is ${describe(environ)}): a runtime that calls fetch handlers (Deno.serve, Bun.serve, Workers) passes its own extras there — wrap the application with toFetchHandler(app) from 'mortar'`,
  );
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const keys = Object.keys(value).slice(0, 4);
  return keys.length ? `an object with ${keys.join(', ')}` : 'an empty object';
}
