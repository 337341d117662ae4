/**
 * `mortar/proxy/node`'s WebSocket side: the upstream handshake on `ws`'s client, decided
 * before the client gets its 101, and crossws hooks that join the two sockets — messages
 * (text and binary) and close codes both ways, with back-pressure: while one side has more
 * than {@link HIGH_WATER} bytes queued, the other side is not read.
 *
 * Why not crossws's `createWebSocketProxy`: it dials the upstream only once the client has its
 * 101 (an upstream that refuses or is down becomes a close 1011 instead of its 403 or a 502),
 * answers the client with the first subprotocol it offered rather than the upstream's choice,
 * leaves the upstream handshake's headers to the caller, and sends without back-pressure.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { WebSocketPeer as Peer, WebSocketHooks } from '../../src/websocket.js';
import type {
  UpstreamHandshake,
  UpstreamResponse,
  UpstreamWebSocket,
  WebSocketTransport,
} from './transport.js';

/** Options of {@link webSocketTransport}. */
export interface WebSocketTransportOptions {
  /** PEM certificate authorities a `wss:` upstream's certificate must chain to. @default Node's */
  ca?: string | Buffer | (string | Buffer)[] | undefined;
  /** The largest message read from the upstream, in bytes (a larger one closes it, 1009). */
  maxPayload?: number | undefined;
}

/** Bytes queued toward one side past which the other side is no longer read. */
const HIGH_WATER = 1024 * 1024;

/** Milliseconds the client's side has to open once the upstream's is: then it is closed. */
const OPEN_WITHIN = 10_000;

/**
 * A {@link WebSocketTransport} over `ws`'s client: the client's headers (already purged and
 * given forwarding fields by the proxy), its subprotocols offered as they were, no
 * permessage-deflate on the upstream leg, TLS verified (against `ca` when given).
 */
export function webSocketTransport(options: WebSocketTransportOptions = {}): WebSocketTransport {
  return (handshake) => dial(handshake, options);
}

