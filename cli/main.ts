/**
 * The `mortar` command. `mortar serve module[:export]` loads an application by name and
 * serves it over HTTP, as a WSGI server does.
 */

import { isConfigError } from '../src/_internal/config-error.js';
import { carryLifespans } from '../src/lifespan.js';
import type { Application } from '../src/types.js';
import {
  CGI_HELP,
  MAIN_HELP,
  SERVE_HELP,
  serveSettings,
  UsageError,
  type WrapSettings,
} from './args.js';
import { loadApplication } from './load.js';

// Each command imports only the gateway it runs (dynamic imports below): a CGI process, one
// per request, loads the CGI gateway and nothing else of mortar's.

/**
 * Runs the CLI with `argv` (without `node` and the script). A failure is written to stderr
 * as `failure.ts` describes: one line for a usage or configuration error, the stack for
 * anything else (the whole of it, and with a configuration error too, under `--verbose` or
 * `DEBUG=mortar`).
 * @returns The exit code when the command finishes by itself: 0 (help), 2 (a usage error),
 *   1 (the application failed to load), 3 (a lifespan's startup failed: nothing was bound); `serve` keeps the process running and never resolves.
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
    if (command === 'new') return (await import('./new.js')).newCommand(rest);
    throw new UsageError(`unknown command "${command}" (try mortar --help)`);
  } catch (error) {
    // Loaded only on a failure: a CGI process's start stays what it needs.
    const { debugEnabled, describeFailure } = await import('./failure.js');
    const verbose = argv.includes('--verbose') || debugEnabled(process.env.DEBUG);
    const failure = describeFailure(error, verbose);
    process.stderr.write(failure.text);
    return failure.code;
  }
}

async function serveCommand(argv: readonly string[]): Promise<number> {
  const settings = serveSettings(argv);
  if (settings === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const { spec, socket } = settings;
  if (settings.reload) {
    // Development: the servers it starts know (debug() captures locals from the first error).
    process.env.MORTAR_RELOAD = '1';
    const { reloadLoop } = await import('./reload.js');
    return reloadLoop(argv.filter((arg) => arg !== '--reload'));
  }
  const { default: cluster } = await import('node:cluster');
  if (settings.workers > 0 && cluster.isPrimary) {
    const [{ clearStaleSocket }, { runWorkers }] = await Promise.all([
      socket?.protocol === 'scgi'
        ? import('../src/gateways/scgi/index.js')
        : import('../src/gateways/fastcgi/index.js'),
      import('./workers.js'),
    ]);
    if (socket?.where.path) await clearStaleSocket(socket.where.path);
    return runWorkers(settings.workers, spec, settings.pubsub);
  }
  const app = await wrapApplication(
    await loadApplication(spec),
    settings.wrap,
    socket !== undefined,
  );
  let server: { url: string; close(options?: { restart?: boolean }): Promise<void> };
  const startupTimeout = settings.startupTimeout;
  const listen = {
    ...socket?.where,
    socketMode: settings.socketMode,
    announce: false,
    ...(startupTimeout === undefined ? {} : { startupTimeout }),
  };
  if (socket?.protocol === 'fastcgi') {
    server = await (await import('../src/gateways/fastcgi/index.js')).serveFastCGI(app, listen);
  } else if (socket?.protocol === 'scgi') {
    server = await (await import('../src/gateways/scgi/index.js')).serveSCGI(app, listen);
  } else {
    const { serve } = await import('../src/gateways/node/index.js');
    const backplane = await pubsubBackplane(settings.pubsub, cluster.isWorker);
    server = await serve(app, {
      host: settings.host,
      port: settings.port,
      announce: false,
      maxBodySize: settings.wrap.maxBodySize,
      ...(startupTimeout === undefined ? {} : { startupTimeout }),
      ...(backplane && { websocket: { sync: backplane.sync } }),
    });
    await backplane?.ready;
  }
  const who = cluster.isWorker ? `worker ${process.pid}: ` : '';
  process.stderr.write(`mortar: ${who}serving ${spec} on ${server.url}\n`);
  if (settings.wrap.profile !== undefined && socket === undefined) {
    process.stderr.write(
      `mortar: profiles go to ${settings.wrap.profile}/ (profiled requests run one at a time: a profile covers the whole process); their index: ${new URL('__profile__/', server.url)}\n`,
    );
  }
  // Started by a cluster primary (--workers) or the reloader (--reload), this process leaves
  // when its parent lets go of the IPC channel: the primary taking a worker out hands it no
  // more connections, and a reloader that ends, however it ends, takes its server with it.
  // Either way: drain what is in flight, then leave. A primary replacing this worker (SIGHUP)
  // says so before it lets go: the drain starts at once, and open WebSockets get 1012
  // (service restart) rather than 1001 (going away).
  if (process.send) {
    const leave = (how?: { restart: boolean }): void => {
      server.close(how).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('message', (message: { mortar?: string }) => {
      if (message?.mortar === 'restart') leave({ restart: true });
    });
    process.once('disconnect', () => leave());
  }
  cluster.worker?.send({ mortar: 'listening', url: server.url });
  return new Promise<number>(() => {});
}

/** WebSocket pub/sub beyond this process: Redis (`--pubsub`), else the other workers. */
async function pubsubBackplane(url: string | undefined, worker: boolean) {
  if (url === undefined && !worker) return undefined;
  const { redisBackplane, workersBackplane } = await import('./pubsub.js');
  if (url === undefined) return { sync: workersBackplane(), ready: undefined };
  return redisBackplane(url, (line) => void process.stderr.write(`${line}\n`));
}

