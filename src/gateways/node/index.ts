/**
 * `mortar/node` — mortar on Node: {@link serve}, the HTTP/1.1 gateway; {@link fromNodeHandler},
 * an Express, Connect or Koa application as a mortar Application; {@link toNodeHandler}, a
 * mortar Application inside a Node server or as Express middleware.
 *
 * ```ts
 * import { serve } from 'mortar/node';
 * const server = await serve(app, { port: 8000 });
 * ```
 * @module mortar/node
 */
export type { ShutdownOptions } from '../_shared/shutdown.js';
export { fromNodeHandler, type NodeHandler } from './from-node.js';
export {
  type CloseOptions,
  DEFAULT_MAX_BODY_SIZE,
  type ServeOptions,
  type Server,
  serve,
} from './serve.js';
export { type ToNodeHandlerOptions, toNodeHandler } from './to-node.js';
export {
  DEFAULT_MAX_PAYLOAD,
  type WebSocketBackplane,
  type WebSocketBackplaneMessage,
  type WebSocketDeflateOptions,
  type WebSocketServeOptions,
} from './upgrade.js';
