/**
 * Servers for `bench/block-watch/index.ts`: `tsx servers.ts <name>` serves hello — alone,
 * under `blockWatch()` (the request in an AsyncLocalStorage, the heartbeat, the worker with
 * the debugger enabled on the main thread), or under the AsyncLocalStorage alone — and prints
 * its URL. No block happens: this is what watching costs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { blockWatch } from '../../middleware/block-watch/index.js';
import { hello } from '../../middleware/hello/index.js';
import { serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';

const site: Application = hello;
const storage = new AsyncLocalStorage<Request>();

const [name = ''] = process.argv.slice(2);
const apps: Record<string, () => Application> = {
  hello: () => site,
  watched: () => blockWatch({ force: true, log: () => {} })(site),
  'storage-only': () => (request, environ) => storage.run(request, site, request, environ),
};
const make = apps[name];
if (!make) {
  console.error(`usage: servers.ts <${Object.keys(apps).join('|')}>`);
  process.exit(2);
}
const server = await serve(make(), { port: 0, announce: false });
process.stdout.write(`${server.url.slice(0, -1)}\n`);
