/**
 * blockWatch(): a real `mortar serve` of test/fixtures/blocking.ts, real blocks of its event
 * loop (a busy loop, a catastrophic regular expression, readFileSync of a 16 MB file over and
 * over for 300 ms), one line each naming the request and the TypeScript line.
 */

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PinGate } from '../../middleware/_shared/pin.js';
import { blockWatch, stopBlockWatch } from '../../middleware/block-watch/index.js';
import { root, run, served } from '../e2e/cli-run.js';

const fixture = 'test/fixtures/blocking.ts';
const source = readFileSync(path.join(root, fixture), 'utf8').split('\n');
/** The 1-based line of the fixture that carries `// BLOCK: name`. */
const lineOf = (name: string) => source.findIndex((l) => l.includes(`// BLOCK: ${name}`)) + 1;

/**
 * The two ways of following requests: the async stack of the blocking code (the default) and
 * AsyncLocalStorage (`storage: true`), which follows timers too.
 */
const modes: { name: string; env: Record<string, string>; storage: boolean; how: string }[] = [
  { name: 'the async stack', env: {}, storage: false, how: 'requests found on the async stack' },
  {
    name: 'storage: true',
    env: { BLOCK_STORAGE: '1' },
    storage: true,
    how: 'requests followed by AsyncLocalStorage',
  },
];

let dir: string;
let bigFile: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mortar-block-'));
  bigFile = path.join(dir, 'big');
  writeFileSync(bigFile, Buffer.alloc(16 * 1024 * 1024, 1));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The block lines of the server's output. */
const blockLines = (output: string) =>
  output.split('\n').filter((line) => line.startsWith('mortar block-watch: blocked'));

/** Waits until the server wrote `count` block lines (or fails after 10 s). */
async function linesWhen(output: () => string, count: number): Promise<string[]> {
  for (let i = 0; i < 200 && blockLines(output()).length < count; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return blockLines(output());
}

async function start(env: Record<string, string> = {}) {
  const server = run(['serve', fixture, '--port', '0'], { env: { BIG_FILE: bigFile, ...env } });
  const url = await served(server);
  for (let i = 0; i < 200 && !server.output().includes('block-watch: watching'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { server, url };
}

describe('blockWatch()', () => {
  for (const [route, marker] of [
    ['/busy', 'busy'],
    ['/regex', 'regex'],
    ['/read', 'read'],
  ] as const) {
    it(`names the request and the TypeScript line of a block (${marker})`, async () => {
      const { server, url } = await start();
      const response = await fetch(new URL(route, url));
      expect(response.status).toBe(200);
      const id = response.headers.get('x-request-id');
      const lines = await linesWhen(server.output, 1);
      // Give a second line, if one were coming, the time to come.
      await fetch(new URL('/await', url));
      expect(blockLines(server.output())).toEqual(lines);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`by GET ${route} (id ${id})`);
      expect(lines[0]).toMatch(new RegExp(`at \\w+ \\(${fixture}:${lineOf(marker)}:\\d+\\)`));
    });
  }

  for (const mode of modes) {
    it(`writes nothing for a slow await, and names the right one of concurrent requests (${mode.name})`, async () => {
      const { server, url } = await start(mode.env);
      expect(server.output()).toContain(mode.how);
      const [waited, blocked] = await Promise.all([
        fetch(new URL('/await', url)),
        fetch(new URL('/later-busy', url)),
      ]);
      const lines = await linesWhen(server.output, 1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`by GET /later-busy (id ${blocked.headers.get('x-request-id')})`);
      expect(lines[0]).not.toContain(waited.headers.get('x-request-id')!);
      expect(lines[0]).toContain(`${fixture}:${lineOf('busy')}:`);
      await fetch(new URL('/await', url));
      expect(blockLines(server.output())).toHaveLength(1);
    });

    it(`names code a request left running as its request only with AsyncLocalStorage (${mode.name})`, async () => {
      const { server, url } = await start(mode.env);
      const response = await fetch(new URL('/timer-busy', url));
      const id = response.headers.get('x-request-id');
      const lines = await linesWhen(server.output, 1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        mode.storage ? `by GET /timer-busy (id ${id})` : 'by no request on its async stack',
      );
      expect(lines[0]).toContain(`${fixture}:${lineOf('busy')}:`);
    });
  }

  it('adds no promise hook to the process, the cost of AsyncLocalStorage on Node 20 and 22', async () => {
    const { url } = await start();
    expect(await (await fetch(new URL('/hooks', url))).text()).toBe('false');
  });

  it('works beside debug() capturing locals, which lists the recent blocks on its page', async () => {
    const secret = randomBytes(32).toString('hex');
    const secretFile = path.join(dir, 'debug-secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const { server, url } = await start({
      WITH_DEBUG: '1',
      NODE_ENV: 'development',
      SECRET_FILE: secretFile,
    });
    expect((await fetch(new URL('/throw', url))).status).toBe(500);
    const response = await fetch(new URL('/busy', url));
    const id = response.headers.get('x-request-id');
    const lines = await linesWhen(server.output, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`by GET /busy (id ${id})`);
    expect(lines[0]).toContain(`${fixture}:${lineOf('busy')}:`);
    const cookie = new PinGate(secret).cookie('/', false).split(';')[0]!;
    const page = await fetch(new URL('/throw', url), { headers: { cookie, accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('Recent event-loop blocks');
    expect(html).toContain(`GET /busy (id ${id}) at busy (${fixture}:${lineOf('busy')}:`);
  });

  it('refuses a second blockWatch() that follows requests the other way (one watchdog a process)', async () => {
    blockWatch({ log: () => {} });
    try {
      expect(() => blockWatch({ storage: true, log: () => {} })).toThrow(
        /blockWatch: option "storage" must be the running watchdog's, false/,
      );
    } finally {
      await stopBlockWatch();
    }
  });

  it('lets a process whose work is done end (its worker does not hold it)', async () => {
    const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
    const child = spawn(
      process.execPath,
      [tsx, path.join(root, 'test/fixtures/watch-and-end.ts')],
      {
        timeout: 15_000,
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(output).toContain('done');
    expect(code).toBe(0);
  });
});
