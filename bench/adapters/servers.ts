/**
 * The servers `bench/adapters/index.ts` measures, one per process: `tsx servers.ts <name>`
 * prints its URL on stdout and serves until killed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { hello } from '../../middleware/hello/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { fromNodeHandler, serve, toNodeHandler } from '../../src/gateways/node/index.js';

const BODY = 'Hello, world!\n';
const expressHello = () => express().get('/', (_req, res) => res.type('text').send(BODY));

async function listen(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const servers: Record<string, () => Promise<string>> = {
  /** Express's hello on bare node:http. */
  express: () => listen(expressHello()),
  /** The same Express app mounted at /x under mortar serve, through fromNodeHandler. */
  'express-in-mortar': async () =>
    (
      await serve(urlmap({ '/x': fromNodeHandler(expressHello()) }), { port: 0, announce: false })
    ).url.slice(0, -1),
  /** mortar's hello inside Express, through toNodeHandler. */
  'mortar-in-express': () => {
    const app = express();
    app.use('/m', toNodeHandler(hello));
    return listen(app);
  },
};

const start = servers[process.argv[2] ?? ''];
if (!start) {
  console.error(`bench/adapters/servers.ts: one of ${Object.keys(servers).join(', ')}`);
  process.exit(2);
}
console.log(await start());
