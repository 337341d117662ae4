/**
 * docs/deploy.md as written: its `mortar serve` commands, every nginx and lighttpd block, the
 * CGI script and the systemd unit's ExecStart, run with real nginx and lighttpd. Only paths,
 * ports and the socket mode are replaced (a test's workspace, free ports, 666 because nginx's
 * workers are not in the socket's group here); everything else is the page's text, so an edit
 * there that breaks a front end breaks this test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodeBlock, fencedBlocks, root } from '../helpers/doc-blocks.js';
import { cgiParams, FastCGIClient } from '../helpers/fastcgi-client.js';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startLighttpd,
  startNginx,
  workspace,
} from '../helpers/frontends.js';
import { freePort } from '../helpers/net.js';
import { connect } from '../helpers/ws-client.js';

const DOC = 'docs/deploy.md';
const bin = path.join(root, 'bin/mortar.js');
const appModule = path.join(root, 'test/fixtures/gateway-app.ts');

const blocks = (language: string): CodeBlock[] => fencedBlocks(DOC, [language]);
/** The one block of `language` whose text matches `pattern`. */
function block(language: string, pattern: RegExp): string {
  const found = blocks(language).filter((b) => pattern.test(b.code));
  if (found.length !== 1)
    throw new Error(`${DOC}: ${found.length} ${language} blocks match ${pattern}`);
  return found[0]!.code;
}

interface Local {
  dir: string;
  fastcgiSocket: string;
  scgiSocket: string;
  fastcgiPort: number;
  httpPort: number;
}

