/**
 * The compressing servers `bench/compress/index.ts` measures, one per process:
 * `tsx bench/compress/servers.ts <name>` serves `/1k` and `/100k` (JSON) until killed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import compression from 'compression';
import express from 'express';
import { Hono } from 'hono';
import { compress as honoCompress } from 'hono/compress';
import { compress } from '../../middleware/compress/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { FastResponse } from '../../src/index.js';
import { bodies } from './bodies.js';

const servers: Record<string, () => Promise<string>> = {
  async mortar() {
    const app = compress()((request) => {
      const body = bodies[new URL(request.url).pathname];
      return new FastResponse(body ?? 'none', {
        status: body ? 200 : 404,
        headers: { 'content-type': 'application/json' },
      });
    });
    return (await serve(app, { port: 0, announce: false })).url.slice(0, -1);
  },
  async hono() {
    const app = new Hono();
    app.use(honoCompress());
    app.get('/:size', (c) =>
      c.body(bodies[`/${c.req.param('size')}`]!, 200, { 'content-type': 'application/json' }),
    );
    return new Promise((resolve) => {
      honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
  },
  async compression() {
    const app = express();
    app.use(compression());
    app.get('/:size', (req, res) => {
      res.type('application/json').send(bodies[`/${req.params.size}`]);
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  },
};

const name = process.argv[2] ?? '';
const start = servers[name];
if (!start) {
  console.error(`unknown server "${name}"; one of ${Object.keys(servers).join(', ')}`);
  process.exit(2);
}
process.stdout.write(`${await start()}\n`);
