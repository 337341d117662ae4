/**
 * `mortar/proxy/node` — {@link proxy} on Node with undici as its HTTP client: keep-alive
 * connections to the upstream, bodies byte for byte (no automatic decompression: a gzip body
 * reaches the client as the upstream sent it), back-pressure both ways, and TLS verified
 * against the system's CAs or the `ca` you give. WebSocket handshakes are passed on with
 * `ws`'s client ({@link webSocketTransport}).
 *
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { proxy } from 'mortar/proxy/node';
 * const api = proxy('https://10.0.0.5:8443/v1', { ca: readFileSync('internal-ca.pem') });
 * ```
 *
 * Measured against nginx, @fastify/http-proxy, http-proxy-middleware and Hono's `proxy` by
 * `npm run bench:proxy`: undici's `Agent.request` over node:http's `request` with an agent.
 * @module mortar/proxy/node
 */
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import {
  ConfigError,
  is,
  type OptionChecks,
  optionChecker,
  valueKind,
} from '../../src/_internal/options.js';
import type { Application } from '../../src/types.js';
import {
  type ProxyOptions,
  proxy as proxyOver,
  type Transport,
  type UpstreamRequest,
  type UpstreamResponse,
  type WebSocketTransport,
} from './index.js';
import { checkNestedOptions, PROXY_CHECKS, TIMER_MILLISECONDS } from './options.js';
import { webSocketTransport } from './websocket.js';

export {
  fetchTransport,
  type ProxyOptions,
  type Transport,
  type WebSocketTransport,
} from './index.js';
export { type WebSocketTransportOptions, webSocketTransport } from './websocket.js';

/** Options of {@link nodeTransport}. */
export interface NodeTransportOptions {
  /**
   * The certificate authorities (PEM) an `https:` upstream's certificate must chain to,
   * instead of Node's bundled ones: for a private CA or a self-signed certificate.
   * Certificates are always verified. @default Node's root CAs
   */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Milliseconds to open a connection (TCP and TLS) before a 504. @default 10000 */
  connectTimeout?: number;
  /** Milliseconds an idle upstream connection is kept for the next request. @default 4000 */
  keepAliveTimeout?: number;
  /** The most connections to one upstream origin (`undefined`: no limit). @default undefined */
  connections?: number;
}

/** Options of `mortar/proxy/node`'s {@link proxy}: the core's and the transport's. */
export interface NodeProxyOptions
  extends ProxyOptions,
    Omit<NodeTransportOptions, 'connectTimeout'> {}

/** PEM text: a string or a Buffer. */
const isPEM = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);

const TRANSPORT_CHECKS: OptionChecks<NodeTransportOptions> = {
  ca: valueKind(
    'PEM certificates (a string or Buffer, or a list of them)',
    (v) => isPEM(v) || (Array.isArray(v) && v.every(isPEM)),
  ),
  connectTimeout: TIMER_MILLISECONDS,
  keepAliveTimeout: TIMER_MILLISECONDS,
  connections: is.positiveInteger,
};

const checkTransportOptions = optionChecker<NodeTransportOptions>(
  'nodeTransport',
  TRANSPORT_CHECKS,
);

const checkProxyOptions = optionChecker<NodeProxyOptions>('proxy', {
  ...PROXY_CHECKS,
  ca: TRANSPORT_CHECKS.ca,
  keepAliveTimeout: TRANSPORT_CHECKS.keepAliveTimeout,
  connections: TRANSPORT_CHECKS.connections,
});

/** Statuses whose response has no body; HEAD's has none either. */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A {@link Transport} over undici's `Agent`: keep-alive, no decompression, TLS verified.
 * @throws ConfigError at construction, its message starting `nodeTransport:` — for an unknown
 *   option (with the name it is likely a typo of), a timeout that is not whole milliseconds
 *   from 1 to 2^31 − 1, a `connections` that is not an integer ≥ 1, or a `ca` that is not PEM
 *   text.
 */
export function nodeTransport(options: NodeTransportOptions = {}): Transport {
  return transportOver(agentFor(checkTransportOptions(options)));
}

/** undici's Agent for checked transport options. */
function agentFor(options: NodeTransportOptions): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeout ?? 10_000,
      ...(options.ca === undefined
        ? {}
        : { ca: options.ca as string | Buffer | (string | Buffer)[] }),
    },
    keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
    connections: options.connections ?? null,
    // The proxy times the response head itself; a body (an event stream) may idle for long.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