/** The page's paths and ports, made the test's own. */
function localize(text: string, local: Local): string {
  return text
    .replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('/srv/app/node_modules/mortar/bin/mortar.js', bin)
    .replaceAll('/srv/app/app.ts', appModule)
    .replace(/(^|\s)mortar serve app\.ts/gm, `$1${process.execPath} ${bin} serve ${appModule}`)
    .replace(/(^|\s)serve app\.ts/gm, `$1serve ${appModule}`)
    .replaceAll('/run/mortar/app-scgi.sock', local.scgiSocket)
    .replaceAll('/run/mortar/app.sock', local.fastcgiSocket)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${local.fastcgiPort}`)
    .replaceAll('127.0.0.1:8000', `127.0.0.1:${local.httpPort}`)
    .replaceAll('--port 8000', `--port ${local.httpPort}`)
    .replaceAll('"port" => 8000', `"port" => ${local.httpPort}`)
    .replaceAll('--socket-mode 660', '--socket-mode 666')
    .replaceAll('listen 80;', 'listen 127.0.0.1:PORT0;')
    .replaceAll('== ":8080"', '== "127.0.0.1:PORT1"');
}

/** Runs a command line of the page (no shell), resolving once it says it is serving. */
function run(commandLine: string): Promise<ChildProcess> {
  const [command, ...args] = commandLine
    .replace(/\s+#.*$/, '')
    .trim()
    .split(/\s+/);
  const child = spawn(command!, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (/serving .* on /.test(output)) {
        clearInterval(timer);
        resolve(child);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${commandLine} exited:\n${output}`));
      }
    }, 25);
  });
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const title = `${DOC}, run as written`;
describe.skipIf(!frontEndsAvailable)(
  frontEndsAvailable ? title : `${title} — skipped: ${frontEndsSkipReason}`,
  () => {
    const processes: ChildProcess[] = [];
    const frontEnds: FrontEnd[] = [];
    const removes: (() => void)[] = [];
    let local: Local;
    /** A front end's own folder (its config, pid and logs; lighttpd's document root). */
    const ownFolder = (): string => {
      const space = workspace();
      removes.push(space.remove);
      return space.dir;
    };
    const nginx = async (servers: string[], http = '') => {
      const frontEnd = await startNginx(ownFolder(), servers, http);
      frontEnds.push(frontEnd);
      return frontEnd;
    };

    beforeAll(async () => {
      const space = workspace();
      removes.push(space.remove);
      local = {
        dir: space.dir,
        fastcgiSocket: path.join(space.dir, 'app.sock'),
        scgiSocket: path.join(space.dir, 'app-scgi.sock'),
        fastcgiPort: await freePort(),
        httpPort: await freePort(),
      };
      // "The application process": every command of the block.
      const commands = block('sh', /mortar serve app\.ts --fastcgi/)
        .split('\n')
        .filter(Boolean);
      expect(commands).toHaveLength(4);
      for (const line of commands) processes.push(await run(localize(line, local)));
    }, 60_000);

    afterAll(async () => {
      await Promise.all(frontEnds.map((f) => f.stop()));
      await Promise.all(
        processes.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null) return resolve(undefined);
              child.once('exit', resolve);
              child.kill('SIGTERM');
            }),
        ),
      );
      for (const remove of removes) remove();
    });

    it('the FastCGI command on TCP answers a FastCGI request', async () => {
      const client = await FastCGIClient.connect(local.fastcgiPort);
      client.request(1, cgiParams('GET', '/x?y=1'));
      const reply = await client.reply(1);
      client.close();
      expect(reply.stdout.toString()).toMatch(/"pathInfo":"\/x"/);
    });

    it('nginx: the reverse proxy block, to `serve --port … --workers 4`', async () => {
      const frontEnd = await nginx(
        [],
        localize(block('nginx', /proxy_pass http:\/\/mortar_http/), local),
      );
      const body = await getJson(`${frontEnd.urls[0]}/shop/cart?x=1`);
      expect(body).toMatchObject({ gateway: 'http', pathInfo: '/shop/cart', query: '?x=1' });
      // Host $http_host: the application's URL is the one the client used.
      expect(body.url).toBe(`${frontEnd.urls[0]}/shop/cart?x=1`);
    });

    it('nginx: the WebSocket block, to `serve --port … --workers 4`: an echo through nginx', async () => {
      const frontEnd = await nginx(
        [],
        localize(block('nginx', /proxy_pass http:\/\/mortar_ws/), local),
      );
      // A browser's Origin: same-origin only because nginx passes the Host on.
      const socket = await connect(`${frontEnd.urls[0]!.replace('http', 'ws')}/ws/echo`, {
        headers: { origin: frontEnd.urls[0]! },
      });
      expect(await socket.ask('through nginx')).toBe('through nginx');
      socket.socket.send(new Uint8Array([0, 1, 2, 255]));
      expect(await socket.next()).toEqual(new Uint8Array([0, 1, 2, 255]));
      socket.socket.send('close 4000');
      expect(await socket.closed).toEqual({ code: 4000, reason: 'asked to' });
    });

    it('nginx: a WebSocket handshake through the FastCGI block gets 426, saying why', async () => {
      const frontEnd = await nginx([], localize(block('nginx', /fastcgi_pass mortar;/), local));
      const reply = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const request = http.get(`${frontEnd.urls[0]}/app/ws/echo`, {
          agent: false,
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'sec-websocket-version': '13',
          },
        });
        request.on('response', (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        request.on('upgrade', () => reject(new Error('upgraded through FastCGI')));
        request.on('error', reject);
      });
      expect(reply.status).toBe(426);
      expect(reply.body).toContain('the fastcgi gateway cannot carry a WebSocket');
    });

    it('nginx: the FastCGI block, to the unix socket (mounted at /app)', async () => {
      const frontEnd = await nginx([], localize(block('nginx', /fastcgi_pass mortar;/), local));
      const body = await getJson(`${frontEnd.urls[0]}/app/a%2Fb?q=1`);
      expect(body).toMatchObject({
        gateway: 'fastcgi',
        scriptName: '/app',
        pathInfo: '/a%2Fb',
        query: '?q=1',
      });
      // HTTP_HOST $http_host: the host and port the client used (the mount is left out).
      expect(body.url).toBe(`${frontEnd.urls[0]}/a%2Fb?q=1`);
      const upload = await fetch(`${frontEnd.urls[0]}/app/echo`, {
        method: 'POST',
        body: new Uint8Array(3 * 1024 * 1024),
      });
      expect(await upload.json()).toMatchObject({ method: 'POST', length: 3 * 1024 * 1024 });
    });

    it('nginx: the SCGI block, in a server of its own', async () => {
      const location = localize(block('nginx', /scgi_pass/), local);
      const frontEnd = await nginx([`LISTEN ${location}`]);
      expect(await getJson(`${frontEnd.urls[0]}/app/x`)).toMatchObject({
        gateway: 'scgi',
        scriptName: '/app',
        pathInfo: '/x',
      });
    });

    // lighttpd: each block in a server of its own (they are alternatives: two mount /app).
    const lighttpd = async (pattern: RegExp, ports = 1) => {
      const [streaming] = blocks('lighttpd');
      // The helper's base configuration sets it already; the page says to set it.
      expect(streaming!.code.trim()).toBe('server.stream-response-body = 2');
      const dir = ownFolder();
      const frontEnd = await startLighttpd(
        dir,
        `server.port = PORT0\n${localize(block('lighttpd', pattern), local)}`,
        ports,
      );
      frontEnds.push(frontEnd);
      return Object.assign(frontEnd, { documentRoot: path.join(dir, 'lighttpd/htdocs') });
    };

    it('lighttpd: the FastCGI block, at /app and at / on the second port', async () => {
      const frontEnd = await lighttpd(/fastcgi\.server/, 2);
      expect(await getJson(`${frontEnd.urls[0]}/app/x`)).toMatchObject({
        gateway: 'fastcgi',
        scriptName: '/app',
        pathInfo: '/x',
      });
      expect(await getJson(`${frontEnd.urls[1]}/x/y`)).toMatchObject({
        gateway: 'fastcgi',
        scriptName: '',
        pathInfo: '/x/y',
      });
    });

    it('lighttpd: the SCGI block', async () => {
      const frontEnd = await lighttpd(/scgi\.server/);
      expect(await getJson(`${frontEnd.urls[0]}/app/x`)).toMatchObject({
        gateway: 'scgi',
        scriptName: '/app',
      });
    });

    it('lighttpd: the reverse proxy block', async () => {
      const frontEnd = await lighttpd(/proxy\.server/);
      expect(await getJson(`${frontEnd.urls[0]}/site/page`)).toMatchObject({
        gateway: 'http',
        pathInfo: '/site/page',
      });
    });

    it('lighttpd: the CGI block with the page’s app.cgi', async () => {
      const frontEnd = await lighttpd(/cgi\.assign/);
      const script = path.join(frontEnd.documentRoot, 'app.cgi');
      writeFileSync(script, `${localize(block('sh', /^#!\/bin\/sh/), local)}\n`);
      chmodSync(script, 0o755);
      expect(await getJson(`${frontEnd.urls[0]}/app.cgi/x?y`)).toMatchObject({
        gateway: 'cgi',
        scriptName: '/app.cgi',
        pathInfo: '/x',
        query: '?y',
      });
    });

    it("the systemd unit's ExecStart serves FastCGI on its socket", async () => {
      const unit = block('ini', /ExecStart=/);
      const execStart = /^ExecStart=(.+)$/m.exec(unit)![1]!;
      const socket = path.join(local.dir, 'systemd.sock');
      const child = await run(
        localize(execStart, local)
          .replace(local.fastcgiSocket, socket)
          .replace('--workers 4', '--workers 1'),
      );
      processes.push(child);
      const frontEnd = await nginx(
        [],
        localize(block('nginx', /fastcgi_pass mortar;/), local)
          .replace(local.fastcgiSocket, socket)
          .replace('upstream mortar ', 'upstream mortar_systemd ')
          .replace('fastcgi_pass mortar;', 'fastcgi_pass mortar_systemd;'),
      );
      expect(await getJson(`${frontEnd.urls[0]}/app/x`)).toMatchObject({ gateway: 'fastcgi' });
    });
  },
);
