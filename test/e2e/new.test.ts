/**
 * `mortar new` as README's first lines say, on a fresh clone of this repository: `git clone` of
 * the working copy with its uncommitted changes copied over, and nothing git ignores (dist/,
 * node_modules/), so nothing an earlier test built helps. The clone's `npm install`, then
 * README's line (`node bin/mortar.js new ../shop && cd ../shop && npm install && npm start`) run
 * step by step as written; then the project's own tests, its production settings, and its
 * deploy/ files with real nginx and lighttpd, as test/e2e/deploy-doc.test.ts runs
 * docs/deploy.md (only paths, ports, the worker count and TLS for `listen 80;` replaced).
 * Needs the npm registry, as `npm install` does (npm's cache serves it once filled).
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlocks, root } from '../helpers/doc-blocks.js';
import {
  frontEndsAvailable,
  frontEndsSkipReason,
  startLighttpd,
  startNginx,
  workspace,
} from '../helpers/frontends.js';
import { freePort, which } from '../helpers/net.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../helpers/redis.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];
/** The secret mortar 0.2.0's template published in `.env.example`. */
const PUBLISHED_SECRET = 'change-me-to-32-or-more-random-characters';
let dir: string;
const servers: Server[] = [];

/** Runs a command to its end; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}): ${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/** The working copy cloned into `to`, with what is not committed yet copied over. */
function freshClone(to: string): void {
  run('git', ['clone', '--quiet', root, to], dir);
  const git = (...args: string[]) => run('git', args, root).split('\0').filter(Boolean);
  const changed = [
    ...git('diff', '-z', '--name-only', '--no-renames', 'HEAD'),
    ...git('ls-files', '-z', '--others', '--exclude-standard'),
  ];
  for (const file of changed) {
    const target = path.join(to, file);
    if (!existsSync(path.join(root, file))) {
      rmSync(target, { force: true });
      continue;
    }
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(path.join(root, file), target);
  }
}

interface Server {
  child: ChildProcess;
  output: string;
  /** The exit code when it exited before serving. */
  exitCode?: number | null;
  stop(): Promise<void>;
}

/** Spawns a server; resolves once it says it is serving, or once it exits. */
function serve(command: string, args: string[], options: SpawnOptions): Promise<Server> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: Server = {
    child,
    output: '',
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A detached child leads a process group (npm, its shell, mortar): stop them all.
      process.kill(options.detached ? -child.pid! : child.pid!, 'SIGTERM');
      await exited;
    },
  };
  servers.push(server);
  return new Promise((resolve) => {
    const read = (chunk: Buffer) => {
      server.output += chunk;
      if (/serving .* on /.test(server.output)) resolve(server);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      server.exitCode = code;
      resolve(server);
    });
  });
}

/** The status, Set-Cookie and body of GET `url` (https: a self-signed certificate). */
function get(url: string): Promise<{ status: number; cookies: string[]; body: string }> {
  const client = url.startsWith('https:') ? https : undefined;
  if (!client) {
    return fetch(url).then(async (r) => ({
      status: r.status,
      cookies: r.headers.getSetCookie(),
      body: await r.text(),
    }));
  }
  return new Promise((resolve, reject) => {
    client
      .get(url, { rejectUnauthorized: false }, (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            cookies: response.headers['set-cookie'] ?? [],
            body,
          }),
        );
      })
      .on('error', reject);
  });
}

/** README's line that starts a project from a clone, as its steps. */
function readmeSteps(): string[] {
  const found = fencedBlocks('README.md', ['sh']).filter((b) => /bin\/mortar\.js new/.test(b.code));
  expect(found).toHaveLength(1);
  return found[0]!.code.trim().split(/\s*&&\s*/);
}

