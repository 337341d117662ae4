/**
 * `mortar serve --workers N`: N processes (node:cluster) share the listening socket.
 */
import cluster, { type Worker } from 'node:cluster';
import { UsageError } from './args.js';

/**
 * `--workers N`: N processes (node:cluster) share the listening socket. A worker that dies is
 * replaced; SIGTERM/SIGINT drain every worker and exit 0; SIGHUP replaces the workers one at
 * a time, each new one listening before the old one drains, so no request is dropped.
 */
export function runWorkers(count: number, spec: string): Promise<number> {
  let stopping = false;
  const start = startWorker;
  const replaceOnExit = (worker: Worker): void => {
    worker.once('exit', (code, signal) => {
      if (
        stopping ||
        worker.exitedAfterDisconnect ||
        (worker as Worker & { replaced?: boolean }).replaced
      )
        return;
      process.stderr.write(
        `mortar: worker ${worker.process.pid} died (${signal ?? code}); starting another\n`,
      );
      start().then(replaceOnExit, (error: Error) =>
        process.stderr.write(`mortar: ${error.message}\n`),
      );
    });
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(
      `mortar: ${signal}: draining ${Object.keys(cluster.workers ?? {}).length} workers\n`,
    );
    Promise.all(Object.values(cluster.workers ?? {}).map((w) => stopWorker(w!))).then(() =>
      process.exit(0),
    );
  };
  const reload = async (): Promise<void> => {
    process.stderr.write('mortar: SIGHUP: replacing workers one at a time\n');
    for (const old of Object.values(cluster.workers ?? {})) {
      if (!old || stopping) continue;
      const fresh = await start();
      replaceOnExit(fresh);
      (old as Worker & { replaced?: boolean }).replaced = true;
      await stopWorker(old);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void reload());
  return Promise.all(Array.from({ length: count }, start)).then(
    (workers) => {
      for (const worker of workers) replaceOnExit(worker);
      process.stderr.write(`mortar: ${count} workers serving ${spec}\n`);
      return new Promise<number>(() => {});
    },
    (error: Error) => {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
      throw new UsageError(error.message);
    },
  );
}

/** Forks a worker; resolves once it listens, rejects when it exits before. */
function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = cluster.fork();
    const onMessage = (message: { mortar?: string }): void => {
      if (message?.mortar === 'listening') {
        worker.off('message', onMessage);
        resolve(worker);
      }
    };
    worker.on('message', onMessage);
    worker.once('exit', (code) =>
      reject(new Error(`a worker exited with code ${code} before listening`)),
    );
  });
}

/** Asks a worker to drain (SIGTERM); resolves once it exited. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    worker.once('exit', () => resolve());
    worker.process.kill('SIGTERM');
  });
}
