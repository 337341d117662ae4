/**
 * The command line of `mortar`: help texts, option parsing (node:util's parseArgs) and the
 * checks that turn a bad option into one line on stderr and exit code 2.
 */
import { parseArgs } from 'node:util';
import { parseHost } from '../src/_internal/request-target.js';

export const MAIN_HELP = `Usage: mortar <command> [options]

Commands:
  serve [module[:export]]   serve an application over HTTP, FastCGI or SCGI (mortar serve --help)
  cgi module[:export]       answer one CGI request from the environment (mortar cgi --help)
  new PATH                  write a new project into the folder PATH (mortar new --help)

Options:
  -h, --help                show this help
`;

export const SERVE_HELP = `Usage: mortar serve [module[:export]] [options]

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
  --startup-timeout MS milliseconds each lifespan of the application (withLifespan) may take
                       to start (default 30000); the port is bound only once all have
  --pubsub URL         share WebSocket pub/sub (peer.publish) with every process and host
                       on this Redis, redis://HOST:PORT (also MORTAR_PUBSUB; needs ioredis)
  --proxy-headers      believe X-Forwarded-For and X-Forwarded-Proto (one proxy) from the
                       peers of --forwarded-allow-ips: the client's address, https in URLs
  --forwarded-allow-ips LIST
                       peers trusted for proxy headers and X-Request-Id: addresses and
                       CIDR ranges, comma-separated, "unix", "*" (default loopback,unix;
                       also FORWARDED_ALLOW_IPS)
  --access-log         one line per request on stderr, when its body has finished
                       (buffered: written within 100 ms, and at exit)
  --access-log-format F
                       combined (default), common or json; implies --access-log
  --max-body-size N    refuse request bodies over N bytes with 413 (k, M, G suffixes are
                       KiB, MiB, GiB; "none" for no limit; default 10M)
  --lint               check every call against mortar's contract and HTTP, a warning line
                       each (development)
  --profile [DIR]      a CPU profile (.cpuprofile) of each request into DIR (default
                       profiles), one request at a time, and their index with a flame chart
                       at /__profile__/ (debug()'s PIN; development). DIR is taken unless it
                       looks like a module (.ts, .js …); else write --profile=DIR
  --block-watch [MS]   a line naming the request and the TypeScript line whenever the event
                       loop is blocked over MS milliseconds (default 100; development; on
                       under --reload unless --no-block-watch)
  --reload             restart the server when a source file under the current directory
                       changes (.ts .js .mts .mjs .cts .cjs .tsx .jsx, package.json,
                       tsconfig.json, .env; never node_modules, dist, coverage or a
                       dot-folder); in-flight requests finish first. Sets
                       MORTAR_RELOAD=1: debug() captures locals from the first error
  --verbose            a configuration error with its stack (also DEBUG=mortar)
  -h, --help           show this help

SIGINT or SIGTERM stops accepting, lets in-flight requests finish (up to 10 s), closes open
WebSockets with 1001 (going away; SIGHUP's replaced workers: 1012, service restart) and exits 0.
Exit code 2, with one line on stderr: module not found, export missing, export not a
function, port in use, bad option. Exit code 3, with one line naming it: a lifespan's
startup threw or exceeded --startup-timeout (nothing was bound). Exit code 1 when the module fails while it loads: one
line, FILE:LINE:COLUMN: message, for a configuration error (an option or value a mortar
middleware refuses, an import that is not there), the stack for anything else.
`;

export const CGI_HELP = `Usage: mortar cgi module[:export] [--verbose]

Answers one CGI/1.1 request: reads the meta-variables from the environment and the body from
standard input, writes the response to standard output. Point the front end's CGI handler at
a script that runs it, e.g. for lighttpd's mod_cgi:

  #!/bin/sh
  exec mortar cgi /srv/app/app.ts
`;

/** Thrown for a usage problem: one line on stderr, exit code 2. */
export class UsageError extends Error {}

