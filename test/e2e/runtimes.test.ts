/**
 * The platform-only part of mortar on Deno and Bun (both installed from npm as
 * devDependencies): test/runtimes/smoke.ts runs there and must pass every check.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const smoke = path.join(root, 'test/runtimes/smoke.ts');
const runtimes = [
  {
    name: 'Deno',
    bin: path.join(root, 'node_modules/.bin/deno'),
    args: ['run', '--sloppy-imports', '-A', smoke],
  },
  { name: 'Bun', bin: path.join(root, 'node_modules/.bin/bun'), args: [smoke] },
];

describe('mortar on other runtimes', () => {
  for (const runtime of runtimes) {
    const installed = existsSync(runtime.bin);
    if (!installed && process.env.CI !== 'true') {
      it.skip(`${runtime.name}: not installed (npm install), or set CI=true to fail`, () => {});
      continue;
    }
    it(`${runtime.name} runs the platform-only exports`, () => {
      const result = spawnSync(runtime.bin, runtime.args, {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
      });
      expect(result.error, String(result.error)).toBeUndefined();
      expect(`${result.stdout}${result.stderr}`).toMatch(/ok: 9 checks/);
      expect(result.status).toBe(0);
    }, 130_000);
  }
});
