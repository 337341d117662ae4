/**
 * Lifespans under `mortar serve`, `mortar cgi` and `--workers`/`--reload`, as real processes:
 * the fixture (test/fixtures/lifespan-app.ts) notes each startup and shutdown in a file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { root, run, served } from './cli-run.js';

const fixture = path.join(root, 'test/fixtures/lifespan-app.ts');
let dir: string;
let logFile: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-lifespan-'));
  logFile = path.join(dir, 'lifespan.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The fixture's notes: `[what, name, pid]` each. */
const notes = (): string[][] =>
  existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '))
    : [];
const events = (): string[] => notes().map(([what, name]) => `${what} ${name}`);

async function until(check: () => boolean, shown: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting:\n${shown()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const env = (more: Record<string, string> = {}) => ({ MORTAR_TEST_LIFESPAN_LOG: logFile, ...more });

describe('mortar serve and lifespans', { timeout: 60_000 }, () => {
  it('runs the mounted lifespans in mount order, shows their state, stops them in reverse on SIGTERM (through --access-log and --lint, which wrap the application)', async () => {
    const server = run(['serve', fixture, '--port', '0', '--access-log', '--lint'], {
      env: env(),
    });
    const url = await served(server);
    expect(events()).toEqual(['start root', 'start alpha', 'start beta']);
    const state = await get(`${url}a/state`);
    expect(JSON.parse(state.body)).toEqual({
      root: `root of ${server.child.pid}`,
      alpha: `alpha of ${server.child.pid}`,
      beta: `beta of ${server.child.pid}`,
    });
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(events().slice(3)).toEqual(['stop beta', 'stop alpha', 'stop root']);
  });

  it('shuts down only after the last in-flight request has finished (SIGTERM during a slow request)', async () => {
    const server = run(['serve', fixture, '--port', '0'], { env: env() });
    const url = await served(server);
    const slow = get(`${url}b/slow`);
    await until(() => events().includes('begin slow'), server.output);
    server.child.kill('SIGTERM');
    await until(() => server.output().includes('SIGTERM: finishing'), server.output);
    expect(events()).not.toContain('stop root'); // the request holds the shutdown back
    writeFileSync(`${logFile}.release`, '');
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    expect(await server.exit).toBe(0);
    expect(events().slice(3)).toEqual([
      'begin slow',
      'end slow',
      'stop beta',
      'stop alpha',
      'stop root',
    ]);
  });

  it('a startup that throws: one line naming the lifespan and why, exit 3, the later ones never started', async () => {
    const port = await freePort();
    const server = run(['serve', fixture, '--port', String(port)], {
      env: env({ MORTAR_TEST_LIFESPAN_FAIL: 'throw' }),
    });
    expect(await server.exit).toBe(3);
    expect(server.output()).toBe(
      'mortar: lifespan "root" failed at startup: cannot reach the database\n',
    );
    expect(events()).toEqual(['start root']);
  });

  it('a startup past --startup-timeout: the port is never bound, exit 3 naming the timeout', async () => {
    const port = await freePort();
    const server = run(['serve', fixture, '--port', String(port), '--startup-timeout', '2000'], {
      env: env({ MORTAR_TEST_LIFESPAN_FAIL: 'hang' }),
    });
    await until(() => events().includes('start root'), server.output);
    expect(await listening(port)).toBe(false); // startup runs before the port is bound
    expect(await server.exit).toBe(3);
    expect(server.output()).toContain(
      'mortar: lifespan "root" did not finish its startup within 2000 ms',
    );
  });

  it('--workers 2: each worker runs its own startups, and its shutdowns on SIGTERM', async () => {
    const server = run(['serve', fixture, '--port', '0', '--workers', '2'], { env: env() });
    await until(() => server.output().includes('2 workers serving'), server.output);
    const roots = notes().filter(([what, name]) => what === 'start' && name === 'root');
    const pids = new Set(roots.map(([, , pid]) => pid));
    expect(pids.size).toBe(2);
    expect(pids.has(String(server.child.pid))).toBe(false); // not the primary
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    const stopped = notes().filter(([what, name]) => what === 'stop' && name === 'root');
    expect(new Set(stopped.map(([, , pid]) => pid))).toEqual(pids);
  });

  it('--workers 2: a SIGHUP whose new worker fails its startup leaves the old workers serving', async () => {
    const server = run(['serve', fixture, '--port', '0', '--workers', '2'], { env: env() });
    await until(() => server.output().includes('2 workers serving'), server.output);
    const url = /serving \S+ on (http:\/\/\S+)/.exec(server.output())![1]!;
    writeFileSync(`${logFile}.fail`, ''); // the next deploy cannot reach its database
    server.child.kill('SIGHUP');
    await until(() => server.output().includes('the old workers keep serving'), server.output);
    expect(server.output()).toContain('lifespan "root" failed at startup');
    expect((await get(`${url}a/state`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  });

  it('--workers 2 whose startup fails: exit 3', async () => {
    const server = run(['serve', fixture, '--port', '0', '--workers', '2'], {
      env: env({ MORTAR_TEST_LIFESPAN_FAIL: 'throw' }),
    });
    expect(await server.exit).toBe(3);
    expect(server.output()).toContain(
      'mortar: lifespan "root" failed at startup: cannot reach the database',
    );
  });

  it('--reload runs the shutdowns before each restart', async () => {
    writeFileSync(
      path.join(dir, 'app.ts'),
      `export { application } from ${JSON.stringify(fixture)};\n`,
    );
    const port = await freePort();
    const server = run(['serve', 'app.ts', '--port', String(port), '--reload'], {
      cwd: dir,
      env: env(),
    });
    await until(() => events().length === 3, server.output);
    const first = notes()[0]![2];
    writeFileSync(path.join(dir, 'app.ts'), `${readFileSync(path.join(dir, 'app.ts'))}// saved\n`);
    await until(() => events().length === 9, server.output);
    expect(notes().map((note) => note.join(' '))).toEqual([
      ...['start root', 'start alpha', 'start beta'].map((what) => `${what} ${first}`),
      ...['stop beta', 'stop alpha', 'stop root'].map((what) => `${what} ${first}`),
      ...['start root', 'start alpha', 'start beta'].map((what) => `${what} ${notes()[6]![2]}`),
    ]);
    expect(notes()[6]![2]).not.toBe(first);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  });
});

describe('mortar cgi and lifespans', () => {
  it('runs the startups before the one request and the shutdowns after it', async () => {
    const cgi = run(['cgi', fixture], {
      env: env({
        REQUEST_METHOD: 'GET',
        REQUEST_URI: '/a/state',
        SCRIPT_NAME: '',
        PATH_INFO: '/a/state',
        QUERY_STRING: '',
        SERVER_NAME: 'localhost',
        SERVER_PORT: '80',
        SERVER_PROTOCOL: 'HTTP/1.1',
        GATEWAY_INTERFACE: 'CGI/1.1',
      }),
    });
    expect(await cgi.exit).toBe(0);
    expect(cgi.output()).toContain(`"alpha":"alpha of ${cgi.child.pid}"`);
    expect(events()).toEqual([
      'start root',
      'start alpha',
      'start beta',
      'stop beta',
      'stop alpha',
      'stop root',
    ]);
  });
});
