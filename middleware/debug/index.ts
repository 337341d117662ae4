/**
 * `mortar/debug` — the interactive traceback for development (WebError's EvalException,
 * Werkzeug's DebuggedApplication, youch); production takes `errors()` from `mortar/errors`.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { debug } from 'mortar/debug';
 * import { errors } from 'mortar/errors';
 *
 * const app = compose(process.env.NODE_ENV === 'production' ? errors() : debug())(site);
 * ```
 *
 * `debug()` answers a browser that gave its PIN with the interactive traceback: every frame
 * mapped to the TypeScript source with code around it, `cause` chains and AggregateError
 * members, the local variables of each frame captured at throw time, the request (credentials
 * redacted) and the environ — and under each frame a console that evaluates expressions
 * against that frame. The terminal gets each traceback as text.
 *
 * Security, all of it on by default:
 * - it refuses to start under `NODE_ENV=production` unless `force`;
 * - only a trusted `Host` (localhost, *.localhost, 127.0.0.1, [::1], plus `hosts`), from a
 *   loopback peer (plus `addresses`), with no proxy header (unless `trustProxy`) may see a
 *   traceback; any other request gets the plain `errors()` page (CVE-2024-34069);
 * - even then, a request is not known to come from the developer: behind nginx's default
 *   `proxy_pass http://127.0.0.1:PORT` (or with `proxy_set_header Host $http_host` and a
 *   visitor who sends `Host: localhost`) every visitor has a loopback peer and Host and no
 *   forwarding header. So the traceback — source, message, request, environ, locals, console
 *   token — goes only to a browser holding the PIN cookie. Everyone else gets the plain 500
 *   (its error id, a line saying the PIN is in the server's terminal, and a PIN form); a right
 *   PIN sets the cookie and opens the kept traceback at `{scriptName}/__debug__/error/{id}`, so
 *   a failed POST is not sent again. A first-visit rule (a cookie for any request with
 *   `Sec-Fetch-Site: none` from a loopback peer) would not do: a remote visitor who types the
 *   URL sends that header too, and through the proxy their peer is loopback;
 * - the PIN is printed in the terminal, and derived, with its cookie, from a secret kept in a
 *   file only its owner may read (`secretFile`), so restarts (`--reload`, `--workers`) keep
 *   both: one PIN per browser per working day. The cookie is HttpOnly, `SameSite=Strict`,
 *   scoped to `{scriptName}/`, timestamped and signed, and unlocks for 8 hours
 *   (Werkzeug's PIN cookie, with a working day for Werkzeug's week). 10 wrong PINs lock PIN
 *   entry and the console until restart;
 * - the console takes POSTs only, with a per-process 256-bit token in a custom header
 *   (compared in constant time), an `Origin` equal to ours and `Sec-Fetch-Site: same-origin`
 *   when sent, from a browser holding the PIN cookie;
 * - every page is `no-store`, `nosniff`, with a nonce CSP and `frame-ancestors 'none'`.
 *
 * Locals cost: an enabled V8 debugger slows promise-heavy code. Under `NODE_ENV=development`
 * and `mortar serve --reload` capture runs from the start (a few per cent of req/s), so the
 * first error has its locals; elsewhere it starts at the first error.
 * @module mortar/debug
 */

import { randomBytes } from 'node:crypto';
import { terminalSafe } from '../../src/_internal/log.js';
import { is, optionChecker } from '../../src/_internal/options.js';
import { isThenable } from '../../src/_internal/thenable.js';
import { assertEnviron } from '../../src/environ.js';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import type { Environ, Middleware } from '../../src/types.js';
import { isTrusted, type TrustSettings } from '../_shared/dev-trust.js';
import { ERROR_SINK_CHECKS, productionError } from '../_shared/error-page.js';
import { PinGate } from '../_shared/pin.js';
import { defaultSecretFile, loadSecret } from '../_shared/secret.js';
import { type CaptureOptions, checkCaptureOptions, LocalsCapture } from './capture.js';
import { consoleEndpoint } from './endpoint.js';
import { ErrorLog } from './kept.js';
import { lockedResponse, tracebackResponse } from './render.js';
import { buildTraceback, terminalReport } from './traceback.js';

export {
  type ErrorReport,
  type Frame,
  formatText,
  parseFrames,
  reportOf,
} from '../_shared/stack.js';

import {
  type ErrorsOptions as ErrorsPageOptions,
  type ErrorRecord as ErrorsRecord,
  errors as errorsPage,
} from '../errors/index.js';

/**
 * `errors()`, now its own export: import it from `mortar/errors`, which loads no debugger.
 * @deprecated Import `errors` from `mortar/errors`; this re-export stays through the 0.3
 *   releases and goes in 0.4.
 */
