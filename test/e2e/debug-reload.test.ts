/**
 * `mortar serve --reload` is development: debug() captures locals from the start there, so the
 * very first error — a POST, which a reload would send again — has its locals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-debug-reload-'));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

const APP = `import { debug } from ${JSON.stringify(pathToFileURL(path.join(root, 'middleware/debug/index.ts')).href)};
export const application = debug({ secretFile: false })(async (request) => {
  const order = await request.json();
  const total = order.items * 3;
  throw new Error('cannot ship ' + total);
});
`;

describe('debug() under mortar serve --reload', () => {
  it('has the locals of the first error', async () => {
    writeFileSync(path.join(dir, 'app.ts'), APP);
    const { NODE_ENV: _, ...env } = process.env; // not development: --reload alone must do
    child = spawn(
      process.execPath,
      [path.join(root, 'bin/mortar.js'), 'serve', 'app.ts', '--port', '0', '--reload'],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stderr!.on('data', (c) => {
      output += c;
    });
    let url = '';
    for (let i = 0; i < 300 && !url; i++) {
      await new Promise((r) => setTimeout(r, 50));
      url = / on (http:\/\/\S+?)\/?\n/.exec(output)?.[1] ?? '';
    }
    expect(url, output).not.toBe('');
    const failed = await fetch(`${url}/order`, { method: 'POST', body: '{"items":4}' });
    expect(failed.status).toBe(500);
    // The PIN line and the response come on different pipes: wait for the line.
    await vi.waitFor(() => expect(output).toMatch(/the debugger PIN is \S+/));
    const pin = /the debugger PIN is (\S+)/.exec(output)?.[1];
    const unlocked = await fetch(`${url}/__debug__/pin`, {
      method: 'POST',
      headers: { origin: url, 'content-type': 'application/json' },
      body: JSON.stringify({ pin }),
    });
    const cookie = unlocked.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await fetch(`${url}/__debug__/error/${failed.headers.get('x-error-id')}`, {
      headers: { cookie, accept: 'application/json' },
    });
    const json = (await page.json()) as { capture: string; locals: Record<string, string>[] };
    expect(json.capture).toBe('on');
    expect(json.locals[0]).toMatchObject({ order: '{ items: 4 }', total: '12' });
  }, 60_000);
});
