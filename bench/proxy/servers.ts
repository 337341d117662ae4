/**
 * The servers `bench/proxy/index.ts` measures, one per process:
 * `tsx bench/proxy/servers.ts <name> <upstream origin>` prints its URL and serves until killed.
 * `upstream` is the bare node:http origin (1 KiB at /v1/1k, 1 MiB at /v1/1m); each proxy
 * mounts it at /api with the base /v1, keep-alive to the upstream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import fastifyProxy from '@fastify/http-proxy';
import { serve as honoServe } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { proxy as honoProxy } from 'hono/proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Transport } from '../../middleware/proxy/index.js';
import { proxy } from '../../middleware/proxy/node.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { serve } from '../../src/gateways/node/index.js';

const [name = '', upstream = ''] = process.argv.slice(2);

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const bodies: Record<string, Buffer> = {
  '/v1/1k': Buffer.alloc(1024, 97),
  '/v1/1m': Buffer.alloc(1024 * 1024, 98),
};

const servers: Record<string, () => Promise<string>> = {
  upstream: () =>
    listen(
      http.createServer((req, res) => {
        const body = bodies[req.url ?? ''];
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': body.length,
        });
        res.end(body);
      }),
    ),
  async mortar() {
    const app = urlmap({ '/api': proxy(`${upstream}/v1`, { log: () => {} }) });
    return (await serve(app, { port: 0, announce: false, log: () => {} })).url.slice(0, -1);
  },
  // The transport measured against undici's: node:http's request with a keep-alive agent.
  async 'mortar-node-http'() {
    const app = urlmap({
      '/api': proxy(`${upstream}/v1`, { log: () => {}, transport: nodeHttpTransport() }),
    });
    return (await serve(app, { port: 0, announce: false, log: () => {} })).url.slice(0, -1);
  },
  async fastify() {
    const app = Fastify({ logger: false });
    await app.register(fastifyProxy, { upstream, prefix: '/api', rewritePrefix: '/v1' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  },
  'http-proxy-middleware': () => {
    const agent = new http.Agent({ keepAlive: true });
    const app = express().use(
      '/api',
      createProxyMiddleware({ target: `${upstream}/v1`, changeOrigin: true, agent }),
    );
    return listen(http.createServer(app));
  },
  hono() {
    const app = new Hono();
    // As Hono's documentation writes it: the client's headers, and X-Forwarded-For added.
    app.get('/api/*', (c) => {
      const url = new URL(c.req.url);
      return honoProxy(`${upstream}/v1${url.pathname.slice('/api'.length)}${url.search}`, {
        headers: { ...c.req.header(), 'x-forwarded-for': '127.0.0.1' },
      });
    });
    return new Promise((resolve) => {
      honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
  },
};

const start = servers[name];
if (!start || (name !== 'upstream' && !upstream)) {
  console.error(`usage: servers.ts <${Object.keys(servers).join('|')}> <upstream origin>`);
  process.exit(2);
}
process.stdout.write(`${await start()}\n`);

/** A proxy transport over node:http with a keep-alive agent, for the comparison only. */
function nodeHttpTransport(): Transport {
  const agent = new http.Agent({ keepAlive: true });
  return (up) =>
    new Promise((resolve, reject) => {
      const target = new URL(up.origin);
      const headers: Record<string, string | string[]> = {};
      for (let i = 0; i < up.headers.length; i += 2) {
        const name = up.headers[i]!;
        const value = up.headers[i + 1]!;
        const before = headers[name];
        headers[name] = before === undefined ? value : [before, value].flat();
      }
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: up.path,
          method: up.method,
          headers,
          agent,
          signal: up.signal,
        },
        (res) => {
          const fields: [string, string][] = [];
          const raw = res.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) fields.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
          res.once('end', () => up.settled());
          res.once('error', (error) => up.settled(error));
          resolve({ status: res.statusCode!, headers: fields, body: res });
        },
      );
      req.on('error', reject);
      if (up.body === null) req.end();
      else Readable.fromWeb(up.body as import('node:stream/web').ReadableStream).pipe(req);
    });
}
