/**
 * The package as npm publishes it, made where a new user makes it: a clean copy of the tree
 * (what `git clone` gives: no dist/; mortar's own node_modules linked in, standing for
 * `npm ci`), `npm pack` — with no build run first — then installed into a project `mortar new` wrote, production dependencies only
 * (`npm install --omit=dev`), as a server is deployed. Counts what that install weighs, serves
 * a JavaScript application from it over HTTP, imports every export, and reads the one-line
 * messages of the optional peers (tsx, tough-cookie, proper-lockfile) that it leaves out.
 * Needs npm's cache from mortar's own install (the registry otherwise), as `npm install` does.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
let dir: string;
let project: string;
let tarball: string;

/** Runs a command to completion; its output shows only when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...env },
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result;
}

/** The files `git clone` of this tree would give (committed or not, unless ignored). */
function copyTree(to: string): void {
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  ).split('\0');
  for (const file of files) {
    const from = path.join(root, file);
    if (!file || !existsSync(from)) continue;
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    copyFileSync(from, path.join(to, file));
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-package-'));
  const clone = path.join(dir, 'clone');
  copyTree(clone);
  expect(existsSync(path.join(clone, 'dist'))).toBe(false);
  symlinkSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'));
  const packs = path.join(dir, 'packs');
  mkdirSync(packs);
  run(npm, ['pack', '--pack-destination', packs, '--loglevel=error'], clone);
  tarball = path.join(packs, readdirSync(packs).find((name) => name.endsWith('.tgz'))!);
  run(process.execPath, [path.join(clone, 'bin/mortar.js'), 'new', 'shop'], dir);
  project = path.join(dir, 'shop');
  run(npm, ['install', '--omit=dev', ...quiet, tarball], project);
}, 300_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

/** The packages under a node_modules folder (scoped and nested ones too), and their bytes. */
function weigh(modules: string): { packages: string[]; bytes: number } {
  const packages: string[] = [];
  let bytes = 0;
  const sizeOf = (file: string): void => {
    const stat = lstatSync(file);
    if (stat.isDirectory()) for (const entry of readdirSync(file)) sizeOf(path.join(file, entry));
    else bytes += stat.size;
  };
  const walk = (folder: string, prefix: string): void => {
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        walk(path.join(folder, entry), `${prefix}${entry}/`);
        continue;
      }
      const where = path.join(folder, entry);
      packages.push(`${prefix}${entry}`);
      if (existsSync(path.join(where, 'node_modules'))) walk(path.join(where, 'node_modules'), '');
    }
  };
  walk(modules, '');
  sizeOf(modules);
  return { packages: packages.sort(), bytes };
}

