/**
 * waitUntil() on Node over real HTTP: a task that outlives its response holds the graceful
 * shutdown that SIGTERM starts until it settles, bounded by shutdownTimeout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
  /** Resolves once the output matches `pattern`. */
  said: (pattern: RegExp) => Promise<void>;
}

async function start(shutdownTimeout: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'test/fixtures/wait-until-server.ts')],
    {
      cwd: root,
      env: { ...process.env, SHUTDOWN_TIMEOUT: String(shutdownTimeout) },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  child.stdin!.on('error', () => {}); // a child that exited early: its output says why
  let output = '';
  const waiters: (() => void)[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const said = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`exited before ${pattern}:\n${output}`);
      await Promise.race([new Promise<void>((wake) => waiters.push(wake)), exit]);
    }
  };
  await said(/listening on (\S+)/);
  const url = /listening on (\S+)/.exec(output)![1]!;
  return { child, url, output: () => output, exit, said };
}

const get = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

describe('waitUntil() on Node', () => {
  it('SIGTERM waits for a task that outlives its response, then exits 0', async () => {
    const server = await start(30_000);
    expect(await get(server.url)).toBe('accepted');
    server.child.kill('SIGTERM');
    await server.said(/server closed/); // drained: only the task holds the process now
    expect(server.child.exitCode).toBeNull();
    server.child.stdin!.write('go\n');
    expect(await server.exit).toBe(0);
    expect(server.output()).toMatch(/task finished/);
  }, 60_000);

  it('gives up on the task at shutdownTimeout, saying so', async () => {
    const server = await start(200);
    expect(await get(server.url)).toBe('accepted');
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(server.output()).toMatch(
      /1 task\(s\) given to waitUntil\(\) still running 200 ms after the shutdown began; exiting without them/,
    );
    expect(server.output()).not.toMatch(/task finished/);
  }, 60_000);
});
