/**
 * mortar on Deno and Bun (both installed from npm as devDependencies): the platform-only
 * exports (test/runtimes/smoke.ts), debug() (test/runtimes/debug.ts), serve()'s close
 * (test/runtimes/close.ts) and the runtime's extras with waitUntil under the runtime's own
 * server (test/runtimes/extras.ts) run there. workerd has its own test (e2e/workerd).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runtimes = [
  {
    name: 'Deno',
    bin: path.join(root, 'node_modules/.bin/deno'),
    args: (script: string) => ['run', '--sloppy-imports', '-A', script],
    serve: (port: number) => [
      'serve',
      '--sloppy-imports',
      '-A',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      'examples/site/fetch.ts',
    ],
  },
  {
    name: 'Bun',
    bin: path.join(root, 'node_modules/.bin/bun'),
    args: (script: string) => [script],
    serve: () => ['examples/site/fetch.ts'],
  },
];
const scripts = [
  ['the platform-only exports', 'test/runtimes/smoke.ts', /ok: 9 checks/],
  [
    'debug(): tracebacks, and one line on what it cannot do there',
    'test/runtimes/debug.ts',
    /ok: debug/,
  ],
  [
    'compress, csrf, body-limit, proxy-fix, access-log',
    'test/runtimes/middleware.ts',
    /ok: 5 middleware checks/,
  ],
  ['serve().close() returns once in-flight requests finish', 'test/runtimes/close.ts', /ok: close/],
  [
    'lifespans: lazily on the first request, once for concurrent ones; eagerly with startLifespans',
    'test/runtimes/lifespan.ts',
    /ok: lifespan/,
  ],
  [
    "the runtime's own server: its extras on the environ, and waitUntil",
    'test/runtimes/extras.ts',
    /ok: extras/,
  ],
] as const;

describe('mortar on other runtimes', () => {
  for (const runtime of runtimes) {
    if (!existsSync(runtime.bin) && process.env.CI !== 'true') {
      it.skip(`${runtime.name}: not installed (npm install), or set CI=true to fail`, () => {});
      continue;
    }
    for (const [what, script, passed] of scripts) {
      it(`${runtime.name}: ${what}`, () => {
        const result = spawnSync(runtime.bin, runtime.args(path.join(root, script)), {
          cwd: root,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
        });
        expect(result.error, String(result.error)).toBeUndefined();
        expect(`${result.stdout}${result.stderr}`).toMatch(passed);
        expect(result.status).toBe(0);
      }, 130_000);
    }
    it(`${runtime.name}: serves the demo site (README's command)`, async () => {
      const port = await freePort();
      const cache = mkdtempSync(path.join(tmpdir(), 'mortar-runtime-cache-'));
      const child = spawn(runtime.bin, runtime.serve(port), {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PORT: String(port),
          NO_COLOR: '1',
          DENO_NO_UPDATE_CHECK: '1',
          XDG_CACHE_HOME: cache, // where the demo's debug() keeps its PIN's secret
        },
      });
      let output = '';
      child.stdout!.on('data', (c) => {
        output += c;
      });
      child.stderr!.on('data', (c) => {
        output += c;
      });
      try {
        const base = `http://127.0.0.1:${port}`;
        let home: Response | undefined;
        for (let i = 0; i < 300 && !home; i++) {
          home = await fetch(`${base}/`).catch(() => undefined);
          if (!home) await new Promise((r) => setTimeout(r, 100));
        }
        expect(home?.status, output).toBe(200);
        expect(await home!.text()).toContain('mortar demo');
        expect(await (await fetch(`${base}/api/echo/hi`)).json()).toMatchObject({ word: 'hi' });
        expect(await (await fetch(`${base}/static/about.txt`)).text()).toMatch(/\S/);
        const first = await fetch(`${base}/account/visits`);
        const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
        const second = await fetch(`${base}/account/visits`, { headers: { cookie } });
        expect(await second.text()).toMatch(/\b2\b/);
        expect((await fetch(`${base}/legacy/`)).status).toBe(200);
        expect((await fetch(`${base}/boom/sync`)).status).toBe(500);
      } finally {
        child.kill('SIGTERM');
        rmSync(cache, { recursive: true, force: true });
      }
    }, 130_000);
  }
});
