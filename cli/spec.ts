/**
 * `module[:export]`, the way a WSGI server names an application (`app:application`), pure: no
 * I/O, so the grammar is tested on its own.
 */

/** A failure to load an application, with a one-line message meant for the terminal. */
export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/**
 * Splits `module[:export]` (the export may be a dotted path: `app.ts:app.fetch`).
 * @throws LoadError for an empty module or a malformed export name.
 */
export function parseAppSpec(spec: string): { module: string; exportPath: string[] | undefined } {
  const colon = spec.lastIndexOf(':');
  const module = colon > 0 ? spec.slice(0, colon) : spec;
  const name = colon > 0 ? spec.slice(colon + 1) : undefined;
  if (!module) throw new LoadError(`"${spec}" names no module (expected module[:export])`);
  if (name !== undefined && !/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(name)) {
    throw new LoadError(
      `"${name}" is not an export name (expected an identifier, like application)`,
    );
  }
  return { module, exportPath: name?.split('.') };
}
