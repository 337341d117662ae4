/**
 * Generated positions mapped back to the original source (TypeScript): through the map Node
 * keeps for a module it loaded with source maps enabled (tsx, `--enable-source-maps`), else
 * through the file's own `//# sourceMappingURL` (a compiled `dist/` file). Shared by debug()'s
 * frames, profile()'s call frames and blockWatch()'s stacks.
 */
import { readFileSync } from 'node:fs';
import { findSourceMap, SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A position in a file; `line` and `column` count from 1. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A `file:` URL as a path (anything else, `node:fs` say, as it is). */
export function safeFilePath(url: string): string {
  try {
    return url.startsWith('file:') ? fileURLToPath(url.split('?')[0]!) : url;
  } catch {
    return url;
  }
}

const maps = new Map<string, SourceMap | null>();

/**
 * The original position of a generated one, or `undefined` when no source map covers it.
 * Never map a position twice: a stack that the runtime mapped already (tsx, vitest and
 * `--enable-source-maps` map `Error.stack`) holds original positions; a V8 profile's or a
 * paused debugger's call frames never do.
 *
 * @param file - The script, as a path or a `file:` URL.
 * @param line - 1-based line.
 * @param column - 1-based column.
 */
export function originalPosition(
  file: string,
  line: number,
  column: number,
): SourcePosition | undefined {
  const filePath = safeFilePath(file);
  if (!path.isAbsolute(filePath)) return undefined;
  let map = maps.get(filePath);
  if (map === undefined) {
    map = loadMap(filePath);
    if (maps.size > 500) maps.clear();
    maps.set(filePath, map);
  }
  if (!map) return undefined;
  const entry = map.findEntry(line - 1, column - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (!entry?.originalSource || entry.originalLine === undefined) return undefined;
  const source = entry.originalSource.startsWith('file://')
    ? safeFilePath(entry.originalSource)
    : path.resolve(path.dirname(filePath), entry.originalSource);
  return { file: source, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
}

/** The module's map as Node keeps it, else the one its `sourceMappingURL` names. */
function loadMap(file: string): SourceMap | null {
  try {
    const kept = findSourceMap(pathToFileURL(file).href) ?? findSourceMap(file);
    if (kept) return kept;
  } catch {
    // not a module Node loaded with source maps: read the file's own comment
  }
  try {
    const text = readFileSync(file, 'utf8');
    const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text);
    if (!match) return null;
    const url = match[1]!;
    const json = url.startsWith('data:')
      ? Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8')
      : readFileSync(path.resolve(path.dirname(file), url), 'utf8');
    return new SourceMap(JSON.parse(json));
  } catch {
    return null;
  }
}

/** `file` relative to the current directory when it is inside it, else as it is. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
