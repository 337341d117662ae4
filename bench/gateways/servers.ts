/**
 * Application processes for `bench/gateways/index.ts`: `tsx servers.ts <name> <socket|port>`
 * prints a line once listening and serves `hello` until killed.
 */
import { createRequire } from 'node:module';
import { hello } from '../../middleware/hello/index.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';

const [name = '', where = ''] = process.argv.slice(2);
const quiet = { announce: false, log: () => {} };

switch (name) {
  case 'http':
    await serve(hello, { port: Number(where), ...quiet });
    break;
  case 'fastcgi':
    await serveFastCGI(hello, { path: where, socketMode: 0o666, ...quiet });
    break;
  case 'scgi':
    await serveSCGI(hello, { path: where, socketMode: 0o666, ...quiet });
    break;
  case 'node-fastcgi': {
    // The npm node-fastcgi 2.0.0, as shipped, with the same answer as `hello`.
    const fcgi = createRequire(import.meta.url)('node-fastcgi') as {
      createServer(
        handler: (
          req: unknown,
          res: { writeHead(s: number, h: object): void; end(b: string): void },
        ) => void,
      ): {
        listen(path: string, done: () => void): void;
      };
    };
    const { chmodSync } = await import('node:fs');
    await new Promise<void>((resolve) =>
      fcgi
        .createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('Hello, world!\n');
        })
        .listen(where, resolve),
    );
    chmodSync(where, 0o666);
    break;
  }
  default:
    console.error('usage: servers.ts <http|fastcgi|scgi|node-fastcgi> <port|socket>');
    process.exit(2);
}
process.stdout.write(`${where}\n`);
