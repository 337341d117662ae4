/**
 * mortar on Deno and Bun (both installed from npm as devDependencies): the platform-only
 * exports (test/runtimes/smoke.ts) and debug() (test/runtimes/debug.ts) run there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runtimes = [
  {
    name: 'Deno',
    bin: path.join(root, 'node_modules/.bin/deno'),
    args: (script: string) => ['run', '--sloppy-imports', '-A', script],
  },
  {
    name: 'Bun',
    bin: path.join(root, 'node_modules/.bin/bun'),
    args: (script: string) => [script],
  },
];
const scripts = [
  ['the platform-only exports', 'test/runtimes/smoke.ts', /ok: 9 checks/],
  [
    'debug(): tracebacks, and one line on what it cannot do there',
    'test/runtimes/debug.ts',
    /ok: debug/,
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
  }
});
