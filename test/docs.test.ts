/**
 * The API reference (`npm run docs`, TypeDoc over every package export) builds, and a
 * middleware's page shows its options inline, as a hover does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm run docs', () => {
  it('builds the API reference, with the options on session() and serveStatic()', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'mortar-docs-'));
    try {
      execFileSync(
        process.execPath,
        [path.join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out],
        {
          cwd: root,
          stdio: 'pipe',
        },
      );
      const page = (name: string) => readFileSync(path.join(out, 'functions', name), 'utf8');
      expect(page('middleware_session.session.html')).toContain('absoluteTimeout');
      expect(page('middleware_static.serveStatic.html')).toContain('precompressed');
      expect(page('middleware_debug.debug.html')).toContain('consoleTimeout');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
