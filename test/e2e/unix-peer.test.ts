/**
 * The peer behind a real front end (nginx, lighttpd) in front of the FastCGI gateway: a client
 * on the front end's Unix-socket listener arrives as `REMOTE_ADDR=unix:` (nginx) or the
 * socket's path (lighttpd), a Unix-socket peer (trusted under `unix`); a TCP client arrives
 * with its address, and is judged by it.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog } from '../../middleware/access-log/index.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import type { SocketServer } from '../../src/gateways/fastcgi/index.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { compose } from '../../src/index.js';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startLighttpd,
  startNginx,
  workspace,
} from '../helpers/frontends.js';

const run = frontEndsAvailable || process.env.CI ? describe : describe.skip;
if (!frontEndsAvailable && !process.env.CI)
  console.warn(`skipping unix-peer tests: ${frontEndsSkipReason}`);

const params = [
  ['REQUEST_METHOD', '$request_method'],
  ['REQUEST_URI', '$request_uri'],
  ['SCRIPT_NAME', '""'],
  ['SERVER_NAME', '$server_name'],
  ['SERVER_PORT', '$server_port'],
  ['SERVER_PROTOCOL', '$server_protocol'],
  ['REMOTE_ADDR', '$remote_addr'],
  ['HTTP_HOST', 'localhost'],
]
  .map(([name, value]) => `fastcgi_param ${name} ${value};`)
  .join(' ');

/** GET / with the headers a client would forge, over TCP or nginx's Unix socket. */
function get(where: { port: number } | { socketPath: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      {
        ...where,
        path: '/',
        headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    request.on('error', reject);
  });
}

/** The FastCGI gateway, trusting only Unix-socket peers (the TCP client stands for the public). */
function gatewayApp(lines: string[]) {
  return compose(
    accessLog({ format: 'common', write: (line) => lines.push(line), trustedProxies: 'unix' }),
    proxyFix({ trustedProxies: 'unix' }),
  )((request, environ) =>
    Response.json({
      remoteAddress: environ.remoteAddress ?? null,
      scheme: new URL(request.url).protocol,
    }),
  );
}

const believed = { remoteAddress: '6.6.6.6', scheme: 'https:' };
const ignored = { remoteAddress: '127.0.0.1', scheme: 'http:' };

run('behind lighttpd: how the client reached the front end', () => {
  let frontEnd: FrontEnd;
  let gateway: SocketServer;
  let remove: () => void;
  let socketPath: string;

  beforeAll(async () => {
    const space = workspace();
    remove = space.remove;
    socketPath = path.join(space.dir, 'front.sock');
    gateway = await serveFastCGI(gatewayApp([]), { port: 0, handleSignals: false });
    const port = new URL(gateway.url).port;
    frontEnd = await startLighttpd(
      space.dir,
      `server.port = PORT0
server.modules += ("mod_fastcgi")
$SERVER["socket"] == "${socketPath}" { }
fastcgi.server = ("/" => (("host" => "127.0.0.1", "port" => ${port}, "check-local" => "disable")))`,
    );
  });

  afterAll(async () => {
    await frontEnd?.stop();
    await gateway?.close();
    remove?.();
  });

  it("a client on lighttpd's Unix socket (REMOTE_ADDR its path) is a Unix-socket peer", async () => {
    expect(JSON.parse(await get({ socketPath }))).toEqual(believed);
    const port = Number(new URL(frontEnd.urls[0]!).port);
    expect(JSON.parse(await get({ port }))).toEqual(ignored);
  });
});

run('behind nginx: how the client reached the front end', () => {
  let frontEnd: FrontEnd;
  let gateway: SocketServer;
  let remove: () => void;
  let socketPath: string;
  const lines: string[] = [];

  beforeAll(async () => {
    const space = workspace();
    remove = space.remove;
    socketPath = path.join(space.dir, 'front.sock');
    gateway = await serveFastCGI(gatewayApp(lines), { port: 0, handleSignals: false });
    const port = new URL(gateway.url).port;
    frontEnd = await startNginx(space.dir, [
      `LISTEN listen unix:${socketPath}; location / { ${params} fastcgi_pass 127.0.0.1:${port}; }`,
    ]);
  });

  afterAll(async () => {
    await frontEnd?.stop();
    await gateway?.close();
    remove?.();
  });

  it("a client on nginx's Unix socket is a Unix-socket peer: its proxy headers are believed", async () => {
    expect(JSON.parse(await get({ socketPath }))).toEqual(believed);
  });

  it('a TCP client is judged by its address: its forged headers are not', async () => {
    const port = Number(new URL(frontEnd.urls[0]!).port);
    expect(JSON.parse(await get({ port }))).toEqual(ignored);
    expect(lines.at(-1)).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+$/);
  });
});
