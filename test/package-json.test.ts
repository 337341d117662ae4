/**
 * What package.json promises about installs: the libraries only development needs (the
 * TypeScript loader, the test client's cookie jar, --reload's file watcher) are not mortar's dependencies but the
 * project's devDependencies, pinned by `mortar new` to the versions mortar is tested with.
 * test/e2e/package.test.ts weighs the install itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifest(file: string): Manifest {
  // A template's {{placeholders}} are strings inside the JSON: it parses as it is.
  return JSON.parse(readFileSync(`${root}${file}`, 'utf8')) as Manifest;
}

const DEVELOPMENT_ONLY = ['tsx', 'tough-cookie', 'chokidar'];

describe('package.json', () => {
  it('keeps the development-only libraries out of dependencies and peerDependencies', () => {
    // Not even as optional peers: npm installs an optional peer that the project lists in its
    // devDependencies under `npm install --omit=dev` too (npm/cli#6282).
    const mortar = manifest('package.json');
    for (const name of DEVELOPMENT_ONLY) {
      expect(mortar.dependencies, name).not.toHaveProperty(name);
      expect(mortar.peerDependencies, name).not.toHaveProperty(name);
      expect(mortar.devDependencies, name).toHaveProperty(name);
    }
  });

  it.each([
    ['full', DEVELOPMENT_ONLY],
    ['minimal', ['tsx', 'chokidar']],
  ])(
    'the %s template lists them as devDependencies, at the versions mortar tests',
    (template, names) => {
      const mortar = manifest('package.json');
      const project = manifest(`cli/templates/${template}/package.json.tmpl`);
      for (const name of names) {
        const tested = mortar.devDependencies?.[name];
        expect(tested, name).toMatch(/^\^\d/);
        expect(project.devDependencies?.[name], name).toBe(tested);
      }
    },
  );
});