function transportOver(agent: Agent): Transport {
  return function nodeTransport(upstream) {
    return send(agent, upstream);
  };
}

async function send(agent: Agent, upstream: UpstreamRequest): Promise<UpstreamResponse> {
  const { statusCode, headers, body } = await agent.request({
    origin: upstream.origin,
    path: upstream.path,
    method: upstream.method as 'GET',
    headers: upstream.headers as string[],
    // undici sends any async iterable (a web stream is one), pulled as the socket drains.
    body: upstream.body as unknown as Readable | null,
    signal: upstream.signal,
  });
  const fields: [string, string][] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') fields.push([name, value]);
    else if (Array.isArray(value)) for (const one of value) fields.push([name, one]);
  }
  if (upstream.method === 'HEAD' || NO_BODY.has(statusCode)) {
    body.dump().then(
      () => upstream.settled(),
      () => upstream.settled(),
    );
    return { status: statusCode, headers: fields, body: null };
  }
  const length = Number(headers['content-length'] ?? Number.NaN);
  if (length <= SMALL_BODY) {
    // Read whole before the head is sent: a failure is still a 502, and the gateway writes
    // bytes without a stream pipeline (an AbortController and a DOMException per response).
    const bytes = new Uint8Array(await body.arrayBuffer());
    upstream.settled();
    return { status: statusCode, headers: fields, body: bytes };
  }
  watch(body, upstream.settled);
  return { status: statusCode, headers: fields, body };
}

/** A body with a declared length up to this many bytes is read whole, then sent. */
const SMALL_BODY = 64 * 1024;

/** Calls `settled` once `body` ends (no argument), fails or is closed before its end. */
function watch(body: Readable, settled: (error?: unknown) => void): void {
  let ended = false;
  body.once('end', () => {
    ended = true;
    settled();
  });
  body.once('error', (error) => settled(error));
  body.once('close', () => {
    if (!ended) settled(new Error('the response body was closed before its end'));
  });
}

let shared: Transport | undefined;
let sharedWebSocket: WebSocketTransport | undefined;

/**
 * {@link ProxyOptions | mortar/proxy}'s `proxy` with {@link nodeTransport} as its transport:
 * the one to use on Node. Transports built from the same options share one agent per
 * process only when no transport option is given.
 *
 * @param target - `http://host:port/base` or `https://…`.
 * @throws ConfigError at construction, its message starting `proxy:`, for what `mortar/proxy`'s
 *   `proxy` refuses and a transport option `nodeTransport` refuses, or a transport option
 *   (`ca`, `keepAliveTimeout`, `connections`) beside a `transport` of one's own.
 */
export function proxy(target: string | URL, options: NodeProxyOptions = {}): Application {
  checkNestedOptions(checkProxyOptions(options));
  const { ca, keepAliveTimeout, connections, ...given } = options;
  const core: ProxyOptions = { ...given, webSocketTransport: given.webSocketTransport };
  if (core.webSocketTransport === undefined && ca !== undefined) {
    core.webSocketTransport = webSocketTransport({
      ca: ca as string | Buffer | (string | Buffer)[],
    });
  } else if (core.webSocketTransport === undefined) {
    sharedWebSocket ??= webSocketTransport();
    core.webSocketTransport = sharedWebSocket;
  }
  const connectTimeout = core.timeout?.connect;
  if (core.transport !== undefined) {
    const own = { ca, keepAliveTimeout, connections };
    const ignored = Object.keys(own).find((name) => own[name as keyof typeof own] !== undefined);
    if (ignored !== undefined) {
      // They configure the transport this function builds: beside a transport of one's own,
      // they would be dropped without a word.
      throw new ConfigError(
        `proxy: option "${ignored}" configures mortar/proxy/node's own transport; with option "transport", set it on that transport (nodeTransport({ ${ignored} }))`,
      );
    }
    return proxyOver(target, core);
  }
  if (
    connectTimeout === undefined &&
    ca === undefined &&
    keepAliveTimeout === undefined &&
    connections === undefined
  ) {
    shared ??= nodeTransport();
    return proxyOver(target, { ...core, transport: shared });
  }
  const agent = agentFor({ ca, keepAliveTimeout, connections, connectTimeout });
  return proxyOver(target, { ...core, transport: transportOver(agent) });
}
