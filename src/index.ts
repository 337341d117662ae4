/**
 * mortar — composable HTTP middleware for fetch handlers.
 *
 * The contract, web platform only: {@link Application}, {@link Middleware}, {@link Environ},
 * {@link compose}, typed environ slots, {@link HTTPError} and error responses, content
 * negotiation, and the fast {@link FastResponse}. The gateways are their own exports
 * (`mortar/node`, `mortar/fastcgi`, `mortar/scgi`, `mortar/cgi`), and so is the test client
 * (`mortar/testing`).
 * @module mortar
 */
export {
  type BunServeOptions,
  type BunServeSettings,
  type BunWebSocketSettings,
  toBunServe,
} from './bun.js';
export { compose } from './compose.js';
export {
  assertEnviron,
  defineEnvironKey,
  type EnvironKey,
  originOf,
  rebaseRequest,
  searchOf,
  shiftEnviron,
} from './environ.js';
export { type FetchHandler, toFetchHandler } from './fetch-handler.js';
export { errorResponse, escapeHTML, HTTPError, type HTTPErrorOptions } from './http-error.js';
export {
  carryLifespans,
  getState,
  type Lifespan,
  type LifespanEntry,
  type LifespanState,
  lifespansOf,
  type WithLifespanOptions,
  withLifespan,
} from './lifespan.js';
export {
  DEFAULT_STARTUP_TIMEOUT,
  LifespanError,
  lazyLifespans,
  type RunningLifespans,
  type StartLifespansOptions,
  startLifespans,
} from './lifespan-run.js';
export {
  negotiateEncoding,
  parseWeightedList,
  preferredMediaType,
  type Weighted,
} from './negotiation.js';
export { requestHeader, searchOfRequest } from './request-header.js';
export { FastResponse, STATUS_TEXT, withHeaders } from './response.js';
export {
  type BunServer,
  type DenoServeHandlerInfo,
  type FetchRuntime,
  fetchRuntime,
  getBunServer,
  getDenoInfo,
  getWorkersContext,
  getWorkersEnv,
  type WorkersContext,
} from './runtime.js';
export type { Application, BodyInit, Environ, Gateway, HeadersInit, Middleware } from './types.js';
export { waitUntil } from './wait-until.js';
export {
  type AcceptedWebSocket,
  acceptedWebSocket,
  isWebSocketRequest,
  type WebSocketAcceptOptions,
  type WebSocketClosed,
  type WebSocketHooks,
  type WebSocketMessage,
  type WebSocketPeer,
  type WebSocketUpgrade,
} from './websocket.js';
