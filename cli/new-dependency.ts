/**
 * How a project made by `mortar new` depends on mortar: by version when this mortar came from
 * the npm registry, else by a tarball of this very mortar, packed into the project's
 * `vendor/` — a spec that installs without the registry and without the folder it came from
 * (a `file:` folder spec would be a symlink to a checkout that has no dist/ until built, whose
 * own dependencies npm leaves out of the project).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This mortar's package: its folder and what its package.json says. */
export interface OwnPackage {
  /** The folder holding mortar's package.json. */
  dir: string;
  version: string;
  devDependencies: Record<string, string>;
}

/**
 * Finds the package.json named `mortar` above this module (in the sources and in dist alike).
 * @throws Error when there is none.
 */
export function ownPackage(): OwnPackage {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version: string;
        devDependencies?: Record<string, string>;
      };
      if (pkg.name === 'mortar') {
        return { dir, version: pkg.version, devDependencies: pkg.devDependencies ?? {} };
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("mortar new: cannot find mortar's package.json");
    dir = parent;
  }
}

/**
 * Whether the mortar in `dir` was installed from the npm registry: its real folder lies under
 * a `node_modules` folder whose lockfile (npm's hidden `node_modules/.package-lock.json`, else
 * `package-lock.json`) says it was `resolved` from an http(s) URL. A checkout, a folder
 * installed by `npm link` or a `file:` folder spec (a symlink), a tarball or git install, and
 * an install no lockfile records (a global one) are not: they are packed instead.
 */
export function fromRegistry(dir: string): boolean {
  const parts = realpathSync(dir).split(path.sep);
  const first = parts.indexOf('node_modules');
  if (first < 0) return false;
  const root = parts.slice(0, first).join(path.sep);
  const key = parts.slice(first).join('/');
  for (const lockfile of ['node_modules/.package-lock.json', 'package-lock.json']) {
    let resolved: unknown;
    try {
      const lock = JSON.parse(readFileSync(path.join(root, lockfile), 'utf8'));
      resolved = lock?.packages?.[key]?.resolved;
    } catch {
      continue;
    }
    if (typeof resolved === 'string') return /^https?:\/\//.test(resolved);
  }
  return false;
}

/**
 * Packs the mortar in `dir` with `npm pack` into a new temporary folder. A checkout (its
 * TypeScript sources beside bin/, as bin/mortar.js tells) is built first (`npm run build`,
 * which needs its devDependencies: `npm install` in the checkout); an installed copy already
 * holds dist/ and is packed as it is (`--ignore-scripts`: a `prepack` build has no compiler
 * there).
 * @returns The tarball's path.
 * @throws Error naming the npm command that failed, with the end of its output.
 */
export function packOwnPackage(dir: string): string {
  if (existsSync(path.join(dir, 'cli/main.ts'))) npm(['run', 'build'], dir);
  const destination = mkdtempSync(path.join(tmpdir(), 'mortar-pack-'));
  try {
    const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], dir);
    const [packed] = JSON.parse(out) as { filename: string }[];
    if (!packed) throw new Error(`mortar new: npm pack in ${dir} named no tarball`);
    return path.join(destination, packed.filename);
  } catch (error) {
    rmSync(destination, { recursive: true, force: true });
    throw error;
  }
}

/** Runs npm in `cwd`; returns its standard output. */
function npm(args: string[], cwd: string): string {
  const windows = process.platform === 'win32';
  // npm is a .cmd script on Windows, run through the shell: quote the arguments (paths).
  const quoted = windows ? args.map((arg) => `"${arg}"`) : args;
  const result = spawnSync(windows ? 'npm.cmd' : 'npm', quoted, {
    cwd,
    encoding: 'utf8',
    shell: windows,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15);
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    throw new Error(
      `mortar new: npm ${args.join(' ')} in ${cwd} failed (${why}):\n${output.join('\n')}`,
    );
  }
  return result.stdout;
}
