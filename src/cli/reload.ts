/**
 * `mortar serve --reload`: the server in a child process, restarted when a source file
 * changes (as Django's runserver does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';

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
 * `--reload`: runs the server in a child process and restarts it when a source file under
 * the current directory changes (see {@link isWatched}). A restart lets the old server finish
 * its in-flight requests (it gets SIGTERM and drains) before the new one starts; changes while
 * it drains make one restart, not one each. A child that fails to start is retried on the next
 * change. The child leaves when the reloader does, however the reloader ends (it watches the
 * IPC channel), so no server outlives it.
 */
export function reloadLoop(childArgs: readonly string[]): Promise<number> {
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
    child.kill('SIGTERM');
  };
  const watcher: FSWatcher = watch(process.cwd(), { recursive: true }, (_event, file) => {
    if (!file || !isWatched(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      process.stderr.write(`mortar: ${file} changed; restarting\n`);
      restart();
    }, DEBOUNCE);
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    watcher.close();
    clearTimeout(timer);
    if (!child) process.exit(0);
    child.once('exit', () => process.exit(0));
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  start();
  return new Promise<number>(() => {});
}
