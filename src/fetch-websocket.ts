/**
 * WebSocket upgrades for `toFetchHandler` and `toBunServe`, on the runtimes whose fetch
 * handler can upgrade a request: Deno (`Deno.upgradeWebSocket`), Cloudflare Workers
 * (`WebSocketPair`) and Bun (`server.upgrade`, with the `websocket` handlers `toBunServe` gives
 * `Bun.serve`). On a handshake there the environ carries `websocket` (an `UpgradeSlot`); when the
 * chain's final response is its accept, the request goes to crossws's adapter for the runtime
 * (`crossws/adapters/deno`, `crossws/adapters/cloudflare`, `crossws/adapters/bun`), whose hooks
 * are the accepted ones and whose 101 carries the headers the chain added.
 *
 * What loads when: nothing at import. The runtime's crossws adapter is loaded by a dynamic
 * `import()` the first time a handshake is accepted on that runtime (once per handler), so Node,
 * and a runtime that never sees a handshake, never load one. A bundler still sees the three
 * `import()`s and puts the adapters in the bundle; crossws's Workers adapter only under the
 * `workerd` condition (see {@link load}), and such a bundle leaves `cloudflare:*` external, as
 * Wrangler does (the adapter imports `cloudflare:workers`).
 */
import {
  PendingUpgrades,
  type SocketMends,
  type Upgrade,
  UpgradeSlot,
} from './_internal/upgrade.js';
import type { FetchRuntime } from './runtime.js';
import { isWebSocketRequest } from './websocket.js';

/** The part of a crossws adapter mortar calls. */
interface Adapter {
  handleUpgrade(request: Request, ...runtime: unknown[]): Promise<Response | undefined>;
}

/** The part of crossws's Bun adapter mortar calls: its handlers for `Bun.serve`. */
interface BunAdapter extends Adapter {
  websocket: Record<BunEvent, (ws: unknown, ...args: unknown[]) => void>;
}

type Runtime = 'deno' | 'workers' | 'bun';
type BunEvent = 'open' | 'message' | 'close' | 'drain' | 'ping' | 'pong';

/**
 * Bun's WebSocket settings (`Bun.serve({ websocket })`), without its handlers: the hooks are
 * those the chain accepted. Bun's docs have the rest; they pass as they are.
 */
export interface BunWebSocketSettings {
  /** The largest message, in bytes; Bun closes the socket with 1009 past it. Bun's default 16 MiB. */
  maxPayloadLength?: number;
  /** Seconds without a message before Bun closes the socket. @default 30 (crossws's) */
  idleTimeout?: number;
  /** RFC 7692 permessage-deflate; off unless set, as on Node. */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /** Bytes queued for one socket before `send` reports back-pressure. Bun's default 16 MiB. */
  backpressureLimit?: number;
  /** Other settings (`closeOnBackpressureLimit`, `sendPings`, `publishToSelf` …). */
  [setting: string]: unknown;
}

const EVENTS: readonly BunEvent[] = ['open', 'message', 'close', 'drain', 'ping', 'pong'];

/** One fetch handler's WebSocket side: which handshakes it can take, and the upgrade itself. */
export class FetchUpgrades {
  /** One per runtime (a process runs one), with what that runtime's peers need mended. */
  readonly #pending = new Map<Runtime, PendingUpgrades>();
  readonly #loading = new Map<Runtime, Promise<Adapter>>();
  #bun: BunAdapter | undefined;
  /** Whether `Bun.serve` got this side's {@link bunWebSocket} handlers (only `toBunServe`'s). */
  readonly #bunHandlers: boolean;

  constructor(bunHandlers = false) {
    this.#bunHandlers = bunHandlers;
  }

  /**
   * `environ.websocket` for `request`: an `UpgradeSlot` when it is a WebSocket handshake on a
   * runtime this handler can upgrade on, else `undefined` (an endpoint then answers 426).
   */
  slotFor(request: Request, runtime: FetchRuntime | undefined): UpgradeSlot | undefined {
    if (runtime === undefined || this.#runtime(runtime) === undefined) return undefined;
    return isWebSocketRequest(request) ? new UpgradeSlot(request) : undefined;
  }

  /**
   * Hands the accepted handshake to crossws's adapter for the runtime: the 101 response to
   * return (Deno, Workers), `undefined` once Bun upgraded it (Bun asks the handler to return
   * nothing then), or the adapter's refusal (a `Response` from the hooks' own `upgrade`).
   * @throws Error when the adapter cannot be loaded, or the runtime refuses the upgrade.
   */
  async upgrade(
    request: Request,
    runtime: FetchRuntime,
    upgrade: Upgrade,
  ): Promise<Response | undefined> {
    const name = this.#runtime(runtime);
    if (name === undefined) throw new Error(`mortar: ${runtime.name} cannot upgrade here`);
    const adapter = await this.#adapter(name);
    this.#pendingFor(name).set(request, upgrade);
    if (runtime.name === 'deno') {
      const response = await adapter.handleUpgrade(request, runtime.info);
      // Deno.upgradeWebSocket takes no headers: they go on the 101 it made (its headers are
      // mutable), the chain's values in place of any the runtime set.
      if (response?.status === 101) {
        for (const name of new Set(upgrade.headers.keys())) response.headers.delete(name);
        for (const [name, value] of upgrade.headers) response.headers.append(name, value);
      }
      return response;
    }
    if (runtime.name === 'workers') return adapter.handleUpgrade(request, runtime.env, runtime.ctx);
    return adapter.handleUpgrade(request, (runtime as { server: unknown }).server);
  }

  /**
   * The `websocket` member of `Bun.serve`'s options: `settings` and handlers that pass Bun's
   * events to crossws's Bun adapter (loaded by then: a socket exists only after an upgrade).
   */
  bunWebSocket(settings: BunWebSocketSettings = {}): Record<string, unknown> {
    const handlers: Record<string, unknown> = { idleTimeout: 30, ...settings };
    for (const event of EVENTS) {
      handlers[event] = (ws: { close(code: number, reason: string): void }, ...args: unknown[]) => {
        if (this.#bun === undefined) {
          // A socket upgraded behind mortar's back (server.upgrade called by the application).
          ws.close(1011, 'not upgraded by mortar: accept the handshake with environ.websocket');
          return;
        }
        this.#bun.websocket[event](ws, ...args);
      };
    }
    return handlers;
  }

  /** The runtime `runtime` is, when this handler can upgrade there. */
  #runtime(runtime: FetchRuntime): Runtime | undefined {
    const platform = globalThis as {
      Deno?: { upgradeWebSocket?: unknown };
      WebSocketPair?: unknown;
    };
    if (runtime.name === 'deno') {
      return typeof platform.Deno?.upgradeWebSocket === 'function' ? 'deno' : undefined;
    }
    if (runtime.name === 'workers') {
      return typeof platform.WebSocketPair === 'function' ? 'workers' : undefined;
    }
    if (runtime.name === 'bun') {
      const server = runtime.server as { upgrade?: unknown };
      return this.#bunHandlers && typeof server.upgrade === 'function' ? 'bun' : undefined;
    }
    return undefined;
  }

