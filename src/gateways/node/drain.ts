/**
 * The HTTP gateway's graceful close: one mechanism for every way a server stops — SIGINT or
 * SIGTERM, `server.close()`, `--reload` (its child gets SIGTERM) and a cluster primary taking
 * a worker out (`worker.disconnect()` makes the worker call its servers' `close()`).
 *
 * Closing a keep-alive connection with no request on it races the client's next request (the
 * request and the close cross on the wire, and the client sees ECONNRESET), and Node's own
 * `close()` does just that: it closes every idle connection at once. A draining server
 * instead lets each connection end where no request can be lost:
 *
 * - a response not yet started (in flight, or arriving on an idle keep-alive connection) is
 *   sent with `Connection: close` and the connection closes after it — the request listener
 *   reads {@link DrainingServer.draining} as it starts each response (no per-request
 *   bookkeeping here: a listener and a set entry per request cost the hot path ~3 %);
 * - a connection with no request closes after the keep-alive timeout the client was told
 *   (`Keep-Alive: timeout=N`, which Node sends with every keep-alive response): the client
 *   stops reusing an idle connection before that (undici: the hint less a second), so by
 *   then no request is on its way;
 * - whatever is still open `shutdownTimeout` milliseconds after the drain began is closed
 *   (the drain must end: a process manager's kill comes anyway). A `keepAliveTimeout` longer
 *   than `shutdownTimeout` can therefore cut idle connections short: keep it below (Node's
 *   default, 5 s, is below the default 10 s).
 */
import http from 'node:http';
import { isWebSocketHandshake } from './upgrade.js';

/**
 * A `node:http` server whose `close()` drains without dropping a request. See the module.
 * It emits `'draining'` once, when the first `close()` begins — whoever calls it: `serve`'s
 * shutdown, or node:cluster closing a worker's servers on `worker.disconnect()`.
 */
export class DrainingServer extends http.Server {
  /** True once `close()` was called: every response from then on closes its connection. */
  draining = false;
  readonly #shutdownTimeout: number;
  readonly #log: (line: string) => void;
  #inClose = false;

  /**
   * @param shutdownTimeout - Milliseconds from `close()` until the connections still open are
   *   closed.
   * @param log - Where the line saying so goes.
   */
  constructor(shutdownTimeout: number, log: (line: string) => void) {
    // Only a WebSocket handshake goes to the `upgrade` listener; any other Upgrade (h2c …) is
    // an ordinary request (Node ≥ 22.21; older Nodes send every Upgrade there: upgrade.ts).
    super({ shouldUpgradeCallback: isWebSocketHandshake } as http.ServerOptions);
    this.#shutdownTimeout = shutdownTimeout;
    this.#log = log;
  }

  /**
   * Stops accepting and drains (see the module); `callback` runs once every connection is
   * closed. Calling it again only adds the callback.
   */
  override close(callback?: (error?: Error) => void): this {
    if (!this.draining) this.#startDraining();
    this.#inClose = true;
    try {
      return super.close(callback);
    } finally {
      this.#inClose = false;
    }
  }

  /** Node's `close()` calls it to drop idle connections at once: not while draining. */
  override closeIdleConnections(): void {
    if (!this.#inClose) super.closeIdleConnections();
  }

  #startDraining(): void {
    this.draining = true;
    this.emit('draining');
    const force = setTimeout(() => {
      this.#log(
        `mortar: connections still open ${this.#shutdownTimeout} ms after the shutdown began; closing them`,
      );
      this.closeAllConnections();
    }, this.#shutdownTimeout);
    this.once('close', () => clearTimeout(force));
  }
}
