/**
 * `mortar serve --workers N`: processes sharing the port, replacing the dead, draining on
 * SIGTERM, and replacing themselves one by one on SIGHUP without dropping a request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * GET on a fresh connection (so the cluster can hand it to any worker); rejects when no answer
 * came within `timeout` milliseconds — a hung connection is a failure, never a hung test.
 */
function get(url: string, timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http
      .get(url, { agent: false, timeout }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeout} ms`)));
  });
}

/** Resolves once the process's output matches `pattern`; rejects after `timeout` ms. */
async function waitFor(output: () => string, pattern: RegExp, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startWorkers(count: number, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      'test/fixtures/workers-app.ts',
      '--port',
      String(port),
      '--workers',
      String(count),
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  children.push(child);
  let output = '';
  child.stderr!.on('data', (c) => {
    output += c;
  });
  for (let i = 0; i < 300 && !output.includes(`${count} workers serving`); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!output.includes(`${count} workers serving`))
    throw new Error(`workers did not start:\n${output}`);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${port}/`, output: () => output, exit };
}

async function pids(url: string, requests = 30): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) seen.add(await get(url));
  return seen;
}

describe('mortar serve --workers', () => {
  it('serves from N processes on one port, and replaces a worker that dies', async () => {
    const { url, output } = await startWorkers(2);
    const first = await pids(url);
    expect(first.size).toBe(2);
    const victim = [...first][0]!;
    process.kill(Number(victim), 'SIGKILL');
    let now = new Set<string>();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await pids(url, 10);
      if (now.size === 2 && !now.has(victim)) break;
    }
    expect(now.size).toBe(2);
    expect(now.has(victim)).toBe(false);
    expect(output()).toMatch(new RegExp(`worker ${victim} died \\(SIGKILL\\); starting another`));
  });

  it('on SIGTERM lets in-flight requests finish in every worker, then exits 0', async () => {
    const { child, url, exit } = await startWorkers(2);
    const inflight = [get(`${url}?ms=800`), get(`${url}?ms=800`), get(`${url}?ms=800`)];
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const answers = await Promise.all(inflight);
    for (const answer of answers) expect(answer).toMatch(/^\d+$/);
    expect(await exit).toBe(0);
  });

  it('on SIGHUP replaces every worker without dropping a request', async () => {
    const { child, url, output } = await startWorkers(2);
    const before = await pids(url);
    let failures = 0;
    let served = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        try {
          await get(`${url}?ms=20`);
          served++;
        } catch {
          failures++;
        }
      }
    })();
    child.kill('SIGHUP');
    await waitFor(output, /SIGHUP: 2 workers replaced/);
    running = false;
    await load;
    const after = await pids(url);
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(10);
    expect(after.size).toBe(2);
    for (const pid of after) expect(before.has(pid)).toBe(false);
  });

  it('keeps the old workers serving when a SIGHUP brings a deploy that fails to start', async () => {
    const flag = path.join(tmpdir(), `mortar-broken-${process.pid}-${Date.now()}`);
    const { child, url, output } = await startWorkers(2, { MORTAR_TEST_BROKEN: flag });
    const before = await pids(url);
    writeFileSync(flag, '');
    try {
      child.kill('SIGHUP');
      await waitFor(output, /a new worker failed .*; the old workers keep serving/);
      expect(child.exitCode).toBeNull();
      expect(await pids(url)).toEqual(before);
    } finally {
      rmSync(flag, { force: true });
    }
    child.kill('SIGHUP');
    await waitFor(output, /SIGHUP: 2 workers replaced/);
    const after = await pids(url);
    for (const pid of after) expect(before.has(pid)).toBe(false);
  });

  it('runs one reload at a time: a second SIGHUP during a reload queues one more', async () => {
    const { child, url, output } = await startWorkers(2);
    child.kill('SIGHUP');
    await waitFor(output, /SIGHUP: replacing workers/);
    child.kill('SIGHUP'); // during the reload: queued, not run alongside
    await waitFor(output, /SIGHUP: 2 workers replaced[\s\S]*SIGHUP: 2 workers replaced/);
    expect((output().match(/SIGHUP: replacing workers/g) ?? []).length).toBe(2);
    expect((await pids(url)).size).toBe(2);
  });
});
