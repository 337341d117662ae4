/**
 * FastCGI, SCGI and CGI behind real nginx and lighttpd, with `mortar serve --fastcgi/--scgi`
 * and `mortar cgi` as a user runs them. The configurations here are the ones docs/deploy.md
 * shows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startLighttpd,
  startNginx,
  workspace,
} from '../helpers/frontends.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const appModule = path.join(root, 'test/fixtures/gateway-app.ts');

/** nginx → FastCGI/SCGI parameters, inlined (what fastcgi_params would give, plus Host with its port). */
const nginxParams = (kind: 'fastcgi' | 'scgi', scriptName: string) =>
  [
    ['REQUEST_METHOD', '$request_method'],
    ['REQUEST_URI', '$request_uri'],
    ['QUERY_STRING', '$query_string'],
    ['CONTENT_TYPE', '$content_type'],
    ['CONTENT_LENGTH', '$content_length'],
    ['SCRIPT_NAME', scriptName === '' ? '""' : scriptName],
    ['SERVER_NAME', '$server_name'],
    ['SERVER_PORT', '$server_port'],
    ['SERVER_PROTOCOL', '$server_protocol'],
    ['REMOTE_ADDR', '$remote_addr'],
    ['HTTPS', '$https if_not_empty'],
    ['HTTP_HOST', '$http_host'],
  ]
    .map(([name, value]) => `${kind}_param ${name} ${value};`)
    .join(' ');

interface Setup {
  /** Where the app mounted at /app (or /app.cgi) answers, and that prefix. */
  mounted: string;
  prefix: string;
  /** Where the app mounted at / answers, when the setup has one. */
  atRoot?: string;
  stop(): Promise<void>;
}

function startMortar(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c) => {
    output += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (/ on (unix:|fastcgi:|scgi:)/.test(output)) {
        clearInterval(timer);
        resolve(child);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`mortar serve exited:\n${output}`));
      }
    }, 25);
  });
}

function stopAll(frontEnd: FrontEnd, app: ChildProcess | undefined, remove: () => void) {
  return async () => {
    await frontEnd.stop();
    if (app && app.exitCode === null) {
      const exited = new Promise((r) => app.once('exit', r));
      app.kill('SIGTERM');
      await exited;
    }
    remove();
  };
}

/** A workspace with `mortar serve --fastcgi|--scgi` listening on a unix socket in it. */
async function mortarOnSocket(kind: 'fastcgi' | 'scgi', extra: string[] = [], module = appModule) {
  const { dir, remove } = workspace();
  const socket = path.join(dir, 'app.sock');
  const app = await startMortar([
    'serve',
    module,
    `--${kind}`,
    socket,
    '--socket-mode',
    '666',
    ...extra,
  ]);
  return { dir, socket, app, remove };
}

/** The Setup of a front end with the application mounted at /app (and maybe at /). */
function mountedAtApp(
  frontEnd: FrontEnd,
  app: ChildProcess,
  remove: () => void,
  atRoot?: string,
): Setup {
  return {
    mounted: `${frontEnd.urls[0]}/app`,
    prefix: '/app',
    atRoot,
    stop: stopAll(frontEnd, app, remove),
  };
}

/** What each setup covers beyond the checks every setup passes. */
const covers: Record<string, { atRoot: boolean; abort: boolean }> = {
  'nginx → FastCGI': { atRoot: true, abort: true },
  'lighttpd → FastCGI': { atRoot: true, abort: true },
  'lighttpd → SCGI': { atRoot: false, abort: true },
  'nginx → SCGI': { atRoot: false, abort: true },
  'lighttpd → CGI': { atRoot: false, abort: false },
  // (abort: each worker counts its own aborts, so /stats cannot show them across processes)
  'nginx → FastCGI, 2 workers': { atRoot: false, abort: false },
};