let clone: string;
let project: string;
let made: string;
let started: Server;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-new-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("README's first lines on a fresh clone", () => {
  beforeAll(async () => {
    clone = path.join(dir, 'mortar');
    freshClone(clone);
    expect(existsSync(path.join(clone, 'dist'))).toBe(false);
    // README's first block: npm install.
    run(npm, ['install', ...INSTALL_FLAGS], clone);
    const steps = readmeSteps();
    expect(steps[0]).toMatch(/^node bin\/mortar\.js new \S+$/);
    expect(steps.at(-1)).toBe('npm start');
    let cwd = clone;
    for (const step of steps.slice(0, -1)) {
      const [command, ...args] = step.split(/\s+/);
      if (command === 'cd') cwd = path.resolve(cwd, args[0]!);
      else if (command === 'node') made = run(process.execPath, args, cwd);
      else if (command === 'npm' && args[0] === 'install')
        run(npm, [...args, ...INSTALL_FLAGS], cwd);
      else throw new Error(`README's line has a step this test does not know: ${step}`);
    }
    project = cwd;
    started = await serve(npm, ['start'], {
      cwd,
      detached: true,
      env: { ...process.env, PORT: String(await freePort()) },
    });
  }, 300_000);

  it('the line makes a project that installs without the registry and serves its home page', async () => {
    expect(made).toMatch(
      /^mortar: package\.json depends on "file:vendor\/mortar-[\d.]+\.tgz" \(packed by mortar new from .*, which is not installed from the npm registry\)$/m,
    );
    const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('shop');
    const spec = pkg.dependencies.mortar as string;
    expect(existsSync(path.join(project, spec.slice('file:'.length)))).toBe(true);
    // Installed from the tarball: a copy with dist/, not a link to the clone.
    expect(existsSync(path.join(project, 'node_modules/mortar/dist/src/index.js'))).toBe(true);
    expect(started.exitCode, started.output).toBeUndefined();
    const url = /serving .* on (\S+)/.exec(started.output)![1]!;
    const home = await get(url);
    expect(home.status, started.output).toBe(200);
    expect(home.body).toContain('Visits in this session: 1');
    // .env holds the secret: no "using a random one".
    expect(started.output).not.toMatch(/SESSION_SECRET/);
  });

  it('an installed mortar packs itself as it is, unless its lockfile says it came from the registry', () => {
    const installed = path.join(dir, 'installed');
    mkdirSync(installed);
    writeFileSync(path.join(installed, 'package.json'), '{ "name": "installed", "private": true }');
    const tarball = readdirSync(path.join(project, 'vendor'))[0]!;
    run(npm, ['install', ...INSTALL_FLAGS, path.join(project, 'vendor', tarball)], installed);
    const bin = path.join(installed, 'node_modules/.bin/mortar');
    const made = run(bin, ['new', '../from-tarball', '--template', 'minimal'], installed);
    expect(made).toMatch(
      /^mortar: package\.json depends on "file:vendor\/mortar-[\d.]+\.tgz" \(packed by mortar new from .*installed\/node_modules\/mortar, which/m,
    );
    const packed = path.join(dir, 'from-tarball/vendor', tarball);
    expect(run('tar', ['-tzf', packed], dir)).toMatch(/^package\/dist\/src\/index\.js$/m);
    // What npm records for a package it downloaded from the registry.
    const lockfile = path.join(installed, 'node_modules/.package-lock.json');
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    const { version } = lock.packages['node_modules/mortar'];
    lock.packages['node_modules/mortar'].resolved =
      `https://registry.npmjs.org/mortar/-/${tarball}`;
    writeFileSync(lockfile, JSON.stringify(lock));
    run(bin, ['new', '../from-registry', '--template', 'minimal'], installed);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'from-registry/package.json'), 'utf8'));
    expect(pkg.dependencies.mortar).toBe(`^${version}`);
    expect(existsSync(path.join(dir, 'from-registry/vendor'))).toBe(false);
  }, 120_000);

  it("the project's npm test and npm run check pass, and mortar's published types check", () => {
    const test = run(npm, ['test'], project, { CI: 'true' });
    expect(test).toMatch(/2 passed/);
    // The project's check, and mortar's published types with it (no skipLibCheck); no DOM
    // lib (the fetch types come from @types/node); then under a bundler's resolution.
    run(npm, ['run', 'check', '--', '--skipLibCheck', 'false'], project);
    const tsc = path.join(project, 'node_modules/typescript/bin/tsc');
    const bundler = ['--module', 'esnext', '--moduleResolution', 'bundler'];
    run(process.execPath, [tsc, '--noEmit', '--skipLibCheck', 'false', ...bundler], project);
  }, 120_000);

  it('.env holds a random secret; a production start refuses a published one with one line', async () => {
    const secret = /^SESSION_SECRET=(.*)$/m.exec(
      readFileSync(path.join(project, '.env'), 'utf8'),
    )![1]!;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(path.join(project, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    // Every value a template shows (the example's, and 0.2.0's) is refused; the random one
    // appears in no template.
    const templates = path.join(clone, 'cli/templates');
    const texts = readdirSync(templates, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'));
    expect(texts.some((text) => text.includes(secret))).toBe(false);
    const shown = texts.flatMap((t) =>
      [...t.matchAll(/^SESSION_SECRET=(\S+)$/gm)].map((m) => m[1]!),
    );
    // npm start's command, production.
    const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
    const [, ...args] = (pkg.scripts.start as string).split(' ');
    for (const published of new Set([
      PUBLISHED_SECRET,
      ...shown.filter((s) => !s.includes('{{')),
    ])) {
      const refused = await serve(path.join(project, 'node_modules/.bin/mortar'), args, {
        cwd: project,
        env: { ...process.env, NODE_ENV: 'production', SESSION_SECRET: published, PORT: '0' },
      });
      expect(refused.exitCode, refused.output).not.toBe(undefined);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.output).toMatch(
        /^.*settings: SESSION_SECRET is the published example value; make one: node -p .*$/m,
      );
    }
  }, 60_000);

  const redisTitle =
    'with REDIS_URL, sessions in Redis: its client connects before the port is bound (exit 3 when Redis does not answer) and closes after the last request';
  it.skipIf(!redisAvailable)(
    redisAvailable ? redisTitle : `${redisTitle} — skipped: ${redisSkipReason}`,
    async () => {
      const redis = await RedisServer.start();
      const clients = new Redis(redis.url);
      try {
        const [, ...args] = (
          JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')).scripts
            .start as string
        ).split(' ');
        const mortarBin = path.join(project, 'node_modules/.bin/mortar');
        const env = { ...process.env, PORT: '0', REDIS_URL: redis.url };
        const server = await serve(mortarBin, args, { cwd: project, env });
        expect(server.exitCode, server.output).toBeUndefined();
        const url = /serving .* on (\S+)/.exec(server.output)![1]!;
        expect((await get(url)).body).toContain('Visits in this session: 1');
        expect(await clients.keys('mortar:sess:*')).toHaveLength(1);
        // The application's client says QUIT at shutdown (an exit without it would only drop
        // the connection); a MONITOR connection sees every command.
        const monitor = await clients.monitor();
        const commands: string[] = [];
        monitor.on('monitor', (_time: string, command: string[]) => commands.push(command[0]!));
        await server.stop();
        await expect.poll(() => commands).toContain('quit');
        monitor.disconnect();
        const dead = { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
        const refused = await serve(mortarBin, args, { cwd: project, env: dead });
        expect(refused.exitCode, refused.output).toBe(3);
        expect(refused.output).toMatch(
          /^mortar: lifespan "sessionStore" failed at startup: cannot reach Redis \(REDIS_URL\): connect ECONNREFUSED/m,
        );
      } finally {
        clients.disconnect();
        await redis.remove();
      }
    },
    60_000,
  );

  /** The effective group id of nginx's worker processes (children of the master in `pidFile`). */
  function workerGroup(pidFile: string): number {
    const master = readFileSync(pidFile, 'utf8').trim();
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let status: string;
      try {
        status = readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        continue;
      }
      if (/^PPid:\s+(\d+)$/m.exec(status)?.[1] === master) {
        return Number(/^Gid:\s+\d+\s+(\d+)/m.exec(status)![1]);
      }
    }
    throw new Error(`no nginx worker under ${master}`);
  }

  const deployTitle = "the project's deploy/, with real nginx and lighttpd";
  describe.skipIf(!frontEndsAvailable)(
    frontEndsAvailable ? deployTitle : `${deployTitle} — skipped: ${frontEndsSkipReason}`,
    () => {
      const space = () => {
        const made = workspace();
        removes.push(made.remove);
        return made.dir;
      };
      const removes: (() => void)[] = [];
      const stops: (() => Promise<void>)[] = [];
      afterAll(async () => {
        await Promise.all(stops.map((stop) => stop()));
        for (const remove of removes) remove();
      });
      // The units serve the built JavaScript, made as README's "Deploying" says.
      let built = false;
      const deployFile = (name: string) => readFileSync(path.join(project, 'deploy', name), 'utf8');
      /** A unit's ExecStart, run as systemd would: in its WorkingDirectory, production. */
      const unit = (name: string, replace: (line: string) => string, gid?: number) => {
        if (!built) run(npm, ['run', 'build', '--silent'], project);
        built = true;
        const execStart = /^ExecStart=(.+)$/m.exec(deployFile(name))![1]!;
        const [command, ...args] = replace(execStart)
          .replace('/usr/bin/node', process.execPath)
          .replace('--workers 4', '--workers 1')
          .split(' ');
        const env = {
          ...process.env,
          NODE_ENV: 'production',
          SESSION_SECRET: randomBytes(32).toString('base64url'),
        };
        return serve(command!, args, { cwd: project, env, ...(gid === undefined ? {} : { gid }) });
      };
      const nginx = async (conf: string) => {
        const where = space();
        const frontEnd = await startNginx(where, [], conf);
        stops.push(frontEnd.stop);
        return { ...frontEnd, prefix: path.join(where, 'nginx') };
      };

      // Under CI=true a missing openssl fails the test, as a missing front end does.
      it.skipIf(!which('openssl') && process.env.CI !== 'true')(
        'nginx-proxy.conf with TLS in front of npm start and of app-http.service: the session cookie keeps Secure',
        async () => {
          const tls = space();
          selfSignedCertificate(tls);
          const behindNginx = async (url: string) => {
            const port = new URL(url).port;
            const frontEnd = await nginx(
              deployFile('nginx-proxy.conf')
                .replaceAll('127.0.0.1:8000', `127.0.0.1:${port}`)
                .replace(
                  /^(\s*)listen 80;/m,
                  `$1listen 127.0.0.1:PORT0 ssl; ssl_certificate ${tls}/cert.pem; ssl_certificate_key ${tls}/key.pem;`,
                ),
            );
            const home = await get(`${frontEnd.urls[0]!.replace('http:', 'https:')}/`);
            expect(home.status, home.body).toBe(200);
            expect(home.cookies).toHaveLength(1);
            expect(home.cookies[0]).toMatch(/^mortar_session=.*; Secure/);
          };
          await behindNginx(/serving .* on (\S+)/.exec(started.output)![1]!);
          const port = await freePort();
          const http = await unit('app-http.service', (line) =>
            line.replace('--port 8000', `--port ${port}`),
          );
          expect(http.exitCode, http.output).toBeUndefined();
          await behindNginx(`http://127.0.0.1:${port}/`);
        },
      );

      /** The deploy files' socket path replaced by `name` in a fresh folder. */
      const fastcgiSetup = () => {
        const where = space();
        const socket = (name: string) => (text: string) =>
          text.replaceAll(`/run/shop/app.sock`, path.join(where, name));
        const nginxConf = (name: string) =>
          socket(name)(deployFile('nginx-fastcgi.conf')).replace(
            /^(\s*)listen 80;/m,
            '$1listen 127.0.0.1:PORT0;',
          );
        return { socket, nginxConf };
      };

      it('nginx-fastcgi.conf and lighttpd.conf in front of app-fastcgi.service answer 200', async () => {
        const { socket, nginxConf } = fastcgiSetup();
        const conf = nginxConf('app.sock');
        const frontEnd = await nginx(conf);
        // Group=www-data made the socket's group nginx's: here that is its workers' group.
        const group = workerGroup(path.join(frontEnd.prefix, 'nginx.pid'));
        const asRoot = process.getuid?.() === 0;
        const fastcgi = await unit(
          'app-fastcgi.service',
          socket('app.sock'),
          asRoot ? group : undefined,
        );
        expect(fastcgi.exitCode, fastcgi.output).toBeUndefined();
        const home = await get(`${frontEnd.urls[0]}/`);
        expect(home.status, home.body).toBe(200);
        expect(home.body).toContain('Visits in this session: 1');
        expect((await get(`${frontEnd.urls[0]}/static/style.css`)).status).toBe(200);

        const lighttpdRoot = space();
        const lighttpd = await startLighttpd(
          lighttpdRoot,
          `server.port = PORT0\n${socket('app.sock')(deployFile('lighttpd.conf')).replace('server.stream-response-body = 2', '')}`,
        );
        stops.push(lighttpd.stop);
        expect((await get(`${lighttpd.urls[0]}/`)).status).toBe(200);
      }, 60_000);

      // Only as root do nginx's workers run as another user than the server: else any group
      // lets them in, and there is no 502 to see.
      it.skipIf(process.getuid?.() !== 0)(
        "nginx outside the socket's group gets 502, as README says",
        async () => {
          const { socket, nginxConf } = fastcgiSetup();
          const other = await unit('app-fastcgi.service', socket('other.sock'));
          expect(other.exitCode, other.output).toBeUndefined();
          const outside = await nginx(nginxConf('other.sock'));
          expect((await get(`${outside.urls[0]}/`)).status).toBe(502);
          const log = readFileSync(path.join(outside.prefix, 'logs/error.log'), 'utf8');
          const said = /`(connect\(\) to unix:\S+ failed \(13: Permission denied\))`/.exec(
            readFileSync(path.join(project, 'README.md'), 'utf8').replace(/\s*\n\s*/g, ' '),
          );
          expect(said, 'README quotes the error').not.toBeNull();
          expect(log).toContain(socket('other.sock')(said![1]!));
        },
        60_000,
      );
    },
  );
});

