/**
 * `toBunServe(app)`: what `Bun.serve` takes, built from a mortar Application — the fetch
 * handler (`toFetchHandler(app)`'s, so `getBunServer(environ)` and `waitUntil` work), the
 * `websocket` handlers that let a handshake accepted by the chain (`webSocket()` from
 * `mortar/websocket`, `environ.websocket.accept`) upgrade with `server.upgrade`, and Bun's own
 * settings, passed through.
 *
 * ```ts
 * import { toBunServe } from 'mortar';
 * Bun.serve(toBunServe(app, { hostname: '127.0.0.1', port: 8000 }));
 * export default toBunServe(app, { port: 8000 });   // bun run app.ts
 * ```
 *
 * The `websocket` handlers pass Bun's socket events to crossws's Bun adapter
 * (`crossws/adapters/bun`), loaded by a dynamic `import()` at the first accepted handshake.
 */
import { fetchHandler } from './fetch-handler.js';
import { type BunWebSocketSettings, FetchUpgrades } from './fetch-websocket.js';
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
  /**
   * Bun's WebSocket settings (`maxPayloadLength` in bytes, `idleTimeout` in seconds — 30 unless
   * set —, `perMessageDeflate`, `backpressureLimit` …), without handlers: the hooks are those
   * the chain accepts.
   */
  websocket?: BunWebSocketSettings;
  /** Other Bun.serve settings (`tls`, `development`, `reusePort` …), passed as they are. */
  [setting: string]: unknown;
}

export type { BunWebSocketSettings };

/** What {@link toBunServe} returns: Bun.serve's options object. */
export type BunServeOptions<S extends BunServeSettings = BunServeSettings> = Omit<
  S,
  'websocket'
> & {
  /**
   * The application, as Bun calls it: `fetch(request, server)`. It resolves to `undefined`
   * when it upgraded the request to a WebSocket (as Bun asks after `server.upgrade`).
   */
  fetch(request: Request, server: BunServer): Promise<Response | undefined>;
  /** Bun's WebSocket handlers (running the accepted hooks) and the settings given. */
  websocket: Record<string, unknown>;
};

/**
 * Bun.serve's options for `app`: `settings` and a `fetch` that builds the environ.
 *
 * @param settings - Bun.serve's own settings (see {@link BunServeSettings}), copied.
 * @throws TypeError when `app` is not a function, or `settings` is not an object, has a
 *   `fetch` (the application is the fetch handler), or a `websocket` that is not an object or
 *   has handlers (`open`, `message` …: the hooks are the chain's).
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
  if (settings && 'fetch' in settings) {
    throw new TypeError(
      'toBunServe(): settings.fetch is not taken — the application is the fetch handler',
    );
  }
  const upgrades = new FetchUpgrades(true);
  const fetch = fetchHandler(app, upgrades);
  return {
    ...(settings as S),
    fetch: (request: Request, server: BunServer) => fetch(request, server),
    websocket: upgrades.bunWebSocket(webSocketSettings(settings?.websocket)),
  };
}

const HANDLERS = ['open', 'message', 'close', 'drain', 'ping', 'pong', 'error'];

/** `settings.websocket`, checked: an object of settings, with no handler. */
function webSocketSettings(settings: unknown): BunWebSocketSettings | undefined {
  if (settings === undefined) return undefined;
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError(
      `toBunServe(): settings.websocket must be an object of Bun's WebSocket settings, got ${String(settings)}`,
    );
  }
  const handler = HANDLERS.find((name) => name in settings);
  if (handler !== undefined) {
    throw new TypeError(
      `toBunServe(): settings.websocket.${handler} is not taken — the WebSocket hooks are those the application accepts (webSocket() from 'mortar/websocket')`,
    );
  }
  return settings as BunWebSocketSettings;
}
