/**
 * `mortar new` as a user meets it: mortar packed (`npm pack`) and installed from the tarball
 * into the project it wrote, the project's own `npm test`, and `npm start` serving its home
 * page. Needs the npm registry for the project's devDependencies (typescript, vitest), as
 * `npm install` does; npm's cache from mortar's own install serves them offline.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;

function mortar(args: string[], cwd: string) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-new-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mortar new', () => {
  it('refuses a name npm would refuse, a folder that is not empty, and an unknown template', () => {
    const capital = mortar(['new', 'Shop'], dir);
    expect(capital.status).toBe(2);
    expect(capital.stderr).toMatch(/^mortar: "Shop" is not a name npm accepts: .*capital letters/);
    mkdirSync(path.join(dir, 'taken'));
    writeFileSync(path.join(dir, 'taken', 'keep.txt'), 'mine');
    const taken = mortar(['new', 'taken'], dir);
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/taken exists and is not an empty folder/);
    expect(readFileSync(path.join(dir, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
    expect(mortar(['new', 'x', '--template', 'huge'], dir).stderr).toMatch(
      /--template must be full or minimal/,
    );
  });

  it('--template minimal writes only package.json and the application', () => {
    const made = mortar(['new', '@acme/tiny', '--template', 'minimal'], dir);
    expect(made.status, made.stderr).toBe(0);
    expect(readdirSync(path.join(dir, 'tiny')).sort()).toEqual(['app.ts', 'package.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'tiny', 'package.json'), 'utf8')).name).toBe(
      '@acme/tiny',
    );
  });

  it('writes a project whose npm test passes and whose npm start serves its home page', async () => {
    // npm pack builds (prepack); its notices (one a file) go to a pipe, not the test's output.
    const packed = execFileSync(npm, ['pack', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop()!;
    const made = mortar(['new', 'shop'], dir);
    expect(made.status, made.stderr).toBe(0);
    const project = path.join(dir, 'shop');
    for (const file of [
      'package.json',
      'tsconfig.json',
      'README.md',
      'src/app.ts',
      'src/settings.ts',
      'test/app.test.ts',
      'deploy/nginx-proxy.conf',
      'deploy/nginx-fastcgi.conf',
      'deploy/lighttpd.conf',
      'deploy/app.service',
      '.gitignore',
    ]) {
      expect(existsSync(path.join(project, file)), file).toBe(true);
    }
    execFileSync(
      npm,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, packed)],
      {
        cwd: project,
        stdio: 'ignore',
        env: { ...process.env, CI: 'true' },
      },
    );
    const test = spawnSync(npm, ['test'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(test.status, `${test.stdout}${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/2 passed/);
    const check = spawnSync(npm, ['run', 'check'], { cwd: project, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    // mortar's published types, checked too (no skipLibCheck), with no DOM lib (the
    // template's lib is ES2023: the fetch types come from @types/node), under nodenext and
    // under a bundler's resolution.
    const tsc = path.join(project, 'node_modules/typescript/bin/tsc');
    for (const extra of [[], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
      const types = spawnSync(
        process.execPath,
        [tsc, '--noEmit', '--skipLibCheck', 'false', ...extra],
        {
          cwd: project,
          encoding: 'utf8',
        },
      );
      expect(types.status, `${extra.join(' ')}: ${types.stdout}`).toBe(0);
    }

    const production = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "await import('./src/settings.ts')"],
      {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, NODE_ENV: 'production', SESSION_SECRET: '' },
      },
    );
    expect(production.status).not.toBe(0);
    expect(production.stderr).toMatch(/settings: SESSION_SECRET must be at least 32 characters/);

    const port = await freePort();
    // The start script's command, run as npm runs it (node_modules/.bin/mortar) but without
    // npm's own processes in between, so that stopping it stops the server.
    const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
    const [command, ...args] = (pkg.scripts.start as string).split(' ');
    expect(command).toBe('mortar');
    const server = spawn(path.join(project, 'node_modules/.bin/mortar'), args, {
      cwd: project,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout!.on('data', (c) => {
      output += c;
    });
    server.stderr!.on('data', (c) => {
      output += c;
    });
    try {
      let home: Response | undefined;
      for (let i = 0; i < 200 && !home; i++) {
        home = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        if (!home) await new Promise((r) => setTimeout(r, 50));
      }
      expect(home?.status, output).toBe(200);
      expect(await home!.text()).toContain('Visits in this session: 1');
      expect(output).toMatch(/SESSION_SECRET is not set; using a random one/);
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  }, 240_000);
});
