/**
 * `mortar serve --reload`: the server in a child process, restarted when a file changes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';

const IGNORED = /(?:^|[/\\])(?:node_modules|\.git|dist|coverage|\.tmp)(?:[/\\]|$)/;

/**
 * `--reload`: runs the server in a child process and restarts it when a file under the
 * current directory changes (as Django's runserver does). A child that fails to start is
 * retried on the next change.
 */
export function reloadLoop(childArgs: readonly string[]): Promise<number> {
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const start = (): void => {
    child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, 'serve', ...childArgs],
      {
        stdio: 'inherit',
      },
    );
    child.once('exit', (code, signal) => {
      if (!stopping && signal === null && code !== 0) {
        process.stderr.write('mortar: the server exited; waiting for a file change to restart\n');
      }
      child = undefined;
    });
  };
  const restart = (): void => {
    const old = child;
    if (!old) {
      start();
      return;
    }
    old.once('exit', start);
    old.kill('SIGTERM');
  };
  const watcher: FSWatcher = watch(process.cwd(), { recursive: true }, (_event, file) => {
    if (!file || IGNORED.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      process.stderr.write(`mortar: ${file} changed; restarting\n`);
      restart();
    }, 150);
  });
  const stop = (): void => {
    stopping = true;
    watcher.close();
    if (!child) process.exit(0);
    child.once('exit', () => process.exit(0));
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  start();
  return new Promise<number>(() => {});
}
