/**
 * The `mortar` command. `mortar serve module[:export]` loads an application by name and
 * serves it over HTTP, as a WSGI server does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import { type FSWatcher, watch } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCGI } from './cgi.js';
import { clearStaleSocket, serveFastCGI } from './fastcgi.js';
import { LoadError, loadApplication } from './load.js';
import { serveSCGI } from './scgi.js';
import { serve } from './serve.js';

const MAIN_HELP = `Usage: mortar <command> [options]

Commands:
  serve [module[:export]]   serve an application over HTTP, FastCGI or SCGI (mortar serve --help)
  cgi module[:export]       answer one CGI request from the environment (mortar cgi --help)

Options:
  -h, --help                show this help
`;

const SERVE_HELP = `Usage: mortar serve [module[:export]] [options]

Loads an application and serves it over HTTP/1.1.

  module    a file (.ts, .mts, .js, .mjs; TypeScript loads directly) or a package name,
            resolved from the current directory
  export    the export to serve, a dotted path allowed (app.ts:app.fetch); default
            "application", then the default export. An object with a fetch method
            (a Hono app, export default { fetch }) is served through that method.

  Without a module, the MORTAR_APP environment variable names one (MORTAR_APP=app.ts:api).

Options:
  --host HOST          interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --port PORT          TCP port, 0 for any free one (default 8000, or the PORT variable)
  --fastcgi WHERE      speak FastCGI instead of HTTP, on a unix socket path (with a "/"),
                       HOST:PORT or PORT — for nginx, lighttpd, Apache mod_proxy_fcgi
  --scgi WHERE         speak SCGI instead, on a socket path, HOST:PORT or PORT
  --socket-mode MODE   file mode of a unix socket, octal (660 lets the front end's group in)
  --workers N          N processes share the socket; a dead one is replaced; SIGHUP
                       replaces them one by one without dropping a request
  --reload             restart the server when a file under the current directory changes
  -h, --help           show this help

SIGINT or SIGTERM stops accepting, lets in-flight requests finish (up to 10 s) and exits 0.
Exit code 2, with one line on stderr: module not found, export missing, export not a
function, port in use, bad option.
`;

const CGI_HELP = `Usage: mortar cgi module[:export]

Answers one CGI/1.1 request: reads the meta-variables from the environment and the body from
standard input, writes the response to standard output. Point the front end's CGI handler at
a script that runs it, e.g. for lighttpd's mod_cgi:

  #!/bin/sh
  exec mortar cgi /srv/app/app.ts
`;

/** Thrown for a usage problem: one line on stderr, exit code 2. */
class UsageError extends Error {}

/**
 * Runs the CLI with `argv` (without `node` and the script).
 * @returns The exit code when the command finishes by itself (help, errors); `serve` keeps
 *   the process running and never resolves.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === 'serve') return await serveCommand(rest);
    if (command === 'cgi') return await cgiCommand(rest);
    throw new UsageError(`unknown command "${command}" (try mortar --help)`);
  } catch (error) {
    if (error instanceof UsageError || error instanceof LoadError || isListenError(error)) {
      process.stderr.write(`mortar: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

async function serveCommand(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(argv);
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (try mortar serve --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `serve takes one module, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const spec = positionals[0] ?? process.env.MORTAR_APP;
  if (!spec) {
    throw new UsageError('name an application: mortar serve module[:export], or set MORTAR_APP');
  }
  const portText = values.port ?? process.env.PORT ?? '8000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${portText}"`);
  }
  const host = values.host ?? '127.0.0.1';

  if (values.reload) return reloadLoop(argv.filter((arg) => arg !== '--reload'));

  if (values.fastcgi !== undefined && values.scgi !== undefined) {
    throw new UsageError('--fastcgi and --scgi exclude each other');
  }
  let socketMode: number | undefined;
  if (values['socket-mode'] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(values['socket-mode'])) {
      throw new UsageError(`--socket-mode must be octal like 660, got "${values['socket-mode']}"`);
    }
    socketMode = Number.parseInt(values['socket-mode'], 8);
  }
  const workers = values.workers === undefined ? 0 : Number(values.workers);
  if (
    values.workers !== undefined &&
    (!/^\d+$/.test(values.workers) || workers < 1 || workers > 256)
  ) {
    throw new UsageError(`--workers must be an integer from 1 to 256, got "${values.workers}"`);
  }
  const socket = values.fastcgi ?? values.scgi;
  if (workers > 0 && cluster.isPrimary) {
    if (socket?.includes('/')) await clearStaleSocket(socket);
    return runWorkers(workers, spec);
  }

  const app = await loadApplication(spec);
  let url: string;
  if (socket !== undefined) {
    const where = parseSocket(socket, values.fastcgi !== undefined ? '--fastcgi' : '--scgi');
    const listen = { ...where, socketMode, announce: false };
    const server =
      values.fastcgi !== undefined ? await serveFastCGI(app, listen) : await serveSCGI(app, listen);
    url = server.url;
  } else {
    url = (await serve(app, { host, port, announce: false })).url;
  }
  const who = cluster.isWorker ? `worker ${process.pid}: ` : '';
  process.stderr.write(`mortar: ${who}serving ${spec} on ${url}\n`);
  cluster.worker?.send({ mortar: 'listening', url });
  return new Promise<number>(() => {});
}

/** `--fastcgi`/`--scgi` values: a socket path (has a `/`), `HOST:PORT`, or `PORT`. */
function parseSocket(
  value: string,
  option: string,
): { path?: string; host?: string; port?: number } {
  if (value.includes('/')) return { path: value };
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) {
    throw new UsageError(
      `${option} takes a socket path (with a "/"), HOST:PORT or PORT, got "${value}"`,
    );
  }
  return { host: match[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port: Number(match[2]) };
}

/**
 * `--workers N`: N processes (node:cluster) share the listening socket. A worker that dies is
 * replaced; SIGTERM/SIGINT drain every worker and exit 0; SIGHUP replaces the workers one at
 * a time, each new one listening before the old one drains, so no request is dropped.
 */
function runWorkers(count: number, spec: string): Promise<number> {
  let stopping = false;
  const start = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
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
  const stopWorker = (worker: Worker): Promise<void> =>
    new Promise((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      worker.process.kill('SIGTERM');
    });
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

async function cgiCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(CGI_HELP);
    return 0;
  }
  const spec = argv[0] ?? process.env.MORTAR_APP;
  if (!spec || argv.length > 1)
    throw new UsageError('usage: mortar cgi module[:export] (try mortar cgi --help)');
  await runCGI(await loadApplication(spec));
  return 0;
}

function parseServeArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      reload: { type: 'boolean' },
      fastcgi: { type: 'string' },
      scgi: { type: 'string' },
      'socket-mode': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function isListenError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

const IGNORED = /(?:^|[/\\])(?:node_modules|\.git|dist|coverage|\.tmp)(?:[/\\]|$)/;

/**
 * `--reload`: runs the server in a child process and restarts it when a file under the
 * current directory changes (as Django's runserver does). A child that fails to start is
 * retried on the next change.
 */
function reloadLoop(childArgs: readonly string[]): Promise<number> {
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
