/**
 * `mortar` as a child process, as a user runs it: what the CLI tests share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

export interface Run {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts `mortar ...args` (killed after the test). */
export function run(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Run {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (c) => {
    output += c;
  });
  child.stderr!.on('data', (c) => {
    output += c;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Waits for the "serving … on URL" line and returns the URL. */
export async function served(started: Run): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const match = / on (http:\/\/\S+)/.exec(started.output());
    if (match) return match[1]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mortar serve did not start:\n${started.output()}`);
}
