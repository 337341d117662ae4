/**
 * Loading an application by name, as a WSGI server does with `module:attribute`.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TsxCommonJS from 'tsx/cjs/api';
import type * as TsxESM from 'tsx/esm/api';
import { importOptional } from '../src/_internal/optional.js';
import { carryLifespans } from '../src/lifespan.js';
import type { Application } from '../src/types.js';
import { LoadError, parseAppSpec } from './spec.js';

export { LoadError, parseAppSpec } from './spec.js';

const EXTENSIONS = ['', '.ts', '.mts', '.js', '.mjs', '.cts', '.cjs', '/index.ts', '/index.js'];

/**
 * Resolves a module name to a file: a path relative to `cwd` (extensions and `index` tried
 * as Node and tsx do), else a package resolved from `cwd`.
 * @throws LoadError when nothing is found.
 */
export function resolveModule(module: string, cwd: string): string {
  const base = path.resolve(cwd, module);
  for (const extension of EXTENSIONS) {
    const candidate = base + extension;
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  if (!module.startsWith('.') && !path.isAbsolute(module)) {
    try {
      return createRequire(path.join(cwd, 'noop.js')).resolve(module);
    } catch {
      // Fall through to the error below.
    }
  }
  throw new LoadError(`cannot find module "${module}" (looked from ${cwd})`);
}

/** A file that only a TypeScript loader imports. */
const TYPESCRIPT = /\.[cm]?tsx?$/;

/**
 * Whether this process imports TypeScript already: true when this very module was loaded from
 * its `.ts` source (by tsx from a checkout, by vitest, Deno or Bun). The built mortar is
 * JavaScript and registers tsx for the first application that is TypeScript, so one written
 * in JavaScript starts without it.
 */
let loadsTypeScript = import.meta.url.endsWith('.ts');

/**
 * Registers tsx's loaders (ESM, and CommonJS for `.ts` files in a folder without
 * `"type": "module"`) when `file` needs them and nothing loads TypeScript yet. tsx is the
 * project's devDependency (`mortar new` lists it), not mortar's dependency: a production
 * install that serves built JavaScript carries no TypeScript compiler.
 * @throws LoadError saying to `npm install -D tsx` when it is not installed.
 */
async function loadTypeScriptFor(file: string, shown: string): Promise<void> {
  if (loadsTypeScript || !TYPESCRIPT.test(file)) return;
  const message = `serving ${shown} needs tsx: npm install -D tsx (or serve the built JavaScript)`;
  try {
    const [esm, commonJS] = await Promise.all([
      importOptional<typeof TsxESM>('tsx/esm/api', message),
      importOptional<typeof TsxCommonJS>('tsx/cjs/api', message),
    ]);
    esm.register();
    commonJS.register();
  } catch (error) {
    if ((error as Error).message === message) throw new LoadError(message, { cause: error });
    throw error;
  }
  loadsTypeScript = true;
}

/**
 * Imports `module[:export]` and returns the application it names. Without an export name it
 * takes `application`, then the default export. An object with a `fetch` method (a Hono app,
 * `export default { fetch }`) yields its bound `fetch`.
 *
 * @throws LoadError when the module is missing, the export is missing, or it is not a
 *   function, and when it is TypeScript and tsx is not installed; whatever the module itself
 *   throws while it loads is rethrown as is.
 */
export async function loadApplication(spec: string, cwd = process.cwd()): Promise<Application> {
  const { module, exportPath } = parseAppSpec(spec);
  const file = resolveModule(module, cwd);
  const shown = path.relative(cwd, file) || file;
  await loadTypeScriptFor(file, shown);
  const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  let names = exportPath;
  if (!names) {
    if ('application' in namespace) names = ['application'];
    else if ('default' in namespace) names = ['default'];
    else {
      throw new LoadError(
        `${shown} exports neither "application" nor a default (it exports: ${listExports(namespace)})`,
      );
    }
  }
  let owner: unknown;
  let value: unknown = namespace;
  for (const [index, name] of names.entries()) {
    owner = value;
    if (
      value === null ||
      (typeof value !== 'object' && typeof value !== 'function') ||
      !(name in value)
    ) {
      const where = names.slice(0, index).join('.');
      throw new LoadError(
        index === 0
          ? `${shown} has no export "${name}" (it exports: ${listExports(namespace)})`
          : `${shown}:${where} has no property "${name}"`,
      );
    }
    value = (value as Record<string, unknown>)[name];
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { fetch?: unknown }).fetch === 'function'
  ) {
    owner = value;
    value = (value as { fetch: unknown }).fetch;
  }
  if (typeof value !== 'function') {
    const what =
      value === null || value === undefined
        ? String(value)
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`;
    throw new LoadError(`${shown}:${names.join('.')} is ${what}, not an application function`);
  }
  // Bound to its object (a Hono app's fetch), keeping the lifespans it carries.
  return carryLifespans((value as Application).bind(owner) as Application, value as Application);
}

function listExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  return names.length ? names.join(', ') : 'nothing';
}
