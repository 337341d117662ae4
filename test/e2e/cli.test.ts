/**
 * `mortar serve` as a child process, as a user runs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isWatched } from '../../cli/reload.js';
import { root, run, served } from './cli-run.js';

describe('mortar serve', () => {
  it('serves a .ts module, its "application" export by default', async () => {
    const started = run(['serve', 'test/fixtures/app.ts', '--port', '0']);
    const url = await served(started);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await (await fetch(`${url}x?y=1`)).text()).toBe('application typescript /x ?y=1');
  });

  it('serves a named export, a dotted export bound to its object, and a default { fetch }', async () => {
    for (const [spec, body] of [
      ['test/fixtures/app.ts:other', 'other'],
      ['test/fixtures/app.ts:api', 'fetch bound to api'],
      ['test/fixtures/app.ts:api.fetch', 'fetch bound to api'],
      ['test/fixtures/default-export.ts', 'default fetch'],
    ] as const) {
      const started = run(['serve', spec, '--port', '0']);
      expect(await (await fetch(await served(started))).text()).toBe(body);
      started.child.kill('SIGTERM');
      expect(await started.exit).toBe(0);
    }
  });

  it('reads MORTAR_APP when no module is named', async () => {
    const started = run(['serve', '--port', '0'], {
      env: { MORTAR_APP: 'test/fixtures/app.ts:other' },
    });
    expect(await (await fetch(await served(started))).text()).toBe('other');
  });

  it('on SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const started = run(['serve', 'test/fixtures/app.ts:slow', '--port', '0']);
    const url = await served(started);
    const inflight = fetch(`${url}?ms=700`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 200));
    started.child.kill('SIGTERM');
    expect(await inflight).toBe('slept 700');
    expect(await started.exit).toBe(0);
    expect(started.output()).toContain('SIGTERM: finishing in-flight requests');
  });

  it.each([
    [
      ['serve', 'test/fixtures/missing.ts'],
      /^mortar: cannot find module "test\/fixtures\/missing.ts"/,
    ],
    [
      ['serve', 'test/fixtures/app.ts:nope'],
      /^mortar: test\/fixtures\/app.ts has no export "nope" \(it exports: api, application, notAFunction, other, slow\)/,
    ],
    [
      ['serve', 'test/fixtures/app.ts:notAFunction'],
      /^mortar: test\/fixtures\/app.ts:notAFunction is a number, not an application function/,
    ],
    [
      ['serve', 'test/fixtures/default-export.ts:bad-name'],
      /^mortar: "bad-name" is not an export name/,
    ],
    [['serve'], /^mortar: name an application: mortar serve module\[:export\], or set MORTAR_APP/],
    [
      ['serve', 'x.ts', '--port', 'eighty'],
      /^mortar: --port must be an integer from 0 to 65535, got "eighty"/,
    ],
    [['serve', 'x.ts', '--bogus'], /^mortar: Unknown option '--bogus'/],
    [['launch'], /^mortar: unknown command "launch"/],
    [
      ['serve', 'x.ts', '--max-body-size', '5 lots'],
      /^mortar: --max-body-size takes bytes like 1048576, 512k, 10M or 1G, or "none"; got "5 lots"/,
    ],
    [
      ['serve', 'x.ts', '--access-log-format', 'apache'],
      /^mortar: --access-log-format must be combined, common or json, got "apache"/,
    ],
    [
      ['serve', 'test/fixtures/app.ts', '--proxy-headers', '--forwarded-allow-ips', '10.0.0.0/99'],
      /^mortar: --forwarded-allow-ips: invalid range on address: 10\.0\.0\.0\/99/,
    ],
  ])('mortar %j exits 2 with one line', async (args, message) => {
    const started = run(args, { env: { MORTAR_APP: '' } });
    expect(await started.exit).toBe(2);
    expect(started.output()).toMatch(message);
    expect(started.output().trim().split('\n')).toHaveLength(1);
  });

  it('--max-body-size refuses a larger body with 413; --access-log writes a line per request', async () => {
    const started = run([
      'serve',
      'test/fixtures/app.ts',
      '--port',
      '0',
      '--max-body-size',
      '1k',
      '--access-log',
    ]);
    const url = await served(started);
    const refused = await fetch(url, { method: 'POST', body: 'x'.repeat(1025) });
    expect(refused.status).toBe(413);
    const accepted = await fetch(url, { method: 'POST', body: 'x'.repeat(1024) });
    expect(accepted.status).toBe(200);
    for (let i = 0; i < 100 && !/"POST \/ HTTP\/1\.1" 200/.test(started.output()); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(started.output()).toMatch(
      /^127\.0\.0\.1 - - \[[^\]]+\] "POST \/ HTTP\/1\.1" 200 \d+ "-" "[^"]*" [\d.]+ms \S+$/m,
    );
  });

  it('--lint writes a warning line for each finding', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-lint-'));
    try {
      writeFileSync(
        path.join(dir, 'bad.mjs'),
        "export const application = () => new Response('body', { status: 200, headers: { 'content-length': '9' } });\n",
      );
      const started = run(['serve', path.join(dir, 'bad.mjs'), '--port', '0', '--lint']);
      const url = await served(started);
      await fetch(`${url}x`)
        .then((r) => r.text())
        .catch(() => '');
      for (let i = 0; i < 100 && !started.output().includes('mortar lint'); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(started.output()).toMatch(
        /mortar lint \[content-length\] GET \/x: Content-Length 9 but the body streamed 4 bytes/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with one line when the port is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const started = run(['serve', 'test/fixtures/app.ts', '--port', String(port)]);
      expect(await started.exit).toBe(2);
      expect(started.output().trim()).toBe(`mortar: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('reports an error thrown while the module loads, with its stack', async () => {
    const started = run(['serve', 'test/fixtures/throws.ts']);
    expect(await started.exit).not.toBe(0);
    expect(started.output()).toContain('this module fails while it loads');
  });

  it('documents every option in --help', async () => {
    const main = run(['--help']);
    expect(await main.exit).toBe(0);
    expect(main.output()).toContain('serve [module[:export]]');
    const serve = run(['serve', '--help']);
    expect(await serve.exit).toBe(0);
    for (const option of ['--host', '--port', '--reload', 'MORTAR_APP', 'application']) {
      expect(serve.output()).toContain(option);
    }
  });

  it('--reload restarts the server when a file changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-reload-'));
    try {
      const file = path.join(dir, 'app.ts');
      writeFileSync(file, "export default { fetch: () => new Response('first') };\n");
      const started = run(['serve', 'app.ts', '--port', '0', '--reload'], { cwd: dir });
      const url = await served(started);
      expect(await (await fetch(url)).text()).toBe('first');
      const before = started.output().length;
      writeFileSync(file, "export default { fetch: () => new Response('second') };\n");
      let body = '';
      for (let i = 0; i < 100 && body !== 'second'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const match = / on (http:\/\/\S+)/.exec(started.output().slice(before));
        if (match)
          body = await fetch(match[1]!).then(
            (r) => r.text(),
            () => '',
          );
      }
      expect(body).toBe('second');
      started.child.kill('SIGTERM');
      expect(await started.exit).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('--reload', () => {
    let dir: string;
    const slowApp = (word: string) =>
      `export default { async fetch(request: Request) {
  const ms = Number(new URL(request.url).searchParams.get('ms') ?? 0);
  await new Promise((r) => setTimeout(r, ms));
  return new Response('${word}');
} };\n`;
    const serving = (output: string) => (output.match(/serving app\.ts on/g) ?? []).length;
    async function until(check: () => boolean | Promise<boolean>, timeout = 15_000) {
      const deadline = Date.now() + timeout;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out waiting');
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    async function startReload() {
      dir = mkdtempSync(path.join(tmpdir(), 'mortar-reload-'));
      writeFileSync(path.join(dir, 'app.ts'), slowApp('first'));
      const port = String(await freePortHere());
      const started = run(['serve', 'app.ts', '--port', port, '--reload'], { cwd: dir });
      await served(started);
      return { started, url: `http://127.0.0.1:${port}/` };
    }

    it('lets an in-flight request finish before restarting, and restarts once for a burst', async () => {
      const { started, url } = await startReload();
      const inflight = fetch(`${url}?ms=1000`).then((r) => r.text());
      await new Promise((r) => setTimeout(r, 200)); // the request is in the server now
      writeFileSync(path.join(dir, 'app.ts'), slowApp('second'));
      await until(() => started.output().includes('changed; restarting'));
      writeFileSync(path.join(dir, 'app.ts'), slowApp('third')); // while the old one drains
      expect(await inflight).toBe('first');
      await until(
        async () =>
          (await fetch(url).then(
            (r) => r.text(),
            () => '',
          )) === 'third',
      );
      expect(serving(started.output())).toBeLessThanOrEqual(3);
      started.child.kill('SIGTERM');
      expect(await started.exit).toBe(0);
    });

    it('does not restart for files the application writes (data, not source)', async () => {
      const { started } = await startReload();
      mkdirSync(path.join(dir, 'sessions'));
      for (let i = 0; i < 5; i++) {
        writeFileSync(path.join(dir, 'sessions', `${i}.json`), '{}');
        writeFileSync(path.join(dir, 'log.txt'), String(i));
        mkdirSync(path.join(dir, `.cache${i}`));
        writeFileSync(path.join(dir, `.cache${i}`, 'x.ts'), '');
      }
      await new Promise((r) => setTimeout(r, 600)); // longer than the debounce: nothing came
      expect(started.output()).not.toContain('restarting');
      expect(serving(started.output())).toBe(1);
    });

    it('takes its server with it when it is killed', async () => {
      const { started, url } = await startReload();
      expect(await (await fetch(url)).text()).toBe('first');
      started.child.kill('SIGKILL');
      await until(
        async () =>
          (await fetch(url).then(
            () => 'up',
            () => 'down',
          )) === 'down',
      );
    });
  });
});

describe('mortar cgi', () => {
  const refuseSrvx = path.join(root, 'test/fixtures/refuse-srvx.mjs');
  const cgiEnv = (target: string) => ({
    NODE_OPTIONS: `--import ${pathToFileURL(refuseSrvx).href}`,
    REQUEST_METHOD: 'GET',
    REQUEST_URI: target,
    SCRIPT_NAME: '',
    PATH_INFO: target.split('?')[0]!,
    QUERY_STRING: target.split('?')[1] ?? '',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
  });

  it('answers, and its own 400 and 500, without loading srvx (one request, one process)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-cgi-'));
    try {
      writeFileSync(
        path.join(dir, 'fails.mjs'),
        "export const application = () => { throw new Error('at request time'); };\n",
      );
      const answered = run(['cgi', 'test/fixtures/app.ts'], { env: cgiEnv('/x?y=1') });
      expect(await answered.exit).toBe(0);
      expect(answered.output()).toMatch(
        /^Status: 200 OK\r\n[\s\S]*\r\n\r\napplication typescript \/x \?y=1$/,
      );
      const failed = run(['cgi', path.join(dir, 'fails.mjs')], { env: cgiEnv('/') });
      await failed.exit;
      expect(failed.output()).toContain('Status: 500 Internal Server Error\r\n');
      expect(failed.output()).not.toContain('refuse-srvx');
      const refused = run(['cgi', 'test/fixtures/app.ts'], {
        env: { ...cgiEnv('/'), SERVER_NAME: 'bad host/' },
      });
      await refused.exit;
      expect(refused.output()).toContain('Status: 400 Bad Request\r\n');
      expect(refused.output()).not.toContain('refuse-srvx');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isWatched (what --reload watches)', () => {
  it.each([
    ['app.ts', true],
    ['src/routes/index.tsx', true],
    ['lib/x.mjs', true],
    ['package.json', true],
    ['.env', true],
    ['sessions/abc.json', false],
    ['log.txt', false],
    ['node_modules/pkg/index.js', false],
    ['.git/HEAD', false],
    ['.cache/app.ts', false],
    ['dist/app.js', false],
    ['src/.hidden/x.ts', false],
  ])('%s → %s', (file, watched) => {
    expect(isWatched(file)).toBe(watched);
  });
});

async function freePortHere(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
