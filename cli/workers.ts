/**
 * `mortar serve --workers N`: N processes (node:cluster) share the listening socket.
 */
import cluster, { type Worker } from 'node:cluster';
import { UsageError } from './args.js';

/** Milliseconds a new worker may take to listen before it counts as failed. */
const START_TIMEOUT = 30_000;
/** Milliseconds a leaving worker may take to drain before it is killed. */
const STOP_TIMEOUT = 15_000;

const log = (line: string): void => void process.stderr.write(`mortar: ${line}\n`);

/**
 * `--workers N`: N processes (node:cluster) share the listening socket. A worker that dies is
 * replaced; SIGTERM/SIGINT drain every worker and exit 0; SIGHUP replaces the workers one at
 * a time, each new one listening before the old one leaves, so no request is dropped. A new
 * worker that fails to start (a broken deploy, a lifespan whose startup fails) stops the
 * reload and the old workers keep serving; a SIGHUP during a reload queues one more. Each
 * worker runs the application's lifespans itself (one per process); when one fails at the
 * first start, the command exits 3. Without `pubsub` (a Redis URL, which the workers share
 * on), the workers' WebSocket pub/sub goes through this process.
 */
export function runWorkers(count: number, spec: string, pubsub?: string): Promise<number> {
  let stopping = false;
  const replaced = new WeakSet<Worker>();
  const replaceOnExit = (worker: Worker): void => {
    worker.once('exit', (code, signal) => {
      if (stopping || worker.exitedAfterDisconnect || replaced.has(worker)) return;
      log(`worker ${worker.process.pid} died (${signal ?? code}); starting another`);
      startWorker().then(replaceOnExit, (error: Error) => log(error.message));
    });
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    log(`${signal}: draining ${workers.length} workers`);
    Promise.all(workers.map((worker) => stopWorker(worker))).then(() => process.exit(0));
  };
  const reload = reloader(async () => {
    log('SIGHUP: replacing workers one at a time');
    for (const old of Object.values(cluster.workers ?? {})) {
      if (!old || stopping || replaced.has(old)) continue;
      let fresh: Worker;
      try {
        fresh = await startWorker();
      } catch (error) {
        log(
          `SIGHUP: a new worker failed (${(error as Error).message}); the old workers keep serving`,
        );
        return;
      }
      replaceOnExit(fresh);
      replaced.add(old);
      await stopWorker(old, true);
    }
    log(`SIGHUP: ${count} workers replaced`);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', reload);
  // The workers' WebSocket pub/sub, without --pubsub: this process relays each publish.
  const relay = pubsub
    ? Promise.resolve()
    : import('crossws/sync').then(({ setupPrimaryCluster }) => setupPrimaryCluster());
  return relay
    .then(() => Promise.all(Array.from({ length: count }, startWorker)))
    .then(
      (workers) => {
        for (const worker of workers) replaceOnExit(worker);
        log(`${count} workers serving ${spec}`);
        return new Promise<number>(() => {});
      },
      (error: Error & { exitCode?: number | null }) => {
        stopping = true;
        for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
        // A worker's lifespan that failed to start (exit 3, its reason on stderr): the same 3.
        if (error.exitCode === 3) throw Object.assign(error, { code: 'ERR_MORTAR_LIFESPAN' });
        throw new UsageError(error.message);
      },
    );
}

/** Runs `task` on each call, never two at once: a call while it runs queues one more run. */
function reloader(task: () => Promise<void>): () => void {
  let running = false;
  let queued = false;
  const run = (): void => {
    if (running) {
      queued = true;
      return;
    }
    running = true;
    task()
      .catch((error: unknown) => log(`SIGHUP: the reload failed: ${String(error)}`))
      .finally(() => {
        running = false;
        if (queued) {
          queued = false;
          run();
        }
      });
  };
  return run;
}

/** Forks a worker; resolves once it listens, rejects when it exits before or takes too long. */
function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = cluster.fork();
    const timer = setTimeout(() => {
      worker.process.kill('SIGKILL');
      reject(new Error(`a worker did not listen within ${START_TIMEOUT} ms`));
    }, START_TIMEOUT);
    const onMessage = (message: { mortar?: string }): void => {
      if (message?.mortar === 'listening') {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(worker);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      const why = code === 3 ? 'its lifespan failed to start' : (signal ?? `code ${code}`);
      reject(
        Object.assign(new Error(`a worker exited (${why}) before listening`), { exitCode: code }),
      );
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

/**
 * Takes a worker out: `disconnect()` first, so the primary hands it no more connections (a
 * worker that exited at once lost the ones already on their way), then the worker drains its
 * in-flight requests and exits; killed if it takes longer than the stop timeout. A worker
 * being replaced (`restart`) is told so first, and closes its WebSockets with 1012.
 */
function stopWorker(worker: Worker, restart = false): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (worker.isConnected()) {
      if (restart) worker.send({ mortar: 'restart' });
      worker.disconnect();
    } else worker.process.kill('SIGTERM');
  });
}
