/**
 * The servers `bench:http`, `bench:access-log` and `bench:instructions` measure, one per
 * process: `tsx bench/servers.ts <name>` prints its URL on stdout and serves until killed.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import morgan from 'morgan';
import { type AccessLogEntry, combinedLine } from '../middleware/access-log/format.js';
import { accessLog, batchedWriter } from '../middleware/access-log/index.js';
import { lineBatch } from '../middleware/access-log/write.js';
import { hello, helloWorld } from '../middleware/hello/index.js';
import { urlmap } from '../middleware/urlmap/index.js';
import { serve } from '../src/gateways/node/index.js';
import { type Application, compose, type Middleware } from '../src/index.js';

const BODY = 'Hello, world!\n';

const bareHello: http.RequestListener = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(BODY);
};

/** A node:http server of `listener` on a free loopback port: its URL. */
async function listen(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Exit on SIGTERM as mortar's serve() does, so `bench:cpu-profile` gets its profile written.
  process.once('SIGTERM', () => process.exit(0));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A middleware that does nothing but call the next layer. */
const passThrough: Middleware = (app) => (request, environ) => app(request, environ);

const stack: Application = compose(
  passThrough,
  passThrough,
  passThrough,
  helloWorld(),
)(urlmap({ '/app': hello }));

const servers: Record<string, () => Promise<string>> = {
  async bare() {
    return listen(bareHello);
  },
  async 'bare-line'() {
    // The floor: mortar's Combined line and batched writer on bare node:http — no middleware,
    // no environ, no response rebuilt; the id echoed, the values read as the response ends.
    const batch = lineBatch(batchedWriter(createWriteStream('/dev/null')))!;
    let counter = 0;
    return listen((req, res) => {
      const started = performance.now();
      const requestId = `9f86d081884c7d65-${++counter}`;
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'x-request-id': requestId,
      });
      res.end(BODY);
      const entry: AccessLogEntry = {
        time: new Date(performance.timeOrigin + started),
        remoteAddress: req.socket.remoteAddress,
        method: req.method ?? '',
        target: req.url ?? '',
        protocol: `HTTP/${req.httpVersion}`,
        status: 200,
        bytes: BODY.length,
        durationMs: performance.now() - started,
        referer: req.headers.referer ?? null,
        userAgent: req.headers['user-agent'] ?? null,
        requestId,
        aborted: false,
      };
      batch.defer({ render: () => combinedLine(entry) });
    });
  },
  async 'bare-constant-line'() {
    // Below the floor: the id echoed and one line made in advance written through
    // batchedWriter — what remains of any access log once formatting costs nothing.
    const write = batchedWriter(createWriteStream('/dev/null'));
    const line = `127.0.0.1 - - [02/Dec/2026:04:40:00 +0000] "GET / HTTP/1.1" 200 14 "-" "wrk" 0.0ms 9f86d081884c7d65-1`;
    let counter = 0;
    return listen((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'x-request-id': `9f86d081884c7d65-${++counter}`,
      });
      res.end(BODY);
      write(line);
    });
  },
  async 'bare-morgan'() {
    // Express's access log (the anchor) on the same hello: Combined lines to a discarded stream.
    const log = morgan('combined', { stream: createWriteStream('/dev/null') });
    return listen((req, res) => log(req, res, () => bareHello(req, res)));
  },
  async mortar() {
    return (await serve(hello, { port: 0, announce: false })).url.slice(0, -1);
  },
  async 'mortar-logged'() {
    // What the default does with stderr, to a discarded stream: lines batched, 16 KiB / 100 ms.
    const logged = accessLog({ write: batchedWriter(createWriteStream('/dev/null')) })(hello);
    return (await serve(logged, { port: 0, announce: false })).url.slice(0, -1);
  },
  async 'mortar-logged-noop'() {
    const logged = accessLog({ format: () => '', write: () => {} })(hello);
    return (await serve(logged, { port: 0, announce: false })).url.slice(0, -1);
  },
  async 'mortar-mount'() {
    return (await serve(urlmap({ '/app': hello }), { port: 0, announce: false })).url.slice(0, -1);
  },
  async 'mortar-stack'() {
    return (await serve(stack, { port: 0, announce: false })).url.slice(0, -1);
  },
  async 'hono-stack'() {
    const pass: MiddlewareHandler = async (_c, next) => {
      await next();
    };
    const sub = new Hono();
    sub.get('*', (c) => c.text(BODY));
    const app = new Hono();
    app.use(pass, pass, pass);
    app.get('/hello', (c) => c.text(BODY));
    app.route('/app', sub);
    return new Promise((resolve) => {
      honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
  },
};

const name = process.argv[2] ?? '';
const start = servers[name];
if (!start) {
  console.error(
    `bench/servers.ts: unknown server "${name}"; one of ${Object.keys(servers).join(', ')}`,
  );
  process.exit(2);
}
process.stdout.write(`${await start()}\n`);
