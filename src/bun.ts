/**
 * `toBunServe(app)`: what `Bun.serve` takes, built from a mortar Application — the fetch
 * handler (`toFetchHandler(app)`, so `getBunServer(environ)` and `waitUntil` work) and Bun's
 * own settings, passed through. WebSockets will add a `websocket` member here.
 *
 * ```ts
 * import { toBunServe } from 'mortar';
 * Bun.serve(toBunServe(app, { hostname: '127.0.0.1', port: 8000 }));
 * export default toBunServe(app, { port: 8000 });   // bun run app.ts
 * ```
 */
import { toFetchHandler } from './fetch-handler.js';
import type { BunServer } from './runtime.js';
import type { Application } from './types.js';

/** Bun.serve's settings mortar passes through (Bun's docs have the rest; they pass too). */
export interface BunServeSettings {
  /** Interface to bind. Bun's default is `'0.0.0.0'`: say `'127.0.0.1'` for loopback only. */
  hostname?: string;
  /** TCP port; `0` picks a free one. Bun's default: `$PORT`, else 3000. */
  port?: number | string;
  /** A Unix socket path, instead of hostname and port. */
  unix?: string;
  /** Seconds a connection may stay idle (Bun's default 10). */
  idleTimeout?: number;
  /** The largest request body Bun accepts, in bytes (Bun's default 128 MiB). */
  maxRequestBodySize?: number;
  /** Other Bun.serve settings (`tls`, `development`, `reusePort` …), passed as they are. */
  [setting: string]: unknown;
}

/** What {@link toBunServe} returns: Bun.serve's options object. */
export type BunServeOptions<S extends BunServeSettings = BunServeSettings> = S & {
  /** The application, as Bun calls it: `fetch(request, server)`. */
  fetch(request: Request, server: BunServer): Promise<Response>;
};

/**
 * Bun.serve's options for `app`: `settings` and a `fetch` that builds the environ.
 *
 * @param settings - Bun.serve's own settings (see {@link BunServeSettings}), copied.
 * @throws TypeError when `app` is not a function, or `settings` is not an object or has a
 *   member mortar makes itself (`fetch`, `websocket`).
 */
export function toBunServe<S extends BunServeSettings = Record<never, never>>(
  app: Application,
  settings?: S,
): BunServeOptions<S> {
  if (typeof app !== 'function') {
    throw new TypeError(`toBunServe(): the application must be a function, got ${typeof app}`);
  }
  if (settings !== undefined && (typeof settings !== 'object' || settings === null)) {
    throw new TypeError(`toBunServe(): settings must be an object, got ${String(settings)}`);
  }
  for (const own of ['fetch', 'websocket']) {
    if (settings && own in settings) {
      throw new TypeError(
        `toBunServe(): settings.${own} is not taken — the application is the fetch handler${own === 'websocket' ? ' (WebSockets are not supported yet)' : ''}`,
      );
    }
  }
  const fetch = toFetchHandler(app);
  return {
    ...(settings as S),
    fetch: (request: Request, server: BunServer) => fetch(request, server),
  };
}
