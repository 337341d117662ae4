/**
 * The seam between the proxy and an HTTP client: a {@link Transport} sends one request to the
 * upstream and resolves with its response head and body. {@link fetchTransport} is the web
 * platform's (Deno, Bun, Workers, and Node when nothing better is given); `mortar/proxy/node`
 * has undici's, which keeps bodies byte for byte and verifies TLS against a CA you give.
 */
import type { WebSocketHooks } from '../../src/websocket.js';

/** A request for the upstream, as the proxy built it. */
export interface UpstreamRequest {
  readonly method: string;
  /** `http://host:port` (the target's origin). */
  readonly origin: string;
  /** The request target: path and query, percent-encoded as the client sent them. */
  readonly path: string;
  /** Flat `[name, value, name, value, …]`, lower-case names, `host` first. */
  readonly headers: readonly string[];
  /** The body to send (the client's), or `null`: the transport frames it itself. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away or the headers timeout passes. */
  readonly signal: AbortSignal;
  /**
   * Called once when the response body has been sent to the end (no argument) or has failed
   * (the upstream reset it, or the client went away): the proxy logs the failure.
   */
  readonly settled: (error?: unknown) => void;
}

/** A body the Node gateway pipes as it is (a Node `Readable`); web runtimes give web streams. */
export interface PipeableBody {
  pipe(destination: unknown): unknown;
}

/** The upstream's response. */
export interface UpstreamResponse {
  readonly status: number;
  readonly statusText?: string;
  /** Every field as it came, each `Set-Cookie` its own pair. */
  readonly headers: Iterable<readonly [string, string]>;
  /** A stream (settle when it ends), or bytes already read whole (settled before). */
  readonly body: ReadableStream<Uint8Array> | PipeableBody | Uint8Array | null;
}

/**
 * Sends `request` to the upstream. Rejects when no response head arrives (the error's `code`,
 * such as undici's `UND_ERR_CONNECT_TIMEOUT`, tells a timeout from a refusal).
 */
export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/** Codings every fetch implementation decodes (and so may be asked for). */
const DECODED = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/**
 * A {@link Transport} over the fetch standard (`redirect: 'manual'`): what `proxy()` uses on
 * Deno, Bun and Workers. Fetch decodes a compressed body, so this transport asks the upstream
 * only for codings fetch decodes and sends the body on decoded (without its
 * `Content-Encoding` and `Content-Length`): put `compress()` in front to compress it again.
 * `Host` is the target's unless the runtime lets a request set it. For bodies byte for byte and
 * a CA of your own on Node, use `mortar/proxy/node`.
 *
 * @param fetchImpl - The fetch to call. @default globalThis.fetch
 * @throws TypeError when `fetchImpl` is not a function (or no global fetch exists).
 */
export function fetchTransport(fetchImpl: typeof fetch = globalThis.fetch): Transport {
  if (typeof fetchImpl !== 'function') {
    throw new TypeError(`fetchTransport(): fetch must be a function, got ${typeof fetchImpl}`);
  }
  return async function fetchTransport(upstream) {
    const headers = new Headers();
    const list = upstream.headers;
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!;
      if (name === 'accept-encoding') continue;
      headers.append(name, list[i + 1]!);
    }
    headers.set('accept-encoding', 'gzip, deflate, br');
    const init: RequestInit & { duplex?: 'half' } = {
      method: upstream.method,
      headers,
      redirect: 'manual',
      signal: upstream.signal,
    };
    if (upstream.body !== null) {
      init.body = upstream.body;
      init.duplex = 'half';
    }
    const response = await fetchImpl(upstream.origin + upstream.path, init);
    const fields: [string, string][] = [];
    const coding = response.headers.get('content-encoding')?.trim().toLowerCase();
    const decoded = coding !== undefined && DECODED.has(coding);
    for (const [name, value] of response.headers) {
      if (decoded && (name === 'content-encoding' || name === 'content-length')) continue;
      fields.push([name, value]);
    }
    const body = response.body;
    if (body === null) upstream.settled();
    return {
      status: response.status,
      statusText: response.statusText,
      headers: fields,
      body: body === null ? null : watched(body, upstream.settled),
    };
  };
}

/**
 * `body` read on demand (one chunk per pull: the client's pace is the upstream's), calling
 * `settled` once it ends, fails or is cancelled.
 */
export function watched(
  body: ReadableStream<Uint8Array>,
  settled: (error?: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            settled();
          } else controller.enqueue(value);
        } catch (error) {
          settled(error);
          controller.error(error);
        }
      },
      cancel(reason) {
        settled(reason ?? new Error('the client went away'));
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A WebSocket opening handshake for the upstream, as the proxy built it. */
export interface UpstreamHandshake {
  /** `ws://host:port/base/path?query` (`wss:` for an `https:` target), as the client sent it. */
  readonly url: string;
  /**
   * Flat `[name, value, …]`, lower-case names, `host` first: the HTTP request's fields after
   * the same purge, without the client's `Sec-WebSocket-*` (each leg has its own key,
   * version and extensions; the subprotocols are {@link protocols}).
   */
  readonly headers: readonly string[];
  /** The subprotocols the client offered, in its order, to offer the upstream. */
  readonly protocols: readonly string[];
  /** Aborted when the client goes away or the headers timeout passes: give up the dial. */
  readonly signal: AbortSignal;
}

/** An upstream WebSocket whose handshake succeeded, ready to be joined to the client's. */
export interface UpstreamWebSocket {
  /** The subprotocol the upstream chose (one the client offered), `undefined` for none. */
  readonly protocol: string | undefined;
  /** The fields of the upstream's 101 (a `Set-Cookie` …), each its own pair. */
  readonly headers: Iterable<readonly [string, string]>;
  /**
   * crossws hooks for the client's side, which pass messages and closes both ways (and close
   * the upstream when the client's side never opens).
   */
  readonly hooks: WebSocketHooks;
}

/**
 * Opens the upstream WebSocket. Resolves with it once its handshake succeeded, or with the
 * upstream's response when it answered anything but 101 (a 403 the client then gets); rejects
 * when no handshake could be had (refused, DNS, TLS, a bad 101: a 502; the signal: a 504).
 * The hooks must close the upstream when the client's side is not open soon after.
 */
export type WebSocketTransport = (
  handshake: UpstreamHandshake,
) => Promise<UpstreamWebSocket | UpstreamResponse>;