  /** The handshakes being handed to `name`'s adapter. */
  #pendingFor(name: Runtime): PendingUpgrades {
    let pending = this.#pending.get(name);
    if (pending === undefined) {
      pending = new PendingUpgrades(
        name === 'workers' ? workersMends : name === 'deno' ? denoMends() : {},
      );
      this.#pending.set(name, pending);
    }
    return pending;
  }

  /** crossws's adapter for `name`, loaded and made once. */
  #adapter(name: Runtime): Promise<Adapter> {
    let loading = this.#loading.get(name);
    if (loading === undefined) {
      loading = load(name).then((make) => {
        // On Workers the handshake stays in this worker: no Durable Object takes it over.
        const { hooks } = this.#pendingFor(name);
        const adapter = make({ hooks, resolveDurableStub: () => undefined });
        if (typeof adapter.handleUpgrade !== 'function') {
          throw new Error(
            "this Workers bundle has no crossws Workers adapter: bundle with the 'workerd' condition (esbuild --conditions=workerd,worker,browser --external:'cloudflare:*'; Wrangler does both)",
          );
        }
        if (name === 'bun') this.#bun = adapter as BunAdapter;
        return adapter;
      });
      // A failed load is tried again at the next handshake.
      loading.catch(() => this.#loading.delete(name));
      this.#loading.set(name, loading);
    }
    return loading;
  }
}

/** The part of crossws's Workers peer (without Durable Objects) that mortar mends. */
interface WorkersPeer {
  close(code?: number, reason?: string): void;
  _internal?: { wsServer?: { binaryType?: string; close(code?: number, reason?: string): void } };
}

/**
 * Mends crossws's Workers peer before the application's hooks see it: binary messages arrive
 * as `ArrayBuffer` (workerd's default `binaryType` is now `'blob'`, which crossws's
 * `message.uint8Array()` and `text()` cannot read), and `peer.close(code, reason)` closes the
 * worker's end of the pair (crossws closes the end it handed to the client, which does nothing).
 */
const workersMends: SocketMends = {
  beforeOpen(peer) {
    const server = (peer as unknown as WorkersPeer)._internal?.wsServer;
    if (server === undefined) return;
    server.binaryType = 'arraybuffer';
    (peer as unknown as WorkersPeer).close = (code, reason) => server.close(code, reason);
  },
};

/** The part of crossws's Deno peer that mortar reads: the runtime's WebSocket. */
interface DenoPeer {
  _internal?: { ws?: EventTarget };
}

/**
 * Gives the `close` hook the code and reason the socket closed with: crossws's Deno adapter
 * calls it with `{}` (so every close read as 1005). `beforeOpen` listens for the socket's
 * `close` event too; crossws's listener runs first, so the hook waits a microtask, by which
 * time the same event has reached this one.
 */
function denoMends(): SocketMends {
  const events = new WeakMap<object, { code: number; reason: string }>();
  return {
    beforeOpen(peer) {
      (peer as unknown as DenoPeer)._internal?.ws?.addEventListener('close', (event) => {
        const { code, reason } = event as CloseEvent;
        events.set(peer, { code, reason });
      });
    },
    async closeDetails(peer, details) {
      if (details.code !== undefined) return details;
      await undefined;
      return events.get(peer) ?? details;
    },
  };
}

type AdapterFactory = (options: Record<string, unknown>) => Adapter;

/**
 * crossws's adapter factory for `name`: each a literal `import()`, so bundlers find it. The
 * Workers adapter comes through package.json's `#crossws-workers`, which is
 * `crossws/adapters/cloudflare` only under the `workerd` condition (Wrangler's, and esbuild's
 * `--conditions=workerd`): it imports `cloudflare:workers`, which no other runtime has, so a
 * Deno, Bun or browser bundle of mortar gets crossws's SSE adapter there instead, never run.
 */
async function load(name: Runtime): Promise<AdapterFactory> {
  const module =
    name === 'deno'
      ? await import('crossws/adapters/deno')
      : name === 'workers'
        ? await import('#crossws-workers')
        : await import('crossws/adapters/bun');
  return module.default as unknown as AdapterFactory;
}
