/**
 * Servers for `bench/block-watch/index.ts`: `tsx servers.ts <name>` serves hello — alone,
 * under `blockWatch()` (the request run where the async stack shows it, the heartbeat, the
 * worker), under its request tracking alone, or under `blockWatch({ storage: true })` (the
 * request in an AsyncLocalStorage) — and prints its URL. No block happens: this is what
 * watching costs.
 */
import { blockWatch } from '../../middleware/block-watch/index.js';
import { newTracker } from '../../middleware/block-watch/track.js';
import { hello } from '../../middleware/hello/index.js';
import { serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';

const site: Application = hello;
const tracker = newTracker(false);

const [name = ''] = process.argv.slice(2);
const apps: Record<string, () => Application> = {
  hello: () => site,
  watched: () => blockWatch({ force: true, log: () => {} })(site),
  'tracking-only': () => (request, environ) => tracker.run(site, request, environ),
  'watched-storage': () => blockWatch({ force: true, log: () => {}, storage: true })(site),
};
const make = apps[name];
if (!make) {
  console.error(`usage: servers.ts <${Object.keys(apps).join('|')}>`);
  process.exit(2);
}
const server = await serve(make(), { port: 0, announce: false });
process.stdout.write(`${server.url.slice(0, -1)}\n`);