export const errors: typeof errorsPage = errorsPage;
/** @deprecated Import `ErrorsOptions` from `mortar/errors` (this alias goes in 0.4). */
export type ErrorsOptions = ErrorsPageOptions;
/** @deprecated Import `ErrorRecord` from `mortar/errors` (this alias goes in 0.4). */
export type ErrorRecord = ErrorsRecord;
export type { CaptureOptions } from './capture.js';
export { evaluate } from './console.js';

/** Options of {@link debug}. */
export interface DebugOptions {
  /** Run even under `NODE_ENV=production` (construction throws otherwise). @default false */
  force?: boolean;
  /** Host names trusted besides localhost, *.localhost, 127.0.0.1 and [::1]. @default [] */
  hosts?: readonly string[];
  /**
   * Peer addresses trusted besides loopback (a developer's other machine, a VM's host), as
   * `environ.remoteAddress` gives them. @default []
   */
  addresses?: readonly string[];
  /**
   * A proxy of yours is in front, so `Forwarded`, `X-Forwarded-*` and `Via` do not make a
   * request untrusted. Without it such a request gets the plain page. @default false
   */
  trustProxy?: boolean;
  /** Milliseconds a console evaluation may take. @default 5000 */
  consoleTimeout?: number;
  /** Errors kept for the console (the oldest go first). @default 20 */
  maxErrors?: number;
  /** Seconds an error stays available to the console. @default 3600 */
  ttl?: number;
  /**
   * Locals capture through node:inspector; `false` turns it off. Its `mode` defaults to
   * `'always'` (the first error has its locals too) under `NODE_ENV=development` and under
   * `mortar serve --reload` (which sets `MORTAR_RELOAD=1`), else to `'after-error'`.
   * @default {} (see CaptureOptions)
   */
  capture?: CaptureOptions | false;
  /**
   * The file that keeps the secret the PIN and its cookie are derived from, made (mode 600) at
   * the first start, so restarts keep the PIN and a browser's cookie; `false`: a new PIN at
   * each start. @default `$XDG_CACHE_HOME/mortar/debug-secret` (else `~/.cache/mortar/…`)
   */
  secretFile?: string | false;
  /** Where the PIN line, and each error's line and traceback, go. @default stderr */
  log?: (line: string) => void;
  /** Options of the plain `errors()` page that untrusted hosts get. @default {} */
  errors?: ErrorsPageOptions;
}

/** The per-process console token (256 random bits). */
const TOKEN = randomBytes(32).toString('hex');
/** One capture per process: node:inspector has one session per thread. */
let capture: LocalsCapture | undefined;

const checkOptions = optionChecker<DebugOptions>('debug', {
  force: is.boolean,
  hosts: is.strings,
  addresses: is.strings,
  trustProxy: is.boolean,
  consoleTimeout: is.milliseconds(1),
  maxErrors: is.positiveInteger,
  ttl: is.seconds(1),
  capture: is.either(is.object, is.oneOf(false)),
  secretFile: is.either(is.string, is.oneOf(false)),
  log: is.function,
  errors: is.object,
});

const checkErrorsOptions = optionChecker<ErrorsPageOptions>('debug', ERROR_SINK_CHECKS, 'errors.');

/** @throws ConfigError for an option, or a capture or errors option, debug() does not know. */
function checkDebugOptions(options: DebugOptions): void {
  checkOptions(options);
  if (options.capture) checkCaptureOptions(options.capture);
  checkErrorsOptions(options.errors);
}

/**
 * The development error middleware: the interactive traceback (source-mapped frames, locals,
 * an evaluate console), for loopback hosts and peers, to a browser that gave the PIN.
 *
 * ```ts
 * import { homedir } from 'node:os';
 * import { join } from 'node:path';
 *
 * debug({
 *   force: false,             // refuse under NODE_ENV=production
 *   hosts: [], addresses: [], // trusted besides localhost / loopback peers
 *   trustProxy: false,        // proxy headers make a request untrusted unless true
 *   consoleTimeout: 5000,     // ms per console evaluation
 *   maxErrors: 20, ttl: 3600, // errors kept for the console; seconds each is kept
 *   capture: {},              // locals through node:inspector (frames, mode, …); false: off
 *   secretFile: join(homedir(), '.cache/mortar/debug-secret'), // the PIN outlives restarts; false: not
 *   log: console.error,       // the PIN line, each error's line and traceback
 *   errors: {},               // options of the errors() page untrusted requests get
 * })
 * ```
 *
 * See the module comment for what it shows and whom it trusts.
 *
 * @throws Error at construction under `NODE_ENV=production` without `force: true`.
 */