const setups: Record<string, () => Promise<Setup>> = {
  async 'nginx → FastCGI, 2 workers'() {
    // --workers shares the unix socket between processes (node:cluster).
    const { dir, socket, app, remove } = await mortarOnSocket('fastcgi', ['--workers', '2']);
    const frontEnd = await startNginx(
      dir,
      [
        `LISTEN location /app/ { ${nginxParams('fastcgi', '/app')} fastcgi_keep_conn on; fastcgi_pass mortar; }`,
      ],
      `upstream mortar { server unix:${socket}; keepalive 8; }`,
    );
    return mountedAtApp(frontEnd, app, remove);
  },
  async 'nginx → FastCGI'() {
    const { dir, socket, app, remove } = await mortarOnSocket('fastcgi');
    const pass = `fastcgi_keep_conn on; fastcgi_request_buffering off; fastcgi_buffering off; fastcgi_pass mortar;`;
    const frontEnd = await startNginx(
      dir,
      [
        `LISTEN location /app/ { ${nginxParams('fastcgi', '/app')} ${pass} }`,
        `LISTEN location / { ${nginxParams('fastcgi', '')} ${pass} }`,
      ],
      `upstream mortar { server unix:${socket}; keepalive 8; }`,
    );
    return mountedAtApp(frontEnd, app, remove, frontEnd.urls[1]);
  },
  async 'lighttpd → FastCGI'() {
    const { dir, socket, app, remove } = await mortarOnSocket('fastcgi');
    const backend = `"socket" => "${socket}", "check-local" => "disable"`;
    const frontEnd = await startLighttpd(
      dir,
      `server.port = PORT0
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "/app" => (( ${backend} )) )
$SERVER["socket"] == "127.0.0.1:PORT1" {
  fastcgi.server = ( "/" => (( ${backend}, "fix-root-scriptname" => "enable" )) )
}`,
      2,
    );
    return mountedAtApp(frontEnd, app, remove, frontEnd.urls[1]);
  },
  async 'lighttpd → SCGI'() {
    const { dir, socket, app, remove } = await mortarOnSocket('scgi');
    const frontEnd = await startLighttpd(
      dir,
      `server.port = PORT0
server.modules += ( "mod_scgi" )
scgi.server = ( "/app" => (( "socket" => "${socket}", "check-local" => "disable" )) )`,
    );
    return mountedAtApp(frontEnd, app, remove);
  },
  async 'nginx → SCGI'() {
    const { dir, socket, app, remove } = await mortarOnSocket('scgi');
    const frontEnd = await startNginx(dir, [
      `LISTEN location /app/ { ${nginxParams('scgi', '/app')} scgi_buffering off; scgi_pass unix:${socket}; }`,
    ]);
    return mountedAtApp(frontEnd, app, remove);
  },
  async 'lighttpd → CGI'() {
    const { dir, remove } = workspace();
    const frontEnd = await startLighttpd(
      dir,
      `server.port = PORT0
server.modules += ( "mod_cgi" )
cgi.assign = ( ".cgi" => "" )`,
    );
    const script = path.join(dir, 'lighttpd/htdocs/app.cgi');
    writeFileSync(script, `#!/bin/sh\nexec "${process.execPath}" "${bin}" cgi "${appModule}"\n`);
    chmodSync(script, 0o755);
    return {
      mounted: `${frontEnd.urls[0]}/app.cgi`,
      prefix: '/app.cgi',
      stop: stopAll(frontEnd, undefined, remove),
    };
  },
};

if (!frontEndsAvailable) {
  describe('gateways behind real front ends', () => {
    it.skip(`skipped: ${frontEndsSkipReason}`, () => {});
  });
}

