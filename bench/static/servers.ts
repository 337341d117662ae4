/**
 * The static-file servers `bench/static/index.ts` measures, one per process:
 * `tsx bench/static/servers.ts <name> <dir>` prints its URL and serves `dir` until killed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import { serveStatic as honoStatic } from '@hono/node-server/serve-static';
import express from 'express';
import { Hono } from 'hono';
import sirv from 'sirv';
import { serveStatic } from '../../middleware/static/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { errorResponse } from '../../src/index.js';

const [name = '', dir = ''] = process.argv.slice(2);

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const servers: Record<string, () => Promise<string>> = {
  async mortar() {
    const app = serveStatic(dir)((request) => errorResponse(404, request));
    return (await serve(app, { port: 0, announce: false })).url.slice(0, -1);
  },
  sirv: () => listen(http.createServer(sirv(dir, { dev: false, etag: true }))),
  'serve-static': () => listen(http.createServer(express().use(express.static(dir)))),
  async hono() {
    const app = new Hono();
    app.use('/*', honoStatic({ root: dir }));
    return new Promise((resolve) => {
      honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
  },
};

const start = servers[name];
if (!start || !dir) {
  console.error(`usage: servers.ts <${Object.keys(servers).join('|')}> <dir>`);
  process.exit(2);
}
process.stdout.write(`${await start()}\n`);
