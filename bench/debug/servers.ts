/**
 * Servers for `bench/debug/index.ts`: `tsx servers.ts <name>` serves an application that
 * throws nothing — without `debug()`, or with it and its capture after an error, always (the
 * inspector enabled from the start) or off — and prints its URL.
 */
import { debug } from '../../middleware/debug/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { type Application, compose, FastResponse } from '../../src/index.js';

/** One await, as a typical handler has (the debugger slows promise-heavy code most). */
const handler: Application = async (request) => {
  const part = await Promise.resolve(21);
  return new FastResponse(`${new URL(request.url).pathname} ${part * 2}\n`);
};
const site = compose(helloWorld())(urlmap({ '/app': handler }));

const [name = ''] = process.argv.slice(2);
const apps: Record<string, () => Application> = {
  plain: () => site,
  debug: () => debug({ log: () => {}, secretFile: false, capture: { mode: 'after-error' } })(site),
  'debug-always': () =>
    debug({ log: () => {}, secretFile: false, capture: { mode: 'always' } })(site),
  'debug-no-capture': () => debug({ log: () => {}, secretFile: false, capture: false })(site),
};
const make = apps[name];
if (!make) {
  console.error(`usage: servers.ts <${Object.keys(apps).join('|')}>`);
  process.exit(2);
}
const server = await serve(make(), { port: 0, announce: false });
process.stdout.write(`${server.url.slice(0, -1)}\n`);
