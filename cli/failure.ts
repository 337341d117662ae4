/**
 * How the `mortar` command reports a failure, the way a compiler does:
 *
 * - a usage error of the command itself (bad option, module or export not found, port in
 *   use): `mortar: message`, exit 2;
 * - a configuration error met while the application's module loads — a mortar factory
 *   refusing an option or a value (`ConfigError`, `code: 'ERR_MORTAR_CONFIG'`), an import of
 *   a package or file that is not there, an import of a name the module does not export:
 *   one line, `file:line:column: message`, at the user's own line, exit 1;
 * - a lifespan whose startup failed (threw, or exceeded the startup timeout): `mortar:
 *   message` naming it, exit 3 (uvicorn's and gunicorn's status for an application that
 *   cannot boot), the cause's stack under `--verbose`;
 * - anything else (a bug in the application, or in mortar): its stack, without the frames
 *   of mortar's command and of Node's module loader, exit 1.
 *
 * `--verbose` or `DEBUG=mortar` adds the whole stack to a configuration error's line.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { isConfigError } from '../src/_internal/config-error.js';
import { UsageError } from './args.js';
import { LoadError } from './spec.js';

/** What to print on stderr, and the exit code. */
export interface Failure {
  text: string;
  code: number;
}

/** mortar's own package: the folder holding `cli/` and `src/` (and `dist/` when installed). */
const packageRoot = (() => {
  const here = fileURLToPath(new URL('..', import.meta.url));
  return path.basename(here) === 'dist' ? path.dirname(here) : here;
})();
/** Frames from these are mortar's, or what mortar runs on: never the user's call. */
const OWN = ['cli', 'src', 'middleware', 'dist', 'bin', 'node_modules'].map((dir) =>
  path.join(packageRoot, dir, path.sep),
);
/** Frames of the command and of loading a module, trimmed from an application's stack. */
const PLUMBING = [
  ...['cli', 'dist/cli', 'bin'].map((dir) => path.join(packageRoot, dir, path.sep)),
  'node:internal/modules/',
  `${path.sep}node_modules${path.sep}tsx${path.sep}`,
];

/**
 * Whether `DEBUG` turns on mortar's details, by the `debug` package's convention: names
 * separated by commas or spaces (`DEBUG=mortar`, `DEBUG=mortar:*`, `DEBUG=*`; `-mortar`
 * leaves it out).
 */
export function debugEnabled(variable: string | undefined): boolean {
  const names = (variable ?? '').split(/[\s,]+/);
  return (
    !names.includes('-mortar') &&
    names.some((name) => name === '*' || name === 'mortar' || name.startsWith('mortar:'))
  );
}

/**
 * The report of `error`, thrown by a command run from `cwd`.
 * @param verbose - Add the stack to a configuration error's one line.
 */
export function describeFailure(error: unknown, verbose: boolean, cwd = process.cwd()): Failure {
  if ((error as { code?: unknown } | null)?.code === 'ERR_MORTAR_LIFESPAN') {
    // uvicorn's and gunicorn's status for an application that cannot boot.
    const cause = (error as Error).cause;
    return {
      text: `mortar: ${(error as Error).message}\n${verbose && cause ? `${inspect(cause)}\n` : ''}`,
      code: 3,
    };
  }
  if (error instanceof UsageError || error instanceof LoadError || isListenError(error)) {
    return { text: `mortar: ${(error as Error).message}\n`, code: 2 };
  }
  const line = error instanceof Error ? configurationLine(error, cwd) : undefined;
  if (line !== undefined) {
    return { text: `${line}\n${verbose ? `${inspect(error)}\n` : ''}`, code: 1 };
  }
  return { text: `${inspect(verbose ? error : trimmed(error))}\n`, code: 1 };
}

/** `file:line:column: message` for a configuration error, `undefined` for anything else. */
function configurationLine(error: Error, cwd: string): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (isConfigError(error)) {
    const at = frames(error.stack).find((frame) => !isOwn(frame.file));
    return `${at ? `${located(at, cwd)}: ` : 'mortar: '}${error.message}`;
  }
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const message = error.message.split('\n')[0]!;
    const importer =
      / imported from (.+)$/.exec(message)?.[1] ??
      (error as { requireStack?: string[] }).requireStack?.[0];
    if (importer === undefined) return undefined;
    const file = importer.startsWith('file:') ? fileURLToPath(importer) : importer;
    if (isOwn(file)) return undefined; // mortar missing a package of its own is no user's line
    const specifier = /^Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1] ?? '';
    const at = { file, ...importPosition(file, specifier) };
    return `${located(at, cwd)}: ${message.replace(/ imported from .+$/, '')}`;
  }
  // Node writes where a missing named import is, with a caret, above the message.
  const arrow = /^(.+):(\d+)\n(.*)\n( *)\^/.exec(error.stack ?? '');
  if (
    error instanceof SyntaxError &&
    arrow &&
    /does not provide an export named/.test(error.message)
  ) {
    const file = arrow[1]!.startsWith('file:') ? fileURLToPath(arrow[1]!) : arrow[1]!;
    return `${located({ file, line: Number(arrow[2]), column: arrow[4]!.length + 1 }, cwd)}: ${error.message}`;
  }
  return undefined;
}

interface Frame {
  file: string;
  line?: number;
  column?: number;
}

const FRAME = /^\s*at (?:async )?(?:[^(]*\()?(.+?):(\d+):(\d+)\)?$/;

/** The frames of a V8 stack, file URLs as paths. */
function frames(stack: string | undefined): Frame[] {
  const result: Frame[] = [];
  for (const text of (stack ?? '').split('\n')) {
    const match = FRAME.exec(text);
    if (!match) continue;
    const file = match[1]!.startsWith('file:') ? fileURLToPath(match[1]!) : match[1]!;
    result.push({ file, line: Number(match[2]), column: Number(match[3]) });
  }
  return result;
}

function isOwn(file: string): boolean {
  return !path.isAbsolute(file) || OWN.some((dir) => file.startsWith(dir));
}

/** `file:line:column`, the file relative to `cwd` when it is inside it. */
function located(frame: Frame, cwd: string): string {
  const relative = path.relative(cwd, frame.file);
  const shown = relative && !relative.startsWith('..') ? relative : frame.file;
  return [shown, frame.line, frame.column].filter((part) => part !== undefined).join(':');
}

/**
 * Where `file` names `specifier` in quotes — an absolute one (Node resolves relative
 * specifiers before it reports them) matched by what it resolves to.
 */
function importPosition(file: string, specifier: string): { line?: number; column?: number } {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const noExtension = (name: string) => name.replace(/\.[cm]?[jt]sx?$/, '');
  for (const match of text.matchAll(/(['"])([^'"\n]+)\1/g)) {
    const named = match[2]!;
    const same = path.isAbsolute(specifier)
      ? noExtension(path.resolve(path.dirname(file), named)) === noExtension(specifier)
      : named === specifier;
    if (same) {
      const before = text.slice(0, match.index);
      const line = before.split('\n').length;
      return { line, column: match.index! - before.lastIndexOf('\n') };
    }
  }
  return {};
}

/** `error` with the command's and the module loader's frames taken out of its stack. */
function trimmed(error: unknown): unknown {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return error;
  const lines = error.stack.split('\n');
  const kept = lines.filter((text) => {
    const frame = frames(text)[0];
    return !frame || !PLUMBING.some((part) => frame.file.includes(part));
  });
  try {
    Object.defineProperty(error, 'stack', { value: kept.join('\n'), configurable: true });
  } catch {
    // A frozen error keeps its whole stack.
  }
  return error;
}

function isListenError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}