/** Parses `mortar serve`'s arguments. @throws TypeError from parseArgs for an unknown option. */
export function parseServeArgs(argv: readonly string[]) {
  return parseArgs({
    args: optionalValues(argv),
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
      'startup-timeout': { type: 'string' },
      pubsub: { type: 'string' },
      'proxy-headers': { type: 'boolean' },
      'forwarded-allow-ips': { type: 'string' },
      'access-log': { type: 'boolean' },
      'access-log-format': { type: 'string' },
      'max-body-size': { type: 'string' },
      lint: { type: 'boolean' },
      profile: { type: 'string' },
      'block-watch': { type: 'string' },
      'no-block-watch': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const MODULE = /\.(?:[cm]?[jt]s|[jt]sx)(?::[\w.$]*)?$|:/;

/**
 * `--profile [DIR]` and `--block-watch [MS]` take a value only when one follows (a DIR that
 * does not look like a module file, a whole number of milliseconds): rewritten as
 * `--profile=DIR` (default `profiles`) and `--block-watch=MS` (default 100) for parseArgs.
 */
function optionalValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--profile') {
      const taken = next !== undefined && !next.startsWith('-') && !MODULE.test(next);
      out.push(`--profile=${taken ? next : 'profiles'}`);
      if (taken) i++;
    } else if (arg === '--block-watch') {
      const taken = next !== undefined && /^\d+$/.test(next);
      out.push(`--block-watch=${taken ? next : '100'}`);
      if (taken) i++;
    } else out.push(arg);
  }
  return out;
}

/** `--fastcgi`/`--scgi` values: a socket path (has a `/`), `HOST:PORT`, or `PORT`. */
export function parseSocket(
  value: string,
  option: string,
): { path?: string; host?: string; port?: number } {
  if (value.includes('/')) return { path: value };
  const parts = /^\d+$/.test(value)
    ? { hostname: '127.0.0.1', port: Number(value) }
    : parseHost(value);
  if (parts === undefined || parts.port === undefined || parts.port > 65_535) {
    throw new UsageError(
      `${option} takes a socket path (with a "/"), HOST:PORT or PORT, got "${value}"`,
    );
  }
  return { host: parts.hostname.replace(/^\[|\]$/g, ''), port: parts.port };
}

/** What `mortar serve`'s arguments ask for, checked. */
export interface ServeSettings {
  /** `module[:export]`, from the argument or `MORTAR_APP`. */
  spec: string;
  host: string;
  /** From `--port`, else the `PORT` variable, else 8000. */
  port: number;
  reload: boolean;
  /** `--fastcgi` or `--scgi`, and where; `undefined` for HTTP. */
  socket: { protocol: 'fastcgi' | 'scgi'; where: ReturnType<typeof parseSocket> } | undefined;
  socketMode: number | undefined;
  /** 0 without `--workers`. */
  workers: number;
  /** `--startup-timeout`, milliseconds; `undefined` for the gateways' default. */
  startupTimeout: number | undefined;
  /** `--pubsub` (or `MORTAR_PUBSUB`): the Redis URL WebSocket pub/sub is shared on. */
  pubsub: string | undefined;
  /** The middleware `mortar serve` wraps the application in (outermost first). */
  wrap: WrapSettings;
}

/** What `--proxy-headers`, `--access-log*`, `--max-body-size` and `--lint` ask for. */
export interface WrapSettings {
  /** `--forwarded-allow-ips` (or FORWARDED_ALLOW_IPS), when `--proxy-headers` is given. */
  proxyHeaders: string | undefined;
  /** The peers trusted for `X-Request-Id` (the same list). */
  trustedProxies: string | undefined;
  accessLog: 'combined' | 'common' | 'json' | undefined;
  /** Bytes; `Infinity` for `none`. */
  maxBodySize: number;
  lint: boolean;
  /** `--profile`'s folder. */
  profile: string | undefined;
  /** `--block-watch`'s threshold in milliseconds (100 under `--reload` by default). */
  blockWatch: number | undefined;
}

const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * `--max-body-size`: bytes, with an optional binary unit (`512k`, `10M`, `1GiB`), or `none`.
 * @throws UsageError for anything else.
 */
export function parseByteSize(text: string, option: string): number {
  if (text === 'none') return Number.POSITIVE_INFINITY;
  const match = /^(\d+)\s*(?:([kKmMgG])(?:i?B)?)?$/.exec(text);
  if (!match) {
    throw new UsageError(
      `${option} takes bytes like 1048576, 512k, 10M or 1G, or "none"; got "${text}"`,
    );
  }
  return Number(match[1]) * UNIT[(match[2] ?? '').toLowerCase()]!;
}