/** Starts `mortar serve` from the installed package; resolves with the URL it announces. */
function serve(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(path.join(project, 'node_modules/.bin/mortar'), ['serve', ...args], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk;
      const url = / on (http:\/\/\S+?)\/?\s/.exec(output)?.[1];
      if (url) resolve({ child, url });
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`mortar serve exited ${code}:\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('npm pack from a clean clone, installed with --omit=dev', () => {
  // The budget: mortar and its own dependencies (13: undici is mortar/proxy/node's HTTP client,
  // crossws and ws carry WebSockets), and the 9 of ioredis, which the template's Redis session
  // store needs (its lifespan connects it); what a subpath alone needs (proper-lockfile,
  // lru-cache, http-cache-semantics) is an optional peer the user installs.
  it('weighs at most 7 MB in at most 22 packages, with no TypeScript loader or cookie jar', () => {
    const { packages, bytes } = weigh(path.join(project, 'node_modules'));
    const figures = `${packages.length} packages, ${bytes} bytes: ${packages.join(', ')}`;
    expect(packages.length, figures).toBeLessThanOrEqual(22);
    expect(bytes, figures).toBeLessThanOrEqual(7_000_000);
    for (const absent of [
      'tsx',
      'esbuild',
      'tough-cookie',
      'tldts',
      'proper-lockfile',
      'chokidar',
    ]) {
      expect(packages, absent).not.toContain(absent);
    }
  });

  it('serves a JavaScript application over HTTP with the installed mortar command', async () => {
    writeFileSync(
      path.join(project, 'hello.js'),
      "export default () => new Response('hello from the package\\n');\n",
    );
    const { child, url } = await serve(['hello.js', '--port', '0']);
    try {
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('hello from the package\n');
    } finally {
      await stop(child);
    }
  });

  it('imports every export of the package (its built modules and their assets)', () => {
    const { exports } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const names = Object.keys(exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'mortar' : `mortar/${key.slice(2)}`));
    const script = `for (const name of ${JSON.stringify(names)}) {
      const module = await import(name);
      if (Object.keys(module).length === 0) throw new Error(name + ' exports nothing');
    }
    const { compose } = await import('mortar');
    console.log(typeof compose);`;
    const result = run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(result.stdout).toBe('function\n');
  });

  it('says in one line what to install for TypeScript, --reload, the test client, lint and FileStore', () => {
    const typescript = spawnSync(
      path.join(project, 'node_modules/.bin/mortar'),
      ['serve', 'src/app.ts', '--port', '0'],
      { cwd: project, encoding: 'utf8' },
    );
    expect(typescript.status).toBe(2);
    expect(typescript.stderr).toBe(
      'mortar: serving src/app.ts needs tsx: npm install -D tsx (or serve the built JavaScript)\n',
    );
    const reload = spawnSync(
      path.join(project, 'node_modules/.bin/mortar'),
      ['serve', 'src/app.ts', '--port', '0', '--reload'],
      { cwd: project, encoding: 'utf8' },
    );
    expect(reload.status).toBe(2);
    expect(reload.stderr).toBe('mortar: --reload needs chokidar: npm install -D chokidar\n');
    const script = `const tries = {
      testClient: async () => new (await import('mortar/testing')).TestClient(() => new Response()),
      lint: async () => (await import('mortar/lint')).lint(),
      fileStore: async () => new (await import('mortar/session/file')).FileStore('sessions'),
    };
    for (const [name, attempt] of Object.entries(tries)) {
      await attempt().then(() => console.log(name + ': loaded'), (error) => console.log(name + ': ' + error.message));
    }`;
    const result = run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(result.stdout.split('\n')).toEqual([
      "testClient: TestClient's cookie jar needs tough-cookie: npm install -D tough-cookie",
      "lint: lint's Set-Cookie check needs tough-cookie: npm install -D tough-cookie",
      'fileStore: FileStore needs proper-lockfile: npm install proper-lockfile',
      '',
    ]);
  });

  it('with the dev dependencies the scaffold lists, serves its TypeScript and runs its tests', async () => {
    run(npm, ['install', ...quiet], project);
    const { child, url } = await serve(['src/app.ts', '--port', '0']);
    try {
      const home = await fetch(`${url}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('Visits in this session: 1');
    } finally {
      await stop(child);
    }
    expect(run(npm, ['test', '--silent'], project).stdout).toMatch(/2 passed/);
  }, 120_000);

  it('serves the built project as its deploy files do, from a production install', async () => {
    run(npm, ['run', 'build', '--silent'], project);
    run(npm, ['prune', '--omit=dev', ...quiet], project);
    expect(existsSync(path.join(project, 'node_modules/tsx'))).toBe(false);
    const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
    const [command, ...args] = (pkg.scripts.serve as string).split(' ');
    expect(command).toBe('mortar');
    expect(args[0]).toBe('serve');
    const { child, url } = await serve([...args.slice(1), '--port', '0'], {
      NODE_ENV: 'production',
      SESSION_SECRET: 'a-secret-made-for-this-test-0123456789abcdef',
    });
    try {
      const home = await fetch(`${url}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('Visits in this session: 1');
      const style = await fetch(`${url}/static/style.css`);
      expect(style.status).toBe(200);
    } finally {
      await stop(child);
    }
  }, 120_000);
});