/**
 * The application wrapped as `mortar serve`'s options ask, outermost first: proxyFix (so the
 * log has the client), accessLog, blockWatch (inside accessLog: its lines carry the request
 * id), profile, the body limit (FastCGI and SCGI; `serve` applies its own), lint. The CLI composes middleware as an application does: it imports them, the contract
 * at `src/`'s root never does.
 */
async function wrapApplication(
  app: Application,
  wrap: WrapSettings,
  limitBody: boolean,
): Promise<Application> {
  // A bad --forwarded-allow-ips entry is a usage error of the command, said as one line.
  const trust = wrap.proxyHeaders ?? (wrap.accessLog ? wrap.trustedProxies : undefined);
  if (trust) {
    const { compileTrust } = await import('../middleware/_shared/trust.js');
    try {
      compileTrust(trust, '--forwarded-allow-ips');
    } catch (error) {
      if (isConfigError(error)) throw new UsageError(error.message);
      throw error;
    }
  }
  return wrapInOrder(app, wrap, limitBody);
}

async function wrapInOrder(
  app: Application,
  wrap: WrapSettings,
  limitBody: boolean,
): Promise<Application> {
  let result = app;
  if (wrap.lint) result = (await import('../middleware/lint/index.js')).lint()(result);
  if (limitBody && wrap.maxBodySize !== Number.POSITIVE_INFINITY) {
    const { limitRequestBody } = await import('../src/_internal/body-limit.js');
    result = limitRequestBody(result, wrap.maxBodySize, '--max-body-size');
  }
  if (wrap.profile !== undefined) {
    const { profile } = await import('../middleware/profile/index.js');
    result = profile({ dir: wrap.profile })(result);
  }
  if (wrap.blockWatch !== undefined) {
    const { blockWatch } = await import('../middleware/block-watch/index.js');
    result = blockWatch({ threshold: wrap.blockWatch })(result);
  }
  const trustedProxies = wrap.trustedProxies;
  if (wrap.accessLog) {
    const { accessLog } = await import('../middleware/access-log/index.js');
    result = accessLog({ format: wrap.accessLog, ...(trustedProxies ? { trustedProxies } : {}) })(
      result,
    );
  }
  if (wrap.proxyHeaders) {
    const { proxyFix } = await import('../middleware/proxy-fix/index.js');
    result = proxyFix({ trustedProxies: wrap.proxyHeaders })(result);
  }
  // The middleware above are applied one by one (not through compose): the application's
  // lifespans are carried to the outermost by hand, for the gateway to run.
  return carryLifespans(result, app);
}

async function cgiCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(CGI_HELP);
    return 0;
  }
  const rest = argv.filter((arg) => arg !== '--verbose');
  const spec = rest[0] ?? process.env.MORTAR_APP;
  if (!spec || rest.length > 1)
    throw new UsageError('usage: mortar cgi module[:export] (try mortar cgi --help)');
  const [{ runCGI }, app] = await Promise.all([
    import('../src/gateways/cgi/index.js'),
    loadApplication(spec),
  ]);
  await runCGI(app);
  return 0;
}
