/**
 * `mortar serve --reload`: the server in a child process, restarted when a source file
 * changes (as Django's runserver does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type * as Chokidar from 'chokidar';
import { importOptional } from '../src/_internal/optional.js';
import { LoadError } from './spec.js';

/** Folders never watched: dependencies, VCS data, build output, and every dot-folder. */
const IGNORED = /(?:^|[/\\])(?:node_modules|dist|coverage|\.[^/\\]+)[/\\]/;
/** What counts as source: a change to anything else (data the application writes) is not one. */
const SOURCE = /(?:\.(?:[cm]?[jt]s|[jt]sx)|(?:^|[/\\])(?:package\.json|tsconfig\.json|\.env))$/;
/** Milliseconds a burst of changes must be quiet before the restart. */
const DEBOUNCE = 150;

/** Whether a changed path (relative to the watched folder) should restart the server. */
export function isWatched(file: string): boolean {
  return SOURCE.test(file) && !IGNORED.test(file);
}

/**
 * Whether the watcher leaves a path (relative to the watched folder) out altogether, so that
 * it costs no watch: an ignored folder (and so all under it), and any file {@link isWatched}
 * turns down. `stats` is the path's `lstat` when the watcher has it; without it, a name that
 * would be an ignored folder is left out unless it is also a source file's (`.env`).
 */
export function isSkipped(file: string, stats?: Stats): boolean {
  if (stats && !stats.isDirectory()) return !isWatched(file);
  const ignoredFolder = IGNORED.test(`${file}/`);
  return stats ? ignoredFolder : ignoredFolder && !isWatched(file);
}

/**
 * `--reload`: runs the server in a child process and restarts it when a source file under
 * the current directory changes (see {@link isWatched}). A restart lets the old server finish
 * its in-flight requests (it gets SIGTERM and drains) before the new one starts; changes while
 * it drains make one restart, not one each. A child that fails to start is retried on the next
 * change. The child leaves when the reloader does, however the reloader ends (it watches the
 * IPC channel), so no server outlives it. The first server starts once the watcher is ready,
 * so no change made after its "serving" line goes unseen.
 * @throws LoadError saying to `npm install -D chokidar` when it is not installed (a
 *   development tool: a production install carries none).
 */
export async function reloadLoop(childArgs: readonly string[]): Promise<number> {
  const chokidar = await watcherLibrary();
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let restartWhenGone = false;
  const start = (): void => {
    const started = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, 'serve', ...childArgs],
      { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] },
    );
    child = started;
    started.once('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (restartWhenGone) {
        restartWhenGone = false;
        start();
      } else if (signal === null && code !== 0) {
        process.stderr.write('mortar: the server exited; waiting for a file change to restart\n');
      }
    });
  };
  const restart = (): void => {
    if (!child) {
      start();
      return;
    }
    if (restartWhenGone) return; // already draining: it starts once, when the old one is gone
    restartWhenGone = true;
    // The server drains as one being replaced: its open WebSockets get 1012 (service
    // restart), which tells a client to reconnect, rather than SIGTERM's 1001 (going away).
    const old = child;
    if (!old.connected) old.kill('SIGTERM');
    else old.send({ mortar: 'restart' }, (error) => error && old.kill('SIGTERM'));
  };
  const watcher = watchSources(chokidar, process.cwd(), (file) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      process.stderr.write(`mortar: ${file} changed; restarting\n`);
      restart();
    }, DEBOUNCE);
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void watcher.close();
    clearTimeout(timer);
    if (!child) process.exit(0);
    child.once('exit', () => process.exit(0));
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  watcher.once('ready', start);
  return new Promise<number>(() => {});
}

/**
 * Watches the source files under `root` (chokidar: each folder and file by its own watch, so
 * a file an editor replaces by renaming a new one over it stays watched) and calls `changed`
 * with the path, relative to `root`, of each source file written, added or removed. Skipped
 * folders (see {@link isSkipped}) are never entered. A path that cannot be watched is said on
 * stderr, with what it means: changes there go unseen.
 */
function watchSources(chokidar: typeof Chokidar, root: string, changed: (file: string) => void) {
  const watcher = chokidar.watch(root, {
    ignored: (file, stats) => {
      const relative = path.relative(root, file);
      return (
        !relative.startsWith(`..${path.sep}`) && relative !== '..' && isSkipped(relative, stats)
      );
    },
    ignoreInitial: true,
    followSymlinks: false,
  });
  watcher.on('all', (_event, file) => {
    const relative = path.relative(root, file);
    if (isWatched(relative)) changed(relative);
  });
  watcher.on('error', (error) => {
    const { code, message } = error as NodeJS.ErrnoException;
    const limit =
      code === 'ENOSPC' ? ' (the limit on watched files: Linux fs.inotify.max_user_watches)' : '';
    process.stderr.write(
      `mortar: --reload cannot watch a file${limit}: ${message}; changes to it will not restart the server\n`,
    );
  });
  return watcher;
}

/** chokidar, a devDependency of the project (`mortar new` lists it), loaded for --reload only. */
async function watcherLibrary(): Promise<typeof Chokidar> {
  const message = '--reload needs chokidar: npm install -D chokidar';
  try {
    return await importOptional<typeof Chokidar>('chokidar', message);
  } catch (error) {
    if ((error as Error).message === message) throw new LoadError(message, { cause: error });
    throw error;
  }
}