describe.skipIf(!frontEndsAvailable).each(Object.keys(setups))('%s', (name) => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setups[name]!();
  }, 30_000);
  afterAll(async () => setup?.stop());

  it('GET: scriptName is the mount, pathInfo keeps the encoding, request.url leaves the mount out', async () => {
    const res = await fetch(`${setup.mounted}/a%20b/caf%C3%A9?x=1&y=%2F`);
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Record<string, string>;
    expect(seen).toMatchObject({
      method: 'GET',
      scriptName: setup.prefix,
      pathInfo: '/a%20b/caf%C3%A9',
      query: '?x=1&y=%2F',
      remoteAddress: '127.0.0.1',
    });
    expect(new URL(seen.url!).pathname).toBe('/a%20b/caf%C3%A9');
    expect(new URL(seen.url!).port).toBe(new URL(setup.mounted).port);
  });

  it('HEAD: headers, no body', async () => {
    const res = await fetch(`${setup.mounted}/x`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.text()).toBe('');
  });

  it('a 3 MB POST arrives whole', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const res = await fetch(`${setup.mounted}/echo`, { method: 'POST', body });
    expect(await res.json()).toEqual({
      method: 'POST',
      length: body.byteLength,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
  });

  it('a chunked upload arrives whole', async () => {
    const parts = [randomBytes(100_000), randomBytes(200_000), randomBytes(5)];
    const body = await new Promise<string>((resolve, reject) => {
      const request = http.request(
        `${setup.mounted}/echo`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(text));
        },
      );
      request.on('error', reject);
      for (const part of parts) request.write(part);
      request.end();
    });
    const all = Buffer.concat(parts);
    expect(JSON.parse(body)).toEqual({
      method: 'POST',
      length: all.byteLength,
      sha256: createHash('sha256').update(all).digest('hex'),
    });
  });

  it('streams a response: the first part arrives before the last is made', async () => {
    const res = await fetch(`${setup.mounted}/stream`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const arrived = Date.now();
    const text = new TextDecoder().decode(first.value);
    expect(text).toMatch(/^first \d+/);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const made = Number(/last (\d+)/.exec(text + rest)![1]);
    expect(arrived).toBeLessThan(made + 50);
  });

  it('keeps two Set-Cookie headers', async () => {
    const res = await fetch(`${setup.mounted}/cookies`);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  if (covers[name]!.atRoot) {
    it('serves an application mounted at / (empty scriptName)', async () => {
      const seen = (await (await fetch(`${setup.atRoot}/some%2Fthing/x`)).json()) as Record<
        string,
        string
      >;
      expect(seen).toMatchObject({ scriptName: '', pathInfo: '/some%2Fthing/x' });
    });
  }

  // A CGI process has no signal to abort: the front end cannot reach it once it runs.
  if (covers[name]!.abort) {
    it('a client that disconnects mid-response aborts request.signal', async () => {
      const before = ((await (await fetch(`${setup.mounted}/stats`)).json()) as { aborted: number })
        .aborted;
      await new Promise<void>((resolve) => {
        const request = http.get(`${setup.mounted}/endless`, (res) => {
          res.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.on('error', () => {});
      });
      let aborted = before;
      for (let i = 0; i < 100 && aborted === before; i++) {
        await new Promise((r) => setTimeout(r, 50));
        aborted = ((await (await fetch(`${setup.mounted}/stats`)).json()) as { aborted: number })
          .aborted;
      }
      expect(aborted).toBe(before + 1);
    });
  }
});

describe.skipIf(!frontEndsAvailable)('Express, Connect and Koa behind nginx → FastCGI', () => {
  let base: string;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const module = path.join(root, 'test/fixtures/node-apps.ts');
    const { dir, socket, app, remove } = await mortarOnSocket('fastcgi', [], module);
    const pass = `fastcgi_keep_conn on; fastcgi_request_buffering off; fastcgi_buffering off; fastcgi_pass mortar;`;
    const frontEnd = await startNginx(
      dir,
      [`LISTEN location / { ${nginxParams('fastcgi', '')} ${pass} }`],
      `upstream mortar { server unix:${socket}; keepalive 8; }`,
    );
    base = frontEnd.urls[0]!;
    stop = stopAll(frontEnd, app, remove);
  }, 30_000);
  afterAll(async () => stop?.());

  it('Express sees its mount (baseUrl, originalUrl) and its redirect stays inside it', async () => {
    expect(await (await fetch(`${base}/express/?q=1`)).json()).toEqual({
      baseUrl: '/express',
      url: '/?q=1',
      originalUrl: '/express/?q=1',
    });
    const go = await fetch(`${base}/express/go`, { redirect: 'manual' });
    expect(go.status).toBe(302);
    expect(go.headers.get('location')).toBe('/express/');
  });

  it('a 3 MB upload and a streamed response pass through, and a thrown route is a 500', async () => {
    const upload = await fetch(`${base}/express/upload`, {
      method: 'POST',
      body: new Uint8Array(3 * 1024 * 1024),
    });
    expect(await upload.json()).toEqual({ bytes: 3 * 1024 * 1024 });
    expect(await (await fetch(`${base}/express/stream`)).text()).toBe(
      'line 0\nline 1\nline 2\nline 3\nline 4\n',
    );
    expect((await fetch(`${base}/express/boom`)).status).toBe(500);
  });

  it('Connect and Koa see the path below their mount', async () => {
    expect(await (await fetch(`${base}/connect/a?b=1`)).text()).toBe('connect saw /a?b=1');
    expect(await (await fetch(`${base}/koa/c`)).text()).toBe('koa saw /c');
  });
});
