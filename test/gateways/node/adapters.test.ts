// Issue 11 §2–3: Node applications inside mortar (fromNodeHandler) and mortar inside Node
// servers (toNodeHandler) — real Express 5, Connect 3 and Koa, over real HTTP.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import connect from 'connect';
import express from 'express';
import Koa from 'koa';
import { toFetchHandler as srvxToFetchHandler } from 'srvx/node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { debug, errors } from '../../../middleware/debug/index.js';
import { getSession, session } from '../../../middleware/session/index.js';
import { cascade, urlmap } from '../../../middleware/urlmap/index.js';
import { runCGI } from '../../../src/gateways/cgi/index.js';
import { serveFastCGI } from '../../../src/gateways/fastcgi/index.js';
import {
  fromNodeHandler,
  type Server,
  serve,
  toNodeHandler,
} from '../../../src/gateways/node/index.js';
import { serveSCGI } from '../../../src/gateways/scgi/index.js';
import { type Application, compose, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { cgiParams, FastCGIClient, scgiRequest } from '../../helpers/fastcgi-client.js';
import { closeNow } from '../../helpers/net.js';

const servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-adapters-'));
mkdirSync(path.join(dir, 'sub'));
writeFileSync(path.join(dir, 'sub', 'index.html'), '<p>static</p>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(app: Application): Promise<string> {
  const server: Server = await serve(app, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: () => {},
  });
  servers.push({ close: () => closeNow(server) });
  return server.url.replace(/\/$/, '');
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
function request(
  url: string,
  options: http.RequestOptions & { body?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const expressApp = () => {
  const app = express();
  app.get('/where', (req, res) => {
    res.json({ url: req.url, baseUrl: req.baseUrl, originalUrl: req.originalUrl, ip: req.ip });
  });
  app.get('/cookies', (_req, res) => {
    res.cookie('a', '1');
    res.cookie('b', '2');
    res.send('two cookies');
  });
  app.post('/upload', (req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    req.on('end', () => res.send(String(size)));
  });
  app.get('/stream', async (_req, res) => {
    res.write('first;');
    await new Promise((r) => setTimeout(r, 300));
    res.end('last');
  });
  app.get('/redirect', (req, res) => res.redirect(`${req.baseUrl}/where`));
  app.get('/boom', () => {
    throw new Error('express route failed');
  });
  app.use('/files', express.static(dir));
  return app;
};

describe('fromNodeHandler: Express 5 mounted with urlmap, over real HTTP', () => {
  it('sees the mount as Express mounting does', async () => {
    const url = await start(urlmap({ '/legacy': fromNodeHandler(expressApp()) }));
    const answer = await request(`${url}/legacy/where?x=1`);
    expect(JSON.parse(answer.body)).toMatchObject({
      url: '/where?x=1',
      baseUrl: '/legacy',
      originalUrl: '/legacy/where?x=1',
    });
  });

  it("sees repeated request headers as Node joins them (Cookie lines with '; ')", async () => {
    const echo = (
      req: import('node:http').IncomingMessage,
      res: import('node:http').ServerResponse,
    ) => res.end(JSON.stringify({ cookie: req.headers.cookie, accept: req.headers.accept }));
    const url = await start(urlmap({ '/n': fromNodeHandler(echo) }));
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => {
        socket.write(
          'GET /n/ HTTP/1.1\r\nHost: localhost\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: x/y\r\nAccept: z/w\r\nConnection: close\r\n\r\n',
        );
      });
      let data = '';
      socket.on('data', (c) => {
        data += c;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      cookie: 'a=1; b=2',
      accept: 'x/y, z/w',
    });
  });

  it('keeps every Set-Cookie, and redirects stay in the mount', async () => {
    const url = await start(urlmap({ '/legacy': fromNodeHandler(expressApp()) }));
    const cookies = await request(`${url}/legacy/cookies`);
    expect(cookies.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const redirect = await request(`${url}/legacy/redirect`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/legacy/where');
    const folder = await request(`${url}/legacy/files/sub`);
    expect(folder.status).toBe(301);
    expect(folder.headers.location).toBe('/legacy/files/sub/');
    expect((await request(`${url}/legacy/files/sub/`)).body).toBe('<p>static</p>');
  });

  it('streams a 3 MB upload in and a slow response out', async () => {
    const url = await start(urlmap({ '/legacy': fromNodeHandler(expressApp()) }));
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const upload = await request(`${url}/legacy/upload`, { method: 'POST', body });
    expect(upload.body).toBe(String(body.length));
    const firstChunk = await new Promise<number>((resolve, reject) => {
      const started = Date.now();
      http
        .get(`${url}/legacy/stream`, (res) => res.once('data', () => resolve(Date.now() - started)))
        .on('error', reject);
    });
    expect(firstChunk).toBeLessThan(250);
  });

  it('rejects with what a route throws (next(error)), so errors() logs the route', async () => {
    const records: string[] = [];
    const app = compose(errors({ log: (record) => records.push(record.traceback) }))(
      urlmap({ '/legacy': fromNodeHandler(expressApp()) }),
    );
    const res = await new TestClient(app).get('/legacy/boom');
    expect(res.status).toBe(500);
    expect(records[0]).toMatch(/express route failed/);
    await expect(new TestClient(fromNodeHandler(expressApp())).get('/boom')).rejects.toThrow(
      'express route failed',
    );
  });

  it('next() without an error is a 404 that cascade moves past', async () => {
    const fallback: Application = () => new FastResponse('the next application');
    const app = cascade([fromNodeHandler(expressApp()), fallback]);
    expect((await new TestClient(app).get('/nothing-here')).text()).toBe('the next application');
  });

  it('closes the Node request when the client goes away', async () => {
    let closed: () => void;
    const sawClose = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const app = express().get('/hang', (req) => req.on('close', () => closed()));
    const url = await start(fromNodeHandler(app));
    const req = http.get(`${url}/hang`);
    req.on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await sawClose;
  });
});

describe('fromNodeHandler: Connect 3 and Koa', () => {
  it('Connect sees the path below the mount and the original URL', async () => {
    const app = connect();
    app.use((req: http.IncomingMessage & { originalUrl?: string }, res: http.ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, originalUrl: req.originalUrl }));
    });
    const url = await start(urlmap({ '/c': fromNodeHandler(app) }));
    expect(JSON.parse((await request(`${url}/c/x?y`)).body)).toEqual({
      url: '/x?y',
      originalUrl: '/c/x?y',
    });
  });

  it("Koa's app.callback() answers under a mount", async () => {
    const koa = new Koa();
    koa.use((ctx) => {
      ctx.body = { path: ctx.path, method: ctx.method };
    });
    const url = await start(urlmap({ '/k': fromNodeHandler(koa.callback()) }));
    expect(JSON.parse((await request(`${url}/k/items`)).body)).toEqual({
      path: '/items',
      method: 'GET',
    });
  });
});

describe('srvx runtime info never reaches a mounted application', () => {
  it("srvx's own toFetchHandler(expressApp) works under urlmap", async () => {
    const url = await start(urlmap({ '/s': srvxToFetchHandler(expressApp()) as Application }));
    const answer = await request(`${url}/s/cookies`);
    expect(answer.body).toBe('two cookies');
  });
});

describe('toNodeHandler: mortar inside Express', () => {
  async function listen(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    return `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  }
  const counter = compose(session({ secret: 'a-test-secret-that-is-long-enough-0123456789' }))(
    async (request, environ) => {
      if (environ.pathInfo === '/missing') return new FastResponse('no', { status: 404 });
      const s = await getSession<{ n: number }>(environ);
      s.set('n', (s.get('n') ?? 0) + 1);
      return FastResponse.json({
        n: s.get('n'),
        scriptName: environ.scriptName,
        pathInfo: environ.pathInfo,
        url: request.url,
      });
    },
  );

  it('gives the Express mount as scriptName, and mortar sessions work', async () => {
    const app = express();
    app.use('/m', toNodeHandler(counter, { fallthrough: true }));
    app.get('/m/missing', (_req, res) => res.send('express answered'));
    const url = await listen(app);
    const first = await request(`${url}/m/count?q=1`);
    const json = JSON.parse(first.body);
    expect(json).toMatchObject({ n: 1, scriptName: '/m', pathInfo: '/count' });
    expect(new URL(json.url).pathname).toBe('/count');
    const cookie = (first.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
    const second = await request(`${url}/m/count`, { headers: { cookie } });
    expect(JSON.parse(second.body).n).toBe(2);
    expect((await request(`${url}/m/missing`)).body).toBe('express answered');
  });

  it('is a plain http.createServer listener too', async () => {
    const url = await listen(toNodeHandler(counter));
    expect(JSON.parse((await request(`${url}/x`)).body)).toMatchObject({
      scriptName: '',
      pathInfo: '/x',
    });
  });
});

describe('fromNodeHandler under every gateway', () => {
  const mounted = () => urlmap({ '/legacy': fromNodeHandler(expressApp()) });
  const quiet = { port: 0, handleSignals: false, announce: false, log: () => {} };
  const expectMount = (text: string) => {
    expect(text).toMatch(/^Status: 200 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({
      url: '/where?q=1',
      baseUrl: '/legacy',
      originalUrl: '/legacy/where?q=1',
    });
  };

  it('FastCGI', async () => {
    const server = await serveFastCGI(mounted(), quiet);
    servers.push(server);
    const client = await FastCGIClient.connect(Number(new URL(server.url).port));
    servers.push({ close: () => client.close() });
    client.request(1, cgiParams('GET', '/legacy/where?q=1'));
    expectMount((await client.reply(1)).stdout.toString());
  });

  it('SCGI', async () => {
    const server = await serveSCGI(mounted(), quiet);
    servers.push(server);
    const reply = await scgiRequest(
      Number(new URL(server.url).port),
      cgiParams('GET', '/legacy/where?q=1'),
    );
    expectMount(reply.toString());
  });

  it('CGI', async () => {
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    await runCGI(mounted(), { env: cgiParams('GET', '/legacy/where?q=1'), stdout, log: () => {} });
    expectMount(Buffer.concat(chunks).toString());
  });
});

describe('debug() and an Express route that throws', () => {
  it("shows the route's frame with its locals, after the PIN", async () => {
    const app = express().get('/order', () => {
      const order = { id: 42, items: ['tea'] };
      throw new Error(`could not ship order ${order.id}`);
    });
    const lines: string[] = [];
    const client = new TestClient(
      debug({ log: (line) => lines.push(line), secretFile: false })(fromNodeHandler(app)),
    );
    await client.get('/order'); // the first error turns capture on, and prints the PIN
    const pin = /the debugger PIN is (\S+)/.exec(lines.join('\n'))![1];
    await client.post('/__debug__/pin', { headers: { origin: 'http://localhost' }, json: { pin } });
    const res = await client.get('/order', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(500);
    const { locals } = res.json<{ locals: (Record<string, string> | null)[] }>();
    expect(locals.some((frame) => frame?.order === "{ id: 42, items: [ 'tea' ] }")).toBe(true);
  });
});
