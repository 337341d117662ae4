/**
 * The debugger's secret, kept in a file of the user's (mode 600) so the PIN and its cookie
 * outlive the process: `--reload`, `node --watch` and `--workers` processes share one PIN.
 * Werkzeug derives its PIN from the machine id and the user's name, which every local user can
 * read; a random secret readable only by its owner keeps other users of a shared machine out.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** `$XDG_CACHE_HOME/mortar/debug-secret`, else `~/.cache/mortar/debug-secret`. */
export function defaultSecretFile(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cache, 'mortar', 'debug-secret');
}

/** The secret, and why it is a per-process one when it is. */
export interface Secret {
  value: string;
  /** Set when no file could keep it: the PIN changes at each start. */
  problem?: string;
}

const SHAPE = /^[0-9a-f]{64}$/;

/**
 * Reads the secret in `file`, making it (64 hex digits, mode 600, atomically: a second process
 * starting at the same moment reads the first one's) when there is none. `false`: a new secret
 * for this process only.
 *
 * @throws Error when the file exists but is not a secret this made (64 hex digits), or others
 *   than its owner may read it: a changed secret is someone else's doing; say so, lose nothing.
 */
export function loadSecret(file: string | false): Secret {
  const fresh = randomBytes(32).toString('hex');
  if (file === false) return { value: fresh };
  try {
    return { value: readSecret(file) };
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return unkept(file, fresh, error);
  }
  const temporary = `${file}.${process.pid}.${fresh.slice(0, 8)}`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, file); // fails if another process made it first: read theirs
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return { value: readSecret(file) };
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    return unkept(file, fresh, error);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** A secret file that is there but must not be used: the developer has to act. */
class SecretFileError extends Error {}

/** A secret for this process only, and why (a file system error). */
function unkept(file: string, fresh: string, error: unknown): Secret {
  const reason = error instanceof Error ? error.message : String(error);
  return { value: fresh, problem: `could not keep a secret in ${file}: ${reason}` };
}

function readSecret(file: string): string {
  const text = readFileSync(file, 'utf8').trim();
  if (!SHAPE.test(text)) {
    throw new SecretFileError(
      `debug(): ${file} is not a debugger secret (64 hex digits); delete it to make a new one`,
    );
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new SecretFileError(
      `debug(): ${file} may be read by other users, who could compute the PIN; chmod 600 it or delete it`,
    );
  }
  return text;
}
