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

/** `mortar serve` of the fixture on a free port: with `--workers count`, or one process for 0. */
async function startWorkers(count: number, env: Record<string, string> = {}) {
  const port = await freePort();
  const workers = count > 0 ? ['--workers', String(count)] : [];
  const child = spawn(
    process.execPath,
    [bin, 'serve', 'test/fixtures/workers-app.ts', '--port', String(port), ...workers],
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
  const ready = count > 0 ? `${count} workers serving` : 'serving';
  for (let i = 0; i < 300 && !output.includes(ready); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!output.includes(ready)) throw new Error(`workers did not start:\n${output}`);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${port}/`, output: () => output, exit };
}

/**
 * Four clients asking one after another over keep-alive connections (the global fetch,
 * undici), until `stop()`; it resolves with how many were answered and how each failure
 * failed (its error code). `until` ends a client early on a failure it names.
 */
function keepAliveLoad(url: string, until?: (code: string) => boolean) {
  let running = true;
  let served = 0;
  const failures: string[] = [];
  const client = async (): Promise<void> => {
    while (running) {
      try {
        const response = await fetch(url);
        if (/^\d+$/.test(await response.text())) served++;
        else failures.push(`status ${response.status}`);
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const code = cause?.code ?? cause?.message ?? String(error);
        failures.push(code);
        if (until?.(code)) return;
      }
    }
  };
  const clients = Promise.all([client(), client(), client(), client()]);
  return {
    async stop() {
      running = false;
      await clients;
      return { served, failures };
    },
    finished: () => clients.then(() => ({ served, failures })),
    /** Resolves once `count` requests have been answered (their connections are kept). */
    async answered(count: number) {
      while (served < count && running) await new Promise((r) => setTimeout(r, 10));
    },
  };
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

  it('loses no request of four keep-alive clients over eight SIGHUPs 1.5 s apart', async () => {
    // A draining worker answers the next request on each keep-alive connection with
    // `Connection: close`, and closes an idle one only after the keep-alive timeout it told
    // the client: no connection is closed under a request on its way.
    const { child, url, output } = await startWorkers(2);
    const before = await pids(url);
    const load = keepAliveLoad(url);
    for (let reload = 0; reload < 8; reload++) {
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGHUP');
    }
    // Every reload begun (a SIGHUP during one queues one more) has finished.
    const count = (line: RegExp) => output().match(line)?.length ?? 0;
    for (let i = 0; count(/SIGHUP: replacing/g) > count(/SIGHUP: 2 workers replaced/g); i++) {
      if (i > 3000) throw new Error(`a reload did not finish:\n${output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { served, failures } = await load.stop();
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(100);
    for (const pid of await pids(url)) expect(before.has(pid)).toBe(false);
  }, 60_000);

  for (const workers of [0, 2]) {
    it(`on SIGTERM${workers ? ` (--workers ${workers})` : ''} answers every request its keep-alive clients sent`, async () => {
      // Once the server stops listening, a new connection is refused: such a request was never
      // sent, and a client may retry it elsewhere. Every request that was sent is answered:
      // no connection is reset or closed under a request.
      for (let round = 1; round <= 2; round++) {
        const { child, url, exit } = await startWorkers(workers);
        const load = keepAliveLoad(url, (code) => code === 'ECONNREFUSED');
        await load.answered(8); // the clients are under way (their first answers came)
        await new Promise((r) => setTimeout(r, 300));
        child.kill('SIGTERM');
        expect(await exit).toBe(0);
        const { served, failures } = await load.finished();
        expect({ round, lost: failures.filter((code) => code !== 'ECONNREFUSED') }).toEqual({
          round,
          lost: [],
        });
        expect(served).toBeGreaterThan(0);
      }
    }, 60_000);
  }
});
