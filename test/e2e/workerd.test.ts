/**
 * The demo's portable part (examples/site/worker.ts) on workerd, Cloudflare's runtime, installed
 * from npm as a devDependency: bundled with esbuild and served with examples/site/workerd.capnp
 * exactly as README's commands do, then a real request to each route over loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { bundleWorker } from '../helpers/workerd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const workerd = path.join(root, 'node_modules/.bin/workerd');
const installed = existsSync(workerd) || process.env.CI === 'true';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let base = '';
let child: ChildProcess | undefined;
let output = '';
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-workerd-'));

/** One request over node:http (the global fetch would decompress and add headers). */
function request(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        let bytes = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip') bytes = gunzipSync(bytes);
        resolve({ status: res.statusCode!, headers: res.headers, body: bytes.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (answer: Answer): string =>
  (answer.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');

beforeAll(async () => {
  if (!installed) return;
  // README's bundle command, through esbuild's API.
  await bundleWorker(
    path.join(root, 'examples/site/worker.ts'),
    path.join(dir, 'worker.bundle.js'),
    { 'import.meta.url': '"file:///worker.js"' },
  );
  copyFileSync(path.join(root, 'examples/site/workerd.capnp'), path.join(dir, 'workerd.capnp'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(
    workerd,
    ['serve', path.join(dir, 'workerd.capnp'), '--socket-addr', `http=127.0.0.1:${port}`],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SESSION_SECRET: 'a-workerd-test-secret-0123456789abcdef' },
    },
  );
  child.stdout!.on('data', (c) => {
    output += c;
  });
  child.stderr!.on('data', (c) => {
    output += c;
  });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (await request('GET', '/hello').catch(() => undefined)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workerd did not answer: ${output}`);
}, 60_000);

afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!installed)('the demo on workerd (npm install, or CI=true to fail)', () => {
  it('serves the home page, compressed by compress()', async () => {
    const home = await request('GET', '/', { 'accept-encoding': 'gzip' });
    expect(home.status, output).toBe(200);
    expect(home.headers['content-encoding']).toBe('gzip');
    expect(home.body).toContain('mortar demo');
  });

  it('answers /hello from helloWorld()', async () => {
    expect((await request('GET', '/hello')).body).toBe('Hello, world!\n');
  });

  it("writes the access log's lines, batched after the response (waitUntil)", async () => {
    await request('GET', '/hello?logged=1');
    for (let i = 0; i < 100 && !output.includes('/hello?logged=1'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(output).toMatch(/"GET \/hello\?logged=1[^"]*" 200 14 /);
  });

  it('mounts the Hono API unchanged, and urlmap shifts the environ', async () => {
    const echo = await request('GET', '/api/echo/hi');
    expect(JSON.parse(echo.body)).toEqual({ word: 'hi', url: `${base}/echo/hi` });
    const where = await request('GET', '/nested/where/deeper?x=1');
    expect(where.body).toContain('<td><code>&quot;/nested/where&quot;</code></td>');
    expect(where.body).toContain('<td><code>&quot;/deeper&quot;</code></td>');
    expect(where.body).toContain('<td><code>fetch</code></td>');
  });

  it('keeps a cookie session across requests', async () => {
    const first = await request('GET', '/account/visits');
    const cookie = cookieOf(first);
    expect(cookie).toMatch(/^mortar_session=Fe26\.2\*/);
    const second = await request('GET', '/account/visits', { cookie });
    expect(second.body).toMatch(/<strong>2<\/strong> times/);
  });

  it('signs in through a csrf-protected form, and refuses a POST without the token', async () => {
    const form = await request('GET', '/account/');
    const cookie = cookieOf(form);
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
    expect(token).toBeDefined();
    const type = { 'content-type': 'application/x-www-form-urlencoded', cookie };
    const forged = await request('POST', '/account/login', type, 'user=ann');
    expect(forged.status, output).toBe(403);
    const login = await request('POST', '/account/login', type, `user=ann&_csrf=${token}`);
    expect(login.status).toBe(303);
    const after = await request('GET', '/account/', { cookie: cookieOf(login) });
    expect(after.body).toContain('Signed in as <strong>ann</strong>');
  });

  it('refuses a body over bodyLimit() with 413', async () => {
    const big = 'x'.repeat(65 * 1024);
    const type = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await request('POST', '/account/login', type, big)).status).toBe(413);
  });

  it('answers a thrown error with errors() page and an error id', async () => {
    const boom = await request('GET', '/boom/sync', { accept: 'text/plain' });
    expect(boom.status).toBe(500);
    expect(boom.body).toContain(`Error id: ${boom.headers['x-error-id']}`);
    expect(boom.body).not.toContain('no price');
  });

  it("reads the worker's env through getWorkersEnv", async () => {
    expect(JSON.parse((await request('GET', '/runtime')).body)).toMatchObject({
      runtime: 'workers',
      greeting: 'Hello from a workerd binding',
    });
  });

  it('finishes a task given to waitUntil after the response (ctx.waitUntil)', async () => {
    const finished = async () =>
      (JSON.parse((await request('GET', '/later/finished')).body) as { finished: number }).finished;
    const before = await finished();
    expect((await request('GET', '/later')).status).toBe(200);
    let now = before;
    for (let i = 0; i < 100 && now === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = await finished();
    }
    expect(now, output).toBe(before + 1);
  });
});
