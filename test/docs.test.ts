/**
 * The API reference (`npm run docs`, TypeDoc over every package export) builds; it names each
 * module by its import name (`mortar/session`, not `middleware/session`), opens on README,
 * and a middleware's page shows its options inline, as a hover does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm run docs', () => {
  let out: string;
  const page = (name: string) => readFileSync(path.join(out, name), 'utf8');
  const text = (html: string) => html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'mortar-docs-'));
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out],
      { cwd: root, stdio: 'pipe' },
    );
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('names every module by the import name package.json exports', () => {
    const { exports } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const expected = Object.keys(exports)
      .filter((key) => key !== './package.json')
      .map((key) => `mortar${key.slice(1)}`)
      .sort();
    const named = readdirSync(path.join(out, 'modules'))
      .map((file) => /<title>(.*?) \| mortar<\/title>/.exec(page(`modules/${file}`))?.[1])
      .sort();
    expect(named).toEqual(expected);
    expect(text(page('modules/mortar_session.html'))).toContain(
      'Module mortar/session mortar/session — sessions',
    );
  });

  it('opens on README, which says how to build it', () => {
    const landing = text(page('index.html'));
    expect(landing).toContain('A short tour');
    expect(landing).toMatch(/builds with npm run docs into docs\/api\//);
  });

  it('shows the options on session(), serveStatic() and debug()', () => {
    expect(page('functions/mortar_session.session.html')).toContain('absoluteTimeout');
    expect(page('functions/mortar_static.serveStatic.html')).toContain('precompressed');
    expect(page('functions/mortar_debug.debug.html')).toContain('consoleTimeout');
  });
});
