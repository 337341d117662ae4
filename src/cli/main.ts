/**
 * The `mortar` command. `mortar serve module[:export]` loads an application by name and
 * serves it over HTTP, as a WSGI server does.
 */
import cluster from 'node:cluster';
import { clearStaleSocket } from '../gateways/_shared/listen.js';
import { runCGI } from '../gateways/cgi/index.js';
import { serveFastCGI } from '../gateways/fastcgi/index.js';
import { serve } from '../gateways/node/index.js';
import { serveSCGI } from '../gateways/scgi/index.js';
import {
  CGI_HELP,
  MAIN_HELP,
  parseServeArgs,
  parseSocket,
  SERVE_HELP,
  UsageError,
} from './args.js';
import { LoadError, loadApplication } from './load.js';
import { reloadLoop } from './reload.js';
import { runWorkers } from './workers.js';

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

function isListenError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}