function wrapSettings(values: ReturnType<typeof parseServeArgs>['values']): WrapSettings {
  const format = values['access-log-format'];
  if (format !== undefined && format !== 'combined' && format !== 'common' && format !== 'json') {
    throw new UsageError(`--access-log-format must be combined, common or json, got "${format}"`);
  }
  const allowed = values['forwarded-allow-ips'] ?? process.env.FORWARDED_ALLOW_IPS;
  return {
    proxyHeaders: values['proxy-headers'] ? (allowed ?? 'loopback,unix') : undefined,
    trustedProxies: allowed,
    accessLog: format ?? (values['access-log'] ? 'combined' : undefined),
    maxBodySize: parseByteSize(values['max-body-size'] ?? '10M', '--max-body-size'),
    lint: values.lint ?? false,
    profile: values.profile === '' ? undefined : values.profile,
    blockWatch: blockWatchSetting(values),
  };
}

/** `--block-watch [MS]`, on by default under `--reload` (whose servers have MORTAR_RELOAD=1). */
function blockWatchSetting(
  values: ReturnType<typeof parseServeArgs>['values'],
): number | undefined {
  if (values['no-block-watch']) return undefined;
  const text = values['block-watch'] ?? (process.env.MORTAR_RELOAD === '1' ? '100' : undefined);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 10) {
    throw new UsageError(`--block-watch takes whole milliseconds, 10 or more, got "${text}"`);
  }
  return Number(text);
}

/**
 * Checks `mortar serve`'s arguments.
 * @returns The settings, or `'help'` for `--help`.
 * @throws UsageError naming the option that is wrong.
 */
export function serveSettings(argv: readonly string[]): ServeSettings | 'help' {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(argv);
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (try mortar serve --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
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
  if (values.fastcgi !== undefined && values.scgi !== undefined) {
    throw new UsageError('--fastcgi and --scgi exclude each other');
  }
  const mode = values['socket-mode'];
  if (mode !== undefined && !/^0?[0-7]{3}$/.test(mode)) {
    throw new UsageError(`--socket-mode must be octal like 660, got "${mode}"`);
  }
  const workers = values.workers === undefined ? 0 : Number(values.workers);
  if (
    values.workers !== undefined &&
    (!/^\d+$/.test(values.workers) || workers < 1 || workers > 256)
  ) {
    throw new UsageError(`--workers must be an integer from 1 to 256, got "${values.workers}"`);
  }
  const startup = values['startup-timeout'];
  if (startup !== undefined && (!/^\d+$/.test(startup) || Number(startup) < 1)) {
    throw new UsageError(`--startup-timeout takes whole milliseconds, 1 or more, got "${startup}"`);
  }
  const protocol =
    values.fastcgi !== undefined ? 'fastcgi' : values.scgi !== undefined ? 'scgi' : undefined;
  return {
    spec,
    host: values.host ?? '127.0.0.1',
    port,
    reload: values.reload ?? false,
    socket: protocol && {
      protocol,
      where: parseSocket((values.fastcgi ?? values.scgi)!, `--${protocol}`),
    },
    socketMode: mode === undefined ? undefined : Number.parseInt(mode, 8),
    workers,
    startupTimeout: startup === undefined ? undefined : Number(startup),
    pubsub: pubsubSetting(values.pubsub ?? process.env.MORTAR_PUBSUB, protocol),
    wrap: wrapSettings(values),
  };
}

/** `--pubsub URL`: a `redis://` or `rediss://` URL, for HTTP (the gateway that upgrades). */
function pubsubSetting(url: string | undefined, protocol: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  if (!URL.canParse(url) || !/^rediss?:$/.test(new URL(url).protocol)) {
    throw new UsageError(
      `--pubsub (or MORTAR_PUBSUB) takes a Redis URL like redis://127.0.0.1:6379, got "${url}"`,
    );
  }
  if (protocol !== undefined) {
    throw new UsageError(
      `--pubsub (or MORTAR_PUBSUB) shares WebSocket pub/sub, and only HTTP carries WebSockets: leave out --${protocol}`,
    );
  }
  return url;
}