export function debug(options: DebugOptions = {}): Middleware {
  checkDebugOptions(options);
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'debug(): refusing to run with NODE_ENV=production — its console runs code on the server; use errors() there (or pass force: true if you really mean it)',
    );
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trust: TrustSettings = {
    hosts: new Set((options.hosts ?? []).map((h) => h.toLowerCase())),
    addresses: new Set(options.addresses ?? []),
    trustProxy: options.trustProxy ?? false,
  };
  const onError = errorHandler(options, trust, log);
  const { context } = onError;

  // No async wrapper on the way in: a request that throws nothing pays one function call.
  return function debug(app) {
    return function debugApp(request, environ) {
      assertEnviron(environ, 'debug()');
      if (environ.pathInfo.startsWith('/__debug__/')) {
        if (!isTrusted(request, environ, trust)) return errorResponse(404, request);
        const path = environ.pathInfo.slice('/__debug__'.length);
        return consoleEndpoint(request, path, environ.scriptName, context);
      }
      let result: Response | Promise<Response>;
      try {
        result = app(request, environ);
      } catch (error) {
        return onError(error, request, environ);
      }
      return isThenable<Response>(result)
        ? Promise.resolve(result).catch((error: unknown) => onError(error, request, environ))
        : result;
    };
  };
}

/**
 * The response to an error of the application: the traceback for a browser that gave the PIN;
 * for any other request from a trusted Host and peer, the plain page with a PIN form (and the
 * traceback in the terminal); for the rest, the plain `errors()` page. Its `context` is what
 * the console endpoint checks against.
 */
function errorHandler(options: DebugOptions, trust: TrustSettings, log: (line: string) => void) {
  const locals = startCapture(options.capture, log);
  const secret = loadSecret(options.secretFile ?? defaultSecretFile());
  if (secret.problem) log(`mortar debug: ${secret.problem}; the PIN changes at each start`);
  const pin = new PinGate(secret.value);
  const kept = new ErrorLog(options.maxErrors ?? 20, (options.ttl ?? 3600) * 1000);
  const context = { token: TOKEN, pin, errors: kept, timeout: options.consoleTimeout ?? 5000 };
  let pinShown = false;
  const onError = (error: unknown, request: Request, environ: Environ): Response => {
    if (error instanceof HTTPError) return error.toResponse(request);
    if (!isTrusted(request, environ, trust)) {
      return productionError(error, request, environ, options.errors ?? {});
    }
    const traceback = buildTraceback(error, request, environ, locals);
    kept.remember({ traceback, error, request, environ, captured: traceback.locals });
    log(`mortar debug: error ${traceback.id}, ${request.method} ${terminalSafe(request.url)}`);
    log(terminalReport(traceback.report));
    if (!pinShown) {
      pinShown = true;
      log(
        `mortar debug: the debugger PIN is ${pin.pin} (give it once in a browser to see tracebacks, for 8 hours)`,
      );
    }
    const base = `${environ.scriptName}/__debug__`;
    return pin.unlocked(request)
      ? tracebackResponse(request, traceback, { base, token: TOKEN })
      : lockedResponse(request, traceback.id, base);
  };
  return Object.assign(onError, { context });
}

/**
 * Starts the process's locals capture unless `options` is `false` — or says, in one line,
 * why it cannot: Node's inspector session froze Deno at the second error and is absent on
 * Bun, so there tracebacks come without locals (and the page says so).
 *
 * @returns The capture, or why there is none: `'off'`, `'Deno'` or `'Bun'`.
 */
function startCapture(
  options: CaptureOptions | false | undefined,
  log: (line: string) => void,
): LocalsCapture | 'off' | 'Deno' | 'Bun' {
  if (options === false) return 'off';
  const elsewhere = otherRuntime();
  if (elsewhere) {
    log(
      `mortar debug: on ${elsewhere}, local variables are not captured (that needs Node's inspector); tracebacks and the console work without them`,
    );
    return elsewhere;
  }
  const mode = options?.mode ?? defaultCaptureMode();
  capture ??= new LocalsCapture({ ...options, mode });
  if (mode === 'always') capture.arm();
  return capture;
}

/**
 * `'always'` in development (`NODE_ENV=development`, or `mortar serve --reload`, which sets
 * `MORTAR_RELOAD=1`): the first error has its locals, for a few per cent of req/s; else
 * `'after-error'`, which costs nothing until an error arrives.
 */
function defaultCaptureMode(): 'always' | 'after-error' {
  const { NODE_ENV, MORTAR_RELOAD } = process.env;
  return NODE_ENV === 'development' || MORTAR_RELOAD === '1' ? 'always' : 'after-error';
}

/** `'Deno'` or `'Bun'` when running there (they answer to `process` too), else `undefined`. */
function otherRuntime(): 'Deno' | 'Bun' | undefined {
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return 'Deno';
  if ((process.versions as { bun?: string }).bun !== undefined) return 'Bun';
  return undefined;
}
