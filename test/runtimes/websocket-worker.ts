// test/runtimes/websocket-app.ts as a Workers module, bundled and run on workerd by
// test/e2e/runtimes-websocket.
import { toFetchHandler } from '../../src/index.js';
import { app } from './websocket-app.js';

export default { fetch: toFetchHandler(app) };
