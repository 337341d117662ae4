/**
 * mortar — composable HTTP middleware for fetch handlers.
 *
 * The core: the contract ({@link Application}, {@link Middleware}, {@link Environ}),
 * {@link compose}, typed environ slots, {@link HTTPError}, the fast {@link FastResponse}, the
 * HTTP gateway {@link serve} and the in-process {@link TestClient}.
 */
export { type CGIOptions, runCGI } from './cgi.js';
export { compose } from './compose.js';
export {
  defineEnvironKey,
  type EnvironKey,
  originOf,
  rebaseRequest,
  searchOf,
  shiftEnviron,
} from './environ.js';
export {
  type FastCGIOptions,
  type SocketListenOptions,
  type SocketServer,
  serveFastCGI,
} from './fastcgi.js';
export { errorResponse, escapeHTML, HTTPError, type HTTPErrorOptions } from './http-error.js';
export {
  negotiateEncoding,
  parseWeightedList,
  preferredMediaType,
  type Weighted,
} from './negotiation.js';
export { requestHeader } from './request-header.js';
export { FastResponse, STATUS_TEXT } from './response.js';
export { parseSCGIHeader, type SCGIOptions, serveSCGI } from './scgi.js';
export { requestTargetPath, type ServeOptions, type Server, serve } from './serve.js';
export type { ShutdownOptions } from './shutdown.js';
export {
  TestClient,
  type TestClientOptions,
  type TestRequestInit,
  TestResponse,
} from './test-client.js';
export type { Application, Environ, Gateway, Middleware } from './types.js';
