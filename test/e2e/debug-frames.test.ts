/**
 * Frames mapped back to TypeScript: a tsc-compiled fixture with .map files run by plain Node
 * (mortar maps through the source maps), and the same fixture run by tsx (the runtime maps;
 * mortar must not map again).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

const FIXTURE = `// line 1
interface Point {
  x: number;
  y: number;
}

export function explode(point: Point): never {
  const label: string = \`(\${point.x}, \${point.y})\`;
  throw new Error('exploded at ' + label); // line 9, column 9
}
`;

const RUNNER = `import { explode } from './fixture.js';
import { parseFrames } from './stack.js';
try {
  explode({ x: 1, y: 2 });
} catch (error) {
  process.stdout.write(JSON.stringify({ enabled: process.sourceMapsEnabled, frames: parseFrames(error.stack) }));
}
`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-frames-'));
  writeFileSync(path.join(dir, 'fixture.ts'), FIXTURE);
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  // The stack reader and the source-map reader it imports, side by side as in middleware/_shared/.
  for (const file of ['stack.ts', 'source-map.ts']) {
    copyFileSync(path.join(root, 'middleware/_shared', file), path.join(dir, file));
  }
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [
    tsc,
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--sourceMap',
    '--skipLibCheck',
    '--types',
    'node',
    '--typeRoots',
    path.join(root, 'node_modules/@types'),
    '--outDir',
    path.join(dir, 'out'),
    '--rootDir',
    dir,
    path.join(dir, 'fixture.ts'),
    path.join(dir, 'stack.ts'),
  ]);
  writeFileSync(path.join(dir, 'out/runner.mjs'), RUNNER);
  writeFileSync(path.join(dir, 'out/package.json'), '{"type":"module"}');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  enabled: boolean;
  frames: {
    name: string;
    file: string;
    line: number;
    column: number;
    context?: { lines: string[] };
  }[];
}

describe('frames mapped to the original TypeScript', () => {
  it('maps a tsc-compiled file through its .map when the runtime does not', () => {
    const out = execFileSync(process.execPath, [path.join(dir, 'out/runner.mjs')], {
      encoding: 'utf8',
    });
    const result = JSON.parse(out) as Result;
    expect(result.enabled).toBe(false);
    const frame = result.frames[0]!;
    expect(frame).toMatchObject({
      name: 'explode',
      file: path.join(dir, 'fixture.ts'),
      line: 9,
      column: 9,
    });
    expect(frame.context!.lines.join('\n')).toContain("throw new Error('exploded at ' + label);");
  });

  it('does not map again what tsx already mapped', () => {
    const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
    const out = execFileSync(process.execPath, [tsx, path.join(dir, 'out/runner.mjs')], {
      encoding: 'utf8',
    });
    const result = JSON.parse(out) as Result;
    expect(result.enabled).toBe(true);
    expect(result.frames[0]).toMatchObject({
      name: 'explode',
      file: path.join(dir, 'fixture.ts'),
      line: 9,
      column: 9,
    });
  });
});
