/**
 * `mortar serve --reload` as a user runs it: a real reloader process, its real server child
 * answering HTTP, and files saved the ways editors save them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';

const bin = fileURLToPath(new URL('../../bin/mortar.js', import.meta.url));
let dir: string;
let reloader: ChildProcess | undefined;
afterEach(() => {
  reloader?.kill('SIGKILL');
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const app = (word: string) =>
  `import { word } from './lib/word.ts';\nexport default { fetch: () => new Response('${word} ' + word) };\n`;
const lib = (word: string) => `export const word = '${word}';\n`;

/** Starts `mortar serve app.ts --reload` in a new folder holding `files`. */
async function startReload(files: Record<string, string>) {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-reload-'));
  for (const [name, text] of Object.entries(files)) write(name, text);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, 'serve', 'app.ts', '--port', String(port), '--reload'],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  reloader = child;
  let output = '';
  child.stdout!.on('data', (c) => {
    output += c;
  });
  child.stderr!.on('data', (c) => {
    output += c;
  });
  await until(
    () => output.includes('serving app.ts on'),
    () => output,
  );
  return { child, output: () => output, get: () => get(port) };
}

/** `write(name, text)` in the test's folder, making its folder first. */
function write(name: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

/** Saves as `sed -i` and safe-writing editors do: a new file, renamed over the old one. */
function renameOver(name: string, text: string): void {
  const temp = path.join(dir, path.dirname(name), `.${path.basename(name)}.tmp${Math.random()}`);
  writeFileSync(temp, text);
  renameSync(temp, path.join(dir, name));
}

/** Saves as vim does by default: the old file renamed to a backup, a new one, the backup gone. */
function vimSave(name: string, text: string): void {
  renameSync(path.join(dir, name), path.join(dir, `${name}~`));
  writeFileSync(path.join(dir, name), text);
  unlinkSync(path.join(dir, `${name}~`));
}

/** The server's answer as "status body", or "down" when nothing listens. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
        let body = '';
        response.on('data', (c) => {
          body += c;
        });
        response.on('end', () => resolve(`${response.statusCode} ${body}`));
      })
      .on('error', () => resolve('down'));
  });
}

/** Polls `check` until it holds; fails (showing `shown()`) after 30 seconds. */
async function until(check: () => boolean | Promise<boolean>, shown = () => '') {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting:\n${shown()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the server answers `expected`, showing what it answered and printed if not. */
async function answers(started: { get(): Promise<string>; output(): string }, expected: string) {
  let last = '';
  await until(
    async () => {
      last = await started.get();
      return last === expected;
    },
    () => `last answer: ${last}\n${started.output()}`,
  );
}

// Each test restarts the server several times, each restart a process start.
describe('mortar serve --reload', { timeout: 120_000 }, () => {
  it('restarts on every save of the same file: in place, renamed over (sed -i), vim-style', async () => {
    const started = await startReload({ 'app.ts': app('one'), 'lib/word.ts': lib('a') });
    await answers(started, '200 one a');
    write('lib/word.ts', lib('in place'));
    await answers(started, '200 one in place');
    for (const n of [1, 2, 3]) {
      renameOver('lib/word.ts', lib(`renamed ${n}`));
      await answers(started, `200 ${n === 1 ? 'one' : `app ${n - 1}`} renamed ${n}`);
      renameOver('app.ts', app(`app ${n}`));
      await answers(started, `200 app ${n} renamed ${n}`);
    }
    for (const n of [1, 2]) {
      vimSave('lib/word.ts', lib(`vim ${n}`));
      await answers(started, `200 app 3 vim ${n}`);
    }
    write('lib/word.ts', lib('in place again'));
    await answers(started, '200 app 3 in place again');
  });

  it('closes open WebSockets with 1012 (service restart) when it restarts', async () => {
    const websocket = fileURLToPath(
      new URL('../../middleware/websocket/index.ts', import.meta.url),
    );
    const socketApp = (word: string) =>
      `import { webSocket } from ${JSON.stringify(websocket)};\nexport default webSocket({ open: (peer) => peer.send('${word}') });\n`;
    const started = await startReload({ 'app.ts': socketApp('one') });
    const url = /serving app\.ts on (http:\/\/\S+)/.exec(started.output())![1]!;
    const ws = new WebSocket(url.replace(/^http/, 'ws'));
    const first = await new Promise((resolve, reject) => {
      ws.onmessage = (event) => resolve(event.data);
      ws.onerror = reject;
    });
    expect(first).toBe('one');
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (event) => resolve(event.code);
    });
    renameOver('app.ts', socketApp('two'));
    expect(await closed).toBe(1012);
  });

  it('restarts for a new file, in a new folder too, and for a deleted one', async () => {
    const listing = `import { readdirSync } from 'node:fs';
const names = readdirSync('routes', { recursive: true }).map(String).filter((n) => n.endsWith('.ts')).sort();
export default { fetch: () => new Response(names.join(',')) };\n`;
    const started = await startReload({ 'app.ts': listing, 'routes/a.ts': '', 'routes/b.ts': '' });
    await answers(started, '200 a.ts,b.ts');
    write('routes/c.ts', '');
    await answers(started, '200 a.ts,b.ts,c.ts');
    write('routes/admin/d.ts', '');
    await answers(started, '200 a.ts,admin/d.ts,b.ts,c.ts');
    unlinkSync(path.join(dir, 'routes/b.ts'));
    await answers(started, '200 a.ts,admin/d.ts,c.ts');
    rmSync(path.join(dir, 'routes/admin'), { recursive: true });
    await answers(started, '200 a.ts,c.ts');
    renameOver('routes/c.ts', '// saved');
    write('routes/e.ts', '');
    await answers(started, '200 a.ts,c.ts,e.ts');
    write('.env', 'X=1\n'); // a dot-file that is source, unlike a dot-folder
    await until(() => started.output().includes('.env changed; restarting'), started.output);
  });

  it('shows a syntax error instead of the old code answering, then serves the next save', async () => {
    const started = await startReload({ 'app.ts': app('one'), 'lib/word.ts': lib('a') });
    renameOver('lib/word.ts', lib('b'));
    await answers(started, '200 one b');
    const before = started.output().length;
    renameOver('lib/word.ts', "export const word = 'unclosed;\n");
    await until(
      () => started.output().slice(before).includes('waiting for a file change'),
      started.output,
    );
    expect(started.output().slice(before)).toMatch(/word\.ts:1/);
    expect(await started.get()).toBe('down');
    renameOver('lib/word.ts', lib('fixed'));
    await answers(started, '200 one fixed');
  });

  it.skipIf(process.platform !== 'linux')(
    'watches no folder it ignores: a large node_modules, .git and dist cost no watches',
    async () => {
      const folders: Record<string, string> = { 'app.ts': app('one'), 'lib/word.ts': lib('a') };
      for (let i = 0; i < 1000; i++) {
        for (const top of ['node_modules', '.git', 'dist']) folders[`${top}/p${i}/index.js`] = '';
      }
      const started = await startReload(folders);
      await answers(started, '200 one a');
      const watches = inotifyWatches(started.child.pid!);
      expect(watches).toBeGreaterThanOrEqual(2); // the root and lib/: it measured the watcher
      expect(watches).toBeLessThan(50);
      write('node_modules/p1/index.js', '// changed');
      write('lib/word.ts', lib('b'));
      await answers(started, '200 one b');
      expect(started.output()).not.toContain('node_modules');
    },
  );
});

/** How many inotify watches process `pid` holds (Linux: /proc/PID/fdinfo). */
function inotifyWatches(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:inotify') continue;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}
