/**
 * `mortar/testing` — {@link TestClient}, paste.fixture's `TestApp` / WebTest for mortar: drives
 * an application in-process, with no socket, keeping cookies between requests like a browser.
 *
 * ```ts
 * import { TestClient } from 'mortar/testing';
 * const client = new TestClient(app);
 * const res = await client.get('/');
 * ```
 * @module mortar/testing
 */
export { TestClient, type TestClientOptions, type TestRequestInit } from './client.js';
export { CookieJar } from './cookie-jar.js';
export { TestMessage, TestPeer } from './peer.js';
export { TestResponse } from './response.js';
export {
  TestWebSocket,
  type TestWebSocketClosed,
  type TestWebSocketOptions,
  WebSocketRefusedError,
} from './websocket.js';