describe('mortar new, its arguments', () => {
  const bin = path.join(root, 'bin/mortar.js');
  const mortar = (args: string[], cwd = dir) =>
    spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });

  it('refuses a name npm would refuse, a folder that is not empty, an unknown template, a missing tarball', () => {
    const capital = mortar(['new', 'Shop']);
    expect(capital.status).toBe(2);
    expect(capital.stderr).toMatch(/^mortar: "Shop" is not a name npm accepts: .*capital letters/);
    expect(mortar(['new', '../elsewhere/Shop']).stderr).toMatch(/^mortar: "Shop" is not a name/);
    mkdirSync(path.join(dir, 'taken'));
    writeFileSync(path.join(dir, 'taken', 'keep.txt'), 'mine');
    const taken = mortar(['new', 'taken']);
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/taken exists and is not an empty folder/);
    expect(readFileSync(path.join(dir, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
    expect(mortar(['new', 'x', '--template', 'huge']).stderr).toMatch(
      /--template must be full or minimal/,
    );
    const missing = mortar(['new', 'y', '--mortar', 'nowhere/mortar-9.tgz']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^mortar: --mortar: no tarball at .*nowhere\/mortar-9\.tgz$/m);
    expect(existsSync(path.join(dir, 'y'))).toBe(false);
  });

  it('takes a path (named by its last segment) or a scoped name, and --mortar SPEC as given', () => {
    mkdirSync(path.join(dir, 'inner'));
    const made = mortar(
      ['new', '../projects/tiny-one', '--template', 'minimal', '--mortar', '^0.2.0'],
      path.join(dir, 'inner'),
    );
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^ {2}cd \.\.\/projects\/tiny-one$/m);
    const tiny = path.join(dir, 'projects/tiny-one');
    expect(readdirSync(tiny).sort()).toEqual(['app.ts', 'package.json']);
    const pkg = JSON.parse(readFileSync(path.join(tiny, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'tiny-one', dependencies: { mortar: '^0.2.0' } });
    const scoped = mortar(['new', '@acme/tiny', '--template', 'minimal', '--mortar', '^0.2.0']);
    expect(scoped.status, scoped.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'tiny', 'package.json'), 'utf8')).name).toBe(
      '@acme/tiny',
    );
  });
});
