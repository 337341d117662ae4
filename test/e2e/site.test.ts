/**
 * The demo site, started with the exact `npm start` script from package.json, over real HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  scripts: Record<string, string>;
};

let child: ChildProcess;
let url = '';
let output = '';
const cache = mkdtempSync(path.join(tmpdir(), 'mortar-site-cache-'));

beforeAll(async () => {
  child = spawn(scripts.start!, {
    cwd: root,
    shell: true,
    detached: true,
    env: {
      ...process.env,
      PORT: '0',
      PATH: `${root}/node_modules/.bin:${process.env.PATH}`,
      XDG_CACHE_HOME: cache, // where debug() keeps the secret its PIN comes from
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (c) => {
    output += c;
  });
  for (let i = 0; i < 200 && !url; i++) {
    await new Promise((r) => setTimeout(r, 50));
    url = / on (http:\/\/\S+)\//.exec(output)?.[1] ?? '';
  }
  if (!url) throw new Error(`npm start did not serve:\n${output}`);
});
afterAll(() => {
  // The script runs under a shell: stop the whole process group.
  if (child?.pid) process.kill(-child.pid, 'SIGTERM');
  rmSync(cache, { recursive: true, force: true });
});

describe('the demo site (npm start)', () => {
  it('caches /cached, a slow page: the second request is a hit with the same body', async () => {
    const first = await fetch(`${url}/cached`);
    expect(first.headers.get('cache-status')).toMatch(
      /^mortar; fwd=uri-miss; fwd-status=200; ttl=60; stored$/,
    );
    const second = await fetch(`${url}/cached`);
    expect(second.headers.get('cache-status')).toMatch(/^mortar; hit; ttl=\d+$/);
    expect(await second.text()).toBe(await first.text());
  });

  it('serves a home page that links to every part', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const href of [
      '/hello',
      '/api',
      '/where/some/path?x=1',
      '/nested/where/deeper',
      '/static/',
      '/favicon.svg',
      '/legacy/',
      '/remote/',
      '/live/',
    ]) {
      expect(html).toContain(`href="${href}"`);
    }
  });

  it('answers /hello through helloWorld', async () => {
    expect(await (await fetch(`${url}/hello`)).text()).toBe('Hello, world!\n');
  });

  it('runs the mounted Hono app unchanged under /api', async () => {
    expect(await (await fetch(`${url}/api/echo/mortar?x=1`)).json()).toEqual({
      word: 'mortar',
      url: `${url}/echo/mortar?x=1`,
    });
  });

  it('shows scriptName and pathInfo, shifted by each mount', async () => {
    const once = await (await fetch(`${url}/where/some/path?x=1`)).text();
    expect(once).toContain('&quot;/where&quot;');
    expect(once).toContain('&quot;/some/path&quot;');
    const twice = await (await fetch(`${url}/nested/where/deeper`)).text();
    expect(twice).toContain('&quot;/nested/where&quot;');
    expect(twice).toContain('&quot;/deeper&quot;');
  });

  it('serves static files under /static/ and the favicon through fileApp', async () => {
    const css = await fetch(`${url}/static/site.css`, { headers: { 'accept-encoding': 'gzip' } });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('content-encoding')).toBe('gzip');
    expect(await css.text()).toContain('--accent');
    const listing = await (await fetch(`${url}/static/`)).text();
    expect(listing).toContain('href="about.txt"');
    const range = await fetch(`${url}/static/about.txt`, { headers: { range: 'bytes=0-5' } });
    expect(range.status).toBe(206);
    expect(await range.text()).toBe('mortar');
    const icon = await fetch(`${url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('public, max-age=86400');
  });

  it('counts visits in a session, and sends no cookie from pages that do not use it', async () => {
    expect((await fetch(`${url}/`)).headers.getSetCookie()).toEqual([]);
    const first = await fetch(`${url}/account/visits`);
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    expect(await first.text()).toContain('<strong>1</strong> time in this session');
    const second = await fetch(`${url}/account/visits`, { headers: { cookie } });
    expect(await second.text()).toContain('<strong>2</strong> times');
  });

  it('signs in with a new session id (regenerate) and signs out (destroy), behind csrf()', async () => {
    const visit = await fetch(`${url}/account/visits`);
    const before = visit.headers.getSetCookie()[0]!.split(';')[0]!;
    const tokenOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const form = await (await fetch(`${url}/account/`, { headers: { cookie: before } })).text();
    const token = tokenOf(form);
    const post = (path: string, cookie: string, body: string) =>
      fetch(`${url}/account/${path}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
    const forged = await post('login', before, 'user=mallory');
    expect(forged.status).toBe(403);
    const login = await post('login', before, `user=<ann>&_csrf=${encodeURIComponent(token)}`);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/account/');
    const after = login.headers.getSetCookie()[0]!.split(';')[0]!;
    expect(after).not.toBe(before);
    const account = await (await fetch(`${url}/account/`, { headers: { cookie: after } })).text();
    expect(account).toContain('Signed in as <strong>&lt;ann&gt;</strong>');
    expect(account).toContain('<em>Signed in as &lt;ann&gt;.</em>');
    const again = await (await fetch(`${url}/account/`, { headers: { cookie: after } })).text();
    expect(again).not.toContain('<em>');
    const stale = await (await fetch(`${url}/account/`, { headers: { cookie: before } })).text();
    expect(stale).toContain('Not signed in');
    const logout = await post('logout', after, `_csrf=${encodeURIComponent(tokenOf(again))}`);
    expect(logout.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    expect(await (await fetch(`${url}/account/`, { headers: { cookie: after } })).text()).toContain(
      'Not signed in',
    );
  });

  it('runs the Express app mounted at /legacy: its mount, a form POST, a redirect, a traceback', async () => {
    const home = await (await fetch(`${url}/legacy/`)).text();
    expect(home).toContain('req.baseUrl = <code>/legacy</code>');
    const posted = await fetch(`${url}/legacy/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'word=tea',
    });
    expect(await posted.text()).toBe('Express read the form: word=tea\n');
    const redirect = await fetch(`${url}/legacy/go`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('/legacy/');
    // The traceback goes to the terminal, and to a browser only after the debugger PIN.
    const boom = await fetch(`${url}/legacy/boom`, { headers: { accept: 'text/plain' } });
    expect(boom.status).toBe(500);
    expect(await boom.text()).toMatch(/PIN printed in the terminal/);
    await vi.waitFor(() =>
      expect(output).toMatch(/Error: Express could not ship order 42\n\s+at /),
    );
  });

  it('proxies the service on another port mounted at /remote, its redirect rewritten', async () => {
    const page = await (await fetch(`${url}/remote/`)).text();
    expect(page).toContain('It saw <code>GET /v1/</code>');
    expect(page).toContain('<th>x-forwarded-prefix</th><td><code>/remote</code>');
    const moved = await fetch(`${url}/remote/go`, { redirect: 'manual' });
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/remote/');
  });

  it("upgrades /live/ws under npm start: a message comes back under the session's name; a foreign Origin gets 403", async () => {
    const live = await fetch(`${url}/live/`);
    expect(live.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const cookie = live.headers.getSetCookie()[0]!.split(';')[0]!;
    const name = /<strong id="me">([^<]+)<\/strong>/.exec(await live.text())![1]!;
    const open = (headers: Record<string, string>) =>
      new WebSocket(`${url.replace('http', 'ws')}/live/ws`, { headers });
    const socket = open({ cookie });
    socket.onopen = () => socket.send('  hello  ');
    const message = await new Promise<string>((resolve, reject) => {
      socket.onmessage = (event) => resolve(String(event.data));
      socket.onerror = () => reject(new Error('the socket failed'));
    });
    expect(JSON.parse(message)).toEqual({ from: name, text: 'hello' });
    socket.close();
    // A handshake from another site's page, over node:http (fetch forbids Upgrade): no 101.
    const refused = await new Promise<number>((resolve, reject) => {
      const request = http.get(`${url}/live/ws`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          origin: 'http://elsewhere.example',
          cookie,
        },
      });
      request.on('response', (response) => resolve(response.resume().statusCode!));
      request.on('upgrade', (response, socket) => {
        socket.destroy();
        resolve(response.statusCode!);
      });
      request.on('error', reject);
    });
    expect(refused).toBe(403);
  });

  it('answers an unknown path with 404', async () => {
    expect((await fetch(`${url}/no/such/page`)).status).toBe(404);
  });
});
