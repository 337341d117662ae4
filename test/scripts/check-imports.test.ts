// `npm run check`'s import rules (scripts/check-imports.mjs) on small repositories that break
// each rule once, and on one that keeps them all.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = path.resolve('scripts/check-imports.mjs');
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const manifest = {
  name: 'layout',
  exports: {
    '.': { default: './dist/src/index.js' },
    './a': { default: './dist/middleware/a/index.js' },
    './b': { default: './dist/middleware/b/index.js' },
  },
};
/** A clean tree; `extra` adds or replaces files. */
function repository(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-layout-'));
  made.push(dir);
  const files: Record<string, string> = {
    'package.json': JSON.stringify(manifest),
    'src/index.ts': "export { kernel } from './_internal/kernel.js';\n",
    'src/_internal/kernel.ts':
      "import type { Socket } from 'node:net';\nexport const kernel = (s?: Socket) => s;\n",
    'src/gateways/_shared/io.ts': 'export const io = 1;\n',
    'src/gateways/node/index.ts': "export { io } from '../_shared/io.js';\n",
    'middleware/_shared/crypto.ts': 'export const crypto = 1;\n',
    'middleware/a/index.ts':
      "export { crypto } from '../_shared/crypto.js';\nexport { b } from '../b/index.js';\n",
    'middleware/b/index.ts': "export const b = 1;\nexport type { Inner } from './inner.js';\n",
    'middleware/b/inner.ts': 'export interface Inner { x: number }\n',
    'cli/main.ts':
      "import { a } from '../middleware/a/index.js';\nimport { io } from '../src/gateways/node/index.js';\nexport { a, io };\n",
    ...extra,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '.'], { cwd: dir });
  return dir;
}
function check(dir: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('check:imports', () => {
  it('passes a tree that keeps the rules', () => {
    const { status, output } = check(repository());
    expect(output).toContain('keep the layout');
    expect(status).toBe(0);
  });

  it.each([
    ['cli/main.ts', "import '../src/gateways/_shared/io.js';\n", 'src/gateways/_* is the gateways'],
    [
      'src/index.ts',
      "import '../middleware/a/index.js';\n",
      'src/ never imports middleware/ or cli/',
    ],
    ['src/compose.ts', "import '../cli/main.js';\n", 'src/ never imports middleware/ or cli/'],
    ['middleware/a/use.ts', "import '../b/inner.js';\n", 'only through its package entry'],
    [
      'middleware/_shared/x.ts',
      "import '../a/index.js';\n",
      'middleware/_shared/ imports no middleware',
    ],
    ['src/_internal/io.ts', "import 'node:net';\n", 'src/_internal/ imports only the web platform'],
    ['src/_internal/pkg.ts', "import 'cookie';\n", 'src/_internal/ imports only the web platform'],
    ['src/_internal/gw.ts', "import '../gateways/_shared/io.js';\n", 'src/_internal/ imports only'],
  ])('refuses %s importing what it must not', (file, text, message) => {
    const { status, output } = check(repository({ [file]: text }));
    expect(output).toContain(`${file}: imports`);
    expect(output).toContain(message);
    expect(status).toBe(1);
  });

  it('finds a circle made of type-only imports', () => {
    const { status, output } = check(
      repository({
        'middleware/b/inner.ts':
          "import type { b } from './index.js';\nexport interface Inner { x: typeof b }\n",
      }),
    );
    expect(output).toMatch(/import circle: middleware\/b\/(index|inner)\.ts → /);
    expect(status).toBe(1);
  });
});
