/**
 * Libraries only some uses need — the TypeScript loader and the test client's cookie jar (a
 * project's devDependencies), a session store's client or lock (optional peer dependencies,
 * package.json's `peerDependenciesMeta`) — loaded when that use starts, so that a production
 * install carries none of them. Each resolves from mortar's own folder, as its static imports
 * do: in npm's and pnpm's layouts that reaches the project's node_modules too.
 */
import type * as NodeModule from 'node:module';
import { builtinModule } from './builtin.js';

/**
 * A `require` resolving from this file (so from mortar's own folder); `undefined` on a
 * runtime with no `node:module`, where nothing optional can be loaded synchronously.
 */
const requireHere = builtinModule<typeof NodeModule>('node:module')?.createRequire(import.meta.url);

/**
 * Loads `specifier` (a package, or a subpath of one) synchronously, by `require`.
 *
 * @param message - One line saying who needs it and how to install it, e.g.
 *   `"TestClient's cookie jar needs tough-cookie: npm install -D tough-cookie"`.
 * @throws Error with `message` (and the resolution error as `cause`) when the package is not
 *   installed; whatever the package itself throws while it loads is rethrown as is.
 */
export function requireOptional<T>(specifier: string, message: string): T {
  if (requireHere === undefined) throw new Error(message);
  try {
    return requireHere(specifier) as T;
  } catch (error) {
    throw notInstalled(error, specifier, message);
  }
}

/**
 * Loads `specifier` by `import()`, for a package whose ES module is the one to use.
 * @param message - As {@link requireOptional}'s.
 * @throws Error with `message` when the package is not installed, as {@link requireOptional}.
 */
export async function importOptional<T>(specifier: string, message: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    throw notInstalled(error, specifier, message);
  }
}

/**
 * An Error with `message` when `error` says the package of `specifier` is missing (not a file
 * inside it, nor one of its own imports); `error` itself otherwise.
 */
function notInstalled(error: unknown, specifier: string, message: string): unknown {
  const { code, message: text } = error as { code?: string; message?: unknown };
  const name = specifier.startsWith('@')
    ? specifier.split('/', 2).join('/')
    : specifier.split('/')[0]!;
  const missing =
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
    typeof text === 'string' &&
    (text.includes(`'${specifier}'`) || text.includes(`'${name}'`));
  return missing ? new Error(message, { cause: error }) : error;
}
