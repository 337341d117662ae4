/**
 * `fromNodeHandler`: a Node `(req, res, next?)` handler — an Express, Connect or Koa
 * application (`app.callback()`) — as a mortar Application.
 *
 * ```ts
 * import express from 'express';
 * import { fromNodeHandler } from 'mortar/node';
 * import { urlmap } from 'mortar/urlmap';
 *
 * const legacy = express().get('/', (req, res) => res.send(`mounted at ${req.baseUrl}`));
 * const site = urlmap({ '/': application, '/legacy': fromNodeHandler(legacy) });
 * ```
 *
 * The handler gets a real `http.IncomingMessage` and `http.ServerResponse` on an in-memory
 * socket (no TCP, no HTTP parsing): the request body streams in as the handler reads it, the
 * response streams out as it writes, with back-pressure both ways; every `Set-Cookie` is kept;
 * a client that goes away closes the Node request. It sees the mount as Express mounting
 * does: `req.url` below the mount, `req.originalUrl` the whole path, `req.baseUrl` the
 * prefix. Called with a final callback (Express, Connect): `next(error)` rejects with that
 * error — so `debug()` shows it — and `next()` without one means "not mine": a 404 that
 * `cascade` moves past.
 */
import http from 'node:http';
import { isThenable } from '../../_internal/thenable.js';
import { originOf, searchOf } from '../../environ.js';
import { errorResponse } from '../../http-error.js';
import { nodeRuntime } from '../../request-header.js';
import type { Application, Environ } from '../../types.js';
import { abort, handOverHead, MemorySocket, responseOf } from './memory-socket.js';
import { incomingMessage } from './node-request.js';

/** A Node request listener or Connect/Express middleware. */
export type NodeHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  next?: (error?: unknown) => void,
) => unknown;

/**
 * Turns a Node handler into an Application. See the module comment.
 *
 * @param handler - `(req, res)` or `(req, res, next)`; an Express or Connect app, a Koa
 *   `app.callback()`, `http.createServer`'s listener.
 * @throws TypeError when `handler` is not a function.
 */
export function fromNodeHandler(handler: NodeHandler): Application {
  if (typeof handler !== 'function') {
    throw new TypeError(`fromNodeHandler(): the handler must be a function, got ${typeof handler}`);
  }
  return function fromNodeHandlerApp(request, environ) {
    return callNodeHandler(handler, request, environ);
  };
}

function callNodeHandler(
  handler: NodeHandler,
  request: Request,
  environ: Environ,
): Promise<Response> {
  const href = request.url;
  const socket = new MemorySocket(environ.remoteAddress, href.startsWith('https:'));
  const gateway = gatewayNode(request);
  const req = incomingMessage(socket, request, environ, urlParts(href), gateway?.req);
  const res = new http.ServerResponse(req);
  res.assignSocket(socket as unknown as import('node:net').Socket);
  res.shouldKeepAlive = false;
  return new Promise<Response>((resolve, reject) => {
    let answered = false;
    let handedOver = false;
    // The head is known at the first write; the response goes out when it has finished (its
    // body whole, as bytes: the common case, cheap) or at the next turn of the event loop
    // (its body a stream, for a response still being written).
    const handOver = (): void => {
      if (handedOver) return;
      handedOver = true;
      resolve(responseOf(res, socket, request.method === 'HEAD'));
    };
    handOverHead(res, () => {
      answered = true;
      setImmediate(handOver);
    });
    res.once('finish', () => {
      socket.finish();
      if (answered) handOver();
    });
    res.once('close', () => {
      if (!res.writableFinished)
        socket.fail(new Error('the Node handler closed the response before ending it'));
    });
    onClientGone(request, gateway, () => abort(req, socket));
    const next = (error?: unknown): void => {
      if (answered) {
        if (error !== undefined)
          socket.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      answered = true;
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(errorResponse(404, request));
    };
    try {
      const result = handler(req, res, next);
      if (isThenable(result)) {
        Promise.resolve(result).then(undefined, (error: unknown) =>
          next(error ?? new Error('rejected')),
        );
      }
    } catch (error) {
      next(error);
    }
  });
}

/**
 * Calls `gone` once if the client goes away before the response ends. Under the HTTP gateway
 * it watches the gateway's own response (what srvx's `request.signal` watches, without making
 * an AbortController per request); elsewhere it listens to `request.signal`.
 */
function onClientGone(request: Request, gateway: GatewayNode | undefined, gone: () => void): void {
  if (!gateway) {
    request.signal.addEventListener('abort', gone, { once: true });
    return;
  }
  const { req, res } = gateway;
  if (res.destroyed) {
    gone();
    return;
  }
  res.once('close', () => {
    if (req.errored || !res.writableEnded) gone();
  });
}

/** The URL's host and query by string (no URL parse per request), the query as sent. */
function urlParts(href: string): { host: string; search: string } {
  const origin = originOf(href);
  return { host: origin.slice(origin.indexOf('//') + 2), search: searchOf(href) };
}

/** The HTTP gateway's own Node request and response. */
interface GatewayNode {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/**
 * The HTTP gateway's Node request and response behind `request` (srvx's `runtime.node`, read
 * through a mount's rebased request), when `request` is still the gateway's (its headers and
 * body); else `undefined` (TestClient, the other gateways, a request a middleware rebuilt).
 */
function gatewayNode(request: Request): GatewayNode | undefined {
  const node = nodeRuntime(request);
  return node?.req instanceof http.IncomingMessage && node.res instanceof http.ServerResponse
    ? (node as GatewayNode)
    : undefined;
}
