/**
 * The demo site as a fetch handler's module, for the runtimes that serve one:
 *
 *   npx deno serve --sloppy-imports -A --host 127.0.0.1 --port 8000 examples/site/fetch.ts
 *   npx bun examples/site/fetch.ts
 *
 * `toFetchHandler` builds the environ from each request (and the runtime's client address).
 * Bun reads `hostname` and `port` from the export (loopback, PORT or 8000, as `npm start`);
 * `deno serve` takes them from its flags.
 */
import { toFetchHandler } from '../../src/index.js';
import { application } from './index.js';

export default {
  fetch: toFetchHandler(application),
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 8000),
};
