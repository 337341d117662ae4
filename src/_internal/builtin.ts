/**
 * A runtime's built-in module found without an import: Node (20.16 and later), Deno and Bun
 * all answer `process.getBuiltinModule`. A file that finds its `node:` modules this way stays
 * platform-only — it bundles for any runtime and degrades where the module is missing.
 *
 * @param id - The module's name, e.g. `'node:zlib'`.
 * @returns The module, or `undefined` on a runtime without it (a browser, Workers).
 */
export function builtinModule<T>(id: string): T | undefined {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  return runtime?.getBuiltinModule?.(id) as T | undefined;
}
