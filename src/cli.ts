/**
 * The `mortar` command. `mortar serve module[:export]` loads an application by name and
 * serves it over HTTP, as a WSGI server does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { parseArgs } from 'node:util';
import { LoadError, loadApplication } from './load.js';
import { serve } from './serve.js';

const MAIN_HELP = `Usage: mortar <command> [options]

Commands:
  serve [module[:export]]   serve an application over HTTP (mortar serve --help)

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
  --host HOST    interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --port PORT    TCP port, 0 for any free one (default 8000, or the PORT variable)
  --reload       restart the server when a file under the current directory changes
  -h, --help     show this help

SIGINT or SIGTERM stops accepting, lets in-flight requests finish (up to 10 s) and exits 0.
Exit code 2, with one line on stderr: module not found, export missing, export not a
function, port in use, bad option.
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

  const app = await loadApplication(spec);
  const server = await serve(app, { host, port, announce: false });
  process.stderr.write(`mortar: serving ${spec} on ${server.url}\n`);
  return new Promise<number>(() => {});
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