function dial(
  handshake: UpstreamHandshake,
  options: WebSocketTransportOptions,
): Promise<UpstreamWebSocket | UpstreamResponse> {
  const { signal, protocols } = handshake;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const upstream = new WebSocket(handshake.url, {
      headers: headerRecord(handshake.headers, protocols),
      perMessageDeflate: false,
      followRedirects: false,
      maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    let done = false;
    const finish = (settle: () => void): boolean => {
      if (done) return false;
      done = true;
      signal.removeEventListener('abort', onAbort);
      settle();
      return true;
    };
    const onAbort = () => {
      if (finish(() => reject(signal.reason))) upstream.terminate();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let chosen: string | undefined;
    let fields: [string, string][] = [];
    upstream.on('upgrade', (res: IncomingMessage) => {
      chosen = res.headers['sec-websocket-protocol'];
      // ws fails a 101 that names a subprotocol it did not offer itself (the offer is in the
      // headers) and one that names none when it did: the choice is checked below instead.
      delete res.headers['sec-websocket-protocol'];
      fields = pairs(res.rawHeaders);
    });
    upstream.on('unexpected-response', (_req, res: IncomingMessage) => {
      const refused = refusal(upstream, res);
      if (!finish(() => resolve(refused))) res.destroy();
    });
    upstream.on('open', () => {
      if (chosen !== undefined && !protocols.includes(chosen)) {
        const error = new Error(`the upstream chose subprotocol ${chosen}, not one offered`);
        if (finish(() => reject(error))) upstream.terminate();
        return;
      }
      upstream.pause();
      const hooks = join(upstream);
      if (!finish(() => resolve({ protocol: chosen, headers: fields, hooks }))) {
        upstream.terminate();
      }
    });
    upstream.on('error', (error) => finish(() => reject(error)));
    upstream.on('close', () =>
      finish(() => reject(new Error('the upstream closed during the handshake'))),
    );
  });
}

/**
 * The upstream's own answer to the handshake (a 403, a 404), for the client; its connection
 * goes once the body has been passed on or dropped.
 */
function refusal(upstream: WebSocket, res: IncomingMessage): UpstreamResponse {
  res.once('close', () => upstream.terminate());
  return {
    status: res.statusCode ?? 502,
    statusText: res.statusMessage ?? '',
    headers: pairs(res.rawHeaders),
    body: res,
  };
}

/** Flat pairs as `ws`'s (node:http's) header record; the subprotocols offered as a field. */
function headerRecord(
  list: readonly string[],
  protocols: readonly string[],
): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    const had = record[name];
    record[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  if (protocols.length > 0) record['sec-websocket-protocol'] = protocols.join(', ');
  return record;
}

/** node:http's `rawHeaders` as `[name, value]` pairs. */
function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

/** The socket crossws's Node peer wraps (`ws`'s), as far as pausing it needs. */
interface Pausable {
  pause?(): void;
  resume?(): void;
}

/**
 * The client's hooks for an open, paused `upstream`: what the upstream sent before the
 * client's side opened is held and passed on at its open; an upstream whose client never
 * opens (a middleware outside answered instead, the client left) is closed after
 * {@link OPEN_WITHIN}.
 */
function join(upstream: WebSocket): WebSocketHooks {
  let client: Peer | undefined;
  const early: (string | Buffer)[] = [];
  let closedEarly: { code: number; reason: string } | undefined;
  let clientPaused = false;
  const timer = setTimeout(() => {
    if (client === undefined) upstream.terminate();
  }, OPEN_WITHIN);
  timer.unref();
  const toClient = (peer: Peer, payload: string | Buffer) => {
    peer.send(payload);
    if (peer.bufferedAmount > HIGH_WATER) upstream.pause();
  };
  upstream.on('message', (data: Buffer, isBinary: boolean) => {
    const payload = isBinary ? data : data.toString();
    if (client === undefined) early.push(payload);
    else toClient(client, payload);
  });
  upstream.on('close', (code: number, reason: Buffer) => {
    clearTimeout(timer);
    if (client === undefined) closedEarly = { code, reason: reason.toString() };
    else closeWith(client, code, reason.toString());
  });
  const resumeClient = () => {
    if (!clientPaused || client === undefined || upstream.bufferedAmount > HIGH_WATER) return;
    clientPaused = false;
    (client.websocket as Pausable).resume?.();
  };
  return {
    open(peer) {
      clearTimeout(timer);
      client = peer;
      for (const payload of early.splice(0)) toClient(peer, payload);
      if (closedEarly !== undefined) closeWith(peer, closedEarly.code, closedEarly.reason);
      else if (peer.bufferedAmount <= HIGH_WATER) upstream.resume();
    },
    message(peer, message) {
      const data = message.rawData as string | Buffer;
      upstream.send(data, { binary: typeof data !== 'string' }, resumeClient);
      if (upstream.bufferedAmount > HIGH_WATER && !clientPaused) {
        clientPaused = true;
        (peer.websocket as Pausable).pause?.();
      }
    },
    drain(peer) {
      if (peer.bufferedAmount <= HIGH_WATER) upstream.resume();
    },
    close(_peer, details) {
      closeWith(upstream, details.code ?? 1005, details.reason ?? '');
    },
  };
}

/**
 * Closes `socket` the way the other side closed: the same code and reason when a close frame
 * may carry that code (RFC 6455 §7.4), no code for 1005 (none was given), and a dropped
 * connection for 1006 (lost without a close frame) and other codes no frame may carry.
 */
function closeWith(
  socket: { close(code?: number, reason?: string): void; terminate(): void },
  code: number,
  reason: string,
): void {
  try {
    if (code === 1005) socket.close();
    else if (sendable(code)) socket.close(code, reason);
    else socket.terminate();
  } catch {
    socket.terminate();
  }
}

/** A close code a close frame may carry (RFC 6455 §7.4.1–2, as `ws` checks them). */
function sendable(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}
